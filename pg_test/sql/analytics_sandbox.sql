-- analytics_sandbox (0.12.0): run_analytics_query() and render_dashboard() run a
-- tenant's saved query as marimo_analytics, for that tenant only, read-only,
-- one statement, bound parameters, a timeout and a row cap; for an application
-- role, an operator and the superuser.
SET timezone = 'UTC';
\set VERBOSITY terse
\set A '''5a000000-0000-4000-8000-00000000000a'''
\set B '''5a000000-0000-4000-8000-00000000000b'''

INSERT INTO tenants (id, slug, name) VALUES
  (:A, 'sbx-a', 'Sandbox A'), (:B, 'sbx-b', 'Sandbox B');
INSERT INTO webhooks (tenant_id, id, name, url, secret, event_types) VALUES
  (:A, '5a000000-0000-4000-8000-0000000000a1', 'hook a', 'https://a.example/h', 'whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=', '{report.completed}'),
  (:B, '5a000000-0000-4000-8000-0000000000b1', 'hook b', 'https://b.example/h', 'whsec_QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=', '{report.completed}');
INSERT INTO analytics_queries (tenant_id, id, name, query_text, parameters) VALUES
  (:A, '5a000000-0000-4000-8000-000000000001', 'names',
   'SELECT name FROM analytics_queries ORDER BY name', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000002', 'all tenants',
   'SELECT slug FROM tenants ORDER BY slug', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000003', 'join',
   'SELECT t.slug, w.name FROM webhooks w JOIN tenants t ON t.id = w.tenant_id ORDER BY 1', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000004', 'secret', 'SELECT secret FROM webhooks', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000005', 'webhook_secrets', 'SELECT * FROM webhook_secrets', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000006', 'credentials', 'SELECT credentials FROM integrations', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000007', 'platform', 'SELECT * FROM platform_stripe_account', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000008', 'two', 'SELECT 1; SELECT 2', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000009', 'insert',
   'INSERT INTO analytics_queries (tenant_id, name, query_text) VALUES (current_tenant(), ''x'', ''SELECT 1'')', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000010', 'cte insert',
   'WITH i AS (INSERT INTO analytics_queries (tenant_id, name, query_text) VALUES (current_tenant(), ''x'', ''SELECT 1'') RETURNING 1) SELECT * FROM i', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000011', 'for update', 'SELECT name FROM analytics_queries FOR UPDATE', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000012', 'select into', 'SELECT 1 AS x INTO TEMP sbx_stolen', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000013', 'nextval', 'SELECT nextval(''sbx_seq'')', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000014', 'writer', 'SELECT sbx_write()', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000015', 'set tenant', 'SELECT set_tenant(' || quote_literal(:B) || '::uuid)', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000016', 'reset tenant', 'SELECT reset_tenant()', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000017', 'set_config tenant',
   'SELECT set_config(''marimo_erp.tenant_id'', ' || quote_literal(:B) || ', false)', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000018', 'set_config other',
   'SELECT set_config(''work_mem'', ''77kB'', false), current_tenant()', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000019', 'set role', 'SELECT set_config(''role'', ''postgres'', false)', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000020', 'read write',
   'SELECT set_config(''transaction_read_only'', ''off'', false)', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000021', 'sleep', 'SELECT pg_sleep(5)', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000022', 'series', 'SELECT g FROM generate_series(1, 50) g', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000023', 'params',
   'SELECT {{t}}::text AS t, {{i}} AS i, {{n}} AS n, {{b}} AS b, {{d}} AS d, {{ts}} AS ts, {{u}} AS u, {{t}} = {{t}} AS same',
   '{"t": {"type": "text", "default": "x"}, "i": {"type": "integer", "default": 1}, "n": {"type": "numeric", "default": 1.5},
     "b": {"type": "boolean", "default": true}, "d": {"type": "date", "default": "2026-02-28"},
     "ts": {"type": "timestamptz", "default": "2026-03-29T01:30:00+01:00"},
     "u": {"type": "uuid", "default": "5a000000-0000-4000-8000-000000000023"}}'),
  (:A, '5a000000-0000-4000-8000-000000000024', 'by name',
   'SELECT name FROM analytics_queries WHERE name = {{name}}',
   '{"name": {"type": "text", "required": true}}'),
  (:A, '5a000000-0000-4000-8000-000000000025', 'malformed', 'SELECT {{x}}', '{"x": "EUR"}'),
  (:A, '5a000000-0000-4000-8000-000000000026', 'undeclared', 'SELECT {{x}}', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000027', 'view', 'SELECT count(*) AS n FROM sbx_query_names', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000028', 'values', 'VALUES (1, ''one''), (2, NULL)', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000029', 'table', 'TABLE scheduled_reports', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000030', 'update', 'UPDATE analytics_queries SET run_count = 0', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000031', 'syntax', 'SELEC 1', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000032', 'temp', 'SELECT * FROM sbx_caller_temp', '{}'),
  (:A, '5a000000-0000-4000-8000-000000000033', 'by number',
   'SELECT name FROM analytics_queries WHERE run_count >= {{n}} ORDER BY name LIMIT 1',
   '{"n": {"type": "integer", "required": true}}'),
  (:A, '5a000000-0000-4000-8000-000000000034', 'by day',
   'SELECT {{d}} + 1 AS next_day, {{u}} AS id, {{b}} AS b, {{ts}} AS ts, {{n}} AS n',
   '{"d": {"type": "date"}, "u": {"type": "uuid"}, "b": {"type": "boolean"}, "ts": {"type": "timestamptz"}, "n": {"type": "numeric"}}'),
  (:B, '5a000000-0000-4000-8000-0000000000f1', 'b names', 'SELECT name FROM analytics_queries ORDER BY name', '{}');
