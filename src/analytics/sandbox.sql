-- Saved queries that run (0.12.0): the sandbox's privileges and the two
-- functions (analytics::sandbox, README "Running saved queries").
--
-- Saved queries run as marimo_analytics (a NOLOGIN role created in tenancy.sql,
-- before the tables whose policy marimo_analytics_select names it). It may
-- read, on every tenant-scoped table of the extension (a table with that
-- policy), the columns marimo_app may read, and nothing else: no secret
-- (webhooks.secret, webhook_secrets, integrations.credentials,
-- platform_stripe_account, the keyring), no write, no function beyond
-- PUBLIC's. Row-level security shows it the current tenant's rows only, and
-- run_analytics_query() makes the query's tenant the current one.

GRANT USAGE ON SCHEMA @extschema@ TO marimo_analytics;

DO $$
DECLARE
    t record;
    readable text;
BEGIN
    FOR t IN
        SELECT c.oid, c.relname
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace
           AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[])
           AND NOT c.relispartition
           AND c.relname OPERATOR(pg_catalog.<>) ALL (ARRAY['webhook_secrets', 'platform_stripe_account']::name[])
           AND EXISTS (SELECT FROM pg_catalog.pg_policy p
                        WHERE p.polrelid OPERATOR(pg_catalog.=) c.oid
                          AND p.polname OPERATOR(pg_catalog.=) 'marimo_analytics_select')
         ORDER BY c.relname
    LOOP
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
          INTO readable
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid OPERATOR(pg_catalog.=) t.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
           AND a.attname OPERATOR(pg_catalog.<>) ALL (ARRAY['secret', 'credentials']::name[])
           AND pg_catalog.has_column_privilege('marimo_app', t.oid, a.attnum, 'SELECT');
        IF readable IS NULL THEN
            CONTINUE;
        ELSIF pg_catalog.has_table_privilege('marimo_app', t.oid, 'SELECT')
              AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                               WHERE a.attrelid OPERATOR(pg_catalog.=) t.oid AND a.attnum OPERATOR(pg_catalog.>) 0
                                 AND a.attname OPERATOR(pg_catalog.=) ANY (ARRAY['secret', 'credentials']::name[])) THEN
            EXECUTE pg_catalog.format('GRANT SELECT ON %s TO marimo_analytics', t.oid::pg_catalog.regclass);
        ELSE
            EXECUTE pg_catalog.format('GRANT SELECT (%s) ON %s TO marimo_analytics', readable, t.oid::pg_catalog.regclass);
        END IF;
    END LOOP;
END
$$;

COMMENT ON FUNCTION @extschema@.run_analytics_query(uuid, uuid, jsonb, integer) IS
    'Runs a saved query of the tenant as the tenant (role marimo_analytics, row-level security on its rows only), read-only, one SELECT/WITH/VALUES/TABLE statement, {{name}} parameters bound with their declared types, cancelled after marimo_erp.analytics_statement_timeout (57014), at most max_rows rows (capped by marimo_erp.analytics_max_rows). Returns {"columns", "rows", "row_count", "truncated", "duration_ms"} and counts the run.';
COMMENT ON FUNCTION @extschema@.render_dashboard(uuid, uuid, jsonb) IS
    'Runs every widget of a dashboard that names a saved query (key "query"), with the dashboard''s filters overridden by the given ones as parameters (by name, or by the widget''s "parameters" mapping), each in its own subtransaction. Returns {"dashboard": {"id", "name"}, "widgets": [{"id", "title", "query_id", "result" or "error": {"sqlstate", "message"}}]}.';
REVOKE ALL ON FUNCTION
    @extschema@.run_analytics_query(uuid, uuid, jsonb, integer), @extschema@.render_dashboard(uuid, uuid, jsonb)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.run_analytics_query(uuid, uuid, jsonb, integer), @extschema@.render_dashboard(uuid, uuid, jsonb)
    TO marimo_app, marimo_admin;
