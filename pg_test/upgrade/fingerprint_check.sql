-- Recomputes the digests recorded by fingerprint_before.sql over the same
-- columns (an upgrade may add columns; the rows must keep their old values) and
-- prints one line per table whose rows changed (CHANGED) or that is gone
-- (DROPPED, expected only after a rollback), then a summary line.
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
CREATE TEMP TABLE fingerprint_after (LIKE upgrade_check.fingerprint);
SELECT pg_catalog.format(
           $q$INSERT INTO fingerprint_after
              SELECT %L, %L, count(*), md5(COALESCE(string_agg(r::text, E'\n' ORDER BY r::text), ''))
                FROM (SELECT %s FROM %I.%I) AS r$q$,
           f.relname, f.columns, f.columns, n.nspname, f.relname)
  FROM upgrade_check.fingerprint f
  JOIN pg_catalog.pg_extension e ON e.extname = 'marimo_erp'
  JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
  -- A table the new version no longer has (only on rollback) has no row here.
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = f.relname
\gexec
SELECT CASE WHEN a.relname IS NULL
            THEN pg_catalog.format('DROPPED %s: %s rows before', b.relname, b.row_count)
            ELSE pg_catalog.format('CHANGED %s: %s rows before, %s after', b.relname, b.row_count, a.row_count)
       END
  FROM upgrade_check.fingerprint b
  LEFT JOIN fingerprint_after a USING (relname)
 WHERE a.relname IS NULL OR (a.row_count, a.digest) IS DISTINCT FROM (b.row_count, b.digest)
UNION ALL
SELECT pg_catalog.format('checked %s tables, %s rows', count(*), COALESCE(sum(row_count), 0))
  FROM upgrade_check.fingerprint;
