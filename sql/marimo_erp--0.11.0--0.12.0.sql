-- marimo_erp 0.11.0 -> 0.12.0: analytics that run (issue 11). Each section
-- below is one capability; each adds what a fresh 0.12.0 install has, in the
-- same column order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.12.0'" to load this file. \quit

-- == Saved queries that run: the per-tenant sandbox and dashboards ==
-- (src/tenancy/tenancy.sql, src/tenancy/rls.rs, src/analytics/sandbox.rs and
-- sandbox.sql.) The role saved queries run as, as a fresh install creates it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'marimo_analytics') THEN
        CREATE ROLE marimo_analytics NOLOGIN;
        COMMENT ON ROLE marimo_analytics IS
            'marimo_erp: the role saved queries run as in run_analytics_query(); reads the current tenant''s rows of the tenant-scoped tables, no secret, writes nothing.';
    END IF;
END
$$;
-- Its policy, marimo_analytics_select, on every table that has the tenant
-- policies (extension tables, their partitions, tables enable_tenancy() made
-- tenant-scoped): isolate_tenant_rows() adds the policies a table lacks.
SELECT pg_catalog.count(@extschema@.isolate_tenant_rows(p.polrelid::pg_catalog.regclass))
  FROM (SELECT DISTINCT polrelid FROM pg_catalog.pg_policy
         WHERE polname OPERATOR(pg_catalog.=) 'marimo_tenant_select') AS p;

CREATE FUNCTION @extschema@."render_dashboard"(
    "tenant" uuid, "dashboard" uuid, "filters" jsonb DEFAULT '{}'
) RETURNS jsonb
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'render_dashboard_wrapper';
CREATE FUNCTION @extschema@."run_analytics_query"(
    "tenant" uuid, "query" uuid, "parameters" jsonb DEFAULT '{}', "max_rows" integer DEFAULT 1000
) RETURNS jsonb
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'run_analytics_query_wrapper';

-- As src/analytics/sandbox.sql.
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

-- == Report schedules: five-field cron in each report's time zone ==

-- == Report files: csv, json, html, xlsx and pdf ==
-- render_analytics_result (src/reports/render.sql): a result written as a file; reads no table.
CREATE FUNCTION @extschema@.render_analytics_result(result jsonb, format text, title text DEFAULT 'Report')
    RETURNS bytea
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'render_analytics_result_wrapper';
COMMENT ON FUNCTION @extschema@.render_analytics_result(jsonb, text, text) IS
    'The report file (bytea) of result, a run_analytics_query result or a render_dashboard result, in format csv, json, html, xlsx or pdf, headed by title: one table per query result or dashboard widget (a failed widget shows its error), header row first, with a note when truncated; reads no table. A bad format or shape is refused with 22023.';
REVOKE ALL ON FUNCTION @extschema@.render_analytics_result(jsonb, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.render_analytics_result(jsonb, text, text)
    TO marimo_admin, marimo_app;

-- == Report runs: the runner, run history and delivery ==
