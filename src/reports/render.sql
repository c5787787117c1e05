-- Report files (0.12.0): render_analytics_result writes a run_analytics_query or
-- render_dashboard result as a csv, json, html, xlsx or pdf file. It reads no
-- table (it renders only what the caller passes), so operators and applications
-- may both call it.
COMMENT ON FUNCTION @extschema@.render_analytics_result(jsonb, text, text) IS
    'The report file (bytea) of result, a run_analytics_query result or a render_dashboard result, in format csv, json, html, xlsx or pdf, headed by title: one table per query result or dashboard widget (a failed widget shows its error), header row first, with a note when truncated; reads no table. A bad format or shape is refused with 22023.';
REVOKE ALL ON FUNCTION @extschema@.render_analytics_result(jsonb, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.render_analytics_result(jsonb, text, text)
    TO marimo_admin, marimo_app;
