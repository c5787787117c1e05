-- attack_tenants: the tenants table (0.7.0).
--
-- The attacker (see attack_setup), with A set, reads and writes only the row
-- of A, and of it only its name and settings: not its plan, limits, seats,
-- subscription, slug or status, and it cannot delete itself. Suspended C
-- reads its row and does not write it, not even to lift its suspension.
SET timezone = 'UTC';
\set A 'a5ec0000-0000-4000-8000-00000000000a'
\set B 'a5ec0000-0000-4000-8000-00000000000b'
\set C 'a5ec0000-0000-4000-8000-00000000000c'
-- From here on, every attempt is logged under this domain.
INSERT INTO regress.attack_domains (domain) VALUES ('tenants');

------------------------------------------------------------------------------
-- The attacks of this domain, besides those on every table (attack_setup).
------------------------------------------------------------------------------
-- c. A set: the row of A takes nothing from B, and only what the contract lets
-- A change.
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind) VALUES
 ('tenants', 'c', 'A', 'tenants: copy the settings of B into A',
  $$WITH u AS (UPDATE tenants SET settings = coalesce((SELECT t.settings FROM tenants t WHERE t.id = {B}), '{}') WHERE id = {A} RETURNING settings) SELECT 1 FROM u WHERE settings <> '{}'$$, 'attack'),
 ('tenants', 'c', 'A', 'tenants: raise its own plan', $$UPDATE tenants SET plan = 'enterprise' WHERE id = {A}$$, 'attack'),
 ('tenants', 'c', 'A', 'tenants: lift its own limits', $$UPDATE tenants SET limits = '{}' WHERE id = {A}$$, 'attack'),
 ('tenants', 'c', 'A', 'tenants: raise its own max_users', $$UPDATE tenants SET max_users = 100000 WHERE id = {A}$$, 'attack'),
 ('tenants', 'c', 'A', 'tenants: change its own subscription status', $$UPDATE tenants SET subscription_status = 'active', trial_ends_at = NULL WHERE id = {A}$$, 'attack'),
 ('tenants', 'c', 'A', 'tenants: change its own slug', $$UPDATE tenants SET slug = 'regress-sec-taken' WHERE id = {A}$$, 'attack'),
 ('tenants', 'c', 'A', 'tenants: delete itself', $$DELETE FROM tenants WHERE id = {A}$$, 'attack');

-- e. C set: a suspended tenant does not lift its own suspension.
INSERT INTO regress.attacks (domain, grp, context, description, statement) VALUES
 ('tenants', 'e', 'C', 'tenants: lift its own suspension', $$UPDATE tenants SET status = 'active', suspended_at = NULL WHERE id = {C}$$);

-- Positive control: A changes what it may.
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind) VALUES
 ('tenants', 'ctl', 'A', 'tenants: UPDATE its own name and settings', $$UPDATE tenants SET name = 'Renamed', settings = '{"theme": "dark"}' WHERE id = {A}$$, 'control');

SELECT grp, kind, count(*) FROM regress.attacks WHERE domain = 'tenants' GROUP BY 1, 2 ORDER BY 1, 2;

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
CREATE TEMP TABLE superuser_run AS SELECT * FROM regress.superuser_run('tenants');
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
SELECT * FROM regress.run_attacks('tenants', 'a');

-- What the attacker sees of the tenants with no tenant, with A and with C.
CREATE TEMP TABLE sec_seen (relation text, no_tenant bigint, tenant_a bigint, tenant_c bigint);
INSERT INTO sec_seen (relation, no_tenant) SELECT * FROM regress.sec_counts('tenants');
BEGIN;
SELECT set_tenant(:'A');
UPDATE sec_seen s SET tenant_a = c.visible FROM regress.sec_counts('tenants') c WHERE c.relation = s.relation;
COMMIT;
BEGIN;
SELECT set_tenant(:'C');
UPDATE sec_seen s SET tenant_c = c.visible FROM regress.sec_counts('tenants') c WHERE c.relation = s.relation;
COMMIT;
SELECT * FROM sec_seen ORDER BY (SELECT ord FROM regress.targets t WHERE t.rel = sec_seen.relation);

-- Positive controls with A, then the attacks with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('tenants', 'ctl');
ROLLBACK;

-- b. The rows of B and C, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('tenants', 'b');
COMMIT;

-- c. Writing for B, moving to B, changing what only operators may, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('tenants', 'c');
COMMIT;

-- e. Suspended C set.
BEGIN;
SELECT set_tenant(:'C');
SELECT * FROM regress.run_attacks('tenants', 'ctlc');
SELECT * FROM regress.run_attacks('tenants', 'e');
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
SELECT * FROM regress.run_attacks('tenants', 'l');
COMMIT;

-- j. Undoing row-level security on these tables, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('tenants', 'j');
COMMIT;

------------------------------------------------------------------------------
-- The superuser again: nothing of A, B or C changed, and the tally
-- of this domain: every attempt, and those that succeeded (none).
------------------------------------------------------------------------------
\c - postgres
SET timezone = 'UTC';
SELECT * FROM regress.sec_changed();
SELECT count(*) AS attempts, count(*) FILTER (WHERE succeeded) AS succeeded FROM regress.attack_log WHERE domain = 'tenants';
SELECT attempt, description, outcome FROM regress.attack_log WHERE domain = 'tenants' AND succeeded ORDER BY attempt;
