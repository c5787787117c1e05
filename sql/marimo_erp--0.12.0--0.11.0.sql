-- marimo_erp 0.12.0 -> 0.11.0: takes back what 0.12.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.11.0'" to load this file. \quit

-- == Report runs: the runner, run history and delivery ==
SELECT @extschema@.assert_no_data_loss('0.11.0', ARRAY['report_runs']);
DROP FUNCTION @extschema@.run_due_reports();
DROP FUNCTION @extschema@.run_report_now(uuid, uuid);
DROP FUNCTION @extschema@.report_run_content(uuid, uuid);
DROP FUNCTION @extschema@.cleanup_report_runs(interval, integer);
-- Out of the extension first, which also takes it off its pg_dump list (extconfig).
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.report_runs;
DROP TABLE @extschema@.report_runs;

-- == Report files: csv, json, html, xlsx and pdf ==

-- == Report schedules: five-field cron in each report's time zone ==

-- == Saved queries that run: the per-tenant sandbox and dashboards ==
