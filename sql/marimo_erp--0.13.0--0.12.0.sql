-- marimo_erp 0.13.0 -> 0.12.0: takes back what 0.13.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.12.0'" to load this file. \quit

-- == Webhook worker: claims and records from kept plans ==

-- == Cleanups that commit day by day ==

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
DROP FUNCTION @extschema@.roll_up_usage(integer);
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.usage_deltas;
DROP TABLE @extschema@.usage_deltas;

-- == Tenant limits: check_tenant_limit from kept plans and an exact cache; rollup reads by tenant ==
