-- attack_analytics: saved queries, dashboards, scheduled reports (0.7.0).
--
-- The attacker (see attack_setup), with A set, reaches no query, board or
-- report of B, copies none of them into A, and points no report of A at a
-- query or board of B.
SET timezone = 'UTC';
\set A 'a5ec0000-0000-4000-8000-00000000000a'
\set B 'a5ec0000-0000-4000-8000-00000000000b'
\set C 'a5ec0000-0000-4000-8000-00000000000c'
-- From here on, every attempt is logged under this domain.
INSERT INTO regress.attack_domains (domain) VALUES ('analytics');

------------------------------------------------------------------------------
-- The attacks of this domain, besides those on every table (attack_setup).
------------------------------------------------------------------------------
-- c. A set: upserts onto rows of B, copies of rows of B, reports of A on
-- queries and boards of B.
INSERT INTO regress.attacks (domain, grp, context, description, statement, kind) VALUES
 ('analytics', 'c', 'A', 'analytics_queries: upsert onto the query of B',
  $$INSERT INTO analytics_queries (tenant_id, id, name, query_text) VALUES ({B}, 'a5ec0001-0000-4000-8000-00000000000b', 'Attack', 'SELECT 3') ON CONFLICT (tenant_id, id) DO UPDATE SET name = 'Overwritten'$$, 'attack'),
 ('analytics', 'c', 'A', 'dashboards: upsert that moves the board of A to B',
  $$INSERT INTO dashboards (tenant_id, id, name) VALUES ({A}, 'a5ec0002-0000-4000-8000-00000000000a', 'Attack') ON CONFLICT (tenant_id, id) DO UPDATE SET tenant_id = {B}$$, 'attack'),
 ('analytics', 'c', 'A', 'dashboards: copy the boards of B into A (INSERT ... SELECT)',
  $$INSERT INTO dashboards (tenant_id, name) SELECT {A}, name || ' (copy)' FROM dashboards WHERE tenant_id = {B}$$, 'attack'),
 ('analytics', 'c', 'A', 'dashboards: copy names of B into a board of A (UPDATE ... subquery)',
  $$WITH u AS (UPDATE dashboards SET description = (SELECT string_agg(d.name, ',') FROM dashboards d WHERE d.tenant_id = {B}) WHERE tenant_id = {A} RETURNING description) SELECT 1 FROM u WHERE description IS NOT NULL$$, 'attack'),
 ('analytics', 'c', 'A', 'scheduled_reports: a report of A on the query of B',
  $$INSERT INTO scheduled_reports (tenant_id, name, analytics_query_id, schedule, recipients) VALUES ({A}, 'Attack', 'a5ec0001-0000-4000-8000-00000000000b', '0 9 * * 1', '{x@example.com}')$$, 'attack'),
 ('analytics', 'c', 'A', 'scheduled_reports: a report of A on the board of B',
  $$INSERT INTO scheduled_reports (tenant_id, name, dashboard_id, schedule, recipients) VALUES ({A}, 'Attack', 'a5ec0002-0000-4000-8000-00000000000b', '0 9 * * 1', '{x@example.com}')$$, 'attack'),
 ('analytics', 'c', 'A', 'scheduled_reports: point the report of A at the query of B',
  $$UPDATE scheduled_reports SET analytics_query_id = 'a5ec0001-0000-4000-8000-00000000000b' WHERE tenant_id = {A}$$, 'attack');

SELECT grp, kind, count(*) FROM regress.attacks WHERE domain = 'analytics' GROUP BY 1, 2 ORDER BY 1, 2;

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
CREATE TEMP TABLE superuser_run AS SELECT * FROM regress.superuser_run('analytics');
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
SELECT * FROM regress.run_attacks('analytics', 'a');

-- What the attacker sees of these tables with no tenant, with A and with C.
CREATE TEMP TABLE sec_seen (relation text, no_tenant bigint, tenant_a bigint, tenant_c bigint);
INSERT INTO sec_seen (relation, no_tenant) SELECT * FROM regress.sec_counts('analytics');
BEGIN;
SELECT set_tenant(:'A');
UPDATE sec_seen s SET tenant_a = c.visible FROM regress.sec_counts('analytics') c WHERE c.relation = s.relation;
COMMIT;
BEGIN;
SELECT set_tenant(:'C');
UPDATE sec_seen s SET tenant_c = c.visible FROM regress.sec_counts('analytics') c WHERE c.relation = s.relation;
COMMIT;
SELECT * FROM sec_seen ORDER BY (SELECT ord FROM regress.targets t WHERE t.rel = sec_seen.relation);

-- Positive controls with A, then the attacks with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('analytics', 'ctl');
ROLLBACK;

-- b. The rows of B and C, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('analytics', 'b');
COMMIT;

-- c. Writing for B, moving to B, pointing at B, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('analytics', 'c');
COMMIT;

-- e. Suspended C set.
BEGIN;
SELECT set_tenant(:'C');
SELECT * FROM regress.run_attacks('analytics', 'ctlc');
SELECT * FROM regress.run_attacks('analytics', 'e');
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
SELECT * FROM regress.run_attacks('analytics', 'l');
COMMIT;

-- j. Undoing row-level security on these tables, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('analytics', 'j');
COMMIT;

------------------------------------------------------------------------------
-- The superuser again: nothing of A, B or C changed, and the tally
-- of this domain: every attempt, and those that succeeded (none).
------------------------------------------------------------------------------
\c - postgres
SET timezone = 'UTC';
SELECT * FROM regress.sec_changed();
SELECT count(*) AS attempts, count(*) FILTER (WHERE succeeded) AS succeeded FROM regress.attack_log WHERE domain = 'analytics';
SELECT attempt, description, outcome FROM regress.attack_log WHERE domain = 'analytics' AND succeeded ORDER BY attempt;
