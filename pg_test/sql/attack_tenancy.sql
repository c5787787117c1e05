-- attack_tenancy: the tenant context and the security model (0.7.0).
--
-- The catalog shows the model: the roles, row-level security enabled and
-- forced on every table and partition, the policies, the grants. Then the
-- attacker (see attack_setup) goes at the tenant context itself: set from a
-- fresh session before the library is loaded, carried over a transaction's
-- end, a savepoint, a procedure's COMMIT, a prepared statement's generic plan,
-- forged through SET, set_config(), ALTER ROLE / DATABASE / SYSTEM, or read in
-- a parallel worker; and at regress.orders, an application table of these
-- suites put under enable_tenancy(), with every privilege for marimo_app, and
-- at enable_tenancy() and isolate_tenant_rows(). An operator, last, sees and
-- manages every tenant.
SET timezone = 'UTC';
\set A 'a5ec0000-0000-4000-8000-00000000000a'
\set B 'a5ec0000-0000-4000-8000-00000000000b'
\set C 'a5ec0000-0000-4000-8000-00000000000c'
-- From here on, every attempt is logged under this domain.
INSERT INTO regress.attack_domains (domain) VALUES ('tenancy');

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

-- The functions: who may execute them, and how SECURITY DEFINER ones are pinned.
SELECT p.oid::regprocedure AS function, p.prosecdef AS definer, p.proconfig AS config,
       EXISTS (SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0) AS public,
       has_function_privilege('marimo_app', p.oid, 'EXECUTE') AS marimo_app,
       has_function_privilege('marimo_admin', p.oid, 'EXECUTE') AS marimo_admin
  FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
 WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'marimo_erp')
 ORDER BY p.oid::regprocedure::text;

------------------------------------------------------------------------------
-- The attacks of this domain, besides those on regress.orders (attack_setup).
------------------------------------------------------------------------------
-- c. A set: an application table's key is the application's to choose.
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind) VALUES
 ('tenancy', 'c', 'A', 'regress.orders: an order of A with the id of the order of B (primary key without tenant_id)',
  $$INSERT INTO regress.orders (id, note, tenant_id) VALUES (2, 'Probe', {A})$$, 'note');

-- d. A set: putting a table under tenancy is for operators.
INSERT INTO regress.attacks (domain, grp, context, description, statement) VALUES
 ('tenancy', 'd', 'A', 'enable_tenancy(regress.orders, B)', $$SELECT enable_tenancy('regress.orders', {B})$$),
 ('tenancy', 'd', 'A', 'enable_tenancy(regress.orders, A)', $$SELECT enable_tenancy('regress.orders', {A})$$),
 ('tenancy', 'd', 'A', 'isolate_tenant_rows(regress.orders)', $$SELECT isolate_tenant_rows('regress.orders')$$);

-- Positive controls: the write policies compare with writable_tenant(), which
-- is the current tenant while it may write (A), and NULL while it may not (C).
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind) VALUES
 ('tenancy', 'ctl', 'A', 'writable_tenant() is A', $$SELECT 1 WHERE writable_tenant() = {A}$$, 'control');
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind) VALUES
 ('tenancy', 'ctlc', 'C', 'writable_tenant() is NULL', $$SELECT 1 WHERE writable_tenant() IS NULL$$, 'control');

SELECT grp, kind, count(*) FROM regress.attacks WHERE domain = 'tenancy' GROUP BY 1, 2 ORDER BY 1, 2;

------------------------------------------------------------------------------
-- Every attack is a valid statement: the superuser, whom nothing confines,
-- wins them. Listed are those it does not win.
------------------------------------------------------------------------------
SET client_min_messages = warning;
CREATE TEMP TABLE superuser_run AS SELECT * FROM regress.superuser_run('tenancy');
RESET client_min_messages;
SELECT count(*) AS run, count(*) FILTER (WHERE won) AS won FROM superuser_run;
SELECT grp, description, outcome FROM superuser_run WHERE NOT won ORDER BY id;
-- The superuser's run changed nothing.
SELECT * FROM regress.sec_changed();

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
SELECT * FROM regress.run_attacks('tenancy', 'a');

-- What the attacker sees of regress.orders with no tenant, with A and with C.
CREATE TEMP TABLE sec_seen (relation text, no_tenant bigint, tenant_a bigint, tenant_c bigint);
INSERT INTO sec_seen (relation, no_tenant) SELECT * FROM regress.sec_counts('tenancy');
BEGIN;
SELECT set_tenant(:'A');
UPDATE sec_seen s SET tenant_a = c.visible FROM regress.sec_counts('tenancy') c WHERE c.relation = s.relation;
COMMIT;
BEGIN;
SELECT set_tenant(:'C');
UPDATE sec_seen s SET tenant_c = c.visible FROM regress.sec_counts('tenancy') c WHERE c.relation = s.relation;
COMMIT;
SELECT * FROM sec_seen ORDER BY (SELECT ord FROM regress.targets t WHERE t.rel = sec_seen.relation);

-- Positive controls with A, then the attacks with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('tenancy', 'ctl');
ROLLBACK;

-- b. The rows of B and C, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('tenancy', 'b');
COMMIT;

-- c. Writing for B, moving to B, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('tenancy', 'c');
COMMIT;

-- d. Functions for operators, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('tenancy', 'd');
COMMIT;

-- e. Suspended C set.
BEGIN;
SELECT set_tenant(:'C');
SELECT * FROM regress.run_attacks('tenancy', 'ctlc');
SELECT * FROM regress.run_attacks('tenancy', 'e');
COMMIT;

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
SELECT * FROM regress.run_attacks('tenancy', 'l');
COMMIT;

-- j. Undoing row-level security on regress.orders, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('tenancy', 'j');
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

\c - marimo_attacker
SET timezone = 'UTC';
-- i. Parallel workers do not share the backend's memory, where the
-- transaction's tenant is: the functions must not run in one, or they would
-- see no tenant (refusing the current one) or the session's (accepting
-- another). force_parallel_mode (debug_parallel_query since PostgreSQL 16)
-- puts every query it can in a worker.
SELECT CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 160000
            THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS parallel_setting \gset
SET :parallel_setting = on;
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
RESET :parallel_setting;

\c - postgres
SET timezone = 'UTC';
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
-- The superuser again: nothing of A, B or C changed, and the tally of this
-- domain: every attempt, and those that succeeded (none).
------------------------------------------------------------------------------
SELECT * FROM regress.sec_changed();
SELECT count(*) AS attempts, count(*) FILTER (WHERE succeeded) AS succeeded FROM regress.attack_log WHERE domain = 'tenancy';
SELECT attempt, description, outcome FROM regress.attack_log WHERE domain = 'tenancy' AND succeeded ORDER BY attempt;
