\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.6.0'" to load this file. \quit
-- marimo_erp 0.7.0 -> 0.6.0: removes tenant isolation. No table is dropped.
-- The roles marimo_app and marimo_admin stay (they are cluster-wide and may
-- serve other databases): DROP ROLE them when no database uses them.

-- The marimo_erp policies leave every table that has them (the extension's,
-- their partitions, and tables given to enable_tenancy); row-level security is
-- switched off where no other policy is left.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT DISTINCT p.polrelid::pg_catalog.regclass AS tbl FROM pg_catalog.pg_policy p
              WHERE p.polname OPERATOR(pg_catalog.=) ANY (ARRAY['marimo_tenant_select', 'marimo_tenant_insert',
                                  'marimo_tenant_update', 'marimo_tenant_delete', 'marimo_operator_all'])
    LOOP
        EXECUTE pg_catalog.format('DROP POLICY IF EXISTS marimo_tenant_select ON %s', t.tbl);
        EXECUTE pg_catalog.format('DROP POLICY IF EXISTS marimo_tenant_insert ON %s', t.tbl);
        EXECUTE pg_catalog.format('DROP POLICY IF EXISTS marimo_tenant_update ON %s', t.tbl);
        EXECUTE pg_catalog.format('DROP POLICY IF EXISTS marimo_tenant_delete ON %s', t.tbl);
        EXECUTE pg_catalog.format('DROP POLICY IF EXISTS marimo_operator_all ON %s', t.tbl);
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) t.tbl) THEN
            EXECUTE pg_catalog.format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY', t.tbl);
        END IF;
    END LOOP;
END
$$;

ALTER FUNCTION @extschema@.rollup_api_usage() SECURITY INVOKER;
ALTER FUNCTION @extschema@.cleanup_webhook_logs(interval, integer) SECURITY INVOKER RESET search_path;
ALTER FUNCTION @extschema@.cleanup_integration_logs(interval, integer) SECURITY INVOKER RESET search_path;
ALTER FUNCTION @extschema@.cleanup_activity_logs(interval, integer) SECURITY INVOKER RESET search_path;
ALTER FUNCTION @extschema@.cleanup_api_usage_logs(interval, integer) SECURITY INVOKER RESET search_path;
ALTER FUNCTION @extschema@.cleanup_idempotency_keys(interval, integer) SECURITY INVOKER RESET search_path;
ALTER FUNCTION @extschema@.run_maintenance(interval) SECURITY INVOKER RESET search_path;
ALTER FUNCTION @extschema@.create_log_partitions(text, date, date) SECURITY INVOKER RESET search_path;

DROP FUNCTION @extschema@.isolate_tenant_rows(regclass);
DROP FUNCTION @extschema@.writable_tenant();
DROP FUNCTION @extschema@.reset_tenant();
DROP FUNCTION @extschema@.current_tenant();
DROP FUNCTION @extschema@.set_tenant(uuid, boolean);

-- Privileges back to those of 0.6.0: none for the roles, EXECUTE for PUBLIC.
DO $$
DECLARE
    o record;
BEGIN
    FOR o IN SELECT d.classid, d.objid FROM pg_catalog.pg_depend d
               JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
              WHERE e.extname OPERATOR(pg_catalog.=) 'marimo_erp' AND d.deptype OPERATOR(pg_catalog.=) 'e'
    LOOP
        IF o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass THEN
            EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM marimo_app, marimo_admin',
                                      o.objid::pg_catalog.regprocedure);
            EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', o.objid::pg_catalog.regprocedure);
        ELSIF o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass THEN
            EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM marimo_app, marimo_admin',
                                      o.objid::pg_catalog.regclass);
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON SCHEMA @extschema@ FROM marimo_app, marimo_admin;
