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
-- record_usage() and the API log trigger append deltas; roll_up_usage() moves
-- them into usage_metrics. The rows of usage_metrics and the idempotency keys
-- stay as they are: they are the rolled-up part.
-- Usage deltas (0.13.0): record_usage() and the API usage rollup append one
-- row here instead of updating the tenant's hourly row of usage_metrics, so
-- that many sessions recording for one tenant and hour never wait on one row
-- (an append-then-roll-up design, as TimescaleDB's real-time continuous
-- aggregates keep a materialized part and merge the newest rows at read time).
-- roll_up_usage() moves deltas into usage_metrics in one statement; readers sum
-- both tables, so every committed call counts at once, exactly once.
CREATE TABLE @extschema@.usage_deltas (
    tenant_id     uuid        NOT NULL,
    metric_type   text        NOT NULL,
    period_start  timestamptz NOT NULL,
    value_sum     numeric     NOT NULL,
    sample_count  bigint      NOT NULL,
    value_min     numeric     NOT NULL,
    value_max     numeric     NOT NULL
);

CREATE INDEX usage_deltas_tenant_id_metric_type_period_start_idx
    ON @extschema@.usage_deltas (tenant_id, metric_type, period_start);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.usage_deltas', '');

COMMENT ON TABLE @extschema@.usage_deltas IS 'Usage recorded but not yet rolled up into usage_metrics: record_usage() and the API usage rollup append here (no hot row to wait on), roll_up_usage() moves the rows into usage_metrics, and readers add both. No foreign key: writers lock the tenant themselves, and a trigger on tenants deletes a tenant''s deltas with it.';
COMMENT ON COLUMN @extschema@.usage_deltas.tenant_id IS 'Tenant whose usage this is.';
COMMENT ON COLUMN @extschema@.usage_deltas.metric_type IS 'What is measured, as in usage_metrics.';
COMMENT ON COLUMN @extschema@.usage_deltas.period_start IS 'Start of the UTC hour of usage_metrics the delta belongs to.';
COMMENT ON COLUMN @extschema@.usage_deltas.value_sum IS 'Sum of the values of the delta (one record_usage call, or one statement''s API requests).';
COMMENT ON COLUMN @extschema@.usage_deltas.sample_count IS 'Number of values of the delta.';
COMMENT ON COLUMN @extschema@.usage_deltas.value_min IS 'Smallest value of the delta.';
COMMENT ON COLUMN @extschema@.usage_deltas.value_max IS 'Largest value of the delta.';

-- One statement moves a batch: the deltas it deletes are the ones it adds, and
-- both commit together, so a reader sees a delta either here or in usage_metrics.
-- SKIP LOCKED: two roll-ups at once take different deltas, none twice. A delta
-- committed late, whatever its hour, is simply taken by a later roll-up; the
-- API logs are never read, so a day dropped by a cleanup loses nothing.
CREATE FUNCTION @extschema@.roll_up_usage(batch_size integer DEFAULT 10000) RETURNS bigint
    LANGUAGE sql
    VOLATILE PARALLEL UNSAFE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH picked AS (
        SELECT d.ctid FROM @extschema@.usage_deltas AS d
         LIMIT GREATEST(batch_size, 1)
           FOR UPDATE SKIP LOCKED),
    moved AS (
        DELETE FROM @extschema@.usage_deltas AS d
         WHERE d.ctid = ANY (ARRAY(SELECT p.ctid FROM picked AS p))
        RETURNING d.tenant_id, d.metric_type, d.period_start, d.value_sum, d.sample_count, d.value_min, d.value_max),
    merged AS (
        INSERT INTO @extschema@.usage_metrics AS m
               (tenant_id, metric_type, period_start, value_sum, sample_count, value_min, value_max)
        SELECT mv.tenant_id, mv.metric_type, mv.period_start, pg_catalog.sum(mv.value_sum),
               pg_catalog.sum(mv.sample_count)::bigint, pg_catalog.min(mv.value_min), pg_catalog.max(mv.value_max)
          FROM moved AS mv
         -- A tenant deleted since its delta was written: the delta goes with it.
         WHERE EXISTS (SELECT FROM @extschema@.tenants AS t WHERE t.id = mv.tenant_id)
         GROUP BY 1, 2, 3
         -- One order for every roll-up, so two never wait on each other's rows in turn.
         ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, metric_type, period_start) DO UPDATE
           SET value_sum    = m.value_sum + excluded.value_sum,
               sample_count = m.sample_count + excluded.sample_count,
               value_min    = LEAST(m.value_min, excluded.value_min),
               value_max    = GREATEST(m.value_max, excluded.value_max)
        RETURNING 1)
    SELECT pg_catalog.count(*) FROM moved
$$;

