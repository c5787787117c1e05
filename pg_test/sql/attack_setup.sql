-- attack_setup: the scene and the harness of the attack suites (0.7.0).
--
-- A member of marimo_app attacks tenant isolation, one domain of the
-- extension per file, in the order of pg_test/schedule:
--   attack_tenancy       the tenant context and the security model in the
--                        catalog; regress.orders, a table put under tenancy
--   attack_tenants       tenants: plans, limits, suspension
--   attack_analytics     analytics_queries, dashboards, scheduled_reports
--   attack_webhooks      the webhook tables and their write-only secrets
--   attack_integrations  integrations, their logs and credentials, Stripe, SendGrid
--   attack_usage         usage metrics, idempotency keys, activity and API logs;
--                        check_tenant_limit, aggregate_usage_metrics, record_usage
--   attack_logs          the daily partitions of the logs, retention, maintenance
--   attack_monitoring    the operators' views and the planner's statistics
--   attack_privileges    lifting its own privileges
--   attack_functions     names the functions resolve, SQL in their arguments
--   attack_summary       every attempt of every domain, and the clean-up
-- pg_regress runs them one after another in one database, so what this file
-- makes stays for the others; each of them sets its own psql variables.
--
-- The superuser sets the scene: tenants A and B (active) and C (suspended),
-- each with rows in every tenant table, in the default and in today's daily
-- partition of every log, and in regress.orders, a table of these suites put
-- under enable_tenancy(). Then marimo_attacker, a login role that is a member
-- of marimo_app and of nothing else, tries to reach rows of a tenant other than
-- the current one, to write while its tenant is suspended, to read the
-- write-only secrets, to forge or carry over the tenant context, to hijack the
-- names the extension's functions resolve, to inject SQL through their text
-- arguments, and to lift its own privileges.
--
-- Every attempt runs through regress.try_attack(), which runs as its caller
-- (it is not SECURITY DEFINER), undoes what the statement did (unless told to
-- keep it) and records the attempt in regress.attack_log, under the domain of
-- the file that runs it:
--   'blocked: <SQLSTATE>'  the statement raised that error;
--   'ran: <n> rows'        it ran and returned or changed n rows.
-- An attempt SUCCEEDS (and says so) when its statement returns or changes any
-- row (each statement is written so that any such row belongs to another
-- tenant or is a write the contract forbids), or, for a statement that must be
-- refused, when it raises no error, or when an error message shows stored
-- data of B or a stored secret. Positive controls, which must work, show that
-- the attacker is not simply blocked from everything, and each domain file
-- runs its attacks as the superuser first, to show that each statement is
-- valid, so that an attack is not "blocked" by a typo. Each domain file ends
-- with its number of attempts and of successes, attack_summary with the total:
-- 0 successes.
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
       'whsec_U1RPUkVELXRlc3Qtc2VjcmV0LWtleS0w' || s || 'AAA' FROM regress.sec_tenants;
-- A rotated-out secret per webhook (0.8.0): operators only, never the application.
INSERT INTO webhook_secrets (tenant_id, webhook_id, secret, expires_at)
SELECT regress.sec_id(0, s), regress.sec_id(4, s), 'whsec_UFJFVklPVVMtdGVzdC1zZWNyZXQta2V5' || s || 'AA=', now() + interval '1 day'
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
-- Into usage_metrics (0.13.0 appends to usage_deltas first), where the attacks look for it.
SELECT roll_up_usage() > 0 AS rolled_up;

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

-- The attacker: a login role with marimo_app and nothing else. (The roles of
-- an earlier run that stopped before attack_summary dropped them go first:
-- the attacker, and the operator attack_tenancy makes.)
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['marimo_attacker', 'marimo_sec_operator'] LOOP
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I', r);
            EXECUTE format('DROP ROLE %I', r);
        END IF;
    END LOOP;
END
$$;
CREATE ROLE marimo_attacker LOGIN;
GRANT marimo_app TO marimo_attacker;

