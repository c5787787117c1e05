-- attack_privileges: lifting its own privileges (0.7.0).
--
-- The attacker (see attack_setup), with A set, takes no other role, grants
-- itself nothing, alters no role, function or the extension, drops none,
-- turns row_security off to no avail, and reaches no server file or program.
-- (Undoing row-level security on a table is attacked with the table's domain.)
SET timezone = 'UTC';
\set A 'a5ec0000-0000-4000-8000-00000000000a'
\set B 'a5ec0000-0000-4000-8000-00000000000b'
\set C 'a5ec0000-0000-4000-8000-00000000000c'
-- From here on, every attempt is logged under this domain.
INSERT INTO regress.attack_domains (domain) VALUES ('privileges');

------------------------------------------------------------------------------
-- The attacks of this domain.
------------------------------------------------------------------------------
-- j. A set: roles, grants, the extension's functions and the extension. The
-- extension's own functions cannot be dropped one by one, not even by the
-- superuser.
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins, keep, superuser) VALUES
 ('privileges', 'j', 'A', 'SET ROLE marimo_admin', $$SET ROLE marimo_admin$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'SET ROLE postgres', $$SET ROLE postgres$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'SET ROLE pg_read_all_data', $$SET ROLE pg_read_all_data$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'SET ROLE pg_write_all_data', $$SET ROLE pg_write_all_data$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'SET SESSION AUTHORIZATION postgres', $$SET SESSION AUTHORIZATION postgres$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'set_config(role, marimo_admin)', $$SELECT set_config('role', 'marimo_admin', false)$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'SET session_replication_role = replica (no triggers)', $$SET session_replication_role = replica$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'GRANT marimo_admin to itself', $$GRANT marimo_admin TO marimo_attacker$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'GRANT pg_read_all_data to itself', $$GRANT pg_read_all_data TO marimo_attacker$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'GRANT marimo_app WITH ADMIN OPTION to itself', $$GRANT marimo_app TO marimo_attacker WITH ADMIN OPTION$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'ALTER ROLE itself BYPASSRLS', $$ALTER ROLE marimo_attacker BYPASSRLS$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'ALTER ROLE itself SUPERUSER', $$ALTER ROLE marimo_attacker SUPERUSER$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'ALTER ROLE marimo_app BYPASSRLS', $$ALTER ROLE marimo_app BYPASSRLS$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'CREATE ROLE', $$CREATE ROLE sec_attack_role$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'ALTER FUNCTION current_tenant() OWNER TO itself', $$ALTER FUNCTION current_tenant() OWNER TO marimo_attacker$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'ALTER FUNCTION writable_tenant() SECURITY DEFINER', $$ALTER FUNCTION writable_tenant() SECURITY DEFINER$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'ALTER FUNCTION set_tenant() RESET search_path', $$ALTER FUNCTION set_tenant(uuid, boolean) SET search_path = pg_temp$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'DROP FUNCTION current_tenant()', $$DROP FUNCTION current_tenant()$$, 'no_error', false, false),
 ('privileges', 'j', 'A', 'DROP EXTENSION marimo_erp', $$DROP EXTENSION marimo_erp$$, 'no_error', false, false),
 ('privileges', 'j', 'A', 'a temporary table inheriting from analytics_queries',
  $$CREATE TEMP TABLE sec_child () INHERITS (public.analytics_queries)$$, 'no_error', false, true),
 ('privileges', 'j', 'A', 'ALTER EXTENSION marimo_erp UPDATE', $$ALTER EXTENSION marimo_erp UPDATE$$, 'no_error', false, false),
 ('privileges', 'j', 'A', 'LOAD the library', $$LOAD 'marimo_erp'$$, 'no_error', false, false),
 ('privileges', 'j', 'A', 'GRANT SELECT ON webhooks to itself (no grant option)', $$GRANT SELECT ON webhooks TO marimo_attacker$$, 'never', true, false),
 ('privileges', 'j', 'A', 'the GRANT on webhooks gave it the secret', $$SELECT 1 WHERE has_column_privilege('marimo_attacker', 'webhooks', 'secret', 'SELECT')$$, 'rows', false, false);

-- h. A set: server files and programs.
INSERT INTO regress.attacks (domain, grp, context, description, statement, wins) VALUES
 ('privileges', 'h', 'A', 'COPY analytics_queries FROM a server file', $$COPY analytics_queries (name) FROM '/dev/null'$$, 'no_error'),
 ('privileges', 'h', 'A', 'COPY analytics_queries TO a server file', $$COPY analytics_queries TO '/tmp/marimo_erp_security_copy'$$, 'no_error'),
 ('privileges', 'h', 'A', 'COPY ... TO PROGRAM', $$COPY (SELECT 1) TO PROGRAM 'cat >/dev/null'$$, 'no_error'),
 ('privileges', 'h', 'A', 'pg_read_file', $$SELECT pg_read_file('PG_VERSION')$$, 'no_error');

SELECT grp, kind, count(*) FROM regress.attacks WHERE domain = 'privileges' GROUP BY 1, 2 ORDER BY 1, 2;

------------------------------------------------------------------------------
-- Every attack is a valid statement: the superuser, whom nothing confines,
-- wins them. Listed are those it does not win.
------------------------------------------------------------------------------
SET client_min_messages = warning;
CREATE TEMP TABLE superuser_run AS SELECT * FROM regress.superuser_run('privileges');
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
-- With row_security off, a query that policies would filter fails instead.
SET row_security = off;
BEGIN;
SELECT set_tenant(:'A');
SELECT regress.try_attack('j: row_security = off, rows of B', 'SELECT 1 FROM analytics_queries WHERE tenant_id = {B}');
SELECT regress.try_attack('j: row_security = off, rows of A', 'SELECT 1 FROM analytics_queries WHERE tenant_id = {A}');
COMMIT;
RESET row_security;

-- j. Escalation, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('privileges', 'j');
COMMIT;
SELECT current_user, session_user;

-- h. Server files and programs, with A set.
BEGIN;
SELECT set_tenant(:'A');
SELECT * FROM regress.run_attacks('privileges', 'h');
COMMIT;

------------------------------------------------------------------------------
-- The superuser again: nothing of A, B or C changed, and the tally
-- of this domain: every attempt, and those that succeeded (none).
------------------------------------------------------------------------------
\c - postgres
SET timezone = 'UTC';
SELECT * FROM regress.sec_changed();
SELECT count(*) AS attempts, count(*) FILTER (WHERE succeeded) AS succeeded FROM regress.attack_log WHERE domain = 'privileges';
SELECT attempt, description, outcome FROM regress.attack_log WHERE domain = 'privileges' AND succeeded ORDER BY attempt;
