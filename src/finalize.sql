-- Last step of CREATE EXTENSION: a check, not a definition. Every function the
-- extension makes must have had its privileges set in its room's SQL file
-- (REVOKE ALL ... FROM PUBLIC, then what it grants): PostgreSQL's default lets
-- PUBLIC execute a new function, and a forgotten one would be open to everyone.
DO $$
DECLARE
    open_to_public text;
BEGIN
    SELECT pg_catalog.string_agg(p.oid::pg_catalog.regprocedure::pg_catalog.text, ', ')
      INTO open_to_public
      FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
      JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) d.objid
     WHERE e.extname OPERATOR(pg_catalog.=) 'marimo_erp' AND d.deptype OPERATOR(pg_catalog.=) 'e'
       AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
       -- The test build's #[pg_test] functions live in the schema tests, not in ours.
       AND p.pronamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
       AND p.proacl IS NULL;
    IF open_to_public IS NOT NULL THEN
        RAISE EXCEPTION 'marimo_erp: no privileges were set for %', open_to_public
            USING HINT = 'REVOKE ALL ON FUNCTION ... FROM PUBLIC in the SQL file beside the function, then GRANT what it needs.';
    END IF;
END
$$;
