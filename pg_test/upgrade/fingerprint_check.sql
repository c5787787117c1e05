-- Compares every table recorded by fingerprint_before.sql with its rows now,
-- over the columns it had then (an upgrade may add columns). Prints
--   MISSING t: n   rows recorded before and not there now (data lost);
--   ADDED t: n     rows there now and not before (e.g. an upgrade's backfill);
--   DROPPED t      a table that is gone (expected only after a rollback);
-- and last a summary line.
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
CREATE TEMP TABLE row_digest_after (LIKE upgrade_check.row_digest);
SELECT pg_catalog.format(
           $q$INSERT INTO row_digest_after SELECT %L, md5(r::text) FROM (SELECT %s FROM %I.%I) AS r$q$,
           f.relname, f.columns, n.nspname, f.relname)
  FROM upgrade_check.fingerprint f
  JOIN pg_catalog.pg_extension e ON e.extname = 'marimo_erp'
  JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
  -- A table the extension no longer has (only after a rollback) has no line here.
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = f.relname
\gexec
WITH present AS (
    SELECT f.relname FROM upgrade_check.fingerprint f
     WHERE EXISTS (SELECT FROM pg_catalog.pg_class c
                     JOIN pg_catalog.pg_extension e ON e.extname = 'marimo_erp' AND c.relnamespace = e.extnamespace
                    WHERE c.relname = f.relname)
), missing AS (
    SELECT relname, digest FROM upgrade_check.row_digest WHERE relname IN (SELECT relname FROM present)
    EXCEPT ALL
    SELECT relname, digest FROM row_digest_after
), added AS (
    SELECT relname, digest FROM row_digest_after
    EXCEPT ALL
    SELECT relname, digest FROM upgrade_check.row_digest
)
SELECT line FROM (
    SELECT 1, pg_catalog.format('MISSING %s: %s', relname, count(*)) FROM missing GROUP BY relname
    UNION ALL
    SELECT 2, pg_catalog.format('ADDED %s: %s', relname, count(*)) FROM added GROUP BY relname
    UNION ALL
    SELECT 3, pg_catalog.format('DROPPED %s: %s rows before', relname, row_count)
      FROM upgrade_check.fingerprint WHERE relname NOT IN (SELECT relname FROM present)
    UNION ALL
    SELECT 4, pg_catalog.format('checked %s tables, %s rows', count(*), COALESCE(sum(row_count), 0))
      FROM upgrade_check.fingerprint
) AS report(kind, line)
ORDER BY kind, line;
