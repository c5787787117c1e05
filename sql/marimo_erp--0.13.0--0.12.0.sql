-- marimo_erp 0.13.0 -> 0.12.0: takes back what 0.13.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.12.0'" to load this file. \quit

-- == Report schedules: a restore keeps every report ==
-- Back to 0.12.0's trigger function: inactive rows checked on insert unless
-- last_error is set, run as the invoker (CREATE OR REPLACE sets every attribute).
CREATE OR REPLACE FUNCTION @extschema@.keep_report_next_run_at() RETURNS trigger
    LANGUAGE plpgsql
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
        checked := NEW.is_active OR NEW.last_error IS NULL;
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
    'Trigger of scheduled_reports: refuses (22023) schedules and time zones next_report_run() cannot read when a row is inserted (except inactive with last_error set, as the 0.12.0 update leaves them), its schedule or time zone changes or it is activated; keeps next_run_at: NULL when inactive, recomputed from now() on those changes or when NULL, an explicit value otherwise kept.';

-- == Webhook worker: claims and records from kept plans ==

-- == Cleanups that commit day by day ==
-- The four cleanups' comments as 0.12.0 had them.
COMMENT ON FUNCTION @extschema@.cleanup_webhook_logs(interval, integer) IS
    'Deletes webhook_logs rows older than retention (default 30 days) in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches; returns the number of rows removed.';
COMMENT ON FUNCTION @extschema@.cleanup_integration_logs(interval, integer) IS
    'Deletes integration_logs rows older than retention (default 90 days) in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches; returns the number of rows removed.';
COMMENT ON FUNCTION @extschema@.cleanup_activity_logs(interval, integer) IS
    'Deletes user_activities rows older than retention (default 180 days) in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches; returns the number of rows removed.';
COMMENT ON FUNCTION @extschema@.cleanup_api_usage_logs(interval, integer) IS
    'Deletes api_usage_logs rows older than retention (default 90 days) in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches; returns the number of rows removed.';

-- == Ingest: record_usage and the API usage rollup off the insert path ==

-- == Tenant limits: check_tenant_limit from kept plans and an exact cache; rollup reads by tenant ==

-- 0.12.0's indexes of the rollups, as 0.12.0 created them.
CREATE INDEX usage_metrics_tenant_id_period_start_idx ON @extschema@.usage_metrics (tenant_id, period_start);
CREATE INDEX usage_metrics_period_start_idx ON @extschema@.usage_metrics (period_start);
