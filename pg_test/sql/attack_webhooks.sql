-- attack_webhooks: webhooks, their events, deliveries, logs and secrets (0.7.0).
--
-- The attacker (see attack_setup), with A set, reaches no webhook, event,
-- delivery or log of B, delivers nothing of A to a webhook or an event of B,
-- and never reads a signing secret, its own included: webhooks.secret is
-- write-only for the application, and webhook_secrets (the rotated-out
-- secrets, 0.8.0) is for operators only. Not through SELECT *, the whole
-- row, JSON, RETURNING, a filter, an ordering, a failing CHECK or COPY.
SET timezone = 'UTC';
\set A 'a5ec0000-0000-4000-8000-00000000000a'
\set B 'a5ec0000-0000-4000-8000-00000000000b'
\set C 'a5ec0000-0000-4000-8000-00000000000c'
-- From here on, every attempt is logged under this domain.
INSERT INTO regress.attack_domains (domain) VALUES ('webhooks');

------------------------------------------------------------------------------
-- The attacks of this domain, besides those on every table (attack_setup).
------------------------------------------------------------------------------
-- c. A set: the secret of B, and deliveries and logs of A pointing at B.
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind) VALUES
 ('webhooks', 'c', 'A', 'webhooks: copy the secret of B into a webhook of A',
  $$INSERT INTO webhooks (tenant_id, name, url, secret) SELECT {A}, 'Copied', url, secret FROM webhooks WHERE tenant_id = {B}$$, 'attack'),
 ('webhooks', 'c', 'A', 'webhook_deliveries: a delivery of A to the webhook of B',
  $$INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id) VALUES ({A}, 'a5ec0004-0000-4000-8000-00000000000b', 'a5ec0051-0000-4000-8000-00000000000a')$$, 'attack'),
 ('webhooks', 'c', 'A', 'webhook_deliveries: a delivery of A of the event of B',
  $$INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id) VALUES ({A}, 'a5ec0004-0000-4000-8000-00000000000a', 'a5ec0051-0000-4000-8000-00000000000b')$$, 'attack'),
 ('webhooks', 'c', 'A', 'webhook_logs: a log of A for the webhook of B',
  $$INSERT INTO webhook_logs (tenant_id, webhook_id, attempt, request_url) VALUES ({A}, 'a5ec0004-0000-4000-8000-00000000000b', 1, 'https://attacker.example.com/')$$, 'attack'),
 ('webhooks', 'c', 'A', 'webhook_logs: a log of A for the delivery of B',
  $$INSERT INTO webhook_logs (tenant_id, webhook_id, delivery_id, attempt, request_url) VALUES ({A}, 'a5ec0004-0000-4000-8000-00000000000a', 'a5ec0006-0000-4000-8000-00000000000b', 1, 'https://attacker.example.com/')$$, 'attack');

-- h. A set: the write-only secrets.
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins) VALUES
 ('webhooks', 'h', 'A', 'webhooks: SELECT secret', $$SELECT secret FROM webhooks$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: SELECT *', $$SELECT * FROM webhooks$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: TABLE', $$TABLE webhooks$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: row_to_json of the row', $$SELECT row_to_json(w) FROM webhooks w$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: to_jsonb of the row', $$SELECT to_jsonb(w) FROM webhooks w$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: the whole row by alias', $$SELECT w FROM webhooks w$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: the whole row by table name', $$SELECT webhooks FROM webhooks$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: SELECT * through a subquery', $$SELECT secret FROM (SELECT * FROM webhooks) s$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: SELECT * through a CTE', $$WITH w AS (SELECT * FROM webhooks) SELECT 1 FROM w$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: length of the secret', $$SELECT length(secret) FROM webhooks$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: filter on the secret', $$SELECT 1 FROM webhooks WHERE secret LIKE 'whsec_%'$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: order by the secret', $$SELECT 1 FROM webhooks ORDER BY secret$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: group by the secret', $$SELECT count(*) FROM webhooks GROUP BY secret$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: copy the secret into the description', $$UPDATE webhooks SET description = secret WHERE tenant_id = {A}$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: UPDATE ... RETURNING secret', $$UPDATE webhooks SET name = name WHERE tenant_id = {A} RETURNING secret$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: DELETE ... RETURNING secret', $$DELETE FROM webhooks WHERE tenant_id = {A} RETURNING secret$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: DELETE ... RETURNING *', $$DELETE FROM webhooks WHERE tenant_id = {A} RETURNING *$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: INSERT ... RETURNING secret',
  $$INSERT INTO webhooks (tenant_id, name, url, secret) VALUES ({A}, 'Attack', 'https://attacker.example.com/', 'whsec_QVRUQUNLLXRlc3Qtc2VjcmV0LWtleS0w') RETURNING secret$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: upsert that copies the stored secret',
  $$INSERT INTO webhooks (tenant_id, id, name, url, secret) VALUES ({A}, 'a5ec0004-0000-4000-8000-00000000000a', 'Attack', 'https://attacker.example.com/', 'whsec_QVRUQUNLLXRlc3Qtc2VjcmV0LWtleS0w') ON CONFLICT (tenant_id, id) DO UPDATE SET description = webhooks.secret$$, 'rows'),
 ('webhooks', 'h', 'A', 'webhooks: failing CHECK shows the row (and the secret?)', $$UPDATE webhooks SET url = 'not a url' WHERE tenant_id = {A}$$, 'rows');

