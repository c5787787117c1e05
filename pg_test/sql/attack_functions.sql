-- attack_functions: the names the functions resolve, and the SQL in their arguments (0.7.0).
--
-- The attacker (see attack_setup), with A set, calls the trigger functions
-- and the rollback guard, which are not the application's to call; passes
-- SQL in every text argument of the functions, which must never splice it
-- into a statement; and hijacks the names the functions and policies
-- resolve: it cannot create in public, so it makes impostors in pg_temp of
-- the functions, operators, tables and views of the extension, and of the
-- built-in types. Calls must work as they did, and no impostor may run.
SET timezone = 'UTC';
\set A 'a5ec0000-0000-4000-8000-00000000000a'
\set B 'a5ec0000-0000-4000-8000-00000000000b'
\set C 'a5ec0000-0000-4000-8000-00000000000c'
-- From here on, every attempt is logged under this domain.
INSERT INTO regress.attack_domains (domain) VALUES ('functions');

------------------------------------------------------------------------------
-- The attacks of this domain.
------------------------------------------------------------------------------
-- d. A set: functions that are not the application's to call.
INSERT INTO regress.attacks (domain, grp, context, description, statement) VALUES
 ('functions', 'd', 'A', 'assert_no_data_loss()', $$SELECT assert_no_data_loss('0.1.0', ARRAY[]::text[])$$),
 ('functions', 'd', 'A', 'set_updated_at() called directly', $$SELECT set_updated_at()$$),
 ('functions', 'd', 'A', 'rollup_api_usage() called directly', $$SELECT rollup_api_usage()$$);
-- set_updated_at() and rollup_api_usage() are trigger functions: no one may call them.
UPDATE regress.attacks SET superuser = false WHERE domain = 'functions' AND grp = 'd' AND description LIKE '%called directly';

