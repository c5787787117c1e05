-- marimo_erp 0.12.0 -> 0.11.0: takes back what 0.12.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.11.0'" to load this file. \quit

-- == Report runs: the runner, run history and delivery ==

-- == Report files: csv, json, html, xlsx and pdf ==
DROP FUNCTION @extschema@.render_analytics_result(jsonb, text, text);

-- == Report schedules: five-field cron in each report's time zone ==

-- == Saved queries that run: the per-tenant sandbox and dashboards ==
