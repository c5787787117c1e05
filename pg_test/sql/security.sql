-- security: a member of marimo_app attacks tenant isolation (0.7.0).
--
-- The superuser sets the scene: tenants A and B (active) and C (suspended),
-- each with rows in every tenant table, in the default and in today's daily
-- partition of every log, and in regress.orders, a table of this suite put
-- under enable_tenancy(). Then marimo_attacker, a login role that is a member
-- of marimo_app and of nothing else, tries to reach rows of a tenant other than
-- the current one, to write while its tenant is suspended, to read the
-- write-only secrets, to forge or carry over the tenant context, to hijack the
-- names the extension's functions resolve, to inject SQL through their text
-- arguments, and to lift its own privileges.
--
-- Every attempt runs through regress.try_attack(), which runs as its caller
-- (it is not SECURITY DEFINER), undoes what the statement did (unless told to
-- keep it) and records the attempt in regress.attack_log:
--   'blocked: <SQLSTATE>'  the statement raised that error;
--   'ran: <n> rows'        it ran and returned or changed n rows.
-- An attempt SUCCEEDS (and says so) when its statement returns or changes any
-- row (each statement is written so that any such row belongs to another
-- tenant or is a write the contract forbids), or, for a statement that must be
-- refused, when it raises no error, or when an error message shows stored
-- data of B or a stored secret. Positive controls, which must work, show that
-- the attacker is not simply blocked from everything, and a run of every
-- attack as the superuser shows that each statement is valid, so that an
-- attack is not "blocked" by a typo. The suite ends with the number of
-- attempts and of successes: 0.
SET timezone = 'UTC';
\set A 'a5ec0000-0000-4000-8000-00000000000a'
\set B 'a5ec0000-0000-4000-8000-00000000000b'
\set C 'a5ec0000-0000-4000-8000-00000000000c'

------------------------------------------------------------------------------
-- The scene: tenants A, B and C, with rows in every tenant table.
------------------------------------------------------------------------------
-- Stored text of B carries the marker PRIVATE-B, stored secrets U1RPUkVE
-- ("STORED") or STORED-CREDENTIAL: an error message that shows one of them
-- has leaked stored data.
CREATE FUNCTION regress.sec_id(kind integer, tenant text) RETURNS uuid
LANGUAGE sql IMMUTABLE
AS $$ SELECT pg_catalog.format('a5ec%s-0000-4000-8000-00000000000%s',
                               pg_catalog.lpad(kind::pg_catalog.text, 4, '0'), tenant)::pg_catalog.uuid $$;
CREATE TABLE regress.sec_tenants (s text PRIMARY KEY, m text NOT NULL);
INSERT INTO regress.sec_tenants VALUES ('a', 'of A'), ('b', 'PRIVATE-B'), ('c', 'of C');

INSERT INTO tenants (id, slug, name, subscription_status, limits, settings)
SELECT regress.sec_id(0, s), 'regress-sec-' || s, 'Tenant ' || m, 'active',
       CASE s WHEN 'b' THEN '{"api_calls_per_month": 5, "seats": 1}'
              ELSE '{"api_calls_per_month": 1000000, "webhooks_count": 10, "seats": 5}' END::jsonb,
       jsonb_build_object('note', m)
  FROM regress.sec_tenants;

-- run_maintenance() makes the daily partitions from yesterday on: the logs
-- dated now land in today's partition, those of 20 days ago in the default one.
SELECT count(*) > 0 AS maintained FROM run_maintenance();

INSERT INTO analytics_queries (tenant_id, id, name, description, query_text)
SELECT regress.sec_id(0, s), regress.sec_id(1, s), 'Query ' || m, 'About ' || m, 'SELECT 1' FROM regress.sec_tenants;
INSERT INTO dashboards (tenant_id, id, name, description)
SELECT regress.sec_id(0, s), regress.sec_id(2, s), 'Board ' || m, 'About ' || m FROM regress.sec_tenants;
INSERT INTO scheduled_reports (tenant_id, id, name, analytics_query_id, schedule, recipients)
SELECT regress.sec_id(0, s), regress.sec_id(3, s), 'Report ' || m, regress.sec_id(1, s), '0 8 * * 1',
       ARRAY[s || '@example.com'] FROM regress.sec_tenants;
INSERT INTO webhooks (tenant_id, id, name, url, secret)
SELECT regress.sec_id(0, s), regress.sec_id(4, s), 'Hook ' || m, 'https://' || s || '.example.com/hook',
       'whsec_U1RPUkVE' || s FROM regress.sec_tenants;
-- A rotated-out secret per webhook (0.8.0): operators only, never the application.
INSERT INTO webhook_secrets (tenant_id, webhook_id, secret, expires_at)
SELECT regress.sec_id(0, s), regress.sec_id(4, s), 'whsec_UFJFVklPVVM' || s || '=', now() + interval '1 day'
  FROM regress.sec_tenants;
INSERT INTO webhook_events (tenant_id, id, event_type, payload)
SELECT regress.sec_id(0, s), regress.sec_id(k, s), 'invoice.paid', jsonb_build_object('note', m)
  FROM regress.sec_tenants, (VALUES (5), (51)) AS e(k);
INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id)
SELECT regress.sec_id(0, s), regress.sec_id(6, s), regress.sec_id(4, s), regress.sec_id(5, s) FROM regress.sec_tenants;
INSERT INTO webhook_logs (tenant_id, id, webhook_id, delivery_id, attempt, request_url, response_body, created_at)
SELECT regress.sec_id(0, s), regress.sec_id(k, s), regress.sec_id(4, s), regress.sec_id(6, s), 1,
       'https://' || s || '.example.com/hook', 'Body ' || m, now() - d * interval '1 day'
  FROM regress.sec_tenants, (VALUES (7, 0), (71, 20)) AS l(k, d);
INSERT INTO integrations (tenant_id, id, provider, name, credentials)
SELECT regress.sec_id(0, s), regress.sec_id(8, s), 'stripe', 'Stripe ' || m,
       jsonb_build_object('api_key', 'STORED-CREDENTIAL-' || s) FROM regress.sec_tenants;
INSERT INTO integration_logs (tenant_id, id, integration_id, operation, status, created_at)
SELECT regress.sec_id(0, s), regress.sec_id(k, s), regress.sec_id(8, s), 'sync ' || m, 'success', now() - d * interval '1 day'
  FROM regress.sec_tenants, (VALUES (9, 0), (91, 20)) AS l(k, d);
INSERT INTO stripe_customers (tenant_id, id, stripe_customer_id, name)
SELECT regress.sec_id(0, s), regress.sec_id(10, s), 'cus_Sec' || s, 'Customer ' || m FROM regress.sec_tenants;
INSERT INTO stripe_subscriptions (tenant_id, id, stripe_subscription_id, customer_id, status, stripe_price_id)
SELECT regress.sec_id(0, s), regress.sec_id(11, s), 'sub_Sec' || s, regress.sec_id(10, s), 'active', 'Price ' || m
  FROM regress.sec_tenants;
INSERT INTO sendgrid_contacts (tenant_id, id, email, first_name)
SELECT regress.sec_id(0, s), regress.sec_id(12, s), s || '@example.com', 'Contact ' || m FROM regress.sec_tenants;
INSERT INTO user_activities (tenant_id, id, action, description, created_at)
SELECT regress.sec_id(0, s), regress.sec_id(k, s), 'report.exported', 'Activity ' || m, now() - d * interval '1 day'
  FROM regress.sec_tenants, (VALUES (13, 0), (131, 20)) AS l(k, d);
INSERT INTO api_usage_logs (tenant_id, id, method, endpoint, status_code, response_time_ms, created_at)
SELECT regress.sec_id(0, s), regress.sec_id(k, s), 'GET', '/v1/' || m, 200, 5, now() - d * interval '1 day'
  FROM regress.sec_tenants, (VALUES (14, 0), (141, 20)) AS l(k, d);
-- Usage: B's api_calls (777777) stand out from A's (111); an idempotency key each.
SELECT count(record_usage(regress.sec_id(0, s), 'api_calls', CASE s WHEN 'b' THEN 777777 ELSE 111 END,
                          '2024-03-03 03:00:00+00'))
     + count(record_usage(regress.sec_id(0, s), 'invoices_sent', 1, '2024-03-03 03:00:00+00', 'sec-key-' || s)) AS recorded
  FROM regress.sec_tenants;

-- An application table of this suite under tenancy, with every privilege for
-- marimo_app: only row-level security keeps its rows apart.
CREATE TABLE regress.orders (id integer PRIMARY KEY, note text NOT NULL);
INSERT INTO regress.orders VALUES (1, 'Order of A');
SELECT enable_tenancy('regress.orders', :'A');
INSERT INTO regress.orders (id, note, tenant_id) VALUES (2, 'Order PRIVATE-B', :'B'), (3, 'Order of C', :'C');
SELECT c.relrowsecurity, c.relforcerowsecurity, (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
  FROM pg_class c WHERE c.oid = 'regress.orders'::regclass;
GRANT USAGE ON SCHEMA regress TO marimo_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON regress.orders TO marimo_app;

-- C is suspended.
UPDATE tenants SET status = 'suspended', suspended_at = now(), suspension_reason = 'unpaid'
 WHERE id = :'C';

-- Statistics exist, so that pg_stats could leak values if it showed them.
ANALYZE;

------------------------------------------------------------------------------
-- The security model in the catalog.
------------------------------------------------------------------------------
-- The two roles CREATE EXTENSION made: neither logs in nor bypasses anything.
SELECT rolname, rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb
  FROM pg_roles WHERE rolname IN ('marimo_app', 'marimo_admin') ORDER BY rolname;

-- Every table and partition of the extension: row-level security enabled and
-- forced, its policies, and what marimo_app and PUBLIC may do. Daily
-- partitions (run_maintenance() made them above) are shown as
-- <log>_pYYYYMMDD, all of them alike.
WITH rel AS (
    SELECT c.oid, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
           regexp_replace(c.relname, '_p[0-9]{8}$', '_pYYYYMMDD') AS relation
      FROM pg_class c
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
), privileges AS (
    SELECT r.oid,
           coalesce((SELECT string_agg(a.privilege_type, ',' ORDER BY a.privilege_type)
                       FROM pg_class c, aclexplode(c.relacl) a
                      WHERE c.oid = r.oid AND a.grantee = 'marimo_app'::regrole), '') AS app_table,
           coalesce((SELECT string_agg(x.privilege_type || CASE WHEN x.granted * 2 > x.total
                                           THEN ' all but ' || x.missing ELSE ' on ' || x.columns END, '; '
                                       ORDER BY x.privilege_type)
                       FROM (SELECT p.privilege_type, count(*) AS granted,
                                    (SELECT count(*) FROM pg_attribute t WHERE t.attrelid = r.oid AND t.attnum > 0 AND NOT t.attisdropped) AS total,
                                    string_agg(p.attname, ', ' ORDER BY p.attnum) AS columns,
                                    (SELECT string_agg(t.attname, ', ' ORDER BY t.attnum) FROM pg_attribute t
                                      WHERE t.attrelid = r.oid AND t.attnum > 0 AND NOT t.attisdropped
                                        AND NOT EXISTS (SELECT FROM aclexplode(t.attacl) e
                                                         WHERE e.grantee = 'marimo_app'::regrole
                                                           AND e.privilege_type = p.privilege_type)) AS missing
                               FROM (SELECT a.attname, a.attnum, e.privilege_type
                                       FROM pg_attribute a, aclexplode(a.attacl) e
                                      WHERE a.attrelid = r.oid AND e.grantee = 'marimo_app'::regrole) p
                              GROUP BY p.privilege_type) x), '') AS app_columns,
           EXISTS (SELECT FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = r.oid AND a.grantee = 0)
           OR EXISTS (SELECT FROM pg_attribute t, aclexplode(t.attacl) a WHERE t.attrelid = r.oid AND a.grantee = 0)
               AS public_has_any
      FROM rel r
)
SELECT r.relation, bool_and(r.relrowsecurity) AS rls, bool_and(r.relforcerowsecurity) AS forced,
       min((SELECT string_agg(p.polname || '(' || p.polcmd::text || ')', ' ' ORDER BY p.polname)
              FROM pg_policy p WHERE p.polrelid = r.oid)) AS policies,
       string_agg(DISTINCT p.app_table, ' | ') AS marimo_app,
       string_agg(DISTINCT p.app_columns, ' | ') AS marimo_app_columns,
       bool_or(p.public_has_any) AS public
  FROM rel r JOIN privileges p USING (oid)
 GROUP BY r.relation
 ORDER BY r.relation;

-- The policies are the same on every table and partition: marimo_app reads the current
-- tenant's rows and writes those of a tenant that may write; marimo_admin all.
SELECT p.polname, p.polcmd, p.polroles::regrole[] AS roles,
       regexp_replace(pg_get_expr(p.polqual, p.polrelid), '^\(?(tenant_id|id) ', '(<tenant column> ') AS using_expr,
       regexp_replace(pg_get_expr(p.polwithcheck, p.polrelid), '^\(?(tenant_id|id) ', '(<tenant column> ') AS check_expr
  FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
 WHERE c.relnamespace = 'public'::regnamespace
 GROUP BY 1, 2, 3, 4, 5
 ORDER BY 1, 2;

-- The views: security_invoker, and for operators only.
SELECT c.relname, c.reloptions, has_table_privilege('marimo_app', c.oid, 'SELECT') AS marimo_app,
       has_table_privilege('marimo_admin', c.oid, 'SELECT') AS marimo_admin
  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v' ORDER BY 1;

-- The functions: who may execute them, and how SECURITY DEFINER ones are pinned.
SELECT p.oid::regprocedure AS function, p.prosecdef AS definer, p.proconfig AS config,
       EXISTS (SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0) AS public,
       has_function_privilege('marimo_app', p.oid, 'EXECUTE') AS marimo_app,
       has_function_privilege('marimo_admin', p.oid, 'EXECUTE') AS marimo_admin
  FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
 WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'marimo_erp')
 ORDER BY p.oid::regprocedure::text;

