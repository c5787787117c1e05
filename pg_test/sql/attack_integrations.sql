-- attack_integrations: integrations, their logs, Stripe and SendGrid (0.7.0).
--
-- The attacker (see attack_setup), with A set, reaches no integration, log,
-- customer, subscription or contact of B, logs nothing of A against an
-- integration or a customer of B, and never reads stored credentials, its own
-- included: integrations.credentials is write-only for the application.
SET timezone = 'UTC';
\set A 'a5ec0000-0000-4000-8000-00000000000a'
\set B 'a5ec0000-0000-4000-8000-00000000000b'
\set C 'a5ec0000-0000-4000-8000-00000000000c'
-- From here on, every attempt is logged under this domain.
INSERT INTO regress.attack_domains (domain) VALUES ('integrations');

------------------------------------------------------------------------------
-- The attacks of this domain, besides those on every table (attack_setup).
------------------------------------------------------------------------------
-- c. A set: rows of A pointing at rows of B.
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind) VALUES
 ('integrations', 'c', 'A', 'integration_logs: a log of A for the integration of B',
  $$INSERT INTO integration_logs (tenant_id, integration_id, operation, status) VALUES ({A}, 'a5ec0008-0000-4000-8000-00000000000b', 'attack', 'success')$$, 'attack'),
 ('integrations', 'c', 'A', 'stripe_subscriptions: a subscription of A for the customer of B',
  $$INSERT INTO stripe_subscriptions (tenant_id, stripe_subscription_id, customer_id, status) VALUES ({A}, 'sub_Attack', 'a5ec0010-0000-4000-8000-00000000000b', 'active')$$, 'attack');

-- h. A set: the write-only credentials.
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins) VALUES
 ('integrations', 'h', 'A', 'integrations: SELECT credentials', $$SELECT credentials FROM integrations$$, 'rows'),
 ('integrations', 'h', 'A', 'integrations: SELECT *', $$SELECT * FROM integrations$$, 'rows'),
 ('integrations', 'h', 'A', 'integrations: row_to_json of the row', $$SELECT row_to_json(i) FROM integrations i$$, 'rows'),
 ('integrations', 'h', 'A', 'integrations: filter on the credentials', $$SELECT 1 FROM integrations WHERE credentials ? 'api_key'$$, 'rows'),
 ('integrations', 'h', 'A', 'integrations: copy the credentials into the config', $$UPDATE integrations SET config = credentials WHERE tenant_id = {A}$$, 'rows'),
 ('integrations', 'h', 'A', 'integrations: add to the credentials read back', $$UPDATE integrations SET credentials = credentials || '{"x": 1}' WHERE tenant_id = {A}$$, 'rows'),
 ('integrations', 'h', 'A', 'integrations: DELETE ... RETURNING credentials', $$DELETE FROM integrations WHERE tenant_id = {A} RETURNING credentials$$, 'rows'),
 ('integrations', 'h', 'A', 'integrations: failing CHECK shows the row (and the credentials?)', $$UPDATE integrations SET status = 'bogus' WHERE tenant_id = {A}$$, 'rows');

-- Positive controls: everything of the integrations of A but the
-- credentials, which A may still set.
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind) VALUES
 ('integrations', 'ctl', 'A', 'integrations: SELECT every column but the credentials', $$SELECT tenant_id, id, provider, name, config, status FROM integrations$$, 'control'),
 ('integrations', 'ctl', 'A', 'integrations: UPDATE its own credentials', $$UPDATE integrations SET credentials = '{"api_key": "new"}' WHERE tenant_id = {A}$$, 'control');

SELECT grp, kind, count(*) FROM regress.attacks WHERE domain = 'integrations' GROUP BY 1, 2 ORDER BY 1, 2;

------------------------------------------------------------------------------
-- Every attack is a valid statement: the superuser, whom nothing confines,
-- wins them. Listed are those it does not win: moving rows to B, and rows of
-- A pointing at rows of B, break the foreign keys that include tenant_id
-- (23503) or a unique key (23505) even where no policy applies; and since
-- 0.9.0 the changes to an extension table that pg_dump would not keep (RLS
-- switched off, a new owner, trigger, rule or column) are refused even to the
-- superuser, by the event trigger marimo_erp_member_ddl (0A000).
------------------------------------------------------------------------------
SET client_min_messages = warning;
CREATE TEMP TABLE superuser_run AS SELECT * FROM regress.superuser_run('integrations');
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

-- a. No tenant.
SELECT * FROM regress.run_attacks('integrations', 'a');

-- What the attacker sees of these tables with no tenant, with A and with C.
CREATE TEMP TABLE sec_seen (relation text, no_tenant bigint, tenant_a bigint, tenant_c bigint);
INSERT INTO sec_seen (relation, no_tenant) SELECT * FROM regress.sec_counts('integrations');
BEGIN;
SELECT set_tenant(:'A');
UPDATE sec_seen s SET tenant_a = c.visible FROM regress.sec_counts('integrations') c WHERE c.relation = s.relation;
COMMIT;
BEGIN;
SELECT set_tenant(:'C');
UPDATE sec_seen s SET tenant_c = c.visible FROM regress.sec_counts('integrations') c WHERE c.relation = s.relation;
COMMIT;
SELECT * FROM sec_seen ORDER BY (SELECT ord FROM regress.targets t WHERE t.rel = sec_seen.relation);

-- Positive controls with A, then the attacks with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('integrations', 'ctl');
ROLLBACK;

-- b. The rows of B and C, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('integrations', 'b');
COMMIT;

-- c. Writing for B, moving to B, pointing at B, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('integrations', 'c');
COMMIT;

-- e. Suspended C set.
BEGIN;
SELECT set_tenant(:'C');
SELECT * FROM regress.run_attacks('integrations', 'ctlc');
SELECT * FROM regress.run_attacks('integrations', 'e');
COMMIT;

-- h. The credentials, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('integrations', 'h');
COMMIT;
-- COPY, which only psql can run and only outside a function: with A set for
-- the session, the credentials column is refused.
SELECT set_tenant(:'A', true);
COPY integrations TO STDOUT;
SELECT regress.record_attack('h: COPY integrations TO STDOUT', :'SQLSTATE', :ROW_COUNT);
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
SELECT * FROM regress.run_attacks('integrations', 'l');
COMMIT;

-- j. Undoing row-level security on these tables, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('integrations', 'j');
COMMIT;

------------------------------------------------------------------------------
-- The superuser again: nothing of A, B or C changed, and the tally
-- of this domain: every attempt, and those that succeeded (none).
------------------------------------------------------------------------------
\c - postgres
SET timezone = 'UTC';
SELECT * FROM regress.sec_changed();
SELECT count(*) AS attempts, count(*) FILTER (WHERE succeeded) AS succeeded FROM regress.attack_log WHERE domain = 'integrations';
SELECT attempt, description, outcome FROM regress.attack_log WHERE domain = 'integrations' AND succeeded ORDER BY attempt;
