-- attack_summary: every attempt of the attack suites, and the clean-up (0.7.0).
--
-- Runs last, after every attack_<domain> file: nothing of A, B or C changed
-- (but the usage A recorded for itself in attack_functions), no setting of the
-- attacker survived, every attack of the catalogue was attempted, and the
-- tally of every domain and in all: 0 successes. Then it removes what
-- attack_setup and the domain files made.
SET timezone = 'UTC';
\set A 'a5ec0000-0000-4000-8000-00000000000a'
\set B 'a5ec0000-0000-4000-8000-00000000000b'
\set C 'a5ec0000-0000-4000-8000-00000000000c'

------------------------------------------------------------------------------
-- The superuser: nothing of A, B or C changed (but the usage A recorded for
-- itself), and the tally.
------------------------------------------------------------------------------
SELECT * FROM regress.sec_changed()
 WHERE NOT (tenant = 'a' AND relation IN ('usage_metrics', 'usage_idempotency_keys'));
SELECT count(*) AS tenants FROM tenants WHERE id::text LIKE 'a5ec%';
SELECT s.s AS tenant, t.status, t.plan, t.max_users, t.limits, t.settings
  FROM regress.sec_tenants s JOIN tenants t ON t.id = regress.sec_id(0, s.s) ORDER BY 1;
-- No setting of the attacker's survived.
SELECT count(*) AS role_settings FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = 'marimo_attacker';

-- Every attack of the catalogue was attempted, by the file of its domain.
SELECT a.domain, a.grp, a.description FROM regress.attacks a
 WHERE a.kind = 'attack'
   AND NOT EXISTS (SELECT FROM regress.attack_log l WHERE l.attack_id = a.id AND l.domain = a.domain)
 ORDER BY a.id;

-- The tally: every attempt, by domain in the order the files ran, and in all.
SELECT d.domain, count(l.attempt) AS attempts, count(*) FILTER (WHERE l.succeeded) AS succeeded
  FROM regress.attack_domains d LEFT JOIN regress.attack_log l USING (domain)
 GROUP BY d.ord, d.domain ORDER BY d.ord;
SELECT count(*) AS attempts, count(*) FILTER (WHERE succeeded) AS succeeded FROM regress.attack_log;
SELECT attempt, domain, description, outcome FROM regress.attack_log WHERE succeeded ORDER BY attempt;

------------------------------------------------------------------------------
-- Clean up.
------------------------------------------------------------------------------
DROP OWNED BY marimo_attacker, marimo_sec_operator;
DROP ROLE marimo_attacker;
DROP ROLE marimo_sec_operator;
DELETE FROM tenants WHERE id::text LIKE 'a5ec%';
DROP FUNCTION regress.run_attacks(text, text), regress.superuser_run(text), regress.sec_counts(text),
              regress.try_attack(text, text, text, boolean, integer),
              regress.record_attack(text, text, bigint, text), regress.sec_outcome(text, bigint, text, text),
              regress.sec_run(text, boolean), regress.sec_expand(text), regress.sec_changed(), regress.sec_fingerprint(),
              regress.sec_ins(regress.targets, text, text, text), regress.sec_id(integer, text);
DROP TABLE regress.orders, regress.attack_log, regress.attacks, regress.targets, regress.sec_baseline, regress.sec_tenants;
DROP FUNCTION regress.attack_domain();
DROP TABLE regress.attack_domains;
REVOKE USAGE ON SCHEMA regress FROM marimo_app;
SELECT count(*) AS left_behind FROM pg_class WHERE relnamespace = 'regress'::regnamespace;
