-- setup: creates the extension and the helpers every later suite relies on.
-- Runs first; every other suite uses its own tenant ids and slugs and removes
-- what it created, so their relative order does not matter.
SET timezone = 'UTC';

CREATE EXTENSION marimo_erp;

-- The version the suites are written against, installed in public.
SELECT e.extversion, n.nspname AS schema
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'marimo_erp';

-- What the extension owns, by kind.
SELECT CASE d.classid WHEN 'pg_class'::regclass THEN 'relation ' || c.relkind::text
                      WHEN 'pg_proc'::regclass THEN 'function'
                      WHEN 'pg_event_trigger'::regclass THEN 'event trigger' END AS kind,
       count(*)
  FROM pg_depend d
  LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
 WHERE d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'marimo_erp')
   AND d.deptype = 'e'
   -- PostgreSQL 17 and later also record each table's row type as a member.
   AND d.classid <> 'pg_type'::regclass
 GROUP BY 1 ORDER BY 1;

CREATE SCHEMA regress;

-- Runs a statement and reports how it failed: 'no error', or SQLSTATE: message.
CREATE FUNCTION regress.expect_error(statement text) RETURNS text
LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$fn$;

-- The helper itself: success, a failure, and that a failed statement is rolled back.
SELECT regress.expect_error('SELECT 1');
SELECT regress.expect_error('SELECT 1/0');
CREATE TABLE regress.helper_probe (id int PRIMARY KEY);
SELECT regress.expect_error($$INSERT INTO regress.helper_probe VALUES (1), (1)$$);
SELECT count(*) FROM regress.helper_probe;
DROP TABLE regress.helper_probe;

-- No tenant exists yet: the suites start from an empty extension.
SELECT count(*) FROM tenants;
