-- The partitions of a table ($1, a regclass name), oldest first, with their bounds.
-- pg_get_expr prints the bounds in the session's DateStyle and TimeZone and the
-- casts read them back with them: partitions_of pins both to ISO and UTC, the
-- one form whose round trip holds whatever timezone_abbreviations says.
SELECT c.oid, c.oid::pg_catalog.regclass::text, b.bound OPERATOR(pg_catalog.=) 'DEFAULT',
       pg_catalog.substring(b.bound, $$FROM \('([^']*)'\)$$)::timestamptz,
       pg_catalog.substring(b.bound, $$TO \('([^']*)'\)$$)::timestamptz
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid,
       LATERAL (SELECT pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound) b
 WHERE i.inhparent OPERATOR(pg_catalog.=) $1::pg_catalog.regclass
 ORDER BY 4 NULLS FIRST, 2