-- The attacker: a login role with marimo_app and nothing else.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'marimo_attacker') THEN
        EXECUTE 'DROP OWNED BY marimo_attacker';
        DROP ROLE marimo_attacker;
    END IF;
END
$$;
CREATE ROLE marimo_attacker LOGIN;
GRANT marimo_app TO marimo_attacker;

------------------------------------------------------------------------------
-- The harness.
------------------------------------------------------------------------------
-- The rows of every tenant, per table (what the attacks must not change).
CREATE TABLE regress.targets (
    ord  integer PRIMARY KEY,
    rel  text NOT NULL,      -- the table
    key  text NOT NULL,      -- its tenant column
    col  text NOT NULL,      -- a column an attack sets to itself
    ins  text NOT NULL,      -- INSERT of a valid row of tenant {TENANT} ({S}: a, b or c) into {T}
    log  boolean NOT NULL DEFAULT false
);
INSERT INTO regress.targets VALUES
 (1, 'tenants', 'id', 'name',
  $$INSERT INTO {T} (id, slug, name) VALUES ('a5ec00ff-0000-4000-8000-00000000000{S}', 'regress-sec-new-{S}', 'New')$$),
 (2, 'analytics_queries', 'tenant_id', 'name',
  $$INSERT INTO {T} (tenant_id, name, query_text) VALUES ({TENANT}, 'Attack', 'SELECT 2')$$),
 (3, 'dashboards', 'tenant_id', 'name',
  $$INSERT INTO {T} (tenant_id, name) VALUES ({TENANT}, 'Attack')$$),
 (4, 'scheduled_reports', 'tenant_id', 'name',
  $$INSERT INTO {T} (tenant_id, name, analytics_query_id, schedule, recipients) VALUES ({TENANT}, 'Attack', 'a5ec0001-0000-4000-8000-00000000000{S}', '0 9 * * 1', '{x@example.com}')$$),
 (5, 'webhooks', 'tenant_id', 'name',
  $$INSERT INTO {T} (tenant_id, name, url, secret) VALUES ({TENANT}, 'Attack', 'https://attacker.example.com/', 'whsec_QVRUQUNL')$$),
 (6, 'webhook_events', 'tenant_id', 'event_type',
  $$INSERT INTO {T} (tenant_id, event_type, payload) VALUES ({TENANT}, 'attack.made', '{}')$$),
 (7, 'webhook_deliveries', 'tenant_id', 'status',
  $$INSERT INTO {T} (tenant_id, webhook_id, event_id) VALUES ({TENANT}, 'a5ec0004-0000-4000-8000-00000000000{S}', 'a5ec0051-0000-4000-8000-00000000000{S}')$$),
 (8, 'webhook_logs', 'tenant_id', 'request_url',
  $$INSERT INTO {T} (tenant_id, webhook_id, attempt, request_url, created_at) VALUES ({TENANT}, 'a5ec0004-0000-4000-8000-00000000000{S}', 1, 'https://attacker.example.com/', {AT})$$),
 (9, 'integrations', 'tenant_id', 'name',
  $$INSERT INTO {T} (tenant_id, provider, name) VALUES ({TENANT}, 'attack', 'Attack')$$),
 (10, 'integration_logs', 'tenant_id', 'operation',
  $$INSERT INTO {T} (tenant_id, integration_id, operation, status, created_at) VALUES ({TENANT}, 'a5ec0008-0000-4000-8000-00000000000{S}', 'attack', 'success', {AT})$$),
 (11, 'stripe_customers', 'tenant_id', 'name',
  $$INSERT INTO {T} (tenant_id, stripe_customer_id) VALUES ({TENANT}, 'cus_Attack')$$),
 (12, 'stripe_subscriptions', 'tenant_id', 'status',
  $$INSERT INTO {T} (tenant_id, stripe_subscription_id, customer_id, status) VALUES ({TENANT}, 'sub_Attack', 'a5ec0010-0000-4000-8000-00000000000{S}', 'active')$$),
 (13, 'sendgrid_contacts', 'tenant_id', 'email',
  $$INSERT INTO {T} (tenant_id, email) VALUES ({TENANT}, 'attack@example.com')$$),
 (14, 'usage_metrics', 'tenant_id', 'metric_type',
  $$INSERT INTO {T} (tenant_id, metric_type, period_start, value_sum, sample_count, value_min, value_max) VALUES ({TENANT}, 'api_calls', '2030-01-01 00:00:00+00', 1, 1, 1, 1)$$),
 (15, 'usage_idempotency_keys', 'tenant_id', 'metric_type',
  $$INSERT INTO {T} (tenant_id, idempotency_key, metric_type, period_start) VALUES ({TENANT}, 'attack-key', 'api_calls', '2030-01-01 00:00:00+00')$$),
 (16, 'user_activities', 'tenant_id', 'action',
  $$INSERT INTO {T} (tenant_id, action, created_at) VALUES ({TENANT}, 'attack.made', {AT})$$),
 (17, 'api_usage_logs', 'tenant_id', 'endpoint',
  $$INSERT INTO {T} (tenant_id, method, endpoint, status_code, response_time_ms, created_at) VALUES ({TENANT}, 'GET', '/attack', 200, 1, {AT})$$),
 (18, 'regress.orders', 'tenant_id', 'note',
  $$INSERT INTO {T} (id, note, tenant_id) VALUES (100 + ascii('{S}'), 'Attack', {TENANT})$$),
 (19, 'webhook_secrets', 'tenant_id', 'expires_at',
  $$INSERT INTO {T} (tenant_id, webhook_id, secret, expires_at) VALUES ({TENANT}, 'a5ec0004-0000-4000-8000-00000000000{S}', 'whsec_QVRUQUNLQVRUQUNLQVRUQUNLQVRUQUNLQVRU', now() + interval '1 day')$$);
UPDATE regress.targets SET log = true WHERE rel IN ('webhook_logs', 'integration_logs', 'user_activities', 'api_usage_logs');

-- An INSERT of a row of tenant s into table (default: the target), dated at.
CREATE FUNCTION regress.sec_ins(t regress.targets, s text, tbl text DEFAULT NULL, at text DEFAULT 'now()')
RETURNS text LANGUAGE sql
AS $$ SELECT replace(replace(replace(replace(t.ins, '{T}', coalesce(tbl, t.rel)),
                                     '{TENANT}', '{' || upper(s) || '}'), '{S}', s), '{AT}', at) $$;

-- A fingerprint of every tenant's rows, to prove that no attack changed them.
CREATE FUNCTION regress.sec_fingerprint() RETURNS TABLE (relation text, tenant text, row_count bigint, digest text)
LANGUAGE plpgsql AS $fn$
DECLARE
    t record;
    s record;
BEGIN
    FOR t IN SELECT * FROM regress.targets ORDER BY ord LOOP
        FOR s IN SELECT * FROM regress.sec_tenants ORDER BY 1 LOOP
            relation := t.rel;
            tenant := s.s;
            EXECUTE format('SELECT count(*), md5(coalesce(string_agg(x::text, %L ORDER BY x::text), %L)) FROM %s x WHERE %I = $1',
                           E'\n', '', t.rel, t.key)
               INTO row_count, digest USING regress.sec_id(0, s.s);
            RETURN NEXT;
        END LOOP;
    END LOOP;
END
$fn$;
CREATE TABLE regress.sec_baseline AS SELECT * FROM regress.sec_fingerprint();
SELECT relation, string_agg(tenant || ':' || row_count, ' ' ORDER BY tenant) AS rows_per_tenant
  FROM regress.sec_baseline GROUP BY relation ORDER BY min(relation);

-- What every attempt leaves behind.
CREATE TABLE regress.attack_log (
    attempt     serial PRIMARY KEY,
    description text NOT NULL,
    outcome     text NOT NULL,
    succeeded   boolean NOT NULL
);
GRANT SELECT, INSERT ON regress.attack_log TO marimo_attacker;
GRANT USAGE ON SEQUENCE regress.attack_log_attempt_seq TO marimo_attacker;

-- {A}, {B}, {C}: the tenants, quoted; {TODAY}: today's date (UTC) as in a
-- daily partition's name.
CREATE FUNCTION regress.sec_expand(statement pg_catalog.text) RETURNS pg_catalog.text
LANGUAGE sql STABLE
AS $$
SELECT pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(statement,
       '{A}', pg_catalog.quote_literal(regress.sec_id(0, 'a'))),
       '{B}', pg_catalog.quote_literal(regress.sec_id(0, 'b'))),
       '{C}', pg_catalog.quote_literal(regress.sec_id(0, 'c'))),
       '{TODAY}', pg_catalog.to_char(pg_catalog.timezone('UTC', pg_catalog.now()), 'YYYYMMDD'))
$$;

-- Runs a statement as the caller in a subtransaction, undone unless keep.
-- state: the SQLSTATE it raised, or NULL; n: rows returned or changed;
-- message: the error's message, detail, hint and context.
CREATE FUNCTION regress.sec_run(statement pg_catalog.text, keep pg_catalog.bool,
                                OUT state pg_catalog.text, OUT n pg_catalog.int8, OUT message pg_catalog.text)
LANGUAGE plpgsql AS $fn$
DECLARE
    detail pg_catalog.text;
    hint pg_catalog.text;
    context pg_catalog.text;
BEGIN
    n := 0;
    BEGIN
        EXECUTE regress.sec_expand(statement);
        GET DIAGNOSTICS n = ROW_COUNT;
        IF NOT keep THEN
            RAISE EXCEPTION USING ERRCODE = 'SECUN', MESSAGE = 'undo';
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'SECUN' THEN
            NULL;
        WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                                    detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT,
                                    context = PG_EXCEPTION_CONTEXT;
            message := pg_catalog.concat_ws(' | ', message, detail, hint, context);
    END;
END
$fn$;

-- wins: 'rows' (the attack won if the statement ran and returned or changed
-- a row), 'no_error' (it must be refused), 'error' (a call that must work
-- failed: a hijacked name was reached), 'never' (only a leak or an impostor
-- counts), or a SQLSTATE whose error reveals a row of another tenant.
CREATE FUNCTION regress.sec_outcome(state pg_catalog.text, n pg_catalog.int8, message pg_catalog.text,
                                    wins pg_catalog.text, OUT outcome pg_catalog.text, OUT won pg_catalog.bool)
LANGUAGE plpgsql AS $fn$
BEGIN
    outcome := CASE WHEN state IS NULL THEN 'ran: ' || n || ' rows' ELSE 'blocked: ' || state END;
    won := CASE wins
               WHEN 'rows' THEN state IS NULL AND n > 0
               WHEN 'no_error' THEN state IS NULL
               WHEN 'error' THEN state IS NOT NULL
               WHEN 'never' THEN false
               ELSE state IS NOT DISTINCT FROM wins
           END;
    -- The impostors of the hijack attacks raise SECHJ when they run.
    IF state = 'SECHJ' OR message ~ 'impostor .* reached' THEN
        won := true;
        outcome := outcome || ', an impostor ran';
    END IF;
    IF message ~ '(PRIVATE-B|U1RPUkVE|STORED-CREDENTIAL)' THEN
        won := true;
        outcome := outcome || ', the error shows stored data';
    END IF;
    IF won THEN
        outcome := outcome || '  <== ATTACK SUCCEEDED';
    END IF;
END
$fn$;

CREATE FUNCTION regress.try_attack(description pg_catalog.text, statement pg_catalog.text,
                                   wins pg_catalog.text DEFAULT 'rows', keep pg_catalog.bool DEFAULT false)
RETURNS pg_catalog.text LANGUAGE plpgsql AS $fn$
DECLARE
    r record;
    o record;
BEGIN
    SELECT * INTO r FROM regress.sec_run(statement, keep);
    SELECT * INTO o FROM regress.sec_outcome(r.state, r.n, r.message, wins);
    INSERT INTO regress.attack_log (description, outcome, succeeded) VALUES (description, o.outcome, o.won);
    RETURN o.outcome;
END
$fn$;

-- For a statement psql ran itself (COPY, SET, DISCARD): its :SQLSTATE and :ROW_COUNT.
CREATE FUNCTION regress.record_attack(description pg_catalog.text, sqlstate pg_catalog.text, row_count pg_catalog.int8,
                                      wins pg_catalog.text DEFAULT 'no_error')
RETURNS pg_catalog.text LANGUAGE plpgsql AS $fn$
DECLARE
    o record;
BEGIN
    SELECT * INTO o FROM regress.sec_outcome(NULLIF(sqlstate, '00000'), row_count, NULL, wins);
    INSERT INTO regress.attack_log (description, outcome, succeeded) VALUES (description, o.outcome, o.won);
    RETURN o.outcome;
END
$fn$;

-- The catalogue of attacks, by group; context: the tenant the attacker has set.
-- kind: 'attack', 'control' (must work; not an attack) or 'note' (a known
-- limitation, shown but not counted). superuser: whether the superuser's
-- run of every attack includes it.
CREATE TABLE regress.attacks (
    id          serial PRIMARY KEY,
    grp         text NOT NULL,
    context     text NOT NULL CHECK (context IN ('none', 'A', 'C')),
    description text NOT NULL,
    statement   text NOT NULL,
    wins        text NOT NULL DEFAULT 'rows',
    keep        boolean NOT NULL DEFAULT false,
    kind        text NOT NULL DEFAULT 'attack' CHECK (kind IN ('attack', 'control', 'note')),
    superuser   boolean NOT NULL DEFAULT true
);
GRANT SELECT ON regress.attacks, regress.targets TO marimo_attacker;

