-- marimo_erp 0.12.0 -> 0.11.0: takes back what 0.12.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.11.0'" to load this file. \quit

-- == Report runs: the runner, run history and delivery ==

-- == Report files: csv, json, html, xlsx and pdf ==

-- == Report schedules: five-field cron in each report's time zone ==
-- Drops the trigger and next_report_run(); the rows keep what 0.12.0 set
-- (next_run_at, and is_active and last_error of the rows it deactivated),
-- values 0.11.0 accepts.
DROP TRIGGER scheduled_reports_keep_next_run_at ON @extschema@.scheduled_reports;
DROP FUNCTION @extschema@.keep_report_next_run_at();
DROP FUNCTION @extschema@.next_report_run(text, text, timestamptz);
COMMENT ON COLUMN @extschema@.scheduled_reports.next_run_at IS 'When the report is next due; the scheduler''s queue is ordered by it.';

-- == Saved queries that run: the per-tenant sandbox and dashboards ==
