-- The reference implementations: marimo_erp's contract (README.md, "Functions")
-- in PL/pgSQL, written the way the seed's migration files write their functions:
-- plain queries over the raw events, no rollup, no partitions.
--
-- Raw events. The native keeps hourly rollups in usage_metrics; the reference
-- derives the same figures from the events themselves:
--   api_requests          one event of value 1 per row of reference.api_usage_logs
--   api_response_time_ms  one event of value response_time_ms per row
--   api_server_errors     one event of value 1 per row with status_code >= 500
--   any other metric      the rows of reference.usage_events (record_usage)
-- which is exactly what marimo_erp 0.6.0's rollup trigger adds to usage_metrics
-- for each inserted api_usage_logs row, so both give the same answers on the same
-- rows (bench/run checks that before timing anything).

-- check_tenant_limit: the tenant's row, then the current value counted or summed
-- over the raw events of the current UTC day or month.
CREATE FUNCTION reference.check_tenant_limit(
    p_tenant_id UUID,
    p_limit_type TEXT,
    p_current_value BIGINT DEFAULT NULL
) RETURNS TABLE (allowed BOOLEAN, limit_type TEXT, current_value BIGINT, limit_value BIGINT,
                 remaining BIGINT, reason TEXT)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_tenant public.tenants%ROWTYPE;
    v_limit BIGINT;
    v_current BIGINT := p_current_value;
    v_reason TEXT;
    v_metric TEXT;
    v_period TEXT;
    v_start TIMESTAMPTZ;
    v_end TIMESTAMPTZ;
BEGIN
    IF p_tenant_id IS NULL THEN
        RAISE EXCEPTION 'argument "tenant" must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF p_limit_type IS NULL THEN
        RAISE EXCEPTION 'argument "limit_type" must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF p_current_value < 0 THEN
        RAISE EXCEPTION 'argument "current_value" must not be negative' USING ERRCODE = '22023';
    END IF;

    SELECT * INTO v_tenant FROM public.tenants WHERE id = p_tenant_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tenant % does not exist', p_tenant_id USING ERRCODE = 'P0002';
    END IF;

    IF p_limit_type = 'users_count' THEN
        v_limit := v_tenant.max_users;
    ELSIF p_limit_type = 'storage_bytes' THEN
        v_limit := v_tenant.max_storage_bytes;
    ELSIF v_tenant.limits ? p_limit_type THEN
        v_limit := LEAST((v_tenant.limits ->> p_limit_type)::numeric, 9223372036854775807)::bigint;
    END IF;

    IF p_limit_type IN ('webhooks_count', 'dashboards_count', 'integrations_count',
                        'analytics_queries_count', 'scheduled_reports_count') THEN
        IF v_current IS NULL THEN
            EXECUTE format('SELECT count(*) FROM public.%I WHERE tenant_id = $1',
                           left(p_limit_type, -length('_count')))
               INTO v_current USING p_tenant_id;
        END IF;
    ELSIF p_limit_type ~ '^[a-z][a-z0-9_]{0,62}_per_(month|day)$' THEN
        v_metric := substring(p_limit_type FROM '^(.*)_per_(?:month|day)$');
        v_period := substring(p_limit_type FROM '_per_(month|day)$');
        IF v_current IS NULL THEN
            v_start := date_trunc(v_period, now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
            v_end := (date_trunc(v_period, now() AT TIME ZONE 'UTC') + ('1 ' || v_period)::interval) AT TIME ZONE 'UTC';
            IF v_metric = 'api_requests' THEN
                SELECT count(*) INTO v_current FROM reference.api_usage_logs
                 WHERE tenant_id = p_tenant_id AND created_at >= v_start AND created_at < v_end;
            ELSIF v_metric = 'api_response_time_ms' THEN
                SELECT COALESCE(sum(response_time_ms), 0) INTO v_current FROM reference.api_usage_logs
                 WHERE tenant_id = p_tenant_id AND created_at >= v_start AND created_at < v_end;
            ELSIF v_metric = 'api_server_errors' THEN
                SELECT count(*) INTO v_current FROM reference.api_usage_logs
                 WHERE tenant_id = p_tenant_id AND created_at >= v_start AND created_at < v_end
                   AND status_code >= 500;
            ELSE
                SELECT LEAST(COALESCE(ceil(sum(value)), 0), 9223372036854775807)::bigint INTO v_current
                  FROM reference.usage_events
                 WHERE tenant_id = p_tenant_id AND metric_type = v_metric
                   AND recorded_at >= v_start AND recorded_at < v_end;
            END IF;
        END IF;
    ELSIF p_limit_type NOT IN ('users_count', 'storage_bytes') AND NOT v_tenant.limits ? p_limit_type THEN
        RAISE EXCEPTION 'argument "limit_type" is unknown: "%"', p_limit_type USING ERRCODE = '22023';
    END IF;

    IF v_current IS NULL THEN
        RAISE EXCEPTION 'argument "current_value" is required for limit type "%"', p_limit_type
            USING ERRCODE = '22004';
    END IF;

    IF v_tenant.status = 'suspended' THEN
        v_reason := 'tenant is suspended';
    ELSIF v_tenant.status = 'cancelled' THEN
        v_reason := 'tenant is cancelled';
    ELSIF v_tenant.trial_ends_at IS NOT NULL AND v_tenant.trial_ends_at < now()
          AND v_tenant.subscription_status NOT IN ('active', 'past_due') THEN
        v_reason := 'trial has ended and the tenant has no active subscription';
    ELSIF v_limit IS NOT NULL AND v_current > v_limit THEN
        v_reason := format('%s %s exceeds the limit of %s', p_limit_type, v_current, v_limit);
    END IF;

    RETURN QUERY SELECT v_reason IS NULL, p_limit_type, v_current, v_limit,
                        CASE WHEN v_limit IS NOT NULL THEN GREATEST(v_limit - v_current, 0) END, v_reason;
END;
$$;

-- aggregate_usage_metrics: one pass over the tenant's raw events in the range.
-- The contract's resolution is the hour (an hour counts when its start is in
-- [from, to)), so the event range is [from, to) with both ends rounded up to the hour.
CREATE FUNCTION reference.aggregate_usage_metrics(
    p_tenant_id UUID,
    p_metric_type TEXT,
    p_from TIMESTAMP,
    p_to TIMESTAMP,
    p_bucket TEXT DEFAULT NULL
) RETURNS TABLE (bucket_start TIMESTAMPTZ, metric_type TEXT, total NUMERIC, average NUMERIC,
                 minimum NUMERIC, maximum NUMERIC, samples BIGINT)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_from TIMESTAMPTZ := p_from AT TIME ZONE 'UTC';
    v_to TIMESTAMPTZ := p_to AT TIME ZONE 'UTC';
    v_lo TIMESTAMPTZ;
    v_hi TIMESTAMPTZ;