-- Positive controls: everything of the webhooks of A but the secret, which A
-- may still set.
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind) VALUES
 ('webhooks', 'ctl', 'A', 'webhooks: SELECT every column but the secret', $$SELECT tenant_id, id, name, url, event_types, is_active FROM webhooks$$, 'control'),
 ('webhooks', 'ctl', 'A', 'webhooks: UPDATE its own secret', $$UPDATE webhooks SET secret = 'whsec_TkVXU0VDUkVULXRlc3Qtc2VjcmV0LWtl' WHERE tenant_id = {A}$$, 'control');

SELECT grp, kind, count(*) FROM regress.attacks WHERE domain = 'webhooks' GROUP BY 1, 2 ORDER BY 1, 2;

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
CREATE TEMP TABLE superuser_run AS SELECT * FROM regress.superuser_run('webhooks');
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
SELECT * FROM regress.run_attacks('webhooks', 'a');

-- What the attacker sees of these tables with no tenant, with A and with C.
CREATE TEMP TABLE sec_seen (relation text, no_tenant bigint, tenant_a bigint, tenant_c bigint);
INSERT INTO sec_seen (relation, no_tenant) SELECT * FROM regress.sec_counts('webhooks');
BEGIN;
SELECT set_tenant(:'A');
UPDATE sec_seen s SET tenant_a = c.visible FROM regress.sec_counts('webhooks') c WHERE c.relation = s.relation;
COMMIT;
BEGIN;
SELECT set_tenant(:'C');
UPDATE sec_seen s SET tenant_c = c.visible FROM regress.sec_counts('webhooks') c WHERE c.relation = s.relation;
COMMIT;
SELECT * FROM sec_seen ORDER BY (SELECT ord FROM regress.targets t WHERE t.rel = sec_seen.relation);

-- Positive controls with A, then the attacks with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('webhooks', 'ctl');
ROLLBACK;

-- b. The rows of B and C, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('webhooks', 'b');
COMMIT;

-- c. Writing for B, moving to B, pointing at B, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('webhooks', 'c');
COMMIT;

-- e. Suspended C set.
BEGIN;
SELECT set_tenant(:'C');
SELECT * FROM regress.run_attacks('webhooks', 'ctlc');
SELECT * FROM regress.run_attacks('webhooks', 'e');
COMMIT;

-- h. The secrets, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('webhooks', 'h');
COMMIT;
-- COPY, which only psql can run and only outside a function: with A set for
-- the session, the secret column is refused, the rest shows only A.
SELECT set_tenant(:'A', true);
COPY webhooks TO STDOUT;
SELECT regress.record_attack('h: COPY webhooks TO STDOUT', :'SQLSTATE', :ROW_COUNT);
COPY webhooks (id, name, secret) TO STDOUT;
SELECT regress.record_attack('h: COPY webhooks (id, name, secret) TO STDOUT', :'SQLSTATE', :ROW_COUNT);
COPY (SELECT secret FROM webhooks) TO STDOUT;
SELECT regress.record_attack('h: COPY (SELECT secret FROM webhooks) TO STDOUT', :'SQLSTATE', :ROW_COUNT);
COPY (SELECT id FROM webhooks WHERE tenant_id <> :'A') TO STDOUT;
SELECT regress.record_attack('h: COPY the webhooks of other tenants TO STDOUT', :'SQLSTATE', :ROW_COUNT, 'rows');
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
SELECT * FROM regress.run_attacks('webhooks', 'l');
COMMIT;

-- j. Undoing row-level security on these tables, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('webhooks', 'j');
COMMIT;

------------------------------------------------------------------------------
-- The superuser again: nothing of A, B or C changed, and the tally
-- of this domain: every attempt, and those that succeeded (none).
------------------------------------------------------------------------------
\c - postgres
SET timezone = 'UTC';
SELECT * FROM regress.sec_changed();
SELECT count(*) AS attempts, count(*) FILTER (WHERE succeeded) AS succeeded FROM regress.attack_log WHERE domain = 'webhooks';
SELECT attempt, description, outcome FROM regress.attack_log WHERE domain = 'webhooks' AND succeeded ORDER BY attempt;
