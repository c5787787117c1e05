-- Tenant isolation (extension version 0.7.0).
--
-- Two roles: marimo_app, which the application's login roles are granted and
-- which row-level security confines to the current tenant (set_tenant()); and
-- marimo_admin, for operators, which sees and manages every tenant. PUBLIC gets
-- no table and only current_tenant(). Superusers and the tables' owner are not
-- confined by any of this (see README, "Security model").

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'marimo_app') THEN
        CREATE ROLE marimo_app NOLOGIN;
        COMMENT ON ROLE marimo_app IS
            'marimo_erp: granted to application login roles; row-level security confines it to the tenant set by set_tenant().';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'marimo_admin') THEN
        CREATE ROLE marimo_admin NOLOGIN;
        COMMENT ON ROLE marimo_admin IS
            'marimo_erp: operators; sees and manages every tenant and runs maintenance.';
    END IF;
END
$$;

GRANT USAGE ON SCHEMA @extschema@ TO marimo_app, marimo_admin;

-- Tables. Operators: everything but DDL. Applications: what their tenant needs.
GRANT SELECT, INSERT, UPDATE, DELETE ON
    @extschema@.tenants, @extschema@.analytics_queries, @extschema@.dashboards, @extschema@.scheduled_reports,
    @extschema@.webhooks, @extschema@.webhook_events, @extschema@.webhook_deliveries, @extschema@.webhook_logs,
    @extschema@.integrations, @extschema@.integration_logs, @extschema@.stripe_customers,
    @extschema@.stripe_subscriptions, @extschema@.sendgrid_contacts, @extschema@.usage_metrics,
    @extschema@.usage_idempotency_keys, @extschema@.user_activities, @extschema@.api_usage_logs
    TO marimo_admin;
GRANT SELECT ON @extschema@.monitoring_table_sizes, @extschema@.monitoring_index_usage TO marimo_admin;

GRANT SELECT, INSERT, UPDATE, DELETE ON
    @extschema@.analytics_queries, @extschema@.dashboards, @extschema@.scheduled_reports,
    @extschema@.webhook_events, @extschema@.webhook_deliveries, @extschema@.stripe_customers,
    @extschema@.stripe_subscriptions, @extschema@.sendgrid_contacts
    TO marimo_app;
-- Logs are append-only for applications.
GRANT SELECT, INSERT ON
    @extschema@.webhook_logs, @extschema@.integration_logs, @extschema@.user_activities, @extschema@.api_usage_logs
    TO marimo_app;
-- Usage is written only by record_usage() and the API usage rollup: an
-- application that could write it could rewrite its own bill.
GRANT SELECT ON @extschema@.usage_metrics, @extschema@.usage_idempotency_keys TO marimo_app;
-- A tenant reads its own row and edits its name and settings; plan, limits and
-- status are the operators'.
GRANT SELECT ON @extschema@.tenants TO marimo_app;
GRANT UPDATE (name, settings) ON @extschema@.tenants TO marimo_app;
-- Secrets are write-only for applications: webhooks.secret and
-- integrations.credentials can be set, never read back.
DO $$
DECLARE
    t record;
    readable text;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('@extschema@.webhooks'::pg_catalog.regclass, 'secret'),
                                   ('@extschema@.integrations'::pg_catalog.regclass, 'credentials')) AS s(tbl, secret)
    LOOP
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO readable
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid OPERATOR(pg_catalog.=) t.tbl AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
           AND a.attname OPERATOR(pg_catalog.<>) t.secret;
        EXECUTE pg_catalog.format('GRANT SELECT (%s) ON %s TO marimo_app', readable, t.tbl);
        EXECUTE pg_catalog.format('GRANT INSERT, UPDATE, DELETE ON %s TO marimo_app', t.tbl);
    END LOOP;
END
$$;

-- Functions: nothing for PUBLIC but current_tenant().
DO $$
DECLARE
    f record;
BEGIN
    FOR f IN SELECT d.objid::pg_catalog.regprocedure AS proc
               FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid
              WHERE e.extname OPERATOR(pg_catalog.=) 'marimo_erp' AND d.deptype OPERATOR(pg_catalog.=) 'e'
                AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f.proc);
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION @extschema@.current_tenant() TO PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.set_tenant(uuid, boolean), @extschema@.reset_tenant(), @extschema@.writable_tenant(),
    @extschema@.check_tenant_limit(uuid, text, bigint),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text),
    @extschema@.record_usage(uuid, text, numeric, timestamptz, text)
    TO marimo_app, marimo_admin;
GRANT EXECUTE ON FUNCTION
    @extschema@.cleanup_webhook_logs(interval, integer), @extschema@.cleanup_integration_logs(interval, integer),
    @extschema@.cleanup_activity_logs(interval, integer), @extschema@.cleanup_api_usage_logs(interval, integer),
    @extschema@.cleanup_idempotency_keys(interval, integer), @extschema@.run_maintenance(interval),
    @extschema@.create_log_partitions(text, date, date), @extschema@.enable_tenancy(regclass, uuid),
    @extschema@.isolate_tenant_rows(regclass)
    TO marimo_admin;

-- The rollup trigger writes usage_metrics, which the inserting application may
-- not: it runs as its owner, with a locked search_path.
ALTER FUNCTION @extschema@.rollup_api_usage() SECURITY DEFINER;

-- Row-level security, enabled and forced, on every tenant-scoped table and on
-- every partition of the logs (a partition can be named directly).
SELECT pg_catalog.count(@extschema@.isolate_tenant_rows(t))
  FROM pg_catalog.unnest(ARRAY[
        '@extschema@.tenants', '@extschema@.analytics_queries', '@extschema@.dashboards',
        '@extschema@.scheduled_reports', '@extschema@.webhooks', '@extschema@.webhook_events',
        '@extschema@.webhook_deliveries', '@extschema@.webhook_logs', '@extschema@.integrations',
        '@extschema@.integration_logs', '@extschema@.stripe_customers', '@extschema@.stripe_subscriptions',
        '@extschema@.sendgrid_contacts', '@extschema@.usage_metrics', '@extschema@.usage_idempotency_keys',
        '@extschema@.user_activities', '@extschema@.api_usage_logs']::pg_catalog.regclass[]) AS t;
SELECT pg_catalog.count(@extschema@.isolate_tenant_rows(i.inhrelid::pg_catalog.regclass))
  FROM pg_catalog.pg_inherits i
 WHERE i.inhparent OPERATOR(pg_catalog.=) ANY (ARRAY[
        '@extschema@.webhook_logs', '@extschema@.integration_logs', '@extschema@.user_activities',
        '@extschema@.api_usage_logs']::pg_catalog.regclass[]);

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