BEGIN
    IF p_tenant_id IS NULL OR p_metric_type IS NULL OR p_from IS NULL OR p_to IS NULL THEN
        RAISE EXCEPTION 'arguments must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF p_metric_type !~ '^[a-z][a-z0-9_]{0,62}$' THEN
        RAISE EXCEPTION 'argument "metric_type" must be a lowercase identifier' USING ERRCODE = '22023';
    END IF;
    IF p_from >= p_to THEN
        RAISE EXCEPTION 'argument "from" must be earlier than argument "to"' USING ERRCODE = '22023';
    END IF;
    IF p_bucket IS NOT NULL AND p_bucket NOT IN ('hour', 'day', 'week', 'month') THEN
        RAISE EXCEPTION 'argument "bucket" must be hour, day, week or month' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.tenants WHERE id = p_tenant_id) THEN
        RAISE EXCEPTION 'tenant % does not exist', p_tenant_id USING ERRCODE = 'P0002';
    END IF;

    v_lo := date_bin('1 hour', v_from, '2000-01-01 00:00:00+00');
    IF v_lo < v_from THEN v_lo := v_lo + interval '1 hour'; END IF;
    v_hi := date_bin('1 hour', v_to, '2000-01-01 00:00:00+00');
    IF v_hi < v_to THEN v_hi := v_hi + interval '1 hour'; END IF;

    IF p_metric_type IN ('api_requests', 'api_response_time_ms', 'api_server_errors') THEN
        IF p_bucket IS NULL THEN
            RETURN QUERY
            SELECT v_from, p_metric_type, COALESCE(sum(e.v), 0), sum(e.v) / NULLIF(count(*), 0),
                   min(e.v), max(e.v), count(*)
              FROM (SELECT CASE WHEN p_metric_type = 'api_response_time_ms' THEN l.response_time_ms::numeric
                                ELSE 1::numeric END AS v
                      FROM reference.api_usage_logs l
                     WHERE l.tenant_id = p_tenant_id AND l.created_at >= v_lo AND l.created_at < v_hi
                       AND (p_metric_type <> 'api_server_errors' OR l.status_code >= 500)) e;
        ELSE
            RETURN QUERY
            SELECT date_trunc(p_bucket, e.at, 'UTC') AS b, p_metric_type, sum(e.v), sum(e.v) / count(*),
                   min(e.v), max(e.v), count(*)
              FROM (SELECT l.created_at AS at,
                           CASE WHEN p_metric_type = 'api_response_time_ms' THEN l.response_time_ms::numeric
                                ELSE 1::numeric END AS v
                      FROM reference.api_usage_logs l
                     WHERE l.tenant_id = p_tenant_id AND l.created_at >= v_lo AND l.created_at < v_hi
                       AND (p_metric_type <> 'api_server_errors' OR l.status_code >= 500)) e
             GROUP BY b ORDER BY b;
        END IF;
    ELSE
        IF p_bucket IS NULL THEN
            RETURN QUERY
            SELECT v_from, p_metric_type, COALESCE(sum(u.value), 0), sum(u.value) / NULLIF(count(*), 0),
                   min(u.value), max(u.value), count(*)
              FROM reference.usage_events u
             WHERE u.tenant_id = p_tenant_id AND u.metric_type = p_metric_type
               AND u.recorded_at >= v_lo AND u.recorded_at < v_hi;
        ELSE
            RETURN QUERY
            SELECT date_trunc(p_bucket, u.recorded_at, 'UTC') AS b, p_metric_type, sum(u.value),
                   sum(u.value) / count(*), min(u.value), max(u.value), count(*)
              FROM reference.usage_events u
             WHERE u.tenant_id = p_tenant_id AND u.metric_type = p_metric_type
               AND u.recorded_at >= v_lo AND u.recorded_at < v_hi
             GROUP BY b ORDER BY b;
        END IF;
    END IF;
