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
-- Every row 0.10.0 accepts, 0.9.0 accepts: only the rules change back.
REVOKE INSERT, UPDATE ON @extschema@.webhooks FROM marimo_app;
GRANT INSERT, UPDATE ON @extschema@.webhooks TO marimo_app;
REVOKE INSERT ON @extschema@.webhook_deliveries FROM marimo_app;
GRANT INSERT, UPDATE ON @extschema@.webhook_deliveries TO marimo_app;
ALTER TABLE @extschema@.webhook_secrets
    DROP CONSTRAINT webhook_secrets_secret_check,
    ADD CONSTRAINT webhook_secrets_secret_check CHECK (secret ~ '^whsec_[A-Za-z0-9+/]+={0,2}$');
ALTER TABLE @extschema@.webhooks
    DROP CONSTRAINT webhooks_failing_since_check,
    DROP CONSTRAINT webhooks_retry_schedule_check,
    ADD CONSTRAINT webhooks_retry_schedule_check CHECK (
        pg_catalog.cardinality(retry_schedule) BETWEEN 1 AND 50
        AND pg_catalog.array_position(retry_schedule, NULL) IS NULL
        AND '00:00:00'::interval < ALL (retry_schedule)),
    DROP CONSTRAINT webhooks_custom_headers_check,
    ADD CONSTRAINT webhooks_custom_headers_check CHECK (pg_catalog.jsonb_typeof(custom_headers) = 'object'),
    DROP CONSTRAINT webhooks_secret_check,
    ADD CONSTRAINT webhooks_secret_check CHECK (secret ~ '^whsec_[A-Za-z0-9+/]+={0,2}$');
COMMENT ON COLUMN @extschema@.webhooks.custom_headers IS 'Extra HTTP headers sent with every request, as a JSON object of header name to value.';
COMMENT ON COLUMN @extschema@.webhooks.retry_schedule IS 'Delays before each retry (the last repeats): Svix''s 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h by default, each with ±20 % jitter; a 429 or a timeout waits at least 60 s.';
COMMENT ON COLUMN @extschema@.webhooks.disable_after_failures IS 'Consecutive failed attempts after which the endpoint is disabled.';
COMMENT ON COLUMN @extschema@.webhooks.disable_after IS 'How long the endpoint may fail without a success before it is disabled.';
COMMENT ON COLUMN @extschema@.webhooks.failing_since IS 'When the current run of failures began; NULL after a success.';

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