------------------------------------------------------------------------------
-- The harness.
------------------------------------------------------------------------------
-- The rows of every tenant, per table (what the attacks must not change).
CREATE TABLE regress.targets (
    ord    integer PRIMARY KEY,
    rel    text NOT NULL,      -- the table
    key    text NOT NULL,      -- its tenant column
    col    text NOT NULL,      -- a column an attack sets to itself
    ins    text NOT NULL,      -- INSERT of a valid row of tenant {TENANT} ({S}: a, b or c) into {T}
    log    boolean NOT NULL DEFAULT false,
    domain text                -- the domain file that attacks it
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
  $$INSERT INTO {T} (tenant_id, name, url, secret) VALUES ({TENANT}, 'Attack', 'https://attacker.example.com/', 'whsec_QVRUQUNLLXRlc3Qtc2VjcmV0LWtleS0w')$$),
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
-- Each table is attacked by the file of the domain whose schema makes it.
UPDATE regress.targets SET domain = CASE
    WHEN rel = 'tenants' THEN 'tenants'
    WHEN rel IN ('analytics_queries', 'dashboards', 'scheduled_reports') THEN 'analytics'
    WHEN rel IN ('webhooks', 'webhook_events', 'webhook_deliveries', 'webhook_logs', 'webhook_secrets') THEN 'webhooks'
    WHEN rel IN ('integrations', 'integration_logs', 'stripe_customers', 'stripe_subscriptions', 'sendgrid_contacts')
        THEN 'integrations'
    WHEN rel IN ('usage_metrics', 'usage_idempotency_keys', 'user_activities', 'api_usage_logs') THEN 'usage'
    WHEN rel = 'regress.orders' THEN 'tenancy' END;
ALTER TABLE regress.targets ALTER COLUMN domain SET NOT NULL;
SELECT domain, string_agg(rel, ', ' ORDER BY ord) AS tables FROM regress.targets GROUP BY 1 ORDER BY min(ord);

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

-- The rows of every tenant that differ from the baseline: what an attack changed.
CREATE FUNCTION regress.sec_changed() RETURNS TABLE (relation text, tenant text, rows_before bigint, rows_after bigint)
LANGUAGE sql AS $$
SELECT relation, tenant, b.row_count, f.row_count
  FROM regress.sec_fingerprint() f FULL JOIN regress.sec_baseline b USING (relation, tenant)
 WHERE f.digest IS DISTINCT FROM b.digest
 ORDER BY 1, 2
$$;

-- The domain files, in the order they ran: each adds its row first, and
-- every attempt is logged under the last one added, the file running.
CREATE TABLE regress.attack_domains (
    ord    serial PRIMARY KEY,
    domain text NOT NULL UNIQUE
);
INSERT INTO regress.attack_domains (domain) VALUES ('setup');
CREATE FUNCTION regress.attack_domain() RETURNS pg_catalog.text
LANGUAGE sql STABLE
AS $$ SELECT d.domain FROM regress.attack_domains d ORDER BY d.ord DESC LIMIT 1 $$;
GRANT SELECT ON regress.attack_domains TO marimo_attacker;

-- What every attempt leaves behind.
CREATE TABLE regress.attack_log (
    attempt     serial PRIMARY KEY,
    domain      text NOT NULL DEFAULT regress.attack_domain(),
    attack_id   integer,       -- the attack of regress.attacks, when run_attacks() ran one
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
                                   wins pg_catalog.text DEFAULT 'rows', keep pg_catalog.bool DEFAULT false,
                                   attack_id pg_catalog.int4 DEFAULT NULL)
RETURNS pg_catalog.text LANGUAGE plpgsql AS $fn$
DECLARE
    r record;
    o record;
BEGIN
    SELECT * INTO r FROM regress.sec_run(statement, keep);
    SELECT * INTO o FROM regress.sec_outcome(r.state, r.n, r.message, wins);
    INSERT INTO regress.attack_log (attack_id, description, outcome, succeeded) VALUES (attack_id, description, o.outcome, o.won);
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