-- g. A set: SQL in every text argument. The payloads would record an
-- attempt that succeeded, or damage tables (checked below by the superuser),
-- if any function spliced them into SQL; their effects are kept.
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins, keep) VALUES
 ('functions', 'g', 'A', 'check_tenant_limit: limit_type ending the string',
  $$SELECT * FROM check_tenant_limit({A}, 'users_count''; DELETE FROM public.tenants; --', 1)$$, 'never', true),
 ('functions', 'g', 'A', 'check_tenant_limit: limit_type with OR',
  $$SELECT * FROM check_tenant_limit({A}, 'webhooks_count'' OR ''1''=''1')$$, 'never', true),
 ('functions', 'g', 'A', 'check_tenant_limit: limit_type recording a success',
  $$SELECT * FROM check_tenant_limit({A}, 'x''); INSERT INTO regress.attack_log (description, outcome, succeeded) VALUES (''g: injected'', ''injected'', true); --', 1)$$, 'never', true),
 ('functions', 'g', 'A', 'check_tenant_limit: a quoted identifier as limit_type',
  $$SELECT * FROM check_tenant_limit({A}, 'webhooks" WHERE false UNION SELECT count(*) FROM public.webhooks --_count')$$, 'never', true),
 ('functions', 'g', 'A', 'check_tenant_limit: <table>_count of a table not on the list',
  $$SELECT * FROM check_tenant_limit({A}, 'tenants_count')$$, 'never', true),
 ('functions', 'g', 'A', 'check_tenant_limit: <table>_count of a catalog',
  $$SELECT * FROM check_tenant_limit({A}, 'pg_authid_count')$$, 'never', true),
 ('functions', 'g', 'A', 'check_tenant_limit: <metric>_per_month counting every tenant',
  $$SELECT 1 FROM check_tenant_limit({A}, 'api_calls'' OR tenant_id <> ''00000000-0000-0000-0000-000000000000_per_month') WHERE current_value >= 777777$$, 'rows', true),
 ('functions', 'g', 'A', 'check_tenant_limit: <metric>_per_day with a comment',
  $$SELECT * FROM check_tenant_limit({A}, 'api_calls/**/_per_day')$$, 'never', true),
 ('functions', 'g', 'A', 'aggregate_usage_metrics: metric_type counting every tenant',
  $$SELECT 1 FROM aggregate_usage_metrics({A}, 'api_calls'' OR ''1''=''1', '2000-01-01', '2100-01-01') WHERE total >= 777777$$, 'rows', true),
 ('functions', 'g', 'A', 'aggregate_usage_metrics: bucket ending the statement',
  $$SELECT * FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01', 'day''; DELETE FROM public.usage_metrics; --')$$, 'never', true),
 ('functions', 'g', 'A', 'aggregate_usage_metrics: bucket reading every tenant',
  $$SELECT 1 FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01', 'hour'', period_start) FROM public.usage_metrics --') WHERE total >= 777777$$, 'rows', true),
 ('functions', 'g', 'A', 'aggregate_usage_metrics: bucket recording a success',
  $$SELECT * FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01', 'day''); INSERT INTO regress.attack_log (description, outcome, succeeded) VALUES (''g: injected'', ''injected'', true); --')$$, 'never', true),
 ('functions', 'g', 'A', 'record_usage: metric_type with a statement',
  $$SELECT record_usage({A}, 'a; drop table tenants', 1)$$, 'never', true),
 ('functions', 'g', 'A', 'record_usage: metric_type ending the string',
  $$SELECT record_usage({A}, 'api_calls''; DELETE FROM public.tenants; --', 1)$$, 'never', true),
 ('functions', 'g', 'A', 'record_usage: metric_type writing for B',
  $$SELECT record_usage({A}, 'api_calls'', ''a5ec0000-0000-4000-8000-00000000000b'') --', 1)$$, 'never', true),
 ('functions', 'g', 'A', 'record_usage: idempotency_key with OR',
  $$SELECT 1 WHERE record_usage({A}, 'api_calls', 1, '2024-06-01 00:00:00+00', ''' OR 1=1 --') IS NULL$$, 'rows', true),
 ('functions', 'g', 'A', 'record_usage: idempotency_key recording a success',
  $$SELECT 1 WHERE record_usage({A}, 'api_calls', 1, '2024-06-01 00:00:00+00', 'x''); INSERT INTO regress.attack_log (description, outcome, succeeded) VALUES (''g: injected'', ''injected'', true); --') IS NULL$$, 'rows', true),
 ('functions', 'g', 'A', 'record_usage: idempotency_key deleting the keys of B',
  $$SELECT 1 WHERE record_usage({A}, 'api_calls', 1, '2024-06-01 00:00:00+00', 'y''; DELETE FROM public.usage_idempotency_keys; --') IS NULL$$, 'rows', true),
 ('functions', 'g', 'A', 'record_usage: idempotency_key of 255 quotes',
  $$SELECT 1 WHERE record_usage({A}, 'api_calls', 1, '2024-06-01 00:00:00+00', repeat('''', 255)) IS NULL$$, 'rows', true),
 ('functions', 'g', 'A', 'create_log_partitions: table_name with a statement',
  $$SELECT create_log_partitions('api_usage_logs; DROP TABLE public.tenants; --', current_date, current_date)$$, 'never', true),
 ('functions', 'g', 'A', 'enable_tenancy: target with a statement',
  $$SELECT enable_tenancy('regress.orders; DROP TABLE public.tenants', {A})$$, 'never', true),
 ('functions', 'g', 'A', 'assert_no_data_loss: tables with a statement',
  $$SELECT assert_no_data_loss('0.6.0', ARRAY['tenants; DROP TABLE public.tenants'])$$, 'never', true),
 ('functions', 'g', 'A', 'webhooks: a URL with a statement',
  $$INSERT INTO webhooks (tenant_id, name, url, secret) VALUES ({A}, 'Injected', 'https://x.example.com/''; DELETE FROM public.tenants; --', 'whsec_QVRUQUNLLXRlc3Qtc2VjcmV0LWtleS0w')$$, 'never', false),
 ('functions', 'g', 'A', 'webhook_events: an event type with a statement',
  $$INSERT INTO webhook_events (tenant_id, event_type, payload) VALUES ({A}, 'x''; DELETE FROM public.tenants; --', '{}')$$, 'never', false),
 ('functions', 'g', 'A', 'api_usage_logs: an endpoint with a statement (through the rollup)',
  $$INSERT INTO api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms) VALUES ({A}, 'GET', '/''; DELETE FROM public.usage_metrics; --', 200, 1)$$, 'never', false);

-- Injection needs a function that splices its arguments: the superuser would
-- not win these either.
UPDATE regress.attacks SET superuser = false WHERE domain = 'functions' AND grp = 'g';

-- f. Hijacking names (the attacker creates impostors below): calls that must
-- work as they did, and rows of B that must stay out of sight. The statements
-- name public tables in full: unqualified names will reach the impostors.
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins) VALUES
 ('functions', 'f', 'A', 'current_tenant() is B', $$SELECT 1 WHERE current_tenant() = {B}$$, 'rows'),
 ('functions', 'f', 'A', 'writable_tenant() is B', $$SELECT 1 WHERE writable_tenant() = {B}$$, 'rows'),
 ('functions', 'f', 'A', 'analytics_queries: rows of B', $$SELECT 1 FROM public.analytics_queries WHERE tenant_id = {B}$$, 'rows'),
 ('functions', 'f', 'A', 'webhooks: rows of B', $$SELECT 1 FROM public.webhooks WHERE tenant_id = {B}$$, 'rows'),
 ('functions', 'f', 'A', 'tenants: row of B', $$SELECT 1 FROM public.tenants WHERE id = {B}$$, 'rows'),
 ('functions', 'f', 'A', 'usage_metrics: rows of B', $$SELECT 1 FROM public.usage_metrics WHERE tenant_id = {B}$$, 'rows'),
 ('functions', 'f', 'A', 'regress.orders: rows of B', $$SELECT 1 FROM regress.orders WHERE tenant_id = {B}$$, 'rows'),
 ('functions', 'f', 'A', 'record_usage(B)', $$SELECT public.record_usage({B}, 'api_calls', 1)$$, 'rows'),
 ('functions', 'f', 'A', 'check_tenant_limit(B)', $$SELECT * FROM public.check_tenant_limit({B}, 'users_count', 1)$$, 'rows'),
 ('functions', 'f', 'A', 'set_tenant(A) fails', $$SELECT set_tenant({A})$$, 'error'),
 ('functions', 'f', 'A', 'record_usage(A) fails', $$SELECT record_usage({A}, 'hijack_probe', 1, '2024-05-05 05:00:00+00')$$, 'error'),
 ('functions', 'f', 'A', 'record_usage(A) with a key fails', $$SELECT record_usage({A}, 'hijack_probe', 1, '2024-05-05 05:00:00+00', 'sec-hijack-key')$$, 'error'),
 ('functions', 'f', 'A', 'record_usage(A) with a repeated key fails', $$SELECT record_usage({A}, 'invoices_sent', 1, '2024-05-05 05:00:00+00', 'sec-key-a')$$, 'error'),
 ('functions', 'f', 'A', 'check_tenant_limit(A, users_count) fails', $$SELECT * FROM check_tenant_limit({A}, 'users_count', 1)$$, 'error'),
 ('functions', 'f', 'A', 'check_tenant_limit(A, webhooks_count) fails', $$SELECT * FROM check_tenant_limit({A}, 'webhooks_count')$$, 'error'),
 ('functions', 'f', 'A', 'check_tenant_limit(A, api_calls_per_month) fails', $$SELECT * FROM check_tenant_limit({A}, 'api_calls_per_month')$$, 'error'),
 ('functions', 'f', 'A', 'check_tenant_limit(A, seats) fails', $$SELECT * FROM check_tenant_limit({A}, 'seats', 1)$$, 'error'),
 ('functions', 'f', 'A', 'aggregate_usage_metrics(A) fails', $$SELECT * FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01')$$, 'error'),
 ('functions', 'f', 'A', 'aggregate_usage_metrics(A, by day) fails', $$SELECT * FROM aggregate_usage_metrics({A}, 'api_calls', '2000-01-01', '2100-01-01', 'day')$$, 'error'),
 ('functions', 'f', 'A', 'INSERT into analytics_queries for A fails', $$INSERT INTO public.analytics_queries (tenant_id, name, query_text) VALUES ({A}, 'Hijack probe', 'SELECT 1')$$, 'error'),
 ('functions', 'f', 'A', 'UPDATE of analytics_queries of A fails', $$UPDATE public.analytics_queries SET name = name WHERE tenant_id = {A}$$, 'error'),
 ('functions', 'f', 'A', 'DELETE of dashboards of A fails', $$DELETE FROM public.dashboards WHERE tenant_id = {A}$$, 'error'),
 ('functions', 'f', 'A', 'UPDATE of the tenant A fails', $$UPDATE public.tenants SET settings = '{}' WHERE id = {A}$$, 'error'),
 ('functions', 'f', 'A', 'INSERT into api_usage_logs for A (rollup trigger) fails', $$INSERT INTO public.api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms) VALUES ({A}, 'GET', '/hijack', 500, 1)$$, 'error'),
 ('functions', 'f', 'A', 'INSERT into regress.orders for A fails', $$INSERT INTO regress.orders (id, note, tenant_id) VALUES (200, 'Hijack probe', {A})$$, 'error');
UPDATE regress.attacks SET superuser = false WHERE domain = 'functions' AND grp = 'f' AND description LIKE '%_tenant() is B';
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins) VALUES
 ('functions', 'fc', 'C', 'suspended C: INSERT into analytics_queries', $$INSERT INTO public.analytics_queries (tenant_id, name, query_text) VALUES ({C}, 'Hijack probe', 'SELECT 1')$$, 'rows'),
 ('functions', 'fc', 'C', 'suspended C: UPDATE its tenant row', $$UPDATE public.tenants SET name = name WHERE id = {C}$$, 'rows'),
 ('functions', 'fc', 'C', 'suspended C: record_usage(C)', $$SELECT record_usage({C}, 'api_calls', 1)$$, 'rows'),
 ('functions', 'fc', 'C', 'suspended C: INSERT into api_usage_logs', $$INSERT INTO public.api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms) VALUES ({C}, 'GET', '/hijack', 200, 1)$$, 'rows');