INSERT INTO dashboards (tenant_id, id, name, widgets, filters) VALUES
  (:A, '5a000000-0000-4000-8000-0000000000d1', 'sandbox board',
   '[{"id": "w3", "query": "5a000000-0000-4000-8000-000000000021"},
     {"id": "w1", "title": "One", "query": "5a000000-0000-4000-8000-000000000024"},
     {"id": "w2", "query": "5a000000-0000-4000-8000-000000000024", "parameters": {"name": "other"}},
     {"id": "w4", "query": "5a000000-0000-4000-8000-000000000030"},
     {"id": "w5", "query": "5a000000-0000-4000-8000-0000000000f1"},
     {"id": "w6", "query": "not a uuid"},
     {"id": "metric", "type": "number", "metric": "mrr"}]',
   '{"name": "names", "other": "join"}');

CREATE SEQUENCE sbx_seq;
GRANT USAGE ON SEQUENCE sbx_seq TO PUBLIC;
CREATE FUNCTION sbx_write() RETURNS int LANGUAGE sql VOLATILE
    AS $$ INSERT INTO analytics_queries (tenant_id, name, query_text) VALUES (current_tenant(), 'w', 'SELECT 1') RETURNING 1 $$;
CREATE VIEW sbx_query_names WITH (security_invoker = true) AS SELECT tenant_id, name FROM analytics_queries;
GRANT SELECT ON sbx_query_names TO marimo_analytics;
CREATE ROLE sbx_app LOGIN;
GRANT marimo_app TO sbx_app;
CREATE ROLE sbx_operator LOGIN;
GRANT marimo_admin TO sbx_operator;

-- The role: NOLOGIN, no membership, and what it may read.
SELECT rolcanlogin, rolsuper, rolbypassrls, rolinherit,
       (SELECT count(*) FROM pg_auth_members WHERE member = r.oid) AS memberships
  FROM pg_roles r WHERE rolname = 'marimo_analytics';