-- The catalogue of attacks, by domain and group; context: the tenant the
-- attacker has set. kind: 'attack', 'control' (must work; not an attack) or
-- 'note' (a known limitation, shown but not counted). superuser: whether the
-- superuser's run of every attack includes it.
CREATE TABLE regress.attacks (
    id          serial PRIMARY KEY,
    domain      text NOT NULL,
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

-- Runs a group of a domain as the caller, which must have set the group's tenant.
CREATE FUNCTION regress.run_attacks(which_domain pg_catalog.text, which pg_catalog.text)
RETURNS TABLE (attack pg_catalog.text, outcome pg_catalog.text)
LANGUAGE plpgsql AS $fn$
DECLARE
    a record;
    r record;
    want pg_catalog.uuid;
    have pg_catalog.uuid;
BEGIN
    FOR a IN SELECT * FROM regress.attacks x WHERE x.domain = which_domain AND x.grp = which ORDER BY x.id LOOP
        want := CASE a.context WHEN 'none' THEN NULL ELSE regress.sec_id(0, pg_catalog.lower(a.context)) END;
        have := public.current_tenant();
        attack := a.description;
        IF have IS DISTINCT FROM want THEN
            outcome := 'NOT RUN: the current tenant is ' || coalesce(have::pg_catalog.text, 'none');
            INSERT INTO regress.attack_log (attack_id, description, outcome, succeeded) VALUES (a.id, a.description, outcome, true);
        ELSIF a.kind = 'attack' THEN
            outcome := regress.try_attack(a.description, a.statement, a.wins, a.keep, a.id);
        ELSE
            SELECT * INTO r FROM regress.sec_run(a.statement, a.keep);
            outcome := CASE WHEN r.state IS NULL THEN 'ran: ' || r.n || ' rows' ELSE 'blocked: ' || r.state END;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- Every attack is a valid statement: the superuser, whom nothing confines,
-- wins them. The superuser's run of a domain's attacks, each undone, with
-- whether it won; without the attacks that only a leak, an impostor or a
-- failed call can win.
CREATE FUNCTION regress.superuser_run(which_domain text)
RETURNS TABLE (id integer, grp text, description text, outcome text, won boolean)
LANGUAGE plpgsql AS $fn$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'the superuser run runs as %, not a superuser', current_user;
    END IF;
    RETURN QUERY
    SELECT a.id, a.grp, a.description, o.outcome, o.won
      FROM regress.attacks a, regress.sec_run(a.statement, false) r,
           regress.sec_outcome(r.state, r.n, r.message, a.wins) o
     WHERE a.domain = which_domain AND a.kind = 'attack' AND a.superuser AND a.wins NOT IN ('error', 'never')
     ORDER BY a.id;
END
$fn$;

-- What the caller sees of a domain's tables: NULL where it may not read the
-- table at all (webhook_secrets).
CREATE FUNCTION regress.sec_counts(which_domain text) RETURNS TABLE (relation text, visible bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM regress.targets x WHERE x.domain = which_domain ORDER BY x.ord LOOP
        relation := t.rel;
        visible := NULL;
        IF has_table_privilege(t.rel, 'SELECT') THEN
            EXECUTE format('SELECT count(*) FROM %s', t.rel) INTO visible;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$fn$;

------------------------------------------------------------------------------
-- The attacks on every table, each in the domain of its table; the domain
-- files add those of their own.
------------------------------------------------------------------------------
-- a. No tenant set: nothing of any tenant, every table.
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins)
SELECT t.domain, 'a', 'none', t.rel || ': ' || o.what, coalesce(format(o.stmt, t.rel, t.key, t.col), regress.sec_ins(t, 'a')), o.wins
  FROM regress.targets t,
       (VALUES (1, 'SELECT every row', 'SELECT 1 FROM %1$s', 'rows'),
               (2, 'SELECT the rows of B', 'SELECT 1 FROM %1$s WHERE %2$I = {B}', 'rows'),
               (3, 'count(*) > 0', 'SELECT count(*) FROM %1$s HAVING count(*) > 0', 'rows'),
               (4, 'UPDATE every row', 'UPDATE %1$s SET %3$I = %3$I', 'rows'),
               (5, 'DELETE every row', 'DELETE FROM %1$s', 'rows'),
               (6, 'INSERT a row of A', NULL, 'rows')) AS o(n, what, stmt, wins)
 ORDER BY t.ord, o.n;

-- b. A set: the rows of B (and of C) stay out of sight and reach.
INSERT INTO regress.attacks (domain, grp, context, description, statement)
SELECT t.domain, 'b', 'A', t.rel || ': ' || o.what, format(o.stmt, t.rel, t.key, t.col)
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

-- c. A set: writing rows of B, moving rows of A to B.
INSERT INTO regress.attacks (domain, grp, context, description, statement)
SELECT t.domain, 'c', 'A', t.rel || ': ' || o.what, coalesce(format(o.stmt, t.rel, t.key), regress.sec_ins(t, o.s))
  FROM regress.targets t,
       (VALUES (1, 'INSERT a row of B', NULL, 'b'),
               (2, 'INSERT a row of suspended C', NULL, 'c'),
               (3, 'move the rows of A to B (UPDATE its tenant)', 'UPDATE %1$s SET %2$I = {B} WHERE %2$I = {A}', NULL))
           AS o(n, what, stmt, s)
 ORDER BY t.ord, o.n;

-- e. C set: a suspended tenant reads but does not write.
INSERT INTO regress.attacks (domain, grp, context, description, statement)
SELECT t.domain, 'e', 'C', t.rel || ': ' || o.what, coalesce(format(o.stmt, t.rel, t.key, t.col), regress.sec_ins(t, 'c'))
  FROM regress.targets t,
       (VALUES (1, 'INSERT a row of its own', NULL),
               (2, 'UPDATE its own rows', 'UPDATE %1$s SET %3$I = %3$I WHERE %2$I = {C}'),
               (3, 'DELETE its own rows', 'DELETE FROM %1$s WHERE %2$I = {C}')) AS o(n, what, stmt)
 ORDER BY t.ord, o.n;

-- l. A set: side channels. Quals of the attacker's own are evaluated only on
-- rows the policies let through, so an error or a leaky function never sees B.
-- pg_temp.sec_leak() is the attacker's, made in its session by each domain
-- file; after the leaky calls of its tables, it looks at what it recorded.
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins, keep, superuser)
SELECT t.domain, 'l', 'A', t.rel || ': ' || o.what, format(o.stmt, t.rel, t.key, t.col), o.wins, o.keep, o.superuser
  FROM regress.targets t,
       (VALUES (1, 'division by zero on the rows of B',
                'SELECT 1 FROM %1$s WHERE 1 / (CASE WHEN %2$I = {B} THEN 0 ELSE 1 END) = 1', '22012', false, true),
               (2, 'cast error showing a value of B',
                $$SELECT 1 FROM %1$s WHERE (CASE WHEN %2$I = {B} THEN %3$I::text ELSE '1' END)::integer = 1$$, '22P02', false, true),
               (3, 'leaky function called on every row',
                'SELECT 1 FROM %1$s WHERE pg_temp.sec_leak(%2$I::text)', 'never', true, false)) AS o(n, what, stmt, wins, keep, superuser)
 ORDER BY t.ord, o.n;
