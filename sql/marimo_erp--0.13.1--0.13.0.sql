-- marimo_erp 0.13.1 -> 0.13.0: takes back what 0.13.1 changed.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.13.0'" to load this file. \quit

-- == Ingest: the API usage rollup, native ==
-- Back to 0.13.0's PL/pgSQL trigger function, which appends the same deltas
-- (CREATE OR REPLACE sets every attribute: SECURITY DEFINER and its search_path
-- again). No row changes: the deltas either function wrote are alike.
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
COMMENT ON FUNCTION @extschema@.roll_up_usage_in_passing() IS
    'roll_up_usage(8192) as the writers run it in passing (API log inserts now and then, record_usage every 4096 calls of a backend): skipped under REPEATABLE READ and SERIALIZABLE, and given up, returning 0, on a lock wait over 100 ms, a deadlock or a serialization failure, so that it never fails or stalls the caller. Not for direct use.';
