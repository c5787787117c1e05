-- attack_logs: the daily partitions of the logs, retention and maintenance (0.7.0).
--
-- The logs (webhook_logs, integration_logs, user_activities, api_usage_logs;
-- their tables are attacked with their domains) are partitioned by day. The
-- attacker (see attack_setup), with A set, cannot name a partition to get
-- round the policies of its parent, nor grant itself one, nor run the
-- cleanups, run_maintenance() or create_log_partitions(), which are for
-- operators. Last, a known limitation: deleting a webhook or an integration
-- of its own deletes its logs.
SET timezone = 'UTC';
\set A 'a5ec0000-0000-4000-8000-00000000000a'
\set B 'a5ec0000-0000-4000-8000-00000000000b'
\set C 'a5ec0000-0000-4000-8000-00000000000c'
-- From here on, every attempt is logged under this domain.
INSERT INTO regress.attack_domains (domain) VALUES ('logs');

------------------------------------------------------------------------------
-- The attacks of this domain.
------------------------------------------------------------------------------
-- p. A set: the partitions of the logs, named directly, are out of reach.
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins)
SELECT 'logs', 'p', 'A', p.label || ': ' || o.what,
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

-- d. A set: retention and maintenance are for operators.
INSERT INTO regress.attacks (domain, grp, context, description, statement) VALUES
 ('logs', 'd', 'A', 'cleanup_webhook_logs()', $$SELECT cleanup_webhook_logs('1 second')$$),
 ('logs', 'd', 'A', 'cleanup_integration_logs()', $$SELECT cleanup_integration_logs('1 second')$$),
 ('logs', 'd', 'A', 'cleanup_activity_logs()', $$SELECT cleanup_activity_logs('1 second')$$),
 ('logs', 'd', 'A', 'cleanup_api_usage_logs()', $$SELECT cleanup_api_usage_logs('1 second')$$),
 ('logs', 'd', 'A', 'cleanup_idempotency_keys()', $$SELECT cleanup_idempotency_keys('1 second')$$),
 ('logs', 'd', 'A', 'run_maintenance()', $$SELECT count(*) FROM run_maintenance()$$),
 ('logs', 'd', 'A', 'create_log_partitions()', $$SELECT create_log_partitions('api_usage_logs', current_date + 30, current_date + 31)$$);

-- j. A set: a partition is not the attacker's to grant.
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins, keep, superuser) VALUES
 ('logs', 'j', 'A', 'GRANT SELECT ON api_usage_logs_default to itself', $$GRANT SELECT ON api_usage_logs_default TO marimo_attacker$$, 'no_error', false, true);

SELECT grp, kind, count(*) FROM regress.attacks WHERE domain = 'logs' GROUP BY 1, 2 ORDER BY 1, 2;

------------------------------------------------------------------------------
-- Every attack is a valid statement: the superuser, whom nothing confines,
-- wins them. Listed are those it does not win.
------------------------------------------------------------------------------
SET client_min_messages = warning;
CREATE TEMP TABLE superuser_run AS SELECT * FROM regress.superuser_run('logs');
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
-- p. The partitions of the logs, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('logs', 'p');
COMMIT;

-- d. Retention and maintenance, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('logs', 'd');
COMMIT;
-- The refusal says why.
BEGIN;
SELECT set_tenant(:'A');
SELECT regress.expect_error($$SELECT run_maintenance()$$);
COMMIT;

-- j. Granting itself a partition, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('logs', 'j');
COMMIT;

-- COPY, which only psql can run: a partition is refused, with A set for the session.
SELECT set_tenant(:'A', true);
COPY api_usage_logs_default TO STDOUT;
SELECT regress.record_attack('h: COPY api_usage_logs_default TO STDOUT', :'SQLSTATE', :ROW_COUNT);
SELECT reset_tenant();

-- A limitation, not an attack: logs are append-only, but deleting a webhook
-- or an integration of its own deletes its logs too (ON DELETE CASCADE).
BEGIN;
SELECT set_tenant(:'A');
DELETE FROM webhooks WHERE tenant_id = :'A';
DELETE FROM integrations WHERE tenant_id = :'A';
SELECT (SELECT count(*) FROM webhook_logs) AS webhook_logs, (SELECT count(*) FROM integration_logs) AS integration_logs;
ROLLBACK;

------------------------------------------------------------------------------
-- The superuser again: nothing of A, B or C changed, and the tally
-- of this domain: every attempt, and those that succeeded (none).
------------------------------------------------------------------------------
\c - postgres
SET timezone = 'UTC';
SELECT * FROM regress.sec_changed();
SELECT count(*) AS attempts, count(*) FILTER (WHERE succeeded) AS succeeded FROM regress.attack_log WHERE domain = 'logs';
SELECT attempt, description, outcome FROM regress.attack_log WHERE domain = 'logs' AND succeeded ORDER BY attempt;
