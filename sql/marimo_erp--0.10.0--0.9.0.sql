-- marimo_erp 0.10.0 -> 0.9.0: takes back what 0.10.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.9.0'" to load this file. \quit

-- == Side channels: what an application role cannot read through EXPLAIN or cursors ==
-- Nothing to undo in the catalog: the guards are the library's hooks.

-- == Maintenance in bounded chunks ==
-- Nothing to undo: 0.10.0 changed no catalog object for it (the library does the chunks).

-- == Webhooks: fairness across tenants (claims, limits, payload size) ==
-- payload_bytes is derived from payload: dropping it loses nothing.
DROP TRIGGER webhooks_check_count ON @extschema@.webhooks;
DROP FUNCTION @extschema@.webhooks_check_count();
DROP TRIGGER webhook_events_check_payload ON @extschema@.webhook_events;
DROP FUNCTION @extschema@.webhook_events_check_payload();
ALTER TABLE @extschema@.webhook_events DROP COLUMN payload_bytes;

-- == Webhooks: the worker owns its columns, and what applications write is checked ==

-- == Usage: the API rollup locks its rows in one order ==
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
    ON CONFLICT (tenant_id, metric_type, period_start) DO UPDATE
       SET value_sum    = m.value_sum + excluded.value_sum,
           sample_count = m.sample_count + excluded.sample_count,
           value_min    = LEAST(m.value_min, excluded.value_min),
           value_max    = GREATEST(m.value_max, excluded.value_max);
    RETURN NULL;
END
$$;
