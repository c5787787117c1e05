-- Records a digest of every row of every table of the extension (partitioned
-- tables through their parent), with the columns it had, into upgrade_check:
-- a schema the extension does not own, so it survives upgrades and pg_dump.
\set ON_ERROR_STOP on
CREATE SCHEMA upgrade_check;
CREATE TABLE upgrade_check.fingerprint (
    relname   text PRIMARY KEY,
    columns   text   NOT NULL,
    row_count bigint NOT NULL
);
CREATE TABLE upgrade_check.row_digest (
    relname text NOT NULL,
    digest  text NOT NULL
);
SELECT pg_catalog.format(
           $q$INSERT INTO upgrade_check.fingerprint SELECT %L, %L, count(*) FROM %s;
              INSERT INTO upgrade_check.row_digest SELECT %L, md5(r::text) FROM (SELECT %s FROM %s) AS r$q$,
           c.relname, cols.list, c.oid::regclass, c.relname, cols.list, c.oid::regclass)
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'marimo_erp'
  JOIN pg_catalog.pg_class c ON c.oid = d.objid AND c.relkind IN ('r', 'p') AND NOT c.relispartition
 CROSS JOIN LATERAL (
       SELECT string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) AS list
         FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          -- Derived, not user data: since 0.12.0 the extension keeps it (the
          -- update to 0.12.0 computes it for every active report).
          AND NOT (c.relname = 'scheduled_reports' AND a.attname = 'next_run_at')) AS cols
 WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'e'
\gexec
