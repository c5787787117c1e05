-- Tenancy (extension version 0.7.0): the roles, the schema's usage, and the
-- functions of the tenant context and of row-level security.
--
-- Two roles: marimo_app, which the application's login roles are granted and
-- which row-level security confines to the current tenant (set_tenant()); and
-- marimo_admin, for operators, which sees and manages every tenant. PUBLIC gets
-- no table and only current_tenant(). Superusers and the tables' owner are not
-- confined by any of this (see README, "Security model").
--
-- Each table is granted to the roles and put under row-level security in the
-- file that defines it, with isolate_tenant_rows(); each function's privileges
-- are set beside its comment, always REVOKE ALL FROM PUBLIC first (finalize.sql
-- checks that no function was left with PostgreSQL's default EXECUTE for PUBLIC).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'marimo_app') THEN
        CREATE ROLE marimo_app NOLOGIN;
        COMMENT ON ROLE marimo_app IS
            'marimo_erp: granted to application login roles; row-level security confines it to the tenant set by set_tenant().';
    END IF;
    -- 0.12.0: the role saved queries run as (run_analytics_query()); created
    -- here, before the tables whose policies name it. Its privileges are set in
    -- src/analytics/sandbox.sql.
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'marimo_analytics') THEN
        CREATE ROLE marimo_analytics NOLOGIN;
        COMMENT ON ROLE marimo_analytics IS
            'marimo_erp: the role saved queries run as in run_analytics_query(); reads the current tenant''s rows of the tenant-scoped tables, no secret, writes nothing.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'marimo_admin') THEN
        CREATE ROLE marimo_admin NOLOGIN;
        COMMENT ON ROLE marimo_admin IS
            'marimo_erp: operators; sees and manages every tenant and runs maintenance.';
    END IF;
END
$$;

GRANT USAGE ON SCHEMA @extschema@ TO marimo_app, marimo_admin;

-- enable_tenancy (0.1.0) is declared here rather than by pgrx, which would open
-- target as a relation before the function can refuse one that does not exist.
CREATE FUNCTION @extschema@.enable_tenancy(target regclass, tenant uuid DEFAULT NULL) RETURNS text[]
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'enable_tenancy_wrapper';

-- The policies call current_tenant(): everyone may.
REVOKE ALL ON FUNCTION @extschema@.current_tenant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.current_tenant() TO PUBLIC;
REVOKE ALL ON FUNCTION
    @extschema@.set_tenant(uuid, boolean), @extschema@.reset_tenant(), @extschema@.writable_tenant(),
    @extschema@.enable_tenancy(regclass, uuid), @extschema@.isolate_tenant_rows(regclass)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.set_tenant(uuid, boolean), @extschema@.reset_tenant(), @extschema@.writable_tenant()
    TO marimo_app, marimo_admin;
GRANT EXECUTE ON FUNCTION @extschema@.enable_tenancy(regclass, uuid), @extschema@.isolate_tenant_rows(regclass)
    TO marimo_admin;

COMMENT ON FUNCTION @extschema@.set_tenant(uuid, boolean) IS
    'Sets the current tenant for this transaction (or, with for_session, for the session) after checking it exists; row-level security then shows marimo_app members only its rows. Returns it.';
COMMENT ON FUNCTION @extschema@.current_tenant() IS
    'The current tenant: the transaction''s, else the session''s, else NULL. Row-level security policies compare tenant_id with it.';
COMMENT ON FUNCTION @extschema@.reset_tenant() IS
    'Clears the tenant of the transaction and of the session.';
COMMENT ON FUNCTION @extschema@.writable_tenant() IS
    'The current tenant if its status is active, else NULL: the write policies compare with it, so a suspended or cancelled tenant can read but not write.';
COMMENT ON FUNCTION @extschema@.isolate_tenant_rows(regclass) IS
    'Enables and forces row-level security on a table with the marimo_erp tenant policies (keyed by tenant_id, or id for tenants); idempotent. enable_tenancy() and run_maintenance() call it for the tables they make tenant-scoped.';
COMMENT ON FUNCTION @extschema@.enable_tenancy(regclass, uuid) IS
    'Makes an existing table tenant-scoped: adds tenant_id with a foreign key to tenants (ON DELETE CASCADE) and an index, fills NULL tenant_id with the given tenant, sets NOT NULL when no NULL is left. Returns the actions taken; a second call changes nothing.';
