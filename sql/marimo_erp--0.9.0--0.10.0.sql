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
-- Rows the new CHECKs refuse are repaired first, never deleted (a BEFORE UPDATE
-- trigger moves their updated_at):
-- - custom_headers keeps only entries with an HTTP-token name that is not
--   hop-by-hop, host, expect, content-length/type/encoding or one of the three
--   Standard Webhooks headers the worker sets, and a string, number or boolean
--   value (kept as its text, control characters turned into spaces); an object
--   still over 8 KB becomes {}. Each webhook changed is named in a WARNING with
--   its headers as they were, so the DBA can set them again as allowed.
DO $$
DECLARE
    changed record;
BEGIN
    FOR changed IN
        SELECT w.tenant_id, w.id, w.custom_headers FROM @extschema@.webhooks w
         WHERE pg_catalog.length(w.custom_headers::text) > 8192
            OR pg_catalog.jsonb_path_exists(w.custom_headers,
                '$.keyvalue() ? (@.value.type() != "string"
                                 || !(@.key like_regex "^[-!#$%&''*+.^_`|~0-9A-Za-z]{1,100}$")
                                 || @.key like_regex "^(connection|keep-alive|proxy-.*|te|trailers?|transfer-encoding|upgrade|host|expect|content-(length|type|encoding)|webhook-(id|timestamp|signature))$" flag "i"
                                 || @.value like_regex "[[:cntrl:]]")')
    LOOP
        RAISE WARNING 'marimo_erp 0.10.0: webhook % of tenant % had custom_headers % that 0.10.0 refuses; only the headers it allows are kept',
            changed.id, changed.tenant_id, changed.custom_headers;
        UPDATE @extschema@.webhooks w
           SET custom_headers = COALESCE((
                   SELECT pg_catalog.jsonb_object_agg(h.key,
                              pg_catalog.regexp_replace(h.value #>> '{}', '[[:cntrl:]]', ' ', 'g'))
                     FROM pg_catalog.jsonb_each(w.custom_headers) AS h
                    WHERE pg_catalog.jsonb_typeof(h.value) IN ('string', 'number', 'boolean')
                      AND h.key ~ '^[-!#$%&''*+.^_`|~0-9A-Za-z]{1,100}$'
                      AND h.key !~* '^(connection|keep-alive|proxy-.*|te|trailers?|transfer-encoding|upgrade|host|expect|content-(length|type|encoding)|webhook-(id|timestamp|signature))$'),
                   '{}'::jsonb)
         WHERE w.tenant_id = changed.tenant_id AND w.id = changed.id;
    END LOOP;
END
$$;
-- Still over 8 KB once repaired: nothing of it can be sent as is.
UPDATE @extschema@.webhooks SET custom_headers = '{}'::jsonb WHERE pg_catalog.length(custom_headers::text) > 8192;
-- - retry_schedule: each delay is clamped to 1 second .. 7 days.
UPDATE @extschema@.webhooks w
   SET retry_schedule = ARRAY(SELECT LEAST(GREATEST(s.delay, '00:00:01'::interval), '7 days'::interval)
                                FROM pg_catalog.unnest(w.retry_schedule) WITH ORDINALITY AS s(delay, n) ORDER BY s.n)
 WHERE NOT ('00:00:01'::interval <= ALL (w.retry_schedule) AND '7 days'::interval >= ALL (w.retry_schedule));
-- - failing_since: an infinite or future time becomes now (the run of failures
--   is counted from the update on).
UPDATE @extschema@.webhooks SET failing_since = pg_catalog.now()
 WHERE NOT pg_catalog.isfinite(failing_since) OR failing_since > pg_catalog.now();
-- - a secret the decoder refuses (the worker sent its requests unsigned) is
--   replaced by a generated one, and the webhook is disabled with the reason, so
--   that nothing goes out signed with a key the receiver does not know: set a
--   secret with rotate_webhook_secret(), then enable_webhook(). A rotated-out
--   secret the decoder refuses is replaced and expires now.
UPDATE @extschema@.webhooks
   SET secret = @extschema@.webhook_generate_secret(),
       is_active = false,
       disabled_at = COALESCE(disabled_at, pg_catalog.now()),
       disabled_reason = 'the secret could not be decoded (0.10.0 update): set one with rotate_webhook_secret(), then enable_webhook()'
 WHERE secret !~ '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]={0,2})?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$';
UPDATE @extschema@.webhook_secrets
   SET secret = @extschema@.webhook_generate_secret(), expires_at = LEAST(expires_at, pg_catalog.now())
 WHERE secret !~ '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]={0,2})?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$';

ALTER TABLE @extschema@.webhooks
    DROP CONSTRAINT webhooks_secret_check,
    ADD CONSTRAINT webhooks_secret_check CHECK (secret ~ '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]={0,2})?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$'),
    DROP CONSTRAINT webhooks_custom_headers_check,
    ADD CONSTRAINT webhooks_custom_headers_check CHECK (
        pg_catalog.jsonb_typeof(custom_headers) = 'object'
        AND pg_catalog.length(custom_headers::text) <= 8192
        AND NOT pg_catalog.jsonb_path_exists(custom_headers,
            '$.keyvalue() ? (@.value.type() != "string"
                             || !(@.key like_regex "^[-!#$%&''*+.^_`|~0-9A-Za-z]{1,100}$")
                             || @.key like_regex "^(connection|keep-alive|proxy-.*|te|trailers?|transfer-encoding|upgrade|host|expect|content-(length|type|encoding)|webhook-(id|timestamp|signature))$" flag "i"
                             || @.value like_regex "[[:cntrl:]]")')),
    DROP CONSTRAINT webhooks_retry_schedule_check,
    ADD CONSTRAINT webhooks_retry_schedule_check CHECK (
        pg_catalog.cardinality(retry_schedule) BETWEEN 1 AND 50
        AND pg_catalog.array_position(retry_schedule, NULL) IS NULL
        AND '00:00:01'::interval <= ALL (retry_schedule)
        AND '7 days'::interval >= ALL (retry_schedule)),
    ADD CONSTRAINT webhooks_failing_since_check CHECK (pg_catalog.isfinite(failing_since));
ALTER TABLE @extschema@.webhook_secrets
    DROP CONSTRAINT webhook_secrets_secret_check,
    ADD CONSTRAINT webhook_secrets_secret_check CHECK (secret ~ '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]={0,2})?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$');

-- The worker owns the delivery state and the endpoints' health: applications
-- write the configuration only (see webhooks.sql).
REVOKE INSERT, UPDATE ON @extschema@.webhook_deliveries FROM marimo_app;
GRANT INSERT (tenant_id, webhook_id, event_id, max_attempts, next_attempt_at)
    ON @extschema@.webhook_deliveries TO marimo_app;
REVOKE INSERT, UPDATE ON @extschema@.webhooks FROM marimo_app;
GRANT INSERT (tenant_id, id, name, description, url, secret, event_types, is_active, max_attempts, timeout_ms,
              custom_headers, retry_schedule, max_in_flight, disable_after_failures, disable_after)
    ON @extschema@.webhooks TO marimo_app;
GRANT UPDATE (name, description, url, secret, event_types, is_active, max_attempts, timeout_ms,
              custom_headers, retry_schedule, max_in_flight, disable_after_failures, disable_after)
    ON @extschema@.webhooks TO marimo_app;
COMMENT ON COLUMN @extschema@.webhooks.custom_headers IS 'Extra HTTP headers sent with every request, as a JSON object of header name (an HTTP token, not hop-by-hop, host, expect, content-length/type/encoding, nor webhook-id/timestamp/signature, which the worker sets) to a string without control characters; at most 8 KB.';
COMMENT ON COLUMN @extschema@.webhooks.retry_schedule IS 'Delays before each retry (1-50 of them, each 1 second to 7 days; the last repeats): Svix''s 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h by default, each with ±20 % jitter; a 429 or a timeout waits at least 60 s.';
COMMENT ON COLUMN @extschema@.webhooks.disable_after_failures IS 'Fewest consecutive failed attempts before the endpoint is disabled; it is disabled only once they also span disable_after.';
COMMENT ON COLUMN @extschema@.webhooks.disable_after IS 'How long the endpoint must fail without a success (and at least disable_after_failures times) before it is disabled.';
COMMENT ON COLUMN @extschema@.webhooks.failing_since IS 'When the current run of failures began (finite); NULL after a success. Kept by the worker.';

-- == Webhooks: fairness across tenants (claims, limits, payload size) ==
-- The claim's round robin across tenants, the per-tenant in-flight limit, the
-- bound on timeouts and the worker's byte budget are in the library (settings
-- marimo_erp.webhook_tenant_max_in_flight, _max_timeout, _max_in_flight_bytes).
-- Here: the payload's size, the payload cap and limits.webhooks_count. Both
-- triggers check only rows written from now on: an existing event larger than
-- the cap is kept and still delivered (the worker takes it alone when it does
-- not fit its byte budget), and a tenant that already has more webhooks than
-- its limit keeps them but can add none. No row is changed or removed.
ALTER TABLE @extschema@.webhook_events
    ADD COLUMN payload_bytes integer GENERATED ALWAYS AS (pg_catalog.octet_length(payload::pg_catalog.text)) STORED;
COMMENT ON COLUMN @extschema@.webhook_events.payload_bytes IS 'Size of the payload''s JSON text in bytes, as sent (generated); the delivery worker bounds the bytes it holds in flight by it.';

CREATE FUNCTION @extschema@.webhook_events_check_payload() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cap bigint;
    size bigint;
BEGIN
    -- A placeholder (flagged NO_SHOW_ALL) is what an application may SET before
    -- the library is loaded in its session: the default then applies.
    IF pg_catalog.pg_settings_get_flags('marimo_erp.webhook_max_payload_bytes')
       OPERATOR(pg_catalog.@>) '{NO_SHOW_ALL}'::text[] IS NOT FALSE THEN
        cap := 1048576;
    ELSE
        cap := pg_catalog.current_setting('marimo_erp.webhook_max_payload_bytes')::bigint;
    END IF;
    size := pg_catalog.octet_length(NEW.payload::pg_catalog.text);
    IF size > cap THEN
        RAISE EXCEPTION 'payload is % bytes of JSON text, more than marimo_erp.webhook_max_payload_bytes (% bytes)', size, cap
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = 'Send a smaller payload, e.g. the ids the receiver fetches the rest by.';
    END IF;
    RETURN NEW;
END
$$;

-- As for webhooks_count: events recorded now and every write under a tenant
-- context; an event restored or adopted with its earlier created_at is kept
-- even if the cap was lowered since it was recorded.
CREATE TRIGGER webhook_events_check_payload BEFORE INSERT OR UPDATE OF payload ON @extschema@.webhook_events
    FOR EACH ROW
    WHEN (@extschema@.current_tenant() IS NOT NULL OR NEW.created_at >= pg_catalog.now())
    EXECUTE FUNCTION @extschema@.webhook_events_check_payload();

COMMENT ON FUNCTION @extschema@.webhook_events_check_payload() IS
    'Trigger on webhook_events: refuses (54000) a payload whose JSON text is longer than marimo_erp.webhook_max_payload_bytes.';

CREATE FUNCTION @extschema@.webhooks_check_count() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cap numeric;
    current bigint;
BEGIN
    IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' AND NEW.tenant_id OPERATOR(pg_catalog.=) OLD.tenant_id THEN
        RETURN NEW;
    END IF;
    SELECT (t.limits OPERATOR(pg_catalog.->>) 'webhooks_count')::numeric INTO cap
      FROM @extschema@.tenants t WHERE t.id OPERATOR(pg_catalog.=) NEW.tenant_id;
    IF cap IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT (t.limits OPERATOR(pg_catalog.->>) 'webhooks_count')::numeric INTO cap
      FROM @extschema@.tenants t WHERE t.id OPERATOR(pg_catalog.=) NEW.tenant_id FOR NO KEY UPDATE;
    SELECT pg_catalog.count(*) INTO current FROM @extschema@.webhooks w
     WHERE w.tenant_id OPERATOR(pg_catalog.=) NEW.tenant_id;
    IF current OPERATOR(pg_catalog.>=) cap THEN
        RAISE EXCEPTION 'tenant % has % webhooks: its limit webhooks_count is %', NEW.tenant_id, current, cap
            USING ERRCODE = 'configuration_limit_exceeded',
                  HINT = 'Delete a webhook first, or have an operator raise tenants.limits.webhooks_count.';
    END IF;
    RETURN NEW;
END
$$;

-- The limit binds webhooks made now (created_at is now(), its default: what
-- create_webhook inserts) and every write under a tenant context (an
-- application's). A row carrying an earlier created_at without a tenant
-- context is an existing webhook that pg_restore or adopt_seed_tables() brings
-- back: it is kept even if an operator has lowered the limit since.
CREATE TRIGGER webhooks_check_count BEFORE INSERT OR UPDATE OF tenant_id ON @extschema@.webhooks
    FOR EACH ROW
    WHEN (@extschema@.current_tenant() IS NOT NULL OR NEW.created_at >= pg_catalog.now())
    EXECUTE FUNCTION @extschema@.webhooks_check_count();

COMMENT ON FUNCTION @extschema@.webhooks_check_count() IS
    'Trigger on webhooks: refuses (53400) a webhook beyond the tenant''s limits.webhooks_count, counting concurrent inserts one after another.';

REVOKE ALL ON FUNCTION
    @extschema@.webhook_events_check_payload(), @extschema@.webhooks_check_count()
    FROM PUBLIC;

-- == Maintenance in bounded chunks ==
-- No catalog change: the chunks (background workers that commit, a lock budget from
-- max_locks_per_transaction) are in the library, src/logs/chunks.rs and chunk_worker.rs.

-- == Side channels: what an application role cannot read through EXPLAIN or cursors ==
-- Nothing in the catalog: the library's hooks refuse EXPLAIN ANALYZE, cursors
-- WITH HOLD and (with a tenant set) temporary tables that keep their rows past
-- commit to application roles, and run their plain EXPLAIN without costs
-- (src/tenancy/side_channels.rs). They apply as soon as the 0.10.0 library is
-- loaded, before or after this update.