-- Runs a group as the caller, which must have set the group's tenant.
CREATE FUNCTION regress.run_attacks(which pg_catalog.text) RETURNS TABLE (attack pg_catalog.text, outcome pg_catalog.text)
LANGUAGE plpgsql AS $fn$
DECLARE
    a record;
    r record;
    want pg_catalog.uuid;
    have pg_catalog.uuid;
BEGIN
    FOR a IN SELECT * FROM regress.attacks x WHERE x.grp = which ORDER BY x.id LOOP
        want := CASE a.context WHEN 'none' THEN NULL ELSE regress.sec_id(0, pg_catalog.lower(a.context)) END;
        have := public.current_tenant();
        attack := a.description;
        IF have IS DISTINCT FROM want THEN
            outcome := 'NOT RUN: the current tenant is ' || coalesce(have::pg_catalog.text, 'none');
            INSERT INTO regress.attack_log (description, outcome, succeeded) VALUES (a.description, outcome, true);
        ELSIF a.kind = 'attack' THEN
            outcome := regress.try_attack(a.description, a.statement, a.wins, a.keep);
        ELSE
            SELECT * INTO r FROM regress.sec_run(a.statement, a.keep);
            outcome := CASE WHEN r.state IS NULL THEN 'ran: ' || r.n || ' rows' ELSE 'blocked: ' || r.state END;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$fn$;

------------------------------------------------------------------------------
-- The attacks.
------------------------------------------------------------------------------
-- a. No tenant set: nothing of any tenant, every table.
INSERT INTO regress.attacks (grp, context, description, statement, wins)
SELECT 'a', 'none', t.rel || ': ' || o.what, coalesce(format(o.stmt, t.rel, t.key, t.col), regress.sec_ins(t, 'a')), o.wins
  FROM regress.targets t,
       (VALUES (1, 'SELECT every row', 'SELECT 1 FROM %1$s', 'rows'),
               (2, 'SELECT the rows of B', 'SELECT 1 FROM %1$s WHERE %2$I = {B}', 'rows'),
               (3, 'count(*) > 0', 'SELECT count(*) FROM %1$s HAVING count(*) > 0', 'rows'),
               (4, 'UPDATE every row', 'UPDATE %1$s SET %3$I = %3$I', 'rows'),
               (5, 'DELETE every row', 'DELETE FROM %1$s', 'rows'),
               (6, 'INSERT a row of A', NULL, 'rows')) AS o(n, what, stmt, wins)
 ORDER BY t.ord, o.n;
INSERT INTO regress.attacks (grp, context, description, statement) VALUES
 ('a', 'none', 'check_tenant_limit(A) with no tenant', $$SELECT * FROM check_tenant_limit({A}, 'users_count', 1)$$),
 ('a', 'none', 'aggregate_usage_metrics(A) with no tenant', $$SELECT * FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01')$$),
 ('a', 'none', 'record_usage(A) with no tenant', $$SELECT record_usage({A}, 'api_calls', 1)$$);

-- b. A set: the rows of B (and of C) stay out of sight and reach.
INSERT INTO regress.attacks (grp, context, description, statement)
SELECT 'b', 'A', t.rel || ': ' || o.what, format(o.stmt, t.rel, t.key, t.col)
  FROM regress.targets t,
       (VALUES (1, 'SELECT the rows of B', 'SELECT 1 FROM %1$s WHERE %2$I = {B}'),
               (2, 'SELECT the rows of other tenants', 'SELECT 1 FROM %1$s WHERE %2$I <> {A}'),
               (3, 'SELECT the rows of suspended C', 'SELECT 1 FROM %1$s WHERE %2$I = {C}'),
               (4, 'count(*) of B > 0', 'SELECT count(*) FROM %1$s WHERE %2$I = {B} HAVING count(*) > 0'),
               (5, 'SELECT ... FOR UPDATE the rows of B', 'SELECT 1 FROM %1$s WHERE %2$I = {B} FOR UPDATE'),
               (6, 'UPDATE the rows of B', 'UPDATE %1$s SET %3$I = %3$I WHERE %2$I = {B}'),
               (7, 'UPDATE the rows of other tenants', 'UPDATE %1$s SET %3$I = %3$I WHERE %2$I <> {A}'),
               (8, 'DELETE the rows of B', 'DELETE FROM %1$s WHERE %2$I = {B}'),
               (9, 'DELETE the rows of other tenants', 'DELETE FROM %1$s WHERE %2$I <> {A}')) AS o(n, what, stmt)
 ORDER BY t.ord, o.n;

-- p. A set: the partitions of the logs, named directly, are out of reach.
INSERT INTO regress.attacks (grp, context, description, statement, wins)
SELECT 'p', 'A', p.label || ': ' || o.what,
       coalesce(format(o.stmt, p.part, t.col), regress.sec_ins(t, 'a', p.part, p.at)), o.wins
  FROM regress.targets t,
       LATERAL (VALUES (1, t.rel || '_default', t.rel || '_default', $$now() - interval '20 days'$$),
                       (2, t.rel || '_p{TODAY}', t.rel || '_pYYYYMMDD (today)', 'now()')) AS p(n, part, label, at),
       (VALUES (1, 'SELECT every row', 'SELECT 1 FROM %1$s', 'rows'),
               (2, 'count(*) > 0', 'SELECT count(*) FROM %1$s HAVING count(*) > 0', 'rows'),
               (3, 'INSERT a row of A', NULL, 'rows'),
               (4, 'UPDATE every row', 'UPDATE %1$s SET %2$I = %2$I', 'rows'),
               (5, 'DELETE every row', 'DELETE FROM %1$s', 'rows'),
               (6, 'TRUNCATE', 'TRUNCATE %1$s', 'no_error')) AS o(n, what, stmt, wins)
 WHERE t.log
 ORDER BY t.ord, p.n, o.n;

-- c. A set: writing rows of B, moving rows of A to B, pointing at rows of B.
INSERT INTO regress.attacks (grp, context, description, statement)
SELECT 'c', 'A', t.rel || ': ' || o.what, coalesce(format(o.stmt, t.rel, t.key), regress.sec_ins(t, o.s))
  FROM regress.targets t,
       (VALUES (1, 'INSERT a row of B', NULL, 'b'),
               (2, 'INSERT a row of suspended C', NULL, 'c'),
               (3, 'move the rows of A to B (UPDATE its tenant)', 'UPDATE %1$s SET %2$I = {B} WHERE %2$I = {A}', NULL))
           AS o(n, what, stmt, s)
 ORDER BY t.ord, o.n;
INSERT INTO regress.attacks (grp, context, description, statement, kind) VALUES
 ('c', 'A', 'analytics_queries: upsert onto the query of B',
  $$INSERT INTO analytics_queries (tenant_id, id, name, query_text) VALUES ({B}, 'a5ec0001-0000-4000-8000-00000000000b', 'Attack', 'SELECT 3') ON CONFLICT (tenant_id, id) DO UPDATE SET name = 'Overwritten'$$, 'attack'),
 ('c', 'A', 'dashboards: upsert that moves the board of A to B',
  $$INSERT INTO dashboards (tenant_id, id, name) VALUES ({A}, 'a5ec0002-0000-4000-8000-00000000000a', 'Attack') ON CONFLICT (tenant_id, id) DO UPDATE SET tenant_id = {B}$$, 'attack'),
 ('c', 'A', 'dashboards: copy the boards of B into A (INSERT ... SELECT)',
  $$INSERT INTO dashboards (tenant_id, name) SELECT {A}, name || ' (copy)' FROM dashboards WHERE tenant_id = {B}$$, 'attack'),
 ('c', 'A', 'dashboards: copy names of B into a board of A (UPDATE ... subquery)',
  $$WITH u AS (UPDATE dashboards SET description = (SELECT string_agg(d.name, ',') FROM dashboards d WHERE d.tenant_id = {B}) WHERE tenant_id = {A} RETURNING description) SELECT 1 FROM u WHERE description IS NOT NULL$$, 'attack'),
 ('c', 'A', 'tenants: copy the settings of B into A',
  $$WITH u AS (UPDATE tenants SET settings = coalesce((SELECT t.settings FROM tenants t WHERE t.id = {B}), '{}') WHERE id = {A} RETURNING settings) SELECT 1 FROM u WHERE settings <> '{}'$$, 'attack'),
 ('c', 'A', 'webhooks: copy the secret of B into a webhook of A',
  $$INSERT INTO webhooks (tenant_id, name, url, secret) SELECT {A}, 'Copied', url, secret FROM webhooks WHERE tenant_id = {B}$$, 'attack'),
 ('c', 'A', 'scheduled_reports: a report of A on the query of B',
  $$INSERT INTO scheduled_reports (tenant_id, name, analytics_query_id, schedule, recipients) VALUES ({A}, 'Attack', 'a5ec0001-0000-4000-8000-00000000000b', '0 9 * * 1', '{x@example.com}')$$, 'attack'),
 ('c', 'A', 'scheduled_reports: a report of A on the board of B',
  $$INSERT INTO scheduled_reports (tenant_id, name, dashboard_id, schedule, recipients) VALUES ({A}, 'Attack', 'a5ec0002-0000-4000-8000-00000000000b', '0 9 * * 1', '{x@example.com}')$$, 'attack'),
 ('c', 'A', 'scheduled_reports: point the report of A at the query of B',
  $$UPDATE scheduled_reports SET analytics_query_id = 'a5ec0001-0000-4000-8000-00000000000b' WHERE tenant_id = {A}$$, 'attack'),
 ('c', 'A', 'webhook_deliveries: a delivery of A to the webhook of B',
  $$INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id) VALUES ({A}, 'a5ec0004-0000-4000-8000-00000000000b', 'a5ec0051-0000-4000-8000-00000000000a')$$, 'attack'),
 ('c', 'A', 'webhook_deliveries: a delivery of A of the event of B',
  $$INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id) VALUES ({A}, 'a5ec0004-0000-4000-8000-00000000000a', 'a5ec0051-0000-4000-8000-00000000000b')$$, 'attack'),
 ('c', 'A', 'webhook_logs: a log of A for the webhook of B',
  $$INSERT INTO webhook_logs (tenant_id, webhook_id, attempt, request_url) VALUES ({A}, 'a5ec0004-0000-4000-8000-00000000000b', 1, 'https://attacker.example.com/')$$, 'attack'),
 ('c', 'A', 'webhook_logs: a log of A for the delivery of B',
  $$INSERT INTO webhook_logs (tenant_id, webhook_id, delivery_id, attempt, request_url) VALUES ({A}, 'a5ec0004-0000-4000-8000-00000000000a', 'a5ec0006-0000-4000-8000-00000000000b', 1, 'https://attacker.example.com/')$$, 'attack'),
 ('c', 'A', 'integration_logs: a log of A for the integration of B',
  $$INSERT INTO integration_logs (tenant_id, integration_id, operation, status) VALUES ({A}, 'a5ec0008-0000-4000-8000-00000000000b', 'attack', 'success')$$, 'attack'),
 ('c', 'A', 'stripe_subscriptions: a subscription of A for the customer of B',
  $$INSERT INTO stripe_subscriptions (tenant_id, stripe_subscription_id, customer_id, status) VALUES ({A}, 'sub_Attack', 'a5ec0010-0000-4000-8000-00000000000b', 'active')$$, 'attack'),
 ('c', 'A', 'tenants: raise its own plan', $$UPDATE tenants SET plan = 'enterprise' WHERE id = {A}$$, 'attack'),
 ('c', 'A', 'tenants: lift its own limits', $$UPDATE tenants SET limits = '{}' WHERE id = {A}$$, 'attack'),
 ('c', 'A', 'tenants: raise its own max_users', $$UPDATE tenants SET max_users = 100000 WHERE id = {A}$$, 'attack'),
 ('c', 'A', 'tenants: change its own subscription status', $$UPDATE tenants SET subscription_status = 'active', trial_ends_at = NULL WHERE id = {A}$$, 'attack'),
 ('c', 'A', 'tenants: change its own slug', $$UPDATE tenants SET slug = 'regress-sec-taken' WHERE id = {A}$$, 'attack'),
 ('c', 'A', 'tenants: delete itself', $$DELETE FROM tenants WHERE id = {A}$$, 'attack'),
 ('c', 'A', 'usage_metrics: rewrite its own bill', $$UPDATE usage_metrics SET value_sum = value_max WHERE tenant_id = {A}$$, 'attack'),
 ('c', 'A', 'usage_metrics: delete its own usage', $$DELETE FROM usage_metrics WHERE tenant_id = {A}$$, 'attack'),
 ('c', 'A', 'usage_idempotency_keys: forget its own keys', $$DELETE FROM usage_idempotency_keys WHERE tenant_id = {A}$$, 'attack'),
 ('c', 'A', 'api_usage_logs: rewrite its own log', $$UPDATE api_usage_logs SET status_code = 200 WHERE tenant_id = {A}$$, 'attack'),
 ('c', 'A', 'user_activities: erase its own trail', $$DELETE FROM user_activities WHERE tenant_id = {A}$$, 'attack'),
 ('c', 'A', 'regress.orders: an order of A with the id of the order of B (primary key without tenant_id)',
  $$INSERT INTO regress.orders (id, note, tenant_id) VALUES (2, 'Probe', {A})$$, 'note');