SELECT c.relname,
       has_table_privilege('marimo_analytics', c.oid, 'SELECT') AS table_select,
       has_any_column_privilege('marimo_analytics', c.oid, 'SELECT') AS some_column,
       has_table_privilege('marimo_analytics', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') AS writes
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
   AND c.relname NOT LIKE 'sbx%'
 ORDER BY 1;
-- No secret column anywhere.
SELECT c.relname, a.attname
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
 WHERE c.relnamespace = 'public'::regnamespace
   AND has_column_privilege('marimo_analytics', c.oid, a.attnum, 'SELECT')
   AND (a.attname IN ('secret', 'credentials') OR c.relname IN ('webhook_secrets', 'platform_stripe_account')
        OR c.relname IN ('secrets_at_rest'))
 ORDER BY 1, 2;
-- Every tenant-scoped table of the extension has the sandbox's policy.
SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT FROM pg_policy q WHERE q.polrelid = p.polrelid
                                             AND q.polname = 'marimo_analytics_select')) AS without
  FROM pg_policy p WHERE p.polname = 'marimo_tenant_select';

CREATE FUNCTION sbx_run(q text, params jsonb DEFAULT '{}', max_rows int DEFAULT 1000,
                        tenant uuid DEFAULT '5a000000-0000-4000-8000-00000000000a')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE r jsonb;
BEGIN
    r := run_analytics_query(tenant, ('5a000000-0000-4000-8000-0000000000' || q)::uuid, params, max_rows);
    RETURN (r - 'duration_ms')::text;
EXCEPTION WHEN OTHERS OR query_canceled THEN
    RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END $$;
GRANT EXECUTE ON FUNCTION sbx_run(text, jsonb, int, uuid) TO PUBLIC;

-- Every rule, one line each, as the calling role (run below as the superuser,
-- an operator and an application role).
CREATE FUNCTION sbx_checks() RETURNS TABLE (n int, rule text, result text) LANGUAGE sql AS $f$
    SELECT * FROM (VALUES
        (1, 'own rows (tables, joins, views)', sbx_run('01')),
        (2, 'own rows (tables, joins, views)', sbx_run('02')),
        (3, 'own rows (tables, joins, views)', sbx_run('03')),
        (4, 'own rows (tables, joins, views)', sbx_run('27')),
        (5, 'own rows (tables, joins, views)', sbx_run('f1', tenant => '5a000000-0000-4000-8000-00000000000b')),
        (6, 'no secret', sbx_run('04')),
        (7, 'no secret', sbx_run('05')),
        (8, 'no secret', sbx_run('06')),
        (9, 'no secret', sbx_run('07')),
        (10, 'one query statement', sbx_run('08')),
        (11, 'one query statement', sbx_run('09')),
        (12, 'one query statement', sbx_run('30')),
        (13, 'one query statement', sbx_run('31')),
        (14, 'one query statement', sbx_run('28')),
        (15, 'one query statement', sbx_run('29')),
        (16, 'no write', sbx_run('10')),
        (17, 'no write', sbx_run('11')),
        (18, 'no write', sbx_run('12')),
        (19, 'no write', sbx_run('13')),
        (20, 'no write', sbx_run('14')),
        (21, 'context and session kept', sbx_run('15')),
        (22, 'context and session kept', sbx_run('16')),
        (23, 'context and session kept', sbx_run('17')),
        (24, 'context and session kept', sbx_run('18')),
        (25, 'context and session kept', sbx_run('19')),
        (26, 'context and session kept', sbx_run('20')),
        (27, 'row cap', sbx_run('22', max_rows => 3)),
        (28, 'row cap', sbx_run('22', max_rows => 50)),
        (29, 'row cap', sbx_run('22', max_rows => 10)),
        (30, 'bound parameters, injection', sbx_run('23')),
        (31, 'bound parameters, injection', sbx_run('23', '{"t": "'' OR 1=1 --", "i": "1 OR 1=1", "n": 2}')),
        (32, 'bound parameters, injection', sbx_run('23', '{"n": "1; DROP TABLE tenants"}')),
        (33, 'bound parameters, injection', sbx_run('23', '{"b": "true OR 1=1"}')),
        (34, 'bound parameters, injection', sbx_run('23', '{"d": "2026-02-30"}')),
        (35, 'bound parameters, injection', sbx_run('23', '{"ts": "now''; --"}')),
        (36, 'bound parameters, injection', sbx_run('23', '{"u": "x'' OR ''1''=''1"}')),
        (37, 'bound parameters, injection', sbx_run('24', '{"name": "names"}')),
        (38, 'bound parameters, injection', sbx_run('24', '{"name": "x'' OR ''1''=''1"}')),
        (39, 'bound parameters, injection', sbx_run('24', '{"name": "names'' UNION SELECT secret FROM webhooks --"}')),
        (40, 'bound parameters, injection', sbx_run('33', '{"n": "0 OR 1=1"}')),
        (41, 'bound parameters, injection', sbx_run('33', '{"n": 0}')),
        (42, 'bound parameters, injection', sbx_run('34', '{"d": "2024-02-28", "u": "5a000000-0000-4000-8000-000000000034", "b": false, "ts": "2024-02-29 23:59:59.5+00", "n": "12345678901234567890.5"}')),
        (43, 'bound parameters, injection', sbx_run('34', '{"d": "2024-02-28); DELETE FROM tenants; --"}')),
        (44, 'bad parameters', sbx_run('24', '{"name": "names", "extra": 1}')),
        (45, 'bad parameters', sbx_run('24')),
        (46, 'bad parameters', sbx_run('24', '{"name": 5}')),
        (47, 'bad parameters', sbx_run('25')),
        (48, 'bad parameters', sbx_run('26'))
    ) AS c(n, rule, result) ORDER BY n