COMMENT ON FUNCTION @extschema@.roll_up_usage(integer) IS
    'Moves up to batch_size rows of usage_deltas into the hourly rows of usage_metrics, atomically, and returns how many it moved; run by run_maintenance() and, every few thousand calls, by record_usage() and API log inserts through roll_up_usage_in_passing(). Sessions running it at once never take the same delta, but may wait on each other''s usage_metrics rows until the other commits.';

-- The writers' roll-up in passing (0.13.0): one statement in a thousand of API
-- log inserts and one record_usage() call in 4096 per backend roll a batch up
-- inside the caller's transaction, so that usage_deltas stays short between
-- maintenance runs. It must never fail or stall the caller: a lock it would
-- wait on for more than lock_timeout (run_maintenance() holding the hour's rows,
-- another roll-up, a deadlock) or a transaction snapshot that another roll-up
-- has moved deltas past (REPEATABLE READ, SERIALIZABLE: 40001) leaves the
-- batch for later, and the subtransaction gives back what it locked.
CREATE FUNCTION @extschema@.roll_up_usage_in_passing() RETURNS bigint
    LANGUAGE plpgsql
    VOLATILE PARALLEL UNSAFE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '100ms'
AS $$
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN 0;
    END IF;
    RETURN @extschema@.roll_up_usage(8192);
EXCEPTION WHEN lock_not_available OR deadlock_detected OR serialization_failure THEN
    RETURN 0;
END
$$;

COMMENT ON FUNCTION @extschema@.roll_up_usage_in_passing() IS
    'roll_up_usage(8192) as the writers run it in passing (API log inserts now and then, record_usage every 4096 calls of a backend): skipped under REPEATABLE READ and SERIALIZABLE, and given up, returning 0, on a lock wait over 100 ms, a deadlock or a serialization failure, so that it never fails or stalls the caller. Not for direct use.';

-- A tenant's deltas go with the tenant, as its rollups do through their foreign key.
CREATE FUNCTION @extschema@.delete_tenant_usage_deltas() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.usage_deltas WHERE tenant_id = OLD.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_delete_usage_deltas AFTER DELETE ON @extschema@.tenants
    FOR EACH ROW EXECUTE FUNCTION @extschema@.delete_tenant_usage_deltas();

COMMENT ON FUNCTION @extschema@.delete_tenant_usage_deltas() IS
    'Row trigger on tenants: deletes the tenant''s usage_deltas, which have no foreign key (record_usage locks the tenant row instead, once per call).';

-- API usage feeds the rollup (0.6.0), once per statement over all its rows, so
-- aggregate_usage_metrics() and check_tenant_limit() never read raw logs. Since
-- 0.13.0 it appends the statement's sums to usage_deltas (no hot row, no lock
-- held on usage_metrics by the inserting transaction); roughly one statement in
-- a thousand also rolls a batch of deltas up. It writes what the inserting
-- application may not (0.7.0): it runs as its owner, with a locked search_path.
CREATE OR REPLACE FUNCTION @extschema@.rollup_api_usage() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO @extschema@.usage_deltas
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
     GROUP BY 1, 2, 3;
    IF pg_catalog.random() < 0.001 THEN
        PERFORM @extschema@.roll_up_usage_in_passing();
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION @extschema@.rollup_api_usage() IS
    'Statement trigger on api_usage_logs: appends the inserted requests to usage_deltas as api_requests, api_response_time_ms and api_server_errors (status >= 500) per tenant and UTC hour.';
COMMENT ON TABLE @extschema@.usage_metrics IS 'Hourly usage rollups per tenant and metric (API calls, storage, ...), kept by roll_up_usage() from what record_usage() and API log inserts append to usage_deltas; aggregate_usage_metrics() and check_tenant_limit() read both.';
COMMENT ON FUNCTION @extschema@.record_usage(uuid, text, numeric, timestamptz, text) IS
    'Records value for the tenant and the UTC hour of at (a row of usage_deltas, which roll_up_usage() adds to that hour''s usage_metrics row: sum, count, min, max) and returns that hour; concurrent calls lose nothing and never wait on each other; a repeated idempotency_key counts once.';

GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.usage_deltas TO marimo_admin;
GRANT SELECT ON @extschema@.usage_deltas TO marimo_app;
-- Saved analytics queries read it as they read usage_metrics (src/analytics/sandbox.sql).
GRANT SELECT ON @extschema@.usage_deltas TO marimo_analytics;
SELECT @extschema@.isolate_tenant_rows('@extschema@.usage_deltas'::pg_catalog.regclass);
REVOKE ALL ON FUNCTION @extschema@.roll_up_usage(integer), @extschema@.delete_tenant_usage_deltas(),
    @extschema@.roll_up_usage_in_passing() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.roll_up_usage(integer) TO marimo_admin;

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
-- No SQL object changes: the worker's claim and record (src/webhooks/queries/)
-- are statements the library runs, now from plans it keeps; the claim offers
-- fewer rows per endpoint. Nothing to add here.

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