-- d. A set: the functions, for B, and those only operators may run.
INSERT INTO regress.attacks (grp, context, description, statement) VALUES
 ('d', 'A', 'check_tenant_limit(B, users_count)', $$SELECT * FROM check_tenant_limit({B}, 'users_count', 1)$$),
 ('d', 'A', 'check_tenant_limit(B, webhooks_count)', $$SELECT * FROM check_tenant_limit({B}, 'webhooks_count')$$),
 ('d', 'A', 'check_tenant_limit(B, api_calls_per_month)', $$SELECT * FROM check_tenant_limit({B}, 'api_calls_per_month')$$),
 ('d', 'A', 'check_tenant_limit(B, seats)', $$SELECT * FROM check_tenant_limit({B}, 'seats', 1)$$),
 ('d', 'A', 'check_tenant_limit(C, users_count)', $$SELECT * FROM check_tenant_limit({C}, 'users_count', 1)$$),
 ('d', 'A', 'aggregate_usage_metrics(B)', $$SELECT * FROM aggregate_usage_metrics({B}, 'api_calls', '2000-01-01', '2100-01-01')$$),
 ('d', 'A', 'aggregate_usage_metrics(B, by day)', $$SELECT * FROM aggregate_usage_metrics({B}, 'api_calls', '2000-01-01', '2100-01-01', 'day')$$),
 ('d', 'A', 'aggregate_usage_metrics(C)', $$SELECT * FROM aggregate_usage_metrics({C}, 'api_calls', '2000-01-01', '2100-01-01')$$),
 ('d', 'A', 'record_usage(B)', $$SELECT record_usage({B}, 'api_calls', 1)$$),
 ('d', 'A', 'record_usage(B) with a new key', $$SELECT record_usage({B}, 'api_calls', 1, now(), 'sec-attack-key')$$),
 ('d', 'A', 'record_usage(B) with the key of B', $$SELECT record_usage({B}, 'invoices_sent', 0, now(), 'sec-key-b')$$),
 ('d', 'A', 'record_usage(A) with the key of B answers the hour of B',
  $$SELECT 1 WHERE record_usage({A}, 'invoices_sent', 1, '2025-01-01 10:00:00+00', 'sec-key-b') = '2024-03-03 03:00:00+00'$$),
 ('d', 'A', 'record_usage(C)', $$SELECT record_usage({C}, 'api_calls', 1)$$),
 ('d', 'A', 'enable_tenancy(regress.orders, B)', $$SELECT enable_tenancy('regress.orders', {B})$$),
 ('d', 'A', 'enable_tenancy(regress.orders, A)', $$SELECT enable_tenancy('regress.orders', {A})$$),
 ('d', 'A', 'isolate_tenant_rows(regress.orders)', $$SELECT isolate_tenant_rows('regress.orders')$$),
 ('d', 'A', 'cleanup_webhook_logs()', $$SELECT cleanup_webhook_logs('1 second')$$),
 ('d', 'A', 'cleanup_integration_logs()', $$SELECT cleanup_integration_logs('1 second')$$),
 ('d', 'A', 'cleanup_activity_logs()', $$SELECT cleanup_activity_logs('1 second')$$),
 ('d', 'A', 'cleanup_api_usage_logs()', $$SELECT cleanup_api_usage_logs('1 second')$$),
 ('d', 'A', 'cleanup_idempotency_keys()', $$SELECT cleanup_idempotency_keys('1 second')$$),
 ('d', 'A', 'run_maintenance()', $$SELECT count(*) FROM run_maintenance()$$),
 ('d', 'A', 'create_log_partitions()', $$SELECT create_log_partitions('api_usage_logs', current_date + 30, current_date + 31)$$),
 ('d', 'A', 'assert_no_data_loss()', $$SELECT assert_no_data_loss('0.1.0', ARRAY[]::text[])$$),
 ('d', 'A', 'set_updated_at() called directly', $$SELECT set_updated_at()$$),
 ('d', 'A', 'rollup_api_usage() called directly', $$SELECT rollup_api_usage()$$);
-- set_updated_at() and rollup_api_usage() are trigger functions: no one may call them.
UPDATE regress.attacks SET superuser = false WHERE grp = 'd' AND description LIKE '%called directly';
-- No one can make a key of B answer for A: not a matter of privileges.
UPDATE regress.attacks SET superuser = false WHERE grp = 'd' AND description LIKE '%the key of B answers%';

-- e. C set: a suspended tenant reads but does not write.
INSERT INTO regress.attacks (grp, context, description, statement)
SELECT 'e', 'C', t.rel || ': ' || o.what, coalesce(format(o.stmt, t.rel, t.key, t.col), regress.sec_ins(t, 'c'))
  FROM regress.targets t,
       (VALUES (1, 'INSERT a row of its own', NULL),
               (2, 'UPDATE its own rows', 'UPDATE %1$s SET %3$I = %3$I WHERE %2$I = {C}'),
               (3, 'DELETE its own rows', 'DELETE FROM %1$s WHERE %2$I = {C}')) AS o(n, what, stmt)
 ORDER BY t.ord, o.n;
INSERT INTO regress.attacks (grp, context, description, statement) VALUES
 ('e', 'C', 'record_usage(C)', $$SELECT record_usage({C}, 'api_calls', 1)$$),
 ('e', 'C', 'record_usage(C) with a key', $$SELECT record_usage({C}, 'api_calls', 1, now(), 'sec-c-new-key')$$),
 ('e', 'C', 'tenants: lift its own suspension', $$UPDATE tenants SET status = 'active', suspended_at = NULL WHERE id = {C}$$);