$f$;
GRANT EXECUTE ON FUNCTION sbx_checks() TO PUBLIC;

-- As the superuser, an operator and an application role (its session's tenant).
SELECT current_user AS who, * FROM sbx_checks();
SET ROLE sbx_operator;
SELECT current_user AS who, * FROM sbx_checks();
SET ROLE sbx_app;
SELECT set_tenant(:A, true) IS NOT NULL AS set;
SELECT current_user AS who, * FROM sbx_checks();
RESET ROLE;
-- The timeout and the cap (the operator's settings) for each of them.
SET marimo_erp.analytics_statement_timeout = '200ms';
SET marimo_erp.analytics_max_rows = 2;
SELECT current_user AS who, sbx_run('21') AS timeout, sbx_run('22', max_rows => 10) AS capped;
SET ROLE sbx_operator;
SELECT current_user AS who, sbx_run('21') AS timeout, sbx_run('22', max_rows => 10) AS capped;
SET ROLE sbx_app;
SELECT current_user AS who, sbx_run('21') AS timeout, sbx_run('22', max_rows => 10) AS capped;
RESET ROLE;
RESET marimo_erp.analytics_statement_timeout;
RESET marimo_erp.analytics_max_rows;
\set ON_ERROR_STOP 0
-- An application acts only for its current tenant.
SET ROLE sbx_app;
SELECT sbx_run('f1', tenant => :B);
SELECT reset_tenant();
SELECT sbx_run('01');
RESET ROLE;

-- A missing query, bad arguments.
SELECT sbx_run('99');
SELECT sbx_run('01', max_rows => 0);
SELECT sbx_run('01', '[]');
SELECT run_analytics_query(NULL, :A);
-- The settings are the operator's: an application cannot raise the cap.
SET ROLE sbx_app;
SET marimo_erp.analytics_max_rows = 1000000;
RESET ROLE;

-- Read-only for the query only: the caller's transaction writes afterwards,
-- and the run is counted.
BEGIN;
SELECT run_count AS before FROM analytics_queries WHERE id = '5a000000-0000-4000-8000-000000000001' \gset
SELECT (run_analytics_query(:A, '5a000000-0000-4000-8000-000000000001')->'row_count') IS NOT NULL AS ran;
INSERT INTO analytics_queries (tenant_id, name, query_text) VALUES (:A, 'written after', 'SELECT 1');
SELECT run_count - :before AS counted, last_run_at IS NOT NULL AS stamped, current_setting('transaction_read_only') AS read_only
  FROM analytics_queries WHERE id = '5a000000-0000-4000-8000-000000000001';
COMMIT;
SELECT count(*) AS committed FROM analytics_queries WHERE tenant_id = :A AND name = 'written after';
-- The caller's settings and tenant after a run.
BEGIN;
SELECT set_tenant(:B) IS NOT NULL AS set;
SELECT sbx_run('18');
SELECT current_setting('work_mem') AS work_mem, current_tenant() = :B AS tenant_kept,
       current_setting('search_path') AS search_path, current_user AS user;
SELECT sbx_run('17');
SELECT current_tenant() = :B AS tenant_kept;
COMMIT;
-- An outer statement_timeout keeps working after a run.
SET marimo_erp.analytics_statement_timeout = '5s';
SET statement_timeout = '300ms';
SELECT sbx_run('22', max_rows => 1) IS NOT NULL AS ran, pg_sleep(1);
RESET statement_timeout;
-- The query's timer is disarmed after a run, failed or not, and the caller's
-- user, settings and writability are back.
SET marimo_erp.analytics_statement_timeout = '200ms';
SELECT sbx_run('04') AS failed, pg_sleep(0.5), current_setting('transaction_read_only') AS read_only,
       current_user AS user, current_setting('DateStyle') AS datestyle;
SELECT sbx_run('28') AS ran, pg_sleep(0.5), current_setting('transaction_read_only') AS read_only;
RESET marimo_erp.analytics_statement_timeout;
-- In a read-only transaction the query runs, uncounted.
BEGIN READ ONLY;
SELECT sbx_run('28') AS ran;
COMMIT;
-- A caller's temporary table is not the query's to read.
CREATE TEMP TABLE sbx_caller_temp AS SELECT 1 AS x;
SELECT sbx_run('32');

-- render_dashboard: by name, by the widget's mapping, the call's filters over
-- the dashboard's, each widget's error apart.
SET marimo_erp.analytics_statement_timeout = '200ms';
SELECT w->>'id' AS id, w->>'title' AS title, w->>'query_id' AS query_id, w->'result'->'rows' AS rows,
       w->'error'->>'sqlstate' AS sqlstate, w->'error'->>'message' AS message
  FROM jsonb_array_elements(render_dashboard(:A, '5a000000-0000-4000-8000-0000000000d1')->'widgets') w;
SELECT current_setting('transaction_read_only') AS read_only, current_user AS user;
SELECT w->>'id' AS id, w->'result'->'rows' AS rows
  FROM jsonb_array_elements(render_dashboard(:A, '5a000000-0000-4000-8000-0000000000d1',
                                             '{"name": "by name", "other": "params"}')->'widgets') w
 WHERE w ? 'result';
SELECT render_dashboard(:A, '5a000000-0000-4000-8000-0000000000ff');
SET ROLE sbx_app;
SELECT render_dashboard(:A, '5a000000-0000-4000-8000-0000000000d1');
RESET ROLE;
RESET marimo_erp.analytics_statement_timeout;

-- Clean up.
DELETE FROM tenants WHERE id IN (:A, :B);
DROP FUNCTION sbx_checks();
DROP FUNCTION sbx_run(text, jsonb, int, uuid);
DROP VIEW sbx_query_names;
DROP FUNCTION sbx_write();
DROP SEQUENCE sbx_seq;
DROP ROLE sbx_app;
DROP ROLE sbx_operator;
