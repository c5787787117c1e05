-- marimo_erp 0.12.0 -> 0.13.0: hot paths (issue 10). Each section below is one
-- capability; each adds what a fresh 0.13.0 install has, in the same column order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.13.0'" to load this file. \quit

-- == Tenant limits: check_tenant_limit from kept plans and an exact cache; rollup reads by tenant ==

-- The primary key serves every reader of the rollups (see usage.sql); the
-- (period_start) index misled the planner into reading a tenant's month
-- through it, and (tenant_id, period_start) only cost every new hourly row.
DROP INDEX @extschema@.usage_metrics_period_start_idx;
DROP INDEX @extschema@.usage_metrics_tenant_id_period_start_idx;

-- == Ingest: record_usage and the API usage rollup off the insert path ==

-- == Cleanups that commit day by day ==
-- The expired days are dropped by a background worker, one transaction a day, and a
-- dropped day's rows are taken from the statistics instead of counted: the library
-- (src/logs/retention.rs, chunks.rs, chunk_worker.rs). The SQL change is the four
-- cleanups' comments, which say so.
COMMENT ON FUNCTION @extschema@.cleanup_webhook_logs(interval, integer) IS
    'Removes webhook_logs rows older than retention (default 30 days). Wholly expired UTC days are dropped one transaction a day by a background worker, so that inserts wait for one day''s drop at most; the expired rows of the boundary day and the default partition are deleted in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches. Returns the number of rows removed: a dropped day''s rows are taken from the statistics (pg_stat live tuples, or pg_class.reltuples), not read, exact once the day was vacuumed after its last insert, an estimate otherwise; a day never vacuumed nor analyzed is counted. Days the worker dropped stay dropped if the calling transaction rolls back.';
COMMENT ON FUNCTION @extschema@.cleanup_integration_logs(interval, integer) IS
    'Removes integration_logs rows older than retention (default 90 days). Wholly expired UTC days are dropped one transaction a day by a background worker, so that inserts wait for one day''s drop at most; the expired rows of the boundary day and the default partition are deleted in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches. Returns the number of rows removed: a dropped day''s rows are taken from the statistics (pg_stat live tuples, or pg_class.reltuples), not read, exact once the day was vacuumed after its last insert, an estimate otherwise; a day never vacuumed nor analyzed is counted. Days the worker dropped stay dropped if the calling transaction rolls back.';
COMMENT ON FUNCTION @extschema@.cleanup_activity_logs(interval, integer) IS
    'Removes user_activities rows older than retention (default 180 days). Wholly expired UTC days are dropped one transaction a day by a background worker, so that inserts wait for one day''s drop at most; the expired rows of the boundary day and the default partition are deleted in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches. Returns the number of rows removed: a dropped day''s rows are taken from the statistics (pg_stat live tuples, or pg_class.reltuples), not read, exact once the day was vacuumed after its last insert, an estimate otherwise; a day never vacuumed nor analyzed is counted. Days the worker dropped stay dropped if the calling transaction rolls back.';
COMMENT ON FUNCTION @extschema@.cleanup_api_usage_logs(interval, integer) IS
    'Removes api_usage_logs rows older than retention (default 90 days). Wholly expired UTC days are dropped one transaction a day by a background worker, so that inserts wait for one day''s drop at most; the expired rows of the boundary day and the default partition are deleted in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches. Returns the number of rows removed: a dropped day''s rows are taken from the statistics (pg_stat live tuples, or pg_class.reltuples), not read, exact once the day was vacuumed after its last insert, an estimate otherwise; a day never vacuumed nor analyzed is counted. Days the worker dropped stay dropped if the calling transaction rolls back.';

-- == Webhook worker: claims and records from kept plans ==

-- == Report schedules: a restore keeps every report ==
-- keep_report_next_run_at() no longer checks an inactive row on insert (0.12.0
-- refused one with an unreadable schedule and no last_error, so a dump holding
-- it lost the row on restore), and runs as its owner, so that a role allowed to
-- write scheduled_reports but not to call next_report_run() (a database owner
-- restoring a dump) can. CREATE OR REPLACE keeps the trigger that uses it.
CREATE OR REPLACE FUNCTION @extschema@.keep_report_next_run_at() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    checked boolean;
    next_run timestamptz;
BEGIN
    IF TG_WHEN <> 'BEFORE' OR TG_LEVEL <> 'ROW' OR TG_OP NOT IN ('INSERT', 'UPDATE') THEN
        RAISE EXCEPTION 'keep_report_next_run_at() must be a row-level BEFORE INSERT OR UPDATE trigger'
            USING ERRCODE = '39P01';
    END IF;
    IF TG_OP = 'INSERT' THEN
        checked := NEW.is_active;
    ELSE
        checked := NEW.schedule IS DISTINCT FROM OLD.schedule
                OR NEW.timezone IS DISTINCT FROM OLD.timezone
                OR (NEW.is_active AND NOT OLD.is_active);
    END IF;
    IF checked THEN
        -- 22023 naming the argument (schedule or timezone) when it cannot be read.
        next_run := @extschema@.next_report_run(NEW.schedule, NEW.timezone, pg_catalog.now());
    END IF;
    IF NOT NEW.is_active THEN
        NEW.next_run_at := NULL;
    ELSIF NEW.next_run_at IS NULL OR (checked AND TG_OP = 'UPDATE') THEN
        NEW.next_run_at := COALESCE(next_run, @extschema@.next_report_run(NEW.schedule, NEW.timezone, pg_catalog.now()));
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.keep_report_next_run_at() IS
    'Trigger of scheduled_reports: refuses (22023) schedules and time zones next_report_run() cannot read when an active row is inserted, its schedule or time zone changes or it is activated (an inactive row is checked when activated, so that any dump restores); keeps next_run_at: NULL when inactive, recomputed from now() on those changes or when NULL, an explicit value otherwise kept. Runs as its owner: it only computes.';