-- g. A set: SQL in every text argument. The payloads would record an
-- attempt that succeeded, or damage tables (checked below by the superuser),
-- if any function spliced them into SQL; their effects are kept.
INSERT INTO regress.attacks (grp, context, description, statement, wins, keep) VALUES
 ('g', 'A', 'check_tenant_limit: limit_type ending the string',
  $$SELECT * FROM check_tenant_limit({A}, 'users_count''; DELETE FROM public.tenants; --', 1)$$, 'never', true),
 ('g', 'A', 'check_tenant_limit: limit_type with OR',
  $$SELECT * FROM check_tenant_limit({A}, 'webhooks_count'' OR ''1''=''1')$$, 'never', true),
 ('g', 'A', 'check_tenant_limit: limit_type recording a success',
  $$SELECT * FROM check_tenant_limit({A}, 'x''); INSERT INTO regress.attack_log (description, outcome, succeeded) VALUES (''g: injected'', ''injected'', true); --', 1)$$, 'never', true),
 ('g', 'A', 'check_tenant_limit: a quoted identifier as limit_type',
  $$SELECT * FROM check_tenant_limit({A}, 'webhooks" WHERE false UNION SELECT count(*) FROM public.webhooks --_count')$$, 'never', true),
 ('g', 'A', 'check_tenant_limit: <table>_count of a table not on the list',
  $$SELECT * FROM check_tenant_limit({A}, 'tenants_count')$$, 'never', true),
 ('g', 'A', 'check_tenant_limit: <table>_count of a catalog',
  $$SELECT * FROM check_tenant_limit({A}, 'pg_authid_count')$$, 'never', true),
 ('g', 'A', 'check_tenant_limit: <metric>_per_month counting every tenant',
  $$SELECT 1 FROM check_tenant_limit({A}, 'api_calls'' OR tenant_id <> ''00000000-0000-0000-0000-000000000000_per_month') WHERE current_value >= 777777$$, 'rows', true),
 ('g', 'A', 'check_tenant_limit: <metric>_per_day with a comment',
  $$SELECT * FROM check_tenant_limit({A}, 'api_calls/**/_per_day')$$, 'never', true),
 ('g', 'A', 'aggregate_usage_metrics: metric_type counting every tenant',
  $$SELECT 1 FROM aggregate_usage_metrics({A}, 'api_calls'' OR ''1''=''1', '2000-01-01', '2100-01-01') WHERE total >= 777777$$, 'rows', true),
 ('g', 'A', 'aggregate_usage_metrics: bucket ending the statement',
  $$SELECT * FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01', 'day''; DELETE FROM public.usage_metrics; --')$$, 'never', true),
 ('g', 'A', 'aggregate_usage_metrics: bucket reading every tenant',
  $$SELECT 1 FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01', 'hour'', period_start) FROM public.usage_metrics --') WHERE total >= 777777$$, 'rows', true),
 ('g', 'A', 'aggregate_usage_metrics: bucket recording a success',
  $$SELECT * FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01', 'day''); INSERT INTO regress.attack_log (description, outcome, succeeded) VALUES (''g: injected'', ''injected'', true); --')$$, 'never', true),
 ('g', 'A', 'record_usage: metric_type with a statement',
  $$SELECT record_usage({A}, 'a; drop table tenants', 1)$$, 'never', true),
 ('g', 'A', 'record_usage: metric_type ending the string',
  $$SELECT record_usage({A}, 'api_calls''; DELETE FROM public.tenants; --', 1)$$, 'never', true),
 ('g', 'A', 'record_usage: metric_type writing for B',
  $$SELECT record_usage({A}, 'api_calls'', ''a5ec0000-0000-4000-8000-00000000000b'') --', 1)$$, 'never', true),
 ('g', 'A', 'record_usage: idempotency_key with OR',
  $$SELECT 1 WHERE record_usage({A}, 'api_calls', 1, '2024-06-01 00:00:00+00', ''' OR 1=1 --') IS NULL$$, 'rows', true),
 ('g', 'A', 'record_usage: idempotency_key recording a success',
  $$SELECT 1 WHERE record_usage({A}, 'api_calls', 1, '2024-06-01 00:00:00+00', 'x''); INSERT INTO regress.attack_log (description, outcome, succeeded) VALUES (''g: injected'', ''injected'', true); --') IS NULL$$, 'rows', true),
 ('g', 'A', 'record_usage: idempotency_key deleting the keys of B',
  $$SELECT 1 WHERE record_usage({A}, 'api_calls', 1, '2024-06-01 00:00:00+00', 'y''; DELETE FROM public.usage_idempotency_keys; --') IS NULL$$, 'rows', true),
 ('g', 'A', 'record_usage: idempotency_key of 255 quotes',
  $$SELECT 1 WHERE record_usage({A}, 'api_calls', 1, '2024-06-01 00:00:00+00', repeat('''', 255)) IS NULL$$, 'rows', true),
 ('g', 'A', 'create_log_partitions: table_name with a statement',
  $$SELECT create_log_partitions('api_usage_logs; DROP TABLE public.tenants; --', current_date, current_date)$$, 'never', true),
 ('g', 'A', 'enable_tenancy: target with a statement',
  $$SELECT enable_tenancy('regress.orders; DROP TABLE public.tenants', {A})$$, 'never', true),
 ('g', 'A', 'assert_no_data_loss: tables with a statement',
  $$SELECT assert_no_data_loss('0.6.0', ARRAY['tenants; DROP TABLE public.tenants'])$$, 'never', true),
 ('g', 'A', 'webhooks: a URL with a statement',
  $$INSERT INTO webhooks (tenant_id, name, url, secret) VALUES ({A}, 'Injected', 'https://x.example.com/''; DELETE FROM public.tenants; --', 'whsec_QVRUQUNL')$$, 'never', false),
 ('g', 'A', 'webhook_events: an event type with a statement',
  $$INSERT INTO webhook_events (tenant_id, event_type, payload) VALUES ({A}, 'x''; DELETE FROM public.tenants; --', '{}')$$, 'never', false),
 ('g', 'A', 'api_usage_logs: an endpoint with a statement (through the rollup)',
  $$INSERT INTO api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms) VALUES ({A}, 'GET', '/''; DELETE FROM public.usage_metrics; --', 200, 1)$$, 'never', false);

-- Injection needs a function that splices its arguments: the superuser would
-- not win these either.
UPDATE regress.attacks SET superuser = false WHERE grp = 'g';

-- h. A set: the write-only secrets, the operators' views, statistics.
INSERT INTO regress.attacks (grp, context, description, statement, wins) VALUES
 ('h', 'A', 'webhooks: SELECT secret', $$SELECT secret FROM webhooks$$, 'rows'),
 ('h', 'A', 'webhooks: SELECT *', $$SELECT * FROM webhooks$$, 'rows'),
 ('h', 'A', 'webhooks: TABLE', $$TABLE webhooks$$, 'rows'),
 ('h', 'A', 'webhooks: row_to_json of the row', $$SELECT row_to_json(w) FROM webhooks w$$, 'rows'),
 ('h', 'A', 'webhooks: to_jsonb of the row', $$SELECT to_jsonb(w) FROM webhooks w$$, 'rows'),
 ('h', 'A', 'webhooks: the whole row by alias', $$SELECT w FROM webhooks w$$, 'rows'),
 ('h', 'A', 'webhooks: the whole row by table name', $$SELECT webhooks FROM webhooks$$, 'rows'),
 ('h', 'A', 'webhooks: SELECT * through a subquery', $$SELECT secret FROM (SELECT * FROM webhooks) s$$, 'rows'),
 ('h', 'A', 'webhooks: SELECT * through a CTE', $$WITH w AS (SELECT * FROM webhooks) SELECT 1 FROM w$$, 'rows'),
 ('h', 'A', 'webhooks: length of the secret', $$SELECT length(secret) FROM webhooks$$, 'rows'),
 ('h', 'A', 'webhooks: filter on the secret', $$SELECT 1 FROM webhooks WHERE secret LIKE 'whsec_%'$$, 'rows'),
 ('h', 'A', 'webhooks: order by the secret', $$SELECT 1 FROM webhooks ORDER BY secret$$, 'rows'),
 ('h', 'A', 'webhooks: group by the secret', $$SELECT count(*) FROM webhooks GROUP BY secret$$, 'rows'),
 ('h', 'A', 'webhooks: copy the secret into the description', $$UPDATE webhooks SET description = secret WHERE tenant_id = {A}$$, 'rows'),
 ('h', 'A', 'webhooks: UPDATE ... RETURNING secret', $$UPDATE webhooks SET name = name WHERE tenant_id = {A} RETURNING secret$$, 'rows'),
 ('h', 'A', 'webhooks: DELETE ... RETURNING secret', $$DELETE FROM webhooks WHERE tenant_id = {A} RETURNING secret$$, 'rows'),
 ('h', 'A', 'webhooks: DELETE ... RETURNING *', $$DELETE FROM webhooks WHERE tenant_id = {A} RETURNING *$$, 'rows'),
 ('h', 'A', 'webhooks: INSERT ... RETURNING secret',
  $$INSERT INTO webhooks (tenant_id, name, url, secret) VALUES ({A}, 'Attack', 'https://attacker.example.com/', 'whsec_QVRUQUNL') RETURNING secret$$, 'rows'),
 ('h', 'A', 'webhooks: upsert that copies the stored secret',
  $$INSERT INTO webhooks (tenant_id, id, name, url, secret) VALUES ({A}, 'a5ec0004-0000-4000-8000-00000000000a', 'Attack', 'https://attacker.example.com/', 'whsec_QVRUQUNL') ON CONFLICT (tenant_id, id) DO UPDATE SET description = webhooks.secret$$, 'rows'),
 ('h', 'A', 'webhooks: failing CHECK shows the row (and the secret?)', $$UPDATE webhooks SET url = 'not a url' WHERE tenant_id = {A}$$, 'rows'),
 ('h', 'A', 'integrations: SELECT credentials', $$SELECT credentials FROM integrations$$, 'rows'),
 ('h', 'A', 'integrations: SELECT *', $$SELECT * FROM integrations$$, 'rows'),
 ('h', 'A', 'integrations: row_to_json of the row', $$SELECT row_to_json(i) FROM integrations i$$, 'rows'),
 ('h', 'A', 'integrations: filter on the credentials', $$SELECT 1 FROM integrations WHERE credentials ? 'api_key'$$, 'rows'),
 ('h', 'A', 'integrations: copy the credentials into the config', $$UPDATE integrations SET config = credentials WHERE tenant_id = {A}$$, 'rows'),
 ('h', 'A', 'integrations: add to the credentials read back', $$UPDATE integrations SET credentials = credentials || '{"x": 1}' WHERE tenant_id = {A}$$, 'rows'),
 ('h', 'A', 'integrations: DELETE ... RETURNING credentials', $$DELETE FROM integrations WHERE tenant_id = {A} RETURNING credentials$$, 'rows'),
 ('h', 'A', 'integrations: failing CHECK shows the row (and the credentials?)', $$UPDATE integrations SET status = 'bogus' WHERE tenant_id = {A}$$, 'rows'),
 ('h', 'A', 'monitoring_table_sizes', $$SELECT * FROM monitoring_table_sizes$$, 'rows'),
 ('h', 'A', 'monitoring_index_usage', $$SELECT * FROM monitoring_index_usage$$, 'rows'),
 ('h', 'A', 'pg_stats of webhooks.secret', $$SELECT 1 FROM pg_stats WHERE schemaname = 'public' AND tablename = 'webhooks' AND attname = 'secret'$$, 'rows'),
 ('h', 'A', 'pg_stats of analytics_queries (values of every tenant)', $$SELECT 1 FROM pg_stats WHERE schemaname = 'public' AND tablename = 'analytics_queries'$$, 'rows'),
 ('h', 'A', 'pg_stats of tenants', $$SELECT 1 FROM pg_stats WHERE schemaname = 'public' AND tablename = 'tenants'$$, 'rows'),
 ('h', 'A', 'pg_stats of the log partitions', $$SELECT 1 FROM pg_stats WHERE schemaname = 'public' AND tablename LIKE '%logs%'$$, 'rows'),
 ('h', 'A', 'pg_stats of regress.orders', $$SELECT 1 FROM pg_stats WHERE schemaname = 'regress' AND tablename = 'orders'$$, 'rows'),
 ('h', 'A', 'pg_statistic', $$SELECT 1 FROM pg_statistic$$, 'rows'),
 ('h', 'A', 'COPY analytics_queries FROM a server file', $$COPY analytics_queries (name) FROM '/dev/null'$$, 'no_error'),
 ('h', 'A', 'COPY analytics_queries TO a server file', $$COPY analytics_queries TO '/tmp/marimo_erp_security_copy'$$, 'no_error'),
 ('h', 'A', 'COPY ... TO PROGRAM', $$COPY (SELECT 1) TO PROGRAM 'cat >/dev/null'$$, 'no_error'),
 ('h', 'A', 'pg_read_file', $$SELECT pg_read_file('PG_VERSION')$$, 'no_error');

-- l. A set: side channels. Quals of the attacker's own are evaluated only on
-- rows the policies let through, so an error or a leaky function never sees B.
INSERT INTO regress.attacks (grp, context, description, statement, wins, keep, superuser)
SELECT 'l', 'A', t.rel || ': ' || o.what, format(o.stmt, t.rel, t.key, t.col), o.wins, o.keep, o.superuser
  FROM regress.targets t,
       (VALUES (1, 'division by zero on the rows of B',
                'SELECT 1 FROM %1$s WHERE 1 / (CASE WHEN %2$I = {B} THEN 0 ELSE 1 END) = 1', '22012', false, true),
               (2, 'cast error showing a value of B',
                $$SELECT 1 FROM %1$s WHERE (CASE WHEN %2$I = {B} THEN %3$I::text ELSE '1' END)::integer = 1$$, '22P02', false, true),
               (3, 'leaky function called on every row',
                'SELECT 1 FROM %1$s WHERE pg_temp.sec_leak(%2$I::text)', 'never', true, false)) AS o(n, what, stmt, wins, keep, superuser)
 ORDER BY t.ord, o.n;
INSERT INTO regress.attacks (grp, context, description, statement, superuser) VALUES
 ('l', 'A', 'the leaky function saw a row of B or C', $$SELECT 1 FROM pg_temp.sec_leaked WHERE v IN ({B}, {C})$$, false),
 ('l', 'A', 'the leaky function saw a secret', $$SELECT 1 FROM pg_temp.sec_leaked WHERE v LIKE 'whsec%' OR v LIKE '%api_key%'$$, false);

-- j. A set: lifting its own privileges, and undoing row-level security.
INSERT INTO regress.attacks (grp, context, description, statement, wins)
SELECT 'j', 'A', t.rel || ': ' || o.what, format(o.stmt, t.rel), 'no_error'
  FROM regress.targets t,
       (VALUES (1, 'DISABLE ROW LEVEL SECURITY', 'ALTER TABLE %1$s DISABLE ROW LEVEL SECURITY'),
               (2, 'NO FORCE ROW LEVEL SECURITY', 'ALTER TABLE %1$s NO FORCE ROW LEVEL SECURITY'),
               (3, 'CREATE POLICY for everything', 'CREATE POLICY sec_attack ON %1$s TO marimo_app USING (true) WITH CHECK (true)'),
               (4, 'TRUNCATE (no row-level security)', 'TRUNCATE %1$s CASCADE'),
               (5, 'OWNER TO the attacker', 'ALTER TABLE %1$s OWNER TO marimo_attacker'),
               (6, 'CREATE TRIGGER', 'CREATE TRIGGER sec_attack BEFORE INSERT ON %1$s FOR EACH ROW EXECUTE FUNCTION set_updated_at()'),
               (7, 'CREATE RULE', 'CREATE RULE sec_attack AS ON INSERT TO %1$s DO INSTEAD NOTHING'),
               (8, 'ADD COLUMN', 'ALTER TABLE %1$s ADD COLUMN sec_attack integer'),
               (9, 'DROP TABLE', 'DROP TABLE %1$s')) AS o(n, what, stmt)
 ORDER BY t.ord, o.n;
INSERT INTO regress.attacks (grp, context, description, statement, wins)
SELECT 'j', 'A', t.rel || ': DROP POLICY ' || p.polname, format('DROP POLICY %I ON %s', p.polname, t.rel), 'no_error'
  FROM regress.targets t JOIN pg_policy p ON p.polrelid = t.rel::regclass
 ORDER BY t.ord, p.polname;
INSERT INTO regress.attacks (grp, context, description, statement, wins)
SELECT 'j', 'A', t.rel || ': ALTER POLICY marimo_tenant_select USING (true)',
       format('ALTER POLICY marimo_tenant_select ON %s USING (true)', t.rel), 'no_error'
  FROM regress.targets t ORDER BY t.ord;
-- The extension's own tables and functions cannot be dropped one by one, not
-- even by the superuser.
UPDATE regress.attacks SET superuser = false
 WHERE grp = 'j' AND description LIKE '%: DROP TABLE' AND description NOT LIKE 'regress.%';
INSERT INTO regress.attacks (grp, context, description, statement, wins, keep, superuser) VALUES
 ('j', 'A', 'SET ROLE marimo_admin', $$SET ROLE marimo_admin$$, 'no_error', false, true),
 ('j', 'A', 'SET ROLE postgres', $$SET ROLE postgres$$, 'no_error', false, true),
 ('j', 'A', 'SET ROLE pg_read_all_data', $$SET ROLE pg_read_all_data$$, 'no_error', false, true),
 ('j', 'A', 'SET ROLE pg_write_all_data', $$SET ROLE pg_write_all_data$$, 'no_error', false, true),
 ('j', 'A', 'SET SESSION AUTHORIZATION postgres', $$SET SESSION AUTHORIZATION postgres$$, 'no_error', false, true),
 ('j', 'A', 'set_config(role, marimo_admin)', $$SELECT set_config('role', 'marimo_admin', false)$$, 'no_error', false, true),
 ('j', 'A', 'SET session_replication_role = replica (no triggers)', $$SET session_replication_role = replica$$, 'no_error', false, true),
 ('j', 'A', 'GRANT marimo_admin to itself', $$GRANT marimo_admin TO marimo_attacker$$, 'no_error', false, true),
 ('j', 'A', 'GRANT pg_read_all_data to itself', $$GRANT pg_read_all_data TO marimo_attacker$$, 'no_error', false, true),
 ('j', 'A', 'GRANT marimo_app WITH ADMIN OPTION to itself', $$GRANT marimo_app TO marimo_attacker WITH ADMIN OPTION$$, 'no_error', false, true),
 ('j', 'A', 'ALTER ROLE itself BYPASSRLS', $$ALTER ROLE marimo_attacker BYPASSRLS$$, 'no_error', false, true),
 ('j', 'A', 'ALTER ROLE itself SUPERUSER', $$ALTER ROLE marimo_attacker SUPERUSER$$, 'no_error', false, true),
 ('j', 'A', 'ALTER ROLE marimo_app BYPASSRLS', $$ALTER ROLE marimo_app BYPASSRLS$$, 'no_error', false, true),
 ('j', 'A', 'CREATE ROLE', $$CREATE ROLE sec_attack_role$$, 'no_error', false, true),
 ('j', 'A', 'ALTER FUNCTION current_tenant() OWNER TO itself', $$ALTER FUNCTION current_tenant() OWNER TO marimo_attacker$$, 'no_error', false, true),
 ('j', 'A', 'ALTER FUNCTION writable_tenant() SECURITY DEFINER', $$ALTER FUNCTION writable_tenant() SECURITY DEFINER$$, 'no_error', false, true),
 ('j', 'A', 'ALTER FUNCTION set_tenant() RESET search_path', $$ALTER FUNCTION set_tenant(uuid, boolean) SET search_path = pg_temp$$, 'no_error', false, true),
 ('j', 'A', 'DROP FUNCTION current_tenant()', $$DROP FUNCTION current_tenant()$$, 'no_error', false, false),
 ('j', 'A', 'DROP EXTENSION marimo_erp', $$DROP EXTENSION marimo_erp$$, 'no_error', false, false),
 ('j', 'A', 'a temporary table inheriting from analytics_queries',
  $$CREATE TEMP TABLE sec_child () INHERITS (public.analytics_queries)$$, 'no_error', false, true),
 ('j', 'A', 'ALTER EXTENSION marimo_erp UPDATE', $$ALTER EXTENSION marimo_erp UPDATE$$, 'no_error', false, false),
 ('j', 'A', 'LOAD the library', $$LOAD 'marimo_erp'$$, 'no_error', false, false),
 ('j', 'A', 'GRANT SELECT ON webhooks to itself (no grant option)', $$GRANT SELECT ON webhooks TO marimo_attacker$$, 'never', true, false),
 ('j', 'A', 'GRANT SELECT ON api_usage_logs_default to itself', $$GRANT SELECT ON api_usage_logs_default TO marimo_attacker$$, 'no_error', false, true),
 ('j', 'A', 'the GRANT on webhooks gave it the secret', $$SELECT 1 WHERE has_column_privilege('marimo_attacker', 'webhooks', 'secret', 'SELECT')$$, 'rows', false, false);

-- Positive controls (not attacks): with A set, the attacker reads and writes
-- the rows of A as the contract allows, and calls the functions for A.
INSERT INTO regress.attacks (grp, context, description, statement, kind)
SELECT 'ctl', 'A', t.rel || ': ' || o.what, coalesce(format(o.stmt, t.rel, t.key, t.col), regress.sec_ins(t, 'a')), 'control'
  FROM regress.targets t,
       (VALUES (1, 'SELECT its own rows', 'SELECT 1 FROM %1$s WHERE %2$I = {A}'),
               (2, 'INSERT a row of its own', NULL),
               (3, 'UPDATE its own rows', 'UPDATE %1$s SET %3$I = %3$I WHERE %2$I = {A}'),
               (4, 'DELETE its own rows', 'DELETE FROM %1$s WHERE %2$I = {A}')) AS o(n, what, stmt)
 ORDER BY t.ord, o.n;
INSERT INTO regress.attacks (grp, context, description, statement, kind) VALUES
 ('ctl', 'A', 'tenants: UPDATE its own name and settings', $$UPDATE tenants SET name = 'Renamed', settings = '{"theme": "dark"}' WHERE id = {A}$$, 'control'),
 ('ctl', 'A', 'webhooks: SELECT every column but the secret', $$SELECT tenant_id, id, name, url, event_types, is_active FROM webhooks$$, 'control'),
 ('ctl', 'A', 'webhooks: UPDATE its own secret', $$UPDATE webhooks SET secret = 'whsec_TkVXU0VDUkVU' WHERE tenant_id = {A}$$, 'control'),
 ('ctl', 'A', 'integrations: SELECT every column but the credentials', $$SELECT tenant_id, id, provider, name, config, status FROM integrations$$, 'control'),
 ('ctl', 'A', 'integrations: UPDATE its own credentials', $$UPDATE integrations SET credentials = '{"api_key": "new"}' WHERE tenant_id = {A}$$, 'control'),
 ('ctl', 'A', 'check_tenant_limit(A, users_count)', $$SELECT * FROM check_tenant_limit({A}, 'users_count', 1) WHERE allowed$$, 'control'),
 ('ctl', 'A', 'check_tenant_limit(A, webhooks_count): counts 1', $$SELECT * FROM check_tenant_limit({A}, 'webhooks_count') WHERE current_value = 1$$, 'control'),
 ('ctl', 'A', 'check_tenant_limit(A, api_calls_per_month)', $$SELECT * FROM check_tenant_limit({A}, 'api_calls_per_month') WHERE allowed$$, 'control'),
 ('ctl', 'A', 'check_tenant_limit(A, seats)', $$SELECT * FROM check_tenant_limit({A}, 'seats', 5) WHERE allowed$$, 'control'),
 ('ctl', 'A', 'aggregate_usage_metrics(A): 111 api_calls', $$SELECT * FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01') WHERE total = 111$$, 'control'),
 ('ctl', 'A', 'aggregate_usage_metrics(A, by hour)', $$SELECT * FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01', 'hour')$$, 'control'),
 ('ctl', 'A', 'record_usage(A)', $$SELECT record_usage({A}, 'api_calls', 1)$$, 'control'),
 ('ctl', 'A', 'record_usage(A) with a new key', $$SELECT record_usage({A}, 'api_calls', 1, now(), 'sec-new-key-a')$$, 'control'),
 ('ctl', 'A', 'record_usage(A) with its key answers its first hour',
  $$SELECT 1 WHERE record_usage({A}, 'invoices_sent', 1, '2025-01-01 10:00:00+00', 'sec-key-a') = '2024-03-03 03:00:00+00'$$, 'control'),
 ('ctl', 'A', 'writable_tenant() is A', $$SELECT 1 WHERE writable_tenant() = {A}$$, 'control');
-- With C set: a suspended tenant still reads its rows and its limits.
INSERT INTO regress.attacks (grp, context, description, statement, kind)
SELECT 'ctlc', 'C', t.rel || ': SELECT its own rows', format('SELECT 1 FROM %1$s WHERE %2$I = {C}', t.rel, t.key), 'control'
  FROM regress.targets t ORDER BY t.ord;
INSERT INTO regress.attacks (grp, context, description, statement, kind) VALUES
 ('ctlc', 'C', 'check_tenant_limit(C): refused, tenant is suspended',
  $$SELECT 1 FROM check_tenant_limit({C}, 'users_count', 1) WHERE NOT allowed AND reason = 'tenant is suspended'$$, 'control'),
 ('ctlc', 'C', 'aggregate_usage_metrics(C)', $$SELECT * FROM aggregate_usage_metrics({C}, 'api_calls', '2000-01-01', '2100-01-01') WHERE total = 111$$, 'control'),
 ('ctlc', 'C', 'writable_tenant() is NULL', $$SELECT 1 WHERE writable_tenant() IS NULL$$, 'control');

-- f. Hijacking names (the attacker creates impostors below): calls that must
-- work as they did, and rows of B that must stay out of sight. The statements
-- name public tables in full: unqualified names will reach the impostors.
INSERT INTO regress.attacks (grp, context, description, statement, wins) VALUES
 ('f', 'A', 'current_tenant() is B', $$SELECT 1 WHERE current_tenant() = {B}$$, 'rows'),
 ('f', 'A', 'writable_tenant() is B', $$SELECT 1 WHERE writable_tenant() = {B}$$, 'rows'),
 ('f', 'A', 'analytics_queries: rows of B', $$SELECT 1 FROM public.analytics_queries WHERE tenant_id = {B}$$, 'rows'),
 ('f', 'A', 'webhooks: rows of B', $$SELECT 1 FROM public.webhooks WHERE tenant_id = {B}$$, 'rows'),
 ('f', 'A', 'tenants: row of B', $$SELECT 1 FROM public.tenants WHERE id = {B}$$, 'rows'),
 ('f', 'A', 'usage_metrics: rows of B', $$SELECT 1 FROM public.usage_metrics WHERE tenant_id = {B}$$, 'rows'),
 ('f', 'A', 'regress.orders: rows of B', $$SELECT 1 FROM regress.orders WHERE tenant_id = {B}$$, 'rows'),
 ('f', 'A', 'record_usage(B)', $$SELECT public.record_usage({B}, 'api_calls', 1)$$, 'rows'),
 ('f', 'A', 'check_tenant_limit(B)', $$SELECT * FROM public.check_tenant_limit({B}, 'users_count', 1)$$, 'rows'),
 ('f', 'A', 'set_tenant(A) fails', $$SELECT set_tenant({A})$$, 'error'),
 ('f', 'A', 'record_usage(A) fails', $$SELECT record_usage({A}, 'hijack_probe', 1, '2024-05-05 05:00:00+00')$$, 'error'),
 ('f', 'A', 'record_usage(A) with a key fails', $$SELECT record_usage({A}, 'hijack_probe', 1, '2024-05-05 05:00:00+00', 'sec-hijack-key')$$, 'error'),
 ('f', 'A', 'record_usage(A) with a repeated key fails', $$SELECT record_usage({A}, 'invoices_sent', 1, '2024-05-05 05:00:00+00', 'sec-key-a')$$, 'error'),
 ('f', 'A', 'check_tenant_limit(A, users_count) fails', $$SELECT * FROM check_tenant_limit({A}, 'users_count', 1)$$, 'error'),
 ('f', 'A', 'check_tenant_limit(A, webhooks_count) fails', $$SELECT * FROM check_tenant_limit({A}, 'webhooks_count')$$, 'error'),
 ('f', 'A', 'check_tenant_limit(A, api_calls_per_month) fails', $$SELECT * FROM check_tenant_limit({A}, 'api_calls_per_month')$$, 'error'),
 ('f', 'A', 'check_tenant_limit(A, seats) fails', $$SELECT * FROM check_tenant_limit({A}, 'seats', 1)$$, 'error'),
 ('f', 'A', 'aggregate_usage_metrics(A) fails', $$SELECT * FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01')$$, 'error'),
 ('f', 'A', 'aggregate_usage_metrics(A, by day) fails', $$SELECT * FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01', 'day')$$, 'error'),
 ('f', 'A', 'INSERT into analytics_queries for A fails', $$INSERT INTO public.analytics_queries (tenant_id, name, query_text) VALUES ({A}, 'Hijack probe', 'SELECT 1')$$, 'error'),
 ('f', 'A', 'UPDATE of analytics_queries of A fails', $$UPDATE public.analytics_queries SET name = name WHERE tenant_id = {A}$$, 'error'),
 ('f', 'A', 'DELETE of dashboards of A fails', $$DELETE FROM public.dashboards WHERE tenant_id = {A}$$, 'error'),
 ('f', 'A', 'UPDATE of the tenant A fails', $$UPDATE public.tenants SET settings = '{}' WHERE id = {A}$$, 'error'),
 ('f', 'A', 'INSERT into api_usage_logs for A (rollup trigger) fails', $$INSERT INTO public.api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms) VALUES ({A}, 'GET', '/hijack', 500, 1)$$, 'error'),
 ('f', 'A', 'INSERT into regress.orders for A fails', $$INSERT INTO regress.orders (id, note, tenant_id) VALUES (200, 'Hijack probe', {A})$$, 'error');
UPDATE regress.attacks SET superuser = false WHERE grp = 'f' AND description LIKE '%_tenant() is B';
INSERT INTO regress.attacks (grp, context, description, statement, wins) VALUES
 ('fc', 'C', 'suspended C: INSERT into analytics_queries', $$INSERT INTO public.analytics_queries (tenant_id, name, query_text) VALUES ({C}, 'Hijack probe', 'SELECT 1')$$, 'rows'),
 ('fc', 'C', 'suspended C: UPDATE its tenant row', $$UPDATE public.tenants SET name = name WHERE id = {C}$$, 'rows'),
 ('fc', 'C', 'suspended C: record_usage(C)', $$SELECT record_usage({C}, 'api_calls', 1)$$, 'rows'),
 ('fc', 'C', 'suspended C: INSERT into api_usage_logs', $$INSERT INTO public.api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms) VALUES ({C}, 'GET', '/hijack', 200, 1)$$, 'rows');

SELECT grp, kind, count(*) FROM regress.attacks GROUP BY 1, 2 ORDER BY 1, 2;

------------------------------------------------------------------------------
-- Every attack is a valid statement: the superuser, whom nothing confines,
-- wins them. Listed are those it does not win: moving rows to B, and rows of
-- A pointing at rows of B, break the foreign keys that include tenant_id
-- (23503) or a unique key (23505) even where no policy applies.
------------------------------------------------------------------------------
SET client_min_messages = warning;
SELECT a.grp, a.description, o.outcome
  FROM regress.attacks a, regress.sec_run(a.statement, false) r,
       regress.sec_outcome(r.state, r.n, r.message, a.wins) o
 WHERE a.kind = 'attack' AND a.superuser AND a.wins NOT IN ('error', 'never') AND NOT o.won
 ORDER BY a.id;
RESET client_min_messages;
-- The superuser's run changed nothing.
SELECT relation, tenant FROM regress.sec_fingerprint() f JOIN regress.sec_baseline b USING (relation, tenant)
 WHERE f.digest <> b.digest ORDER BY 1, 2;

------------------------------------------------------------------------------
-- The attacker.
------------------------------------------------------------------------------
\c - marimo_attacker
SET timezone = 'UTC';
SELECT current_user, session_user, pg_has_role('marimo_app', 'MEMBER') AS app,
       pg_has_role('marimo_admin', 'MEMBER') AS admin;

-- i1. First thing in a fresh session: the session setting set directly.
-- Unless the library is preloaded, it is not loaded yet, and anyone may set
-- it as a placeholder; loading the library (at the first policy to check)
-- must then drop it with a warning, not use it. Preloaded, the SET fails.
-- Either way, no tenant: the messages, which differ, are not shown.
SELECT regress.try_attack('i: SET marimo_erp.tenant_id = B first thing in the session',
                          'SET marimo_erp.tenant_id = {B}', 'never', true) IS NOT NULL AS tried;
SET client_min_messages = error;
SELECT regress.try_attack('i: marimo_erp.tenant_id = B set before the library loaded: rows of B',
                          'SELECT 1 FROM analytics_queries WHERE tenant_id = {B}');
SELECT regress.try_attack('i: marimo_erp.tenant_id = B set before the library loaded: current_tenant() is set',
                          'SELECT 1 WHERE current_tenant() IS NOT NULL');
SELECT regress.try_attack('i: marimo_erp.tenant_id = B set before the library loaded: check_tenant_limit(B)',
                          $$SELECT * FROM check_tenant_limit({B}, 'users_count', 1)$$);
RESET client_min_messages;

-- a. No tenant.
SELECT current_tenant();
SELECT * FROM regress.run_attacks('a');

-- What the attacker sees with no tenant, with A and with C, per table.
CREATE FUNCTION pg_temp.sec_counts() RETURNS TABLE (relation text, visible bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM regress.targets ORDER BY ord LOOP
        relation := t.rel;
        -- NULL where the role may not read the table at all (webhook_secrets).
        visible := NULL;
        IF has_table_privilege(t.rel, 'SELECT') THEN
            EXECUTE format('SELECT count(*) FROM %s', t.rel) INTO visible;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$fn$;
CREATE TEMP TABLE sec_seen (relation text, no_tenant bigint, tenant_a bigint, tenant_c bigint);
INSERT INTO sec_seen (relation, no_tenant) SELECT * FROM pg_temp.sec_counts();
BEGIN;
SELECT set_tenant(:'A');
UPDATE sec_seen s SET tenant_a = c.visible FROM pg_temp.sec_counts() c WHERE c.relation = s.relation;
COMMIT;
BEGIN;
SELECT set_tenant(:'C');
UPDATE sec_seen s SET tenant_c = c.visible FROM pg_temp.sec_counts() c WHERE c.relation = s.relation;
COMMIT;
SELECT * FROM sec_seen ORDER BY (SELECT ord FROM regress.targets t WHERE t.rel = sec_seen.relation);

-- Positive controls with A, then the attacks with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('ctl');
-- The API usage rollup writes usage_metrics for the application, for A only.
INSERT INTO api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms, created_at)
VALUES (:'A', 'POST', '/v1/rollup', 503, 40, '2024-07-07 07:07:00+00');
SELECT metric_type, value_sum, sample_count FROM usage_metrics
 WHERE period_start = '2024-07-07 07:00:00+00' ORDER BY metric_type;
ROLLBACK;

-- b. The rows of B and C, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('b');
COMMIT;

-- p. The partitions of the logs, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('p');
COMMIT;

-- c. Writing for B, moving to B, pointing at B, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('c');
COMMIT;

-- d. Functions for B and for operators, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('d');
COMMIT;
-- The refusal names the tenant and says why.
BEGIN;
SELECT set_tenant(:'A');
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('a5ec0000-0000-4000-8000-00000000000b', 'users_count', 1)$$);
SELECT regress.expect_error($$SELECT record_usage('a5ec0000-0000-4000-8000-00000000000b', 'api_calls', 1)$$);
SELECT regress.expect_error($$SELECT run_maintenance()$$);
COMMIT;

-- e. Suspended C set.
BEGIN;
SELECT set_tenant(:'C');
SELECT * FROM regress.run_attacks('ctlc');
SELECT * FROM regress.run_attacks('e');
SELECT regress.expect_error($$SELECT record_usage('a5ec0000-0000-4000-8000-00000000000c', 'api_calls', 1)$$);
COMMIT;

-- h. Secrets, views, statistics, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('h');
COMMIT;
-- COPY, which only psql can run and only outside a function: with A set for
-- the session, the secret columns are refused, the rest shows only A.
SELECT set_tenant(:'A', true);
COPY webhooks TO STDOUT;
SELECT regress.record_attack('h: COPY webhooks TO STDOUT', :'SQLSTATE', :ROW_COUNT);
COPY webhooks (id, name, secret) TO STDOUT;
SELECT regress.record_attack('h: COPY webhooks (id, name, secret) TO STDOUT', :'SQLSTATE', :ROW_COUNT);
COPY (SELECT secret FROM webhooks) TO STDOUT;
SELECT regress.record_attack('h: COPY (SELECT secret FROM webhooks) TO STDOUT', :'SQLSTATE', :ROW_COUNT);
COPY integrations TO STDOUT;
SELECT regress.record_attack('h: COPY integrations TO STDOUT', :'SQLSTATE', :ROW_COUNT);
COPY (SELECT id FROM webhooks WHERE tenant_id <> :'A') TO STDOUT;
SELECT regress.record_attack('h: COPY the webhooks of other tenants TO STDOUT', :'SQLSTATE', :ROW_COUNT, 'rows');
COPY api_usage_logs_default TO STDOUT;
SELECT regress.record_attack('h: COPY api_usage_logs_default TO STDOUT', :'SQLSTATE', :ROW_COUNT);
COPY webhooks (id, name) TO STDOUT;
SELECT reset_tenant();

-- l. Side channels, with A set: errors in the attacker's quals, and a leaky
-- function that records every value it is called with.
CREATE TEMP TABLE sec_leaked (v text);
CREATE FUNCTION pg_temp.sec_leak(v text) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO pg_temp.sec_leaked VALUES (v);
    RETURN true;
END
$fn$;
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('l');
COMMIT;
-- A prepared statement's generic plan, made under A, runs with no tenant.
SET plan_cache_mode = force_generic_plan;
PREPARE sec_rows AS SELECT name FROM analytics_queries ORDER BY name;
PREPARE sec_rows_of(uuid) AS SELECT name FROM analytics_queries WHERE tenant_id = $1;
BEGIN;
SELECT set_tenant(:'A');
EXECUTE sec_rows;
EXECUTE sec_rows_of(:'A');
COMMIT;
SELECT regress.try_attack('i: generic plan made under A, run with no tenant', 'EXECUTE sec_rows');
BEGIN;
SELECT set_tenant(:'C');
EXECUTE sec_rows;
SELECT regress.try_attack('i: generic plan made under A, run with C: rows of A', 'EXECUTE sec_rows_of(''a5ec0000-0000-4000-8000-00000000000a'')');
COMMIT;
DEALLOCATE sec_rows;
DEALLOCATE sec_rows_of;
RESET plan_cache_mode;
-- With row_security off, a query that policies would filter fails instead.
SET row_security = off;
BEGIN;
SELECT set_tenant(:'A');
SELECT regress.try_attack('j: row_security = off, rows of B', 'SELECT 1 FROM analytics_queries WHERE tenant_id = {B}');
SELECT regress.try_attack('j: row_security = off, rows of A', 'SELECT 1 FROM analytics_queries WHERE tenant_id = {A}');
COMMIT;
RESET row_security;

-- j. Escalation, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('j');
COMMIT;
SELECT current_user, session_user;

-- g. Injection, with A set; what the payloads did is checked by the superuser.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('g');
COMMIT;
SELECT count(*) AS injected FROM regress.attack_log WHERE description = 'g: injected';

-- i. The tenant context: it ends with the transaction, and cannot be forged.
-- After COMMIT.
BEGIN;
SELECT set_tenant(:'A');
SELECT current_tenant(), count(*) AS queries FROM analytics_queries GROUP BY 1;
COMMIT;
SELECT current_tenant();
SELECT regress.try_attack('i: rows of A after COMMIT', 'SELECT 1 FROM analytics_queries');
-- After ROLLBACK.
BEGIN;
SELECT set_tenant(:'A');
ROLLBACK;
SELECT regress.try_attack('i: rows of A after ROLLBACK', 'SELECT 1 FROM analytics_queries');
-- After a failed transaction.
BEGIN;
SELECT set_tenant(:'A');
SELECT 1 / 0;
ROLLBACK;
SELECT regress.try_attack('i: rows of A after an error and ROLLBACK', 'SELECT 1 FROM analytics_queries');
-- After a statement of its own (an implicit transaction).
SELECT set_tenant(:'A');
SELECT regress.try_attack('i: rows of A in the statement after set_tenant()', 'SELECT 1 FROM analytics_queries');
-- After COMMIT AND CHAIN.
BEGIN;
SELECT set_tenant(:'A');
COMMIT AND CHAIN;
SELECT regress.try_attack('i: rows of A after COMMIT AND CHAIN', 'SELECT 1 FROM analytics_queries');
COMMIT;
-- After ROLLBACK AND CHAIN.
BEGIN;
SELECT set_tenant(:'A');
ROLLBACK AND CHAIN;
SELECT regress.try_attack('i: rows of A after ROLLBACK AND CHAIN', 'SELECT 1 FROM analytics_queries');
COMMIT;
-- A procedure that commits inside.
CREATE PROCEDURE pg_temp.sec_commit() LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.set_tenant('a5ec0000-0000-4000-8000-00000000000a');
    COMMIT;
END
$$;
CALL pg_temp.sec_commit();
SELECT regress.try_attack('i: rows of A after a procedure committed', 'SELECT 1 FROM analytics_queries');
-- A savepoint rolled back does not undo set_tenant() (the transaction does).
BEGIN;
SAVEPOINT s;
SELECT set_tenant(:'A');
ROLLBACK TO SAVEPOINT s;
SELECT current_tenant();
COMMIT;
SELECT regress.try_attack('i: rows of A after a savepoint and COMMIT', 'SELECT 1 FROM analytics_queries');
-- The unknown and the NULL tenant.
SELECT regress.expect_error($$SELECT set_tenant('a5ec0000-0000-4000-8000-0000000000ff')$$);
SELECT regress.expect_error($$SELECT set_tenant(NULL)$$);
SELECT regress.expect_error($$SELECT set_tenant('a5ec0000-0000-4000-8000-00000000000a', NULL)$$);

-- The session setting is the superuser's, whichever way it is set.
SET marimo_erp.tenant_id = :'B';
SELECT regress.record_attack('i: SET marimo_erp.tenant_id = B', :'SQLSTATE', :ROW_COUNT);
SELECT regress.try_attack('i: SET LOCAL marimo_erp.tenant_id = B', 'SET LOCAL marimo_erp.tenant_id = {B}', 'no_error');
SELECT regress.try_attack('i: set_config(marimo_erp.tenant_id, B, false)', $$SELECT set_config('marimo_erp.tenant_id', {B}, false)$$, 'no_error');
SELECT regress.try_attack('i: set_config(marimo_erp.tenant_id, B, true)', $$SELECT set_config('marimo_erp.tenant_id', {B}, true)$$, 'no_error');
SELECT regress.try_attack('i: RESET marimo_erp.tenant_id', 'RESET marimo_erp.tenant_id', 'never');
SELECT regress.try_attack('i: ALTER ROLE itself SET marimo_erp.tenant_id = B', 'ALTER ROLE marimo_attacker SET marimo_erp.tenant_id = {B}', 'no_error');
SELECT regress.try_attack('i: ALTER ROLE itself IN DATABASE SET marimo_erp.tenant_id = B',
                          format('ALTER ROLE marimo_attacker IN DATABASE %I SET marimo_erp.tenant_id = {B}', current_database()), 'no_error');
SELECT regress.try_attack('i: ALTER DATABASE SET marimo_erp.tenant_id = B',
                          format('ALTER DATABASE %I SET marimo_erp.tenant_id = {B}', current_database()), 'no_error');
SELECT regress.try_attack('i: a function with SET marimo_erp.tenant_id = B',
                          $$CREATE FUNCTION pg_temp.sec_as_b() RETURNS uuid LANGUAGE sql SET marimo_erp.tenant_id = {B} AS 'SELECT public.current_tenant()'$$, 'no_error');
SELECT regress.try_attack('i: GRANT SET ON PARAMETER marimo_erp.tenant_id to itself',
                          'GRANT SET ON PARAMETER marimo_erp.tenant_id TO marimo_attacker', 'no_error');
ALTER SYSTEM SET marimo_erp.tenant_id = :'B';
SELECT regress.record_attack('i: ALTER SYSTEM SET marimo_erp.tenant_id = B', :'SQLSTATE', :ROW_COUNT);
SELECT regress.try_attack('i: after all that, rows of B', 'SELECT 1 FROM analytics_queries WHERE tenant_id = {B}');
SELECT regress.try_attack('i: after all that, current_tenant() is set', 'SELECT 1 WHERE current_tenant() IS NOT NULL');

-- The session scope: kept in marimo_erp.tenant_id, cleared by DISCARD ALL,
-- RESET ALL and reset_tenant(), undone by ROLLBACK.
SELECT set_tenant(:'A', true);
SHOW marimo_erp.tenant_id;
SELECT current_tenant(), count(*) AS queries FROM analytics_queries GROUP BY 1;
SET marimo_erp.tenant_id = :'B';
SELECT regress.record_attack('i: SET marimo_erp.tenant_id = B over a session tenant', :'SQLSTATE', :ROW_COUNT);
-- A transaction's tenant comes first, and the session's is back after it.
BEGIN;
SELECT set_tenant(:'C');
SELECT current_tenant(), count(*) AS queries FROM analytics_queries GROUP BY 1;
SELECT regress.try_attack('i: rows of the session tenant A in a transaction of C', 'SELECT 1 FROM analytics_queries WHERE tenant_id = {A}');
COMMIT;
SELECT current_tenant();
DISCARD ALL;
SELECT current_tenant();
SELECT regress.try_attack('i: rows of A after set_tenant(A, true) and DISCARD ALL', 'SELECT 1 FROM analytics_queries');
SELECT set_tenant(:'A', true);
RESET ALL;
SET timezone = 'UTC';
SELECT regress.try_attack('i: rows of A after set_tenant(A, true) and RESET ALL', 'SELECT 1 FROM analytics_queries');
SELECT set_tenant(:'A', true);
SELECT reset_tenant();
SELECT regress.try_attack('i: rows of A after set_tenant(A, true) and reset_tenant()', 'SELECT 1 FROM analytics_queries');
BEGIN;
SELECT set_tenant(:'A', true);
ROLLBACK;
SELECT regress.try_attack('i: rows of A after set_tenant(A, true) rolled back', 'SELECT 1 FROM analytics_queries');
BEGIN;
SELECT set_tenant(:'A');
SELECT reset_tenant();
SELECT regress.try_attack('i: rows of A after reset_tenant() in the transaction', 'SELECT 1 FROM analytics_queries');
COMMIT;

-- f. Hijacking names. Nothing can be created in public, nor a schema.
SELECT regress.try_attack('f: CREATE FUNCTION public.now()',
                          $atk$CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql AS $f$ SELECT '2000-01-01 00:00:00+00'::timestamptz $f$$atk$, 'no_error');
SELECT regress.try_attack('f: CREATE OR REPLACE FUNCTION public.current_tenant()',
                          $atk$CREATE OR REPLACE FUNCTION public.current_tenant() RETURNS uuid LANGUAGE sql AS $f$ SELECT {B}::uuid $f$$atk$, 'no_error');
SELECT regress.try_attack('f: CREATE FUNCTION public.writable_tenant(integer)',
                          $atk$CREATE FUNCTION public.writable_tenant(integer) RETURNS uuid LANGUAGE sql AS $f$ SELECT {B}::uuid $f$$atk$, 'no_error');
SELECT regress.try_attack('f: CREATE OPERATOR public.=',
                          'CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = uuid_ne)', 'no_error');
SELECT regress.try_attack('f: CREATE TABLE public.sec_shadow', 'CREATE TABLE public.sec_shadow (id integer)', 'no_error');
SELECT regress.try_attack('f: CREATE SCHEMA', 'CREATE SCHEMA sec_attack', 'no_error');
SELECT regress.try_attack('f: CREATE FUNCTION regress.current_tenant()',
                          $atk$CREATE FUNCTION regress.current_tenant() RETURNS uuid LANGUAGE sql AS $f$ SELECT {B}::uuid $f$$atk$, 'no_error');

-- In pg_temp, anyone may create: impostors of the functions, operators and
-- every table and view of the extension, each of which raises SECHJ when it
-- is reached.
CREATE FUNCTION pg_temp.sec_spy(what text) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'impostor % reached', what USING ERRCODE = 'SECHJ';
END
$fn$;
CREATE FUNCTION pg_temp.current_tenant() RETURNS uuid LANGUAGE plpgsql AS $fn$
BEGIN PERFORM pg_temp.sec_spy('pg_temp.current_tenant()'); RETURN 'a5ec0000-0000-4000-8000-00000000000b'; END
$fn$;
CREATE FUNCTION pg_temp.writable_tenant() RETURNS uuid LANGUAGE plpgsql AS $fn$
BEGIN PERFORM pg_temp.sec_spy('pg_temp.writable_tenant()'); RETURN 'a5ec0000-0000-4000-8000-00000000000b'; END
$fn$;
CREATE FUNCTION pg_temp.set_tenant(uuid, boolean DEFAULT false) RETURNS uuid LANGUAGE plpgsql AS $fn$
BEGIN PERFORM pg_temp.sec_spy('pg_temp.set_tenant()'); RETURN $1; END
$fn$;
CREATE FUNCTION pg_temp.now() RETURNS timestamptz LANGUAGE plpgsql AS $fn$
BEGIN PERFORM pg_temp.sec_spy('pg_temp.now()'); RETURN '2000-01-01 00:00:00+00'; END
$fn$;
CREATE FUNCTION pg_temp.date_bin(interval, timestamptz, timestamptz) RETURNS timestamptz LANGUAGE plpgsql AS $fn$
BEGIN PERFORM pg_temp.sec_spy('pg_temp.date_bin()'); RETURN $2; END
$fn$;
CREATE FUNCTION pg_temp.sec_uuid_eq(uuid, uuid) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN PERFORM pg_temp.sec_spy('pg_temp.= (uuid, uuid)'); RETURN true; END
$fn$;
CREATE OPERATOR pg_temp.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = pg_temp.sec_uuid_eq);
CREATE FUNCTION pg_temp.sec_text_eq(text, text) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN PERFORM pg_temp.sec_spy('pg_temp.= (text, text)'); RETURN true; END
$fn$;
CREATE OPERATOR pg_temp.= (LEFTARG = text, RIGHTARG = text, FUNCTION = pg_temp.sec_text_eq);
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.oid, c.relname FROM pg_class c
              WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v')
                AND c.relname !~ '_(default|p[0-9]{8})$'
    LOOP
        EXECUTE format('CREATE TEMP VIEW %I AS SELECT %s FROM (SELECT pg_temp.sec_spy(%L)) AS s(ok) WHERE s.ok',
                       r.relname,
                       (SELECT string_agg(format('NULL::%s AS %I', format_type(a.atttypid, a.atttypmod), a.attname),
                                          ', ' ORDER BY a.attnum)
                          FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped),
                       'pg_temp.' || r.relname);
    END LOOP;
END
$$;
SELECT count(*) AS impostor_views FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relkind = 'v';


-- With pg_temp first in search_path, as SECURITY DEFINER functions have it
-- last, and then with the default search_path, where pg_temp comes first
-- for tables and types without being named.
SET search_path = pg_temp, public, pg_catalog;
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('f');
COMMIT;
BEGIN;
SELECT set_tenant(:'C');
SELECT * FROM regress.run_attacks('fc');
COMMIT;
RESET search_path;
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('f');
COMMIT;
BEGIN;
SELECT set_tenant(:'C');
SELECT * FROM regress.run_attacks('fc');
COMMIT;
-- The session scope, with the impostors around.
SELECT public.set_tenant(:'A', true);
SELECT regress.try_attack('f: session tenant A: rows of B', 'SELECT 1 FROM public.analytics_queries WHERE tenant_id = {B}');
SELECT regress.try_attack('f: session tenant A: record_usage(A) fails', $$SELECT record_usage({A}, 'hijack_probe', 1, '2024-05-05 05:00:00+00')$$, 'error');
SELECT public.reset_tenant();

-- Types: pg_temp is searched first for the type names a query does not
-- qualify. Domains named like built-in types, whose CHECK raises SECHJ, show
-- whether the library's own queries, which run as the caller, name such a
-- type: every call below must work as without them. In a fresh session each,
-- as the library looks some things up once per session.
\c - marimo_attacker
SET timezone = 'UTC';
CREATE FUNCTION pg_temp.sec_spy(what text) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'impostor % reached', what USING ERRCODE = 'SECHJ';
END
$fn$;
CREATE DOMAIN pg_temp.uuid AS pg_catalog.uuid CHECK (pg_temp.sec_spy('pg_temp.uuid'));
-- The session's tenant is read back from marimo_erp.tenant_id.
SELECT regress.try_attack('f: uuid domain in pg_temp: set_tenant(A, true) fails', 'SELECT public.set_tenant({A}, true)', 'error', true);
SELECT regress.try_attack('f: uuid domain in pg_temp: current_tenant() fails', 'SELECT public.current_tenant()', 'error');
SELECT regress.try_attack('f: uuid domain in pg_temp: reading rows of the session tenant A fails',
                          'SELECT count(*) FROM public.analytics_queries WHERE tenant_id = {A}', 'error');
SELECT regress.try_attack('f: uuid domain in pg_temp: check_tenant_limit(A) fails',
                          $$SELECT * FROM public.check_tenant_limit({A}, 'users_count', 1)$$, 'error');
SELECT regress.try_attack('f: uuid domain in pg_temp: record_usage(A) fails',
                          $$SELECT public.record_usage({A}, 'hijack_probe', 1, '2024-05-05 05:00:00+00')$$, 'error');
SELECT public.reset_tenant();
\c - marimo_attacker
SET timezone = 'UTC';
CREATE FUNCTION pg_temp.sec_spy(what text) RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'impostor % reached', what USING ERRCODE = 'SECHJ';
END
$fn$;
CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (pg_temp.sec_spy('pg_temp.text'));
CREATE DOMAIN pg_temp.name AS pg_catalog.name CHECK (pg_temp.sec_spy('pg_temp.name'));
CREATE DOMAIN pg_temp.numeric AS pg_catalog.numeric CHECK (pg_temp.sec_spy('pg_temp.numeric'));
CREATE DOMAIN pg_temp.timestamptz AS pg_catalog.timestamptz CHECK (pg_temp.sec_spy('pg_temp.timestamptz'));
CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (pg_temp.sec_spy('pg_temp.jsonb'));
CREATE DOMAIN pg_temp.regclass AS pg_catalog.regclass CHECK (pg_temp.sec_spy('pg_temp.regclass'));
CREATE DOMAIN pg_temp.date AS pg_catalog.date CHECK (pg_temp.sec_spy('pg_temp.date'));
BEGIN;
SELECT regress.try_attack('f: text and other domains in pg_temp: set_tenant(A) fails', 'SELECT public.set_tenant({A})', 'error', true);
SELECT regress.try_attack('f: text and other domains in pg_temp: reading rows of A fails',
                          'SELECT count(*) FROM public.analytics_queries WHERE tenant_id = {A}', 'error');
SELECT regress.try_attack('f: text and other domains in pg_temp: check_tenant_limit(A) fails',
                          $$SELECT * FROM public.check_tenant_limit({A}, 'api_calls_per_month')$$, 'error');
SELECT regress.try_attack('f: text and other domains in pg_temp: aggregate_usage_metrics(A) fails',
                          $$SELECT count(*) FROM public.aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01', 'day')$$, 'error');
SELECT regress.try_attack('f: text and other domains in pg_temp: record_usage(A) fails',
                          $$SELECT public.record_usage({A}, 'hijack_probe', 1, '2024-05-05 05:00:00+00', 'sec-hijack-key-2')$$, 'error');
SELECT regress.try_attack('f: text and other domains in pg_temp: INSERT into api_usage_logs for A fails',
                          $$INSERT INTO public.api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms) VALUES ({A}, 'GET', '/hijack', 500, 1)$$, 'error');
COMMIT;

\c - marimo_attacker
SET timezone = 'UTC';
-- i. Parallel workers do not share the backend's memory, where the
-- transaction's tenant is: the functions must not run in one, or they would
-- see no tenant (refusing the current one) or the session's (accepting
-- another). force_parallel_mode puts every query it can in a worker.
SET force_parallel_mode = on;
-- A plain query, in an implicit transaction with its set_tenant(): PL/pgSQL's
-- subtransactions do not mix with parallel workers.
SELECT set_tenant(:'A') IS NOT NULL AS a_set \; SELECT allowed, current_value FROM check_tenant_limit(:'A', 'webhooks_count');
SELECT set_tenant(:'A') IS NOT NULL AS a_set \; SELECT total FROM aggregate_usage_metrics(:'A', 'api_calls', '2000-01-01', '2100-01-01');
SELECT set_tenant(:'A', true);
SELECT set_tenant(:'C') IS NOT NULL AS c_set \; SELECT allowed, current_value FROM check_tenant_limit(:'A', 'webhooks_count');
SELECT regress.record_attack('i: parallel: check_tenant_limit(A), the session tenant, in a transaction of C', :'SQLSTATE', :ROW_COUNT, 'rows');
SELECT set_tenant(:'C') IS NOT NULL AS c_set \; SELECT total FROM aggregate_usage_metrics(:'A', 'api_calls', '2000-01-01', '2100-01-01');
SELECT regress.record_attack('i: parallel: aggregate_usage_metrics(A), the session tenant, in a transaction of C', :'SQLSTATE', :ROW_COUNT, 'rows');
SELECT set_tenant(:'C') IS NOT NULL AS c_set \; SELECT count(*) FROM analytics_queries WHERE tenant_id = :'A' HAVING count(*) > 0;
SELECT regress.record_attack('i: parallel: rows of A, the session tenant, in a transaction of C', :'SQLSTATE', :ROW_COUNT, 'rows');
SELECT reset_tenant();
RESET force_parallel_mode;

-- A limitation, not an attack: logs are append-only, but deleting a webhook
-- or an integration of its own deletes its logs too (ON DELETE CASCADE).
BEGIN;
SELECT set_tenant(:'A');
DELETE FROM webhooks WHERE tenant_id = :'A';
DELETE FROM integrations WHERE tenant_id = :'A';
SELECT (SELECT count(*) FROM webhook_logs) AS webhook_logs, (SELECT count(*) FROM integration_logs) AS integration_logs;
ROLLBACK;

-- The attacker's tally: every attempt, and those that succeeded (none).
SELECT count(*) AS attempts, count(*) FILTER (WHERE succeeded) AS succeeded FROM regress.attack_log;
SELECT attempt, description, outcome FROM regress.attack_log WHERE succeeded ORDER BY attempt;

------------------------------------------------------------------------------
-- The superuser again: nothing of A, B or C changed (but the usage A
-- recorded for itself), and the tally.
------------------------------------------------------------------------------
\c - postgres
SET timezone = 'UTC';
SELECT relation, tenant, b.row_count AS rows_before, f.row_count AS rows_after
  FROM regress.sec_fingerprint() f FULL JOIN regress.sec_baseline b USING (relation, tenant)
 WHERE f.digest IS DISTINCT FROM b.digest
   AND NOT (tenant = 'a' AND relation IN ('usage_metrics', 'usage_idempotency_keys'))
 ORDER BY 1, 2;
SELECT count(*) AS tenants FROM tenants WHERE id::text LIKE 'a5ec%';
SELECT s.s AS tenant, t.status, t.plan, t.max_users, t.limits, t.settings
  FROM regress.sec_tenants s JOIN tenants t ON t.id = regress.sec_id(0, s.s) ORDER BY 1;
-- What A recorded for itself: the injection group's legitimate calls.
SELECT metric_type, period_start, value_sum, sample_count FROM usage_metrics
 WHERE tenant_id = :'A' AND period_start >= '2024-06-01' AND period_start < '2024-06-02' ORDER BY 1, 2;
SELECT left(idempotency_key, 50) AS idempotency_key, octet_length(idempotency_key) AS bytes
  FROM usage_idempotency_keys WHERE tenant_id = :'A' ORDER BY 1;
-- No setting of the attacker's survived.
SELECT count(*) AS role_settings FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = 'marimo_attacker';
SELECT count(*) AS attempts, count(*) FILTER (WHERE succeeded) AS succeeded FROM regress.attack_log;

------------------------------------------------------------------------------
-- An operator (member of marimo_admin) sees and manages every tenant.
------------------------------------------------------------------------------
CREATE ROLE marimo_sec_operator LOGIN IN ROLE marimo_admin;
\c - marimo_sec_operator
SET timezone = 'UTC';
SELECT count(*) AS tenants FROM tenants WHERE id::text LIKE 'a5ec%';
SELECT tenant_id = 'a5ec0000-0000-4000-8000-00000000000b' AS of_b, count(*) FROM analytics_queries
 WHERE tenant_id::text LIKE 'a5ec%' GROUP BY 1 ORDER BY 1;
SELECT count(*) > 0 AS sees_sizes FROM monitoring_table_sizes;
SELECT allowed, limit_value FROM check_tenant_limit(:'B', 'users_count', 1);
SELECT total FROM aggregate_usage_metrics(:'B', 'api_calls', '2000-01-01', '2100-01-01');
SELECT cleanup_idempotency_keys('100 years');
\c - postgres
SET timezone = 'UTC';

------------------------------------------------------------------------------
-- Clean up.
------------------------------------------------------------------------------
DROP OWNED BY marimo_attacker, marimo_sec_operator;
DROP ROLE marimo_attacker;
DROP ROLE marimo_sec_operator;
DELETE FROM tenants WHERE id::text LIKE 'a5ec%';
DROP FUNCTION regress.run_attacks(text), regress.try_attack(text, text, text, boolean),
              regress.record_attack(text, text, bigint, text), regress.sec_outcome(text, bigint, text, text),
              regress.sec_run(text, boolean), regress.sec_expand(text), regress.sec_fingerprint(),
              regress.sec_ins(regress.targets, text, text, text), regress.sec_id(integer, text);
DROP TABLE regress.orders, regress.attack_log, regress.attacks, regress.targets, regress.sec_baseline, regress.sec_tenants;
REVOKE USAGE ON SCHEMA regress FROM marimo_app;
SELECT count(*) AS left_behind FROM pg_class WHERE relnamespace = 'regress'::regnamespace;