SELECT grp, kind, count(*) FROM regress.attacks WHERE domain = 'functions' GROUP BY 1, 2 ORDER BY 1, 2;

------------------------------------------------------------------------------
-- Every attack is a valid statement: the superuser, whom nothing confines,
-- wins them. Listed are those it does not win.
------------------------------------------------------------------------------
SET client_min_messages = warning;
CREATE TEMP TABLE superuser_run AS SELECT * FROM regress.superuser_run('functions');
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
-- d. Functions not for the application, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('functions', 'd');
COMMIT;

-- g. Injection, with A set; what the payloads did is checked by the superuser.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('functions', 'g');
COMMIT;
SELECT count(*) AS injected FROM regress.attack_log WHERE description = 'g: injected';

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
SELECT * FROM regress.run_attacks('functions', 'f');
COMMIT;
BEGIN;
SELECT set_tenant(:'C');
SELECT * FROM regress.run_attacks('functions', 'fc');
COMMIT;
RESET search_path;
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('functions', 'f');
COMMIT;
BEGIN;
SELECT set_tenant(:'C');
SELECT * FROM regress.run_attacks('functions', 'fc');
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

------------------------------------------------------------------------------
-- The superuser again: what A recorded for itself, what nothing else changed,
-- and the tally of this domain.
------------------------------------------------------------------------------
\c - postgres
SET timezone = 'UTC';
-- What A recorded for itself: the injection group's legitimate calls (rolled up first).
SELECT roll_up_usage() > 0 AS rolled_up;
SELECT metric_type, period_start, value_sum, sample_count FROM usage_metrics
 WHERE tenant_id = :'A' AND period_start >= '2024-06-01' AND period_start < '2024-06-02' ORDER BY 1, 2;
SELECT left(idempotency_key, 50) AS idempotency_key, octet_length(idempotency_key) AS bytes
  FROM usage_idempotency_keys WHERE tenant_id = :'A' ORDER BY 1;
SELECT * FROM regress.sec_changed()
 WHERE NOT (tenant = 'a' AND relation IN ('usage_metrics', 'usage_idempotency_keys'));
SELECT count(*) AS attempts, count(*) FILTER (WHERE succeeded) AS succeeded FROM regress.attack_log WHERE domain = 'functions';
SELECT attempt, description, outcome FROM regress.attack_log WHERE domain = 'functions' AND succeeded ORDER BY attempt;
