-- marimo_erp 0.11.0 -> 0.12.0: analytics that run (issue 11). Each section
-- below is one capability; each adds what a fresh 0.12.0 install has, in the
-- same column order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.12.0'" to load this file. \quit

-- == Saved queries that run: the per-tenant sandbox and dashboards ==

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
