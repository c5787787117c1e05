-- Helpers of the benchmark, loaded into every benchmark database (schema bench).
-- They generate the data and time statements; none of them is measured itself.

CREATE SCHEMA bench;

-- Tenant n's id. Every database of a run has the same tenants, so the native and
-- the reference databases hold the same rows.
CREATE FUNCTION bench.tenant_id(n integer) RETURNS uuid
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ('00000000-0000-4000-8000-' || pg_catalog.lpad(pg_catalog.to_hex(n), 12, '0'))::uuid $$;

-- The tenants: :ntenants active ones on a paid plan (the first :ndata of them
-- make API requests), and four more for the rules of check_tenant_limit:
-- suspended, cancelled, trial over without a subscription, no limits configured.
CREATE PROCEDURE bench.load_tenants(ntenants integer)
    LANGUAGE sql
AS $$
    INSERT INTO tenants (id, slug, name, status, plan, subscription_status, max_users, max_storage_bytes, limits)
    SELECT bench.tenant_id(n), 'tenant-' || n, 'Tenant ' || n, 'active', 'professional', 'active', 50,
           10737418240,
           '{"api_requests_per_month": 50000000, "api_requests_per_day": 2000000, "api_server_errors_per_day": 5000,
             "bench_calls_per_day": 1000000, "webhooks_count": 10, "seats": 25}'::jsonb
      FROM pg_catalog.generate_series(1, ntenants) AS n;
    INSERT INTO tenants (id, slug, name, status, subscription_status, suspended_at, suspension_reason, trial_ends_at, limits)
    VALUES (bench.tenant_id(ntenants + 1), 'suspended', 'Suspended', 'suspended', 'active', pg_catalog.now(), 'bench', NULL,
            '{"seats": 25}'),
           (bench.tenant_id(ntenants + 2), 'cancelled', 'Cancelled', 'cancelled', 'canceled', NULL, NULL, NULL,
            '{"seats": 25}'),
           (bench.tenant_id(ntenants + 3), 'trial-over', 'Trial over', 'active', 'trialing', NULL, NULL,
            pg_catalog.now() - interval '1 day', '{"seats": 25}'),
           (bench.tenant_id(ntenants + 4), 'no-limits', 'No limits', 'active', 'active', NULL, NULL, NULL, '{}');
$$;

-- Inserts API requests first_i..last_i of n into target (api_usage_logs, its
-- reference copy, ...): n requests spread evenly over the 180 days before anchor,
-- round-robin over the first `tenants` tenants, in chunks of `chunk` rows
-- committed one by one (each chunk is one INSERT statement, so the 0.6.0 rollup
-- trigger runs once per chunk). Two sessions can load disjoint ranges at once.
-- Nothing is dated in [anchor - 90 days - 10 minutes, anchor - 90 days + 3 hours):
-- the 90-day retention cutoff of the whole run falls into that gap, so every
-- cleanup removes exactly the rows dated before it, whenever it runs.
-- Deterministic: the same arguments give the same rows in every database.
CREATE PROCEDURE bench.load_api_logs(target regclass, n bigint, anchor timestamptz, tenants integer,
                                     chunk bigint DEFAULT 1000000, first_i bigint DEFAULT 1,
                                     last_i bigint DEFAULT NULL)
    LANGUAGE plpgsql
AS $$
DECLARE
    lo bigint := first_i;
    hi bigint;
    top bigint := least(coalesce(last_i, n), n);
    step interval := interval '180 days' / n;
BEGIN
    WHILE lo <= top LOOP
        hi := least(lo + chunk - 1, top);
        EXECUTE pg_catalog.format($q$
            INSERT INTO %s (tenant_id, id, method, endpoint, status_code, response_time_ms,
                            request_size_bytes, response_size_bytes, created_at)
            SELECT bench.tenant_id(1 + (i %% $4)::integer),
                   ('00000000-0000-7000-8000-' || pg_catalog.lpad(pg_catalog.to_hex(i), 12, '0'))::uuid,
                   (ARRAY['GET', 'GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'])[1 + (i * 40503 %% 7)],
                   '/v1/' || (ARRAY['invoices', 'customers', 'orders', 'products', 'payments', 'reports',
                                    'users', 'webhooks'])[1 + (i * 2654435761 %% 8)]
                          || CASE WHEN i %% 3 = 0 THEN '/{id}' ELSE '' END,
                   CASE WHEN i %% 101 = 0 THEN 503 WHEN i %% 67 = 0 THEN 500 WHEN i %% 17 = 0 THEN 404
                        WHEN i %% 11 = 0 THEN 201 ELSE 200 END,
                   (3 + (i * 2654435761 %% 997) * (1 + i %% 3))::integer,
                   i * 31 %% 4096,
                   i * 97 %% 65536,
                   at
              FROM pg_catalog.generate_series($1, $2) AS i,
                   LATERAL (SELECT $3 - interval '180 days' + (i - 1) * $5 AS at) AS t
             WHERE NOT (at >= $3 - interval '90 days' - interval '10 minutes'
                        AND at < $3 - interval '90 days' + interval '3 hours')
        $q$, target) USING lo, hi, anchor, tenants, step;
        COMMIT;
        lo := hi + 1;
    END LOOP;
END
$$;

-- Mean wall time in ms of one execution of q (planned and executed anew each time,
-- like a client's query), over at least min_reps executions and budget_ms.
CREATE FUNCTION bench.time_sql(q text, min_reps integer DEFAULT 3, budget_ms float8 DEFAULT 250)
    RETURNS float8
    LANGUAGE plpgsql
AS $$
DECLARE
    started timestamptz;
    total float8 := 0;
    reps integer := 0;
BEGIN
    LOOP
        started := pg_catalog.clock_timestamp();
        EXECUTE q;
        total := total + EXTRACT(epoch FROM pg_catalog.clock_timestamp() - started) * 1000;
        reps := reps + 1;
        EXIT WHEN (reps >= min_reps AND total >= budget_ms) OR reps >= 2000;
    END LOOP;
    RETURN total / reps;
END
$$;

-- The rows q returns as one line of text (numbers normalised), or its SQLSTATE:
-- what the equality checks compare between the native and the reference.
CREATE FUNCTION bench.result_of(q text) RETURNS text
    LANGUAGE plpgsql
AS $$
DECLARE
    result text;
BEGIN
    EXECUTE 'SELECT coalesce(string_agg(r::text, '' | ''), ''(no rows)'') FROM (' || q || ') AS r' INTO result;
    RETURN result;
EXCEPTION WHEN OTHERS THEN
    RETURN 'ERROR ' || SQLSTATE;
END
$$;

-- Numbers with their scale and rounding noise removed, for comparison.
CREATE FUNCTION bench.n(x numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE
AS $$ SELECT pg_catalog.trim_scale(pg_catalog.round(x, 9)) $$;
