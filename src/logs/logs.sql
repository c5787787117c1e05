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

-- The logs have no foreign keys (0.9.0). A partition is an ordinary table to
-- pg_dump, and a parallel pg_restore loads it with no regard for the order of
-- the extension's tables: the foreign keys each partition inherits from its log
-- rejected the rows loaded before their tenant's. Without them, deleting a
-- tenant, an integration, a webhook or a delivery deletes its log rows through
-- this trigger, as ON DELETE CASCADE did. It runs as the owner, like the
-- cascade: an application that may delete its webhook may not delete logs.
CREATE FUNCTION @extschema@.delete_log_rows() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    log_table pg_catalog.regclass := TG_ARGV[0]::pg_catalog.regclass;
    matches text;
BEGIN
    -- TG_ARGV[1..]: 'log_column = deleted_column' pairs, identifiers only.
    SELECT pg_catalog.string_agg(pg_catalog.format('l.%I = o.%I', pg_catalog.split_part(pair, '=', 1),
                                                   pg_catalog.split_part(pair, '=', 2)), ' AND ')
      INTO matches
      FROM pg_catalog.unnest(TG_ARGV[1:]) AS pair;
    EXECUTE pg_catalog.format('DELETE FROM %s AS l USING deleted_rows AS o WHERE %s', log_table, matches);
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION @extschema@.delete_log_rows() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.delete_log_rows() IS
    'Statement trigger (AFTER DELETE, transition table deleted_rows): deletes the rows of the log named by its first argument that match the deleted rows on its other arguments, log_column=deleted_column pairs; the logs'' stand-in for ON DELETE CASCADE, which they lack so that a parallel pg_restore keeps every row.';
