-- The log machinery (extension version 0.6.0): daily partitions and the
-- maintenance job. The log tables themselves are defined by their domains.

REVOKE ALL ON FUNCTION @extschema@.create_log_partitions(text, date, date), @extschema@.run_maintenance(interval)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_log_partitions(text, date, date), @extschema@.run_maintenance(interval)
    TO marimo_admin;

COMMENT ON FUNCTION @extschema@.create_log_partitions(text, date, date) IS
    'Creates the daily partitions of a log table (webhook_logs, integration_logs, user_activities, api_usage_logs) for every UTC day from from_day to to_day that no partition covers yet, moving matching rows out of the default partition; returns how many it created.';
COMMENT ON FUNCTION @extschema@.run_maintenance(interval) IS
    'Creates the daily log partitions from yesterday to premake ahead (default 7 days) and runs every cleanup with its default retention; returns what it did. Schedule it at least daily, e.g. with pg_cron.';
