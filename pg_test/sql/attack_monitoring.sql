-- attack_monitoring: the operators' views, and the planner's statistics (0.7.0).
--
-- The attacker (see attack_setup), with A set, reads neither monitoring view
-- (they are for operators, and security_invoker), and no statistics of the
-- extension's tables or of regress.orders, which would show values of every
-- tenant (attack_setup ran ANALYZE).
SET timezone = 'UTC';
\set A 'a5ec0000-0000-4000-8000-00000000000a'
\set B 'a5ec0000-0000-4000-8000-00000000000b'
\set C 'a5ec0000-0000-4000-8000-00000000000c'
-- From here on, every attempt is logged under this domain.
INSERT INTO regress.attack_domains (domain) VALUES ('monitoring');

-- The views: security_invoker, and for operators only.
SELECT c.relname, c.reloptions, has_table_privilege('marimo_app', c.oid, 'SELECT') AS marimo_app,
       has_table_privilege('marimo_admin', c.oid, 'SELECT') AS marimo_admin
  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v' ORDER BY 1;

------------------------------------------------------------------------------
-- The attacks of this domain.
------------------------------------------------------------------------------
-- h. A set: the operators' views, statistics.
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins) VALUES
 ('monitoring', 'h', 'A', 'monitoring_table_sizes', $$SELECT * FROM monitoring_table_sizes$$, 'rows'),
 ('monitoring', 'h', 'A', 'monitoring_index_usage', $$SELECT * FROM monitoring_index_usage$$, 'rows'),
 ('monitoring', 'h', 'A', 'pg_stats of webhooks.secret', $$SELECT 1 FROM pg_stats WHERE schemaname = 'public' AND tablename = 'webhooks' AND attname = 'secret'$$, 'rows'),
 ('monitoring', 'h', 'A', 'pg_stats of analytics_queries (values of every tenant)', $$SELECT 1 FROM pg_stats WHERE schemaname = 'public' AND tablename = 'analytics_queries'$$, 'rows'),
 ('monitoring', 'h', 'A', 'pg_stats of tenants', $$SELECT 1 FROM pg_stats WHERE schemaname = 'public' AND tablename = 'tenants'$$, 'rows'),
 ('monitoring', 'h', 'A', 'pg_stats of the log partitions', $$SELECT 1 FROM pg_stats WHERE schemaname = 'public' AND tablename LIKE '%logs%'$$, 'rows'),
 ('monitoring', 'h', 'A', 'pg_stats of regress.orders', $$SELECT 1 FROM pg_stats WHERE schemaname = 'regress' AND tablename = 'orders'$$, 'rows'),
 ('monitoring', 'h', 'A', 'pg_statistic', $$SELECT 1 FROM pg_statistic$$, 'rows');

SELECT grp, kind, count(*) FROM regress.attacks WHERE domain = 'monitoring' GROUP BY 1, 2 ORDER BY 1, 2;

------------------------------------------------------------------------------
-- Every attack is a valid statement: the superuser, whom nothing confines,
-- wins them. Listed are those it does not win.
------------------------------------------------------------------------------
SET client_min_messages = warning;
CREATE TEMP TABLE superuser_run AS SELECT * FROM regress.superuser_run('monitoring');
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
-- h. The views and the statistics, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('monitoring', 'h');
COMMIT;

------------------------------------------------------------------------------
-- The superuser again: nothing of A, B or C changed, and the tally
-- of this domain: every attempt, and those that succeeded (none).
------------------------------------------------------------------------------
\c - postgres
SET timezone = 'UTC';
SELECT * FROM regress.sec_changed();
SELECT count(*) AS attempts, count(*) FILTER (WHERE succeeded) AS succeeded FROM regress.attack_log WHERE domain = 'monitoring';
SELECT attempt, description, outcome FROM regress.attack_log WHERE domain = 'monitoring' AND succeeded ORDER BY attempt;