INSERT INTO regress.attacks (domain, grp, context, description, statement, superuser)
SELECT d.domain, 'l', 'A', o.what, o.stmt, false
  FROM (SELECT DISTINCT domain FROM regress.targets) AS d,
       (VALUES (1, 'the leaky function saw a row of B or C', $$SELECT 1 FROM pg_temp.sec_leaked WHERE v IN ({B}, {C})$$),
               (2, 'the leaky function saw a secret', $$SELECT 1 FROM pg_temp.sec_leaked WHERE v LIKE 'whsec%' OR v LIKE '%api_key%'$$))
           AS o(n, what, stmt)
 ORDER BY d.domain, o.n;

-- j. A set: lifting its own privileges on a table, and undoing row-level security.
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins)
SELECT t.domain, 'j', 'A', t.rel || ': ' || o.what, format(o.stmt, t.rel), 'no_error'
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
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins)
SELECT t.domain, 'j', 'A', t.rel || ': DROP POLICY ' || p.polname, format('DROP POLICY %I ON %s', p.polname, t.rel), 'no_error'
  FROM regress.targets t JOIN pg_policy p ON p.polrelid = t.rel::regclass
 ORDER BY t.ord, p.polname;
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins)
SELECT t.domain, 'j', 'A', t.rel || ': ALTER POLICY marimo_tenant_select USING (true)',
       format('ALTER POLICY marimo_tenant_select ON %s USING (true)', t.rel), 'no_error'
  FROM regress.targets t ORDER BY t.ord;
-- The extension's own tables cannot be dropped one by one, not even by the
-- superuser.
UPDATE regress.attacks SET superuser = false
 WHERE grp = 'j' AND description LIKE '%: DROP TABLE' AND description NOT LIKE 'regress.%';

-- Positive controls (not attacks): with A set, the attacker reads and writes
-- the rows of A as the contract allows.
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind)
SELECT t.domain, 'ctl', 'A', t.rel || ': ' || o.what, coalesce(format(o.stmt, t.rel, t.key, t.col), regress.sec_ins(t, 'a')), 'control'
  FROM regress.targets t,
       (VALUES (1, 'SELECT its own rows', 'SELECT 1 FROM %1$s WHERE %2$I = {A}'),
               (2, 'INSERT a row of its own', NULL),
               (3, 'UPDATE its own rows', 'UPDATE %1$s SET %3$I = %3$I WHERE %2$I = {A}'),
               (4, 'DELETE its own rows', 'DELETE FROM %1$s WHERE %2$I = {A}')) AS o(n, what, stmt)
 ORDER BY t.ord, o.n;
-- With C set: a suspended tenant still reads its rows.
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind)
SELECT t.domain, 'ctlc', 'C', t.rel || ': SELECT its own rows', format('SELECT 1 FROM %1$s WHERE %2$I = {C}', t.rel, t.key), 'control'
  FROM regress.targets t ORDER BY t.ord;

SELECT grp, kind, count(*) FROM regress.attacks GROUP BY 1, 2 ORDER BY 1, 2;
