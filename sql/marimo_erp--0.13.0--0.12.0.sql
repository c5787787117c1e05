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
-- No SQL object changes: the worker's claim and record (src/webhooks/queries/)
-- are statements the library runs, now from plans it keeps; the claim offers
-- fewer rows per endpoint. Nothing to take back here.

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
-- Every pending delta is folded into usage_metrics first (0.12.0 keeps all
-- usage there), then the trigger writes usage_metrics again and the deltas go.
LOCK TABLE @extschema@.usage_deltas IN EXCLUSIVE MODE;
INSERT INTO @extschema@.usage_metrics AS m
       (tenant_id, metric_type, period_start, value_sum, sample_count, value_min, value_max)
SELECT d.tenant_id, d.metric_type, d.period_start, pg_catalog.sum(d.value_sum),
       pg_catalog.sum(d.sample_count)::bigint, pg_catalog.min(d.value_min), pg_catalog.max(d.value_max)
  FROM @extschema@.usage_deltas AS d
 WHERE EXISTS (SELECT FROM @extschema@.tenants AS t WHERE t.id = d.tenant_id)
 GROUP BY 1, 2, 3
 ORDER BY 1, 2, 3
ON CONFLICT (tenant_id, metric_type, period_start) DO UPDATE
   SET value_sum    = m.value_sum + excluded.value_sum,
       sample_count = m.sample_count + excluded.sample_count,
       value_min    = LEAST(m.value_min, excluded.value_min),
       value_max    = GREATEST(m.value_max, excluded.value_max);
CREATE OR REPLACE FUNCTION @extschema@.rollup_api_usage() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO @extschema@.usage_metrics AS m
           (tenant_id, metric_type, period_start, value_sum, sample_count, value_min, value_max)
    SELECT r.tenant_id, x.metric_type,
           pg_catalog.date_bin('1 hour', r.created_at, '2000-01-01 00:00:00+00'),
           pg_catalog.sum(x.value), pg_catalog.count(*), pg_catalog.min(x.value), pg_catalog.max(x.value)
      FROM new_rows AS r
     CROSS JOIN LATERAL (VALUES ('api_requests', 1::numeric),
                                ('api_response_time_ms', r.response_time_ms::numeric),
                                ('api_server_errors', CASE WHEN r.status_code >= 500 THEN 1::numeric END))
           AS x(metric_type, value)
     WHERE x.value IS NOT NULL
     GROUP BY 1, 2, 3
     -- One order for every statement: two inserts whose rows roll up into the
     -- same hours (one with a server error, one without) would otherwise lock
     -- them in hash order, each waiting for the other (a deadlock, since 0.6.0).
     ORDER BY 1, 2, 3
    ON CONFLICT (tenant_id, metric_type, period_start) DO UPDATE
       SET value_sum    = m.value_sum + excluded.value_sum,
           sample_count = m.sample_count + excluded.sample_count,
           value_min    = LEAST(m.value_min, excluded.value_min),
           value_max    = GREATEST(m.value_max, excluded.value_max);
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION @extschema@.rollup_api_usage() IS
    'Statement trigger on api_usage_logs: adds the inserted requests to usage_metrics as api_requests, api_response_time_ms and api_server_errors (status >= 500) per tenant and UTC hour.';
COMMENT ON TABLE @extschema@.usage_metrics IS 'Hourly usage rollups per tenant and metric (API calls, storage, ...), kept by record_usage() and read by aggregate_usage_metrics() and check_tenant_limit().';
COMMENT ON FUNCTION @extschema@.record_usage(uuid, text, numeric, timestamptz, text) IS
    'Adds value to the tenant''s usage_metrics row for the UTC hour of at (sum, count, min, max) and returns that hour; concurrent calls lose nothing; a repeated idempotency_key counts once.';

DROP TRIGGER tenants_delete_usage_deltas ON @extschema@.tenants;
DROP FUNCTION @extschema@.delete_tenant_usage_deltas();
DROP FUNCTION @extschema@.roll_up_usage_in_passing();
DROP FUNCTION @extschema@.roll_up_usage(integer);
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.usage_deltas;
DROP TABLE @extschema@.usage_deltas;

-- == Tenant limits: check_tenant_limit from kept plans and an exact cache; rollup reads by tenant ==

-- 0.12.0's indexes of the rollups, as 0.12.0 created them.
CREATE INDEX usage_metrics_tenant_id_period_start_idx ON @extschema@.usage_metrics (tenant_id, period_start);
CREATE INDEX usage_metrics_period_start_idx ON @extschema@.usage_metrics (period_start);
