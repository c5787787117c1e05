-- marimo_erp 0.9.0 -> 0.10.0: hardening (issue 14). Each section below is one
-- capability; each adds what a fresh 0.10.0 install has, in the same column
-- order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.10.0'" to load this file. \quit

-- == Usage: the API rollup locks its rows in one order ==
-- The rollup trigger's upsert takes its usage_metrics rows in a fixed order, so
-- concurrent inserts into api_usage_logs no longer deadlock. CREATE OR REPLACE
-- keeps the function's privileges and comment.
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

-- == Webhooks: the worker owns its columns, and what applications write is checked ==

-- == Webhooks: fairness across tenants (claims, limits, payload size) ==

-- == Maintenance in bounded chunks ==
-- No catalog change: the chunks (background workers that commit, a lock budget from
-- max_locks_per_transaction) are in the library, src/logs/chunks.rs and chunk_worker.rs.

-- == Side channels: what an application role cannot read through EXPLAIN or cursors ==
-- Nothing in the catalog: the library's hooks refuse EXPLAIN ANALYZE, cursors
-- WITH HOLD and (with a tenant set) temporary tables that keep their rows past
-- commit to application roles, and run their plain EXPLAIN without costs
-- (src/tenancy/side_channels.rs). They apply as soon as the 0.10.0 library is
-- loaded, before or after this update.