END;
$$;

-- record_usage: one row per event; a repeated idempotency key is stored once.
CREATE FUNCTION reference.record_usage(
    p_tenant_id UUID,
    p_metric_type TEXT,
    p_value NUMERIC,
    p_at TIMESTAMPTZ DEFAULT now(),
    p_idempotency_key TEXT DEFAULT NULL
) RETURNS TIMESTAMPTZ
LANGUAGE plpgsql AS $$
DECLARE
    v_at TIMESTAMPTZ;
BEGIN
    IF p_tenant_id IS NULL OR p_metric_type IS NULL OR p_value IS NULL OR p_at IS NULL THEN
        RAISE EXCEPTION 'arguments must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF p_value < 0 OR p_value = 'NaN' THEN
        RAISE EXCEPTION 'argument "value" must be a non-negative number' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.tenants WHERE id = p_tenant_id) THEN
        RAISE EXCEPTION 'tenant % does not exist', p_tenant_id USING ERRCODE = 'P0002';
    END IF;
    INSERT INTO reference.usage_events (tenant_id, metric_type, value, recorded_at, idempotency_key)
    VALUES (p_tenant_id, p_metric_type, p_value, p_at, p_idempotency_key)
    ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING recorded_at INTO v_at;
    IF v_at IS NULL THEN
        SELECT recorded_at INTO v_at FROM reference.usage_events
         WHERE tenant_id = p_tenant_id AND idempotency_key = p_idempotency_key;
    END IF;
    RETURN date_bin('1 hour', v_at, '2000-01-01 00:00:00+00');
END;
$$;

-- cleanup_api_usage_logs: the seed's cleanup functions (cleanup_webhook_logs, ...)
-- are one DELETE of everything older than the retention.
CREATE FUNCTION reference.cleanup_api_usage_logs(p_retention INTERVAL DEFAULT '90 days')
RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    v_deleted BIGINT;
BEGIN
    DELETE FROM reference.api_usage_logs WHERE created_at < now() - p_retention;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    RETURN v_deleted;
END;
$$;
