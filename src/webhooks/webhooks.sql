-- Webhooks (seed migration 003_create_webhooks, extension version 0.3.0; logs
-- partitioned by day since 0.6.0, privileges and isolation since 0.7.0, signed
-- delivery by the background worker since 0.8.0).
--
-- An event is stored once in webhook_events and fanned out to one
-- webhook_deliveries row per subscribed endpoint; the worker claims due pending
-- deliveries by next_attempt_at and appends one webhook_logs row per HTTP attempt.
-- Secrets follow the Standard Webhooks format (whsec_ + base64); webhook_logs is
-- append-only and purged in batches by cleanup_webhook_logs.
--
-- Delivery (0.8.0): the background worker claims due deliveries, endpoint by
-- endpoint, with a lease (lease_token, lease_expires_at), sends them signed as
-- Standard Webhooks outside any transaction, and records each attempt in
-- webhook_logs. Each webhook has its retry schedule, an in-flight cap, and
-- health thresholds past which it is disabled. A rotated secret keeps signing
-- for a grace period (webhook_secrets).

CREATE TABLE @extschema@.webhooks (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    name                    text        NOT NULL,
    description             text,
    url                     text        NOT NULL,
    secret                  text        NOT NULL,
    event_types             text[]      NOT NULL DEFAULT '{*}'::text[],
    is_active               boolean     NOT NULL DEFAULT true,
    max_attempts            integer     NOT NULL DEFAULT 8,
    timeout_ms              integer     NOT NULL DEFAULT 15000,
    custom_headers          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    failure_count           integer     NOT NULL DEFAULT 0,
    last_success_at         timestamptz,
    last_failure_at         timestamptz,
    disabled_at             timestamptz,
    disabled_reason         text,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    retry_schedule          interval[]  NOT NULL
        DEFAULT '{"5 seconds","5 minutes","30 minutes","2 hours","5 hours","10 hours","10 hours"}'::interval[],
    max_in_flight           integer     NOT NULL DEFAULT 8,
    disable_after_failures  integer     NOT NULL DEFAULT 100,
    disable_after           interval    NOT NULL DEFAULT '5 days'::interval,
    failing_since           timestamptz,
    CONSTRAINT webhooks_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT webhooks_tenant_id_name_key UNIQUE (tenant_id, name),
    CONSTRAINT webhooks_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT webhooks_name_check CHECK (pg_catalog.length(pg_catalog.btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT webhooks_url_check CHECK (url ~ '^https?://[^/?#\s@]+(?:[/?#]\S*)?$' AND pg_catalog.length(url) <= 2048),
    -- A Standard Webhooks secret, or its envelope once encrypted at rest (0.11.0).
    CONSTRAINT webhooks_secret_check CHECK (secret ~ '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]={0,2})?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$'
        OR secret ~ '^enc:v1:[0-9a-f]{16}:(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$'),
    CONSTRAINT webhooks_event_types_check CHECK (
        pg_catalog.cardinality(event_types) >= 1
        AND pg_catalog.array_position(event_types, NULL) IS NULL),
    CONSTRAINT webhooks_max_attempts_check CHECK (max_attempts BETWEEN 1 AND 50),
    CONSTRAINT webhooks_timeout_ms_check CHECK (timeout_ms BETWEEN 100 AND 120000),
    -- An object of header names (HTTP tokens) to strings without control
    -- characters, at most 8 KB as text; never a header the worker sets itself or
    -- one about the connection or the body (hop-by-hop, content-length/type/
    -- encoding, the three webhook-* headers of Standard Webhooks).
    CONSTRAINT webhooks_custom_headers_check CHECK (
        pg_catalog.jsonb_typeof(custom_headers) = 'object'
        AND pg_catalog.length(custom_headers::text) <= 8192
        AND NOT pg_catalog.jsonb_path_exists(custom_headers,
            '$.keyvalue() ? (@.value.type() != "string"
                             || !(@.key like_regex "^[-!#$%&''*+.^_`|~0-9A-Za-z]{1,100}$")
                             || @.key like_regex "^(connection|keep-alive|proxy-.*|te|trailers?|transfer-encoding|upgrade|host|expect|content-(length|type|encoding)|webhook-(id|timestamp|signature))$" flag "i"
                             || @.value like_regex "[[:cntrl:]]")')),
    CONSTRAINT webhooks_failure_count_check CHECK (failure_count >= 0),
    CONSTRAINT webhooks_retry_schedule_check CHECK (
        pg_catalog.cardinality(retry_schedule) BETWEEN 1 AND 50
        AND pg_catalog.array_position(retry_schedule, NULL) IS NULL
        AND '00:00:01'::interval <= ALL (retry_schedule)
        AND '7 days'::interval >= ALL (retry_schedule)),
    CONSTRAINT webhooks_max_in_flight_check CHECK (max_in_flight BETWEEN 1 AND 256),
    CONSTRAINT webhooks_disable_after_failures_check CHECK (disable_after_failures >= 1),
    CONSTRAINT webhooks_disable_after_check CHECK (disable_after > '00:00:00'::interval),
    CONSTRAINT webhooks_failing_since_check CHECK (pg_catalog.isfinite(failing_since))
);

CREATE INDEX webhooks_tenant_id_is_active_idx ON @extschema@.webhooks (tenant_id, is_active);
CREATE INDEX webhooks_event_types_idx ON @extschema@.webhooks USING gin (event_types);

CREATE TRIGGER webhooks_set_updated_at BEFORE UPDATE ON @extschema@.webhooks
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();

-- The tenant's limits.webhooks_count (0.10.0), for create_webhook and any
-- direct INSERT alike. A tenant with the limit has its row locked FOR NO KEY
-- UPDATE first, so that concurrent inserts for it count one after another
-- (foreign key checks take KEY SHARE and do not wait). As the owner: the
-- caller need not see or lock tenants. Under REPEATABLE READ a concurrent
-- insert committed after the transaction's snapshot is not counted; use READ
-- COMMITTED (the default) or SERIALIZABLE, which refuses one of the two.
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

SELECT pg_catalog.pg_extension_config_dump('@extschema@.webhooks', '');

COMMENT ON TABLE @extschema@.webhooks IS
    'Webhook endpoints of a tenant: where events are POSTed, how they are signed, which event types they receive and how deliveries are retried.';
COMMENT ON COLUMN @extschema@.webhooks.tenant_id IS 'Tenant that owns the endpoint.';
COMMENT ON COLUMN @extschema@.webhooks.id IS 'Endpoint identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.webhooks.name IS 'Display name of the endpoint (1-200 characters after trimming), unique within the tenant.';
COMMENT ON COLUMN @extschema@.webhooks.description IS 'Optional free-text description of the endpoint.';
COMMENT ON COLUMN @extschema@.webhooks.url IS 'Target URL (http:// or https:// with a host, at most 2048 characters) that receives the event as an HTTP POST.';
COMMENT ON COLUMN @extschema@.webhooks.secret IS 'Signing secret in Standard Webhooks format: whsec_ followed by the base64 of the key; used for the HMAC-SHA256 webhook-signature header. Written plain; stored encrypted (enc:v1:<key id>:...) when marimo_erp.secret_key_file names a key.';
COMMENT ON COLUMN @extschema@.webhooks.event_types IS 'Event types the endpoint subscribes to (at least one, no NULL); ''*'' means every event type.';
COMMENT ON COLUMN @extschema@.webhooks.is_active IS 'Whether new events are delivered to the endpoint; false when paused by the tenant or disabled after failures.';
COMMENT ON COLUMN @extschema@.webhooks.max_attempts IS 'Most delivery attempts per event, first attempt included (1-50); copied to each new delivery.';
COMMENT ON COLUMN @extschema@.webhooks.timeout_ms IS 'HTTP request timeout per attempt, in milliseconds (100-120000).';
COMMENT ON COLUMN @extschema@.webhooks.custom_headers IS 'Extra HTTP headers sent with every request, as a JSON object of header name (an HTTP token, not hop-by-hop, host, expect, content-length/type/encoding, nor webhook-id/timestamp/signature, which the worker sets) to a string without control characters; at most 8 KB.';
COMMENT ON COLUMN @extschema@.webhooks.failure_count IS 'Consecutive failed attempts since the last success; reset to 0 on success.';
COMMENT ON COLUMN @extschema@.webhooks.last_success_at IS 'When an attempt to this endpoint last succeeded (2xx response).';
COMMENT ON COLUMN @extschema@.webhooks.last_failure_at IS 'When an attempt to this endpoint last failed.';
COMMENT ON COLUMN @extschema@.webhooks.disabled_at IS 'When the endpoint was disabled (automatically after repeated failures or by an operator); NULL while enabled.';
COMMENT ON COLUMN @extschema@.webhooks.disabled_reason IS 'Why the endpoint was disabled, e.g. too many consecutive failures or HTTP 410 Gone.';
COMMENT ON COLUMN @extschema@.webhooks.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.webhooks.updated_at IS 'When the row was last updated; kept by the set_updated_at trigger.';
COMMENT ON COLUMN @extschema@.webhooks.retry_schedule IS 'Delays before each retry (1-50 of them, each 1 second to 7 days; the last repeats): Svix''s 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h by default, each with ±20 % jitter; a 429 or a timeout waits at least 60 s.';
COMMENT ON COLUMN @extschema@.webhooks.max_in_flight IS 'Most requests to this endpoint in flight at once (1-256).';
COMMENT ON COLUMN @extschema@.webhooks.disable_after_failures IS 'Fewest consecutive failed attempts before the endpoint is disabled; it is disabled only once they also span disable_after.';
COMMENT ON COLUMN @extschema@.webhooks.disable_after IS 'How long the endpoint must fail without a success (and at least disable_after_failures times) before it is disabled.';
COMMENT ON COLUMN @extschema@.webhooks.failing_since IS 'When the current run of failures began (finite); NULL after a success. Kept by the worker.';

-- Previous secrets of rotated webhooks (0.8.0).
CREATE TABLE @extschema@.webhook_secrets (
    tenant_id   uuid        NOT NULL,
    webhook_id  uuid        NOT NULL,
    secret      text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    id          uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    -- Keyed by its own id since 0.11.0: an encrypted secret (random nonce)
    -- differs from every other, even of the same plain secret.
    CONSTRAINT webhook_secrets_pkey PRIMARY KEY (tenant_id, webhook_id, id),
    CONSTRAINT webhook_secrets_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT webhook_secrets_webhook_id_fkey FOREIGN KEY (tenant_id, webhook_id)
        REFERENCES @extschema@.webhooks (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_secrets_secret_check CHECK (secret ~ '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]={0,2})?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$'
        OR secret ~ '^enc:v1:[0-9a-f]{16}:(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$')
);

CREATE INDEX webhook_secrets_expires_at_idx ON @extschema@.webhook_secrets (expires_at);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.webhook_secrets', '');

COMMENT ON TABLE @extschema@.webhook_secrets IS 'Previous secrets of rotated webhooks: requests carry a signature with each until it expires.';
COMMENT ON COLUMN @extschema@.webhook_secrets.tenant_id IS 'Tenant of the webhook.';
COMMENT ON COLUMN @extschema@.webhook_secrets.webhook_id IS 'Webhook whose secret this was.';
COMMENT ON COLUMN @extschema@.webhook_secrets.secret IS 'The previous secret (whsec_ + base64, or its envelope enc:v1:... when encrypted at rest); never readable by marimo_app.';
COMMENT ON COLUMN @extschema@.webhook_secrets.expires_at IS 'End of the grace period: from then on, requests are no longer signed with it.';
COMMENT ON COLUMN @extschema@.webhook_secrets.created_at IS 'When the secret was rotated out.';
COMMENT ON COLUMN @extschema@.webhook_secrets.id IS 'Identifier of the kept secret, unique within the webhook.';

CREATE TABLE @extschema@.webhook_events (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    event_type              text        NOT NULL,
    payload                 jsonb       NOT NULL,
    idempotency_key         text,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    payload_bytes           integer     GENERATED ALWAYS AS (pg_catalog.octet_length(payload::pg_catalog.text)) STORED,
    CONSTRAINT webhook_events_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT webhook_events_tenant_id_idempotency_key_key UNIQUE (tenant_id, idempotency_key),
    CONSTRAINT webhook_events_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT webhook_events_event_type_check CHECK (
        event_type ~ '^[a-z0-9_]+(\.[a-z0-9_]+)*$' AND pg_catalog.length(event_type) <= 200),
    CONSTRAINT webhook_events_idempotency_key_check CHECK (
        pg_catalog.length(idempotency_key) BETWEEN 1 AND 255)
);

CREATE INDEX webhook_events_tenant_id_created_at_idx ON @extschema@.webhook_events (tenant_id, created_at);
CREATE INDEX webhook_events_tenant_id_event_type_created_at_idx
    ON @extschema@.webhook_events (tenant_id, event_type, created_at);
CREATE INDEX webhook_events_created_at_idx ON @extschema@.webhook_events (created_at);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.webhook_events', '');

COMMENT ON TABLE @extschema@.webhook_events IS
    'Events to dispatch to webhook endpoints, stored once and fanned out to one webhook_deliveries row per subscribed endpoint.';
COMMENT ON COLUMN @extschema@.webhook_events.tenant_id IS 'Tenant the event belongs to.';
COMMENT ON COLUMN @extschema@.webhook_events.id IS 'Event identifier, unique within the tenant; sent as the webhook-id header and constant across retries.';
COMMENT ON COLUMN @extschema@.webhook_events.event_type IS 'Dot-separated event type of lowercase letters, digits and underscores (at most 200 characters), e.g. invoice.paid.';
COMMENT ON COLUMN @extschema@.webhook_events.payload IS 'JSON body sent to the endpoints.';
COMMENT ON COLUMN @extschema@.webhook_events.idempotency_key IS 'Optional caller-supplied key (1-255 characters), unique within the tenant, so that the same event is not recorded twice.';
COMMENT ON COLUMN @extschema@.webhook_events.created_at IS 'When the event was recorded.';
COMMENT ON COLUMN @extschema@.webhook_events.payload_bytes IS 'Size of the payload''s JSON text in bytes, as sent (generated); the delivery worker bounds the bytes it holds in flight by it.';

-- The payload cap (0.10.0): no event, however it is inserted or updated, has a
-- payload whose JSON text is longer than marimo_erp.webhook_max_payload_bytes
-- (1 MiB by default). Once the library is loaded, only a superuser can change
-- the setting (a value an application SET before is then refused).
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

CREATE TABLE @extschema@.webhook_deliveries (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    webhook_id              uuid        NOT NULL,
    event_id                uuid        NOT NULL,
    status                  text        NOT NULL DEFAULT 'pending',
    attempts                integer     NOT NULL DEFAULT 0,
    max_attempts            integer     NOT NULL DEFAULT 8,
    next_attempt_at         timestamptz,
    last_attempt_at         timestamptz,
    response_status         integer,
    response_body           text,
    last_error              text,
    delivered_at            timestamptz,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    lease_token             uuid,
    lease_expires_at        timestamptz,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT webhook_deliveries_tenant_id_webhook_id_event_id_key UNIQUE (tenant_id, webhook_id, event_id),
    CONSTRAINT webhook_deliveries_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_webhook_id_fkey FOREIGN KEY (tenant_id, webhook_id)
        REFERENCES @extschema@.webhooks (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_event_id_fkey FOREIGN KEY (tenant_id, event_id)
        REFERENCES @extschema@.webhook_events (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_status_check CHECK (
        status IN ('pending', 'in_progress', 'succeeded', 'failed', 'cancelled')),
    CONSTRAINT webhook_deliveries_attempts_check CHECK (attempts >= 0),
    CONSTRAINT webhook_deliveries_max_attempts_check CHECK (max_attempts BETWEEN 1 AND 50),
    CONSTRAINT webhook_deliveries_attempts_limit_check CHECK (attempts <= max_attempts),
    CONSTRAINT webhook_deliveries_response_status_check CHECK (response_status BETWEEN 100 AND 599),
    CONSTRAINT webhook_deliveries_delivered_check CHECK (status <> 'succeeded' OR delivered_at IS NOT NULL)
);

CREATE INDEX webhook_deliveries_tenant_id_event_id_idx ON @extschema@.webhook_deliveries (tenant_id, event_id);
CREATE INDEX webhook_deliveries_tenant_id_status_idx ON @extschema@.webhook_deliveries (tenant_id, status);
CREATE INDEX webhook_deliveries_next_attempt_at_idx ON @extschema@.webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_tenant_id_created_at_idx ON @extschema@.webhook_deliveries (tenant_id, created_at);
CREATE INDEX webhook_deliveries_lease_expires_at_idx ON @extschema@.webhook_deliveries (lease_expires_at)
    WHERE status = 'in_progress';
-- The worker's per-endpoint queues: each endpoint's due deliveries, oldest first.
CREATE INDEX webhook_deliveries_due_idx ON @extschema@.webhook_deliveries (tenant_id, webhook_id, next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_lapsed_idx ON @extschema@.webhook_deliveries (tenant_id, webhook_id, lease_expires_at)
    WHERE status = 'in_progress';

CREATE TRIGGER webhook_deliveries_set_updated_at BEFORE UPDATE ON @extschema@.webhook_deliveries
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.webhook_deliveries', '');

COMMENT ON TABLE @extschema@.webhook_deliveries IS
    'Delivery of one event to one endpoint: its state, attempt count, next retry time and the outcome of the latest attempt.';
COMMENT ON COLUMN @extschema@.webhook_deliveries.tenant_id IS 'Tenant that owns the endpoint and the event.';
COMMENT ON COLUMN @extschema@.webhook_deliveries.id IS 'Delivery identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.webhook_deliveries.webhook_id IS 'Endpoint the event is delivered to (webhooks.id of the same tenant).';
COMMENT ON COLUMN @extschema@.webhook_deliveries.event_id IS 'Event being delivered (webhook_events.id of the same tenant).';
COMMENT ON COLUMN @extschema@.webhook_deliveries.status IS 'Delivery state: pending (waiting for next_attempt_at), in_progress (claimed by a worker), succeeded, failed (attempts exhausted) or cancelled.';
COMMENT ON COLUMN @extschema@.webhook_deliveries.attempts IS 'Number of attempts made so far (0 to max_attempts).';
COMMENT ON COLUMN @extschema@.webhook_deliveries.max_attempts IS 'Most attempts for this delivery, first attempt included (1-50), copied from the endpoint when the delivery is created.';
COMMENT ON COLUMN @extschema@.webhook_deliveries.next_attempt_at IS 'When the next attempt is due; NULL once the delivery is finished (succeeded, failed or cancelled).';
COMMENT ON COLUMN @extschema@.webhook_deliveries.last_attempt_at IS 'When the latest attempt was made; NULL before the first attempt.';
COMMENT ON COLUMN @extschema@.webhook_deliveries.response_status IS 'HTTP status code (100-599) of the latest attempt''s response; NULL if no response was received.';
COMMENT ON COLUMN @extschema@.webhook_deliveries.response_body IS 'Body of the latest attempt''s response, possibly truncated.';
COMMENT ON COLUMN @extschema@.webhook_deliveries.last_error IS 'Error of the latest failed attempt (non-2xx status, timeout, connection error).';
COMMENT ON COLUMN @extschema@.webhook_deliveries.delivered_at IS 'When the endpoint accepted the event with a 2xx response; required when status is succeeded.';
COMMENT ON COLUMN @extschema@.webhook_deliveries.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.webhook_deliveries.updated_at IS 'When the row was last updated; kept by the set_updated_at trigger.';
COMMENT ON COLUMN @extschema@.webhook_deliveries.lease_token IS 'Token of the worker''s claim on an in_progress attempt; its outcome is recorded only under it.';
COMMENT ON COLUMN @extschema@.webhook_deliveries.lease_expires_at IS 'When an in_progress attempt''s claim lapses (the endpoint''s timeout plus a margin) and the delivery may be claimed again.';

CREATE TABLE @extschema@.webhook_logs (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    webhook_id              uuid        NOT NULL,
    delivery_id             uuid,
    attempt                 integer     NOT NULL,
    request_url             text        NOT NULL,
    request_headers         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    request_body            text,
    response_status         integer,
    response_headers        jsonb,
    response_body           text,
    duration_ms             integer,
    error                   text,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT webhook_logs_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT webhook_logs_webhook_id_fkey FOREIGN KEY (tenant_id, webhook_id)
        REFERENCES @extschema@.webhooks (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_logs_delivery_id_fkey FOREIGN KEY (tenant_id, delivery_id)
        REFERENCES @extschema@.webhook_deliveries (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_logs_attempt_check CHECK (attempt >= 1),
    CONSTRAINT webhook_logs_request_headers_check CHECK (pg_catalog.jsonb_typeof(request_headers) = 'object'),
    CONSTRAINT webhook_logs_response_status_check CHECK (response_status BETWEEN 100 AND 599),
    CONSTRAINT webhook_logs_response_headers_check CHECK (pg_catalog.jsonb_typeof(response_headers) = 'object'),
    CONSTRAINT webhook_logs_duration_ms_check CHECK (duration_ms >= 0)
) PARTITION BY RANGE (created_at);



COMMENT ON TABLE @extschema@.webhook_logs IS
    'Append-only log of webhook HTTP attempts, one row per request with its response; purged by cleanup_webhook_logs. Partitioned by UTC day on created_at.';
COMMENT ON COLUMN @extschema@.webhook_logs.tenant_id IS 'Tenant that owns the endpoint.';
COMMENT ON COLUMN @extschema@.webhook_logs.id IS 'Log entry identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.webhook_logs.webhook_id IS 'Endpoint that was called (webhooks.id of the same tenant).';
COMMENT ON COLUMN @extschema@.webhook_logs.delivery_id IS 'Delivery the attempt belongs to (webhook_deliveries.id of the same tenant); NULL for requests outside a delivery, e.g. a test ping.';
COMMENT ON COLUMN @extschema@.webhook_logs.attempt IS 'Attempt number within the delivery, starting at 1.';
COMMENT ON COLUMN @extschema@.webhook_logs.request_url IS 'URL the request was sent to.';
COMMENT ON COLUMN @extschema@.webhook_logs.request_headers IS 'HTTP headers sent, as a JSON object of header name to value.';
COMMENT ON COLUMN @extschema@.webhook_logs.request_body IS 'Request body sent.';
COMMENT ON COLUMN @extschema@.webhook_logs.response_status IS 'HTTP status code of the response (100-599); NULL if no response was received.';
COMMENT ON COLUMN @extschema@.webhook_logs.response_headers IS 'HTTP headers of the response, as a JSON object of header name to value; NULL if no response was received.';
COMMENT ON COLUMN @extschema@.webhook_logs.response_body IS 'Body of the response, possibly truncated.';
COMMENT ON COLUMN @extschema@.webhook_logs.duration_ms IS 'Time from sending the request to the end of the response or the error, in milliseconds.';
COMMENT ON COLUMN @extschema@.webhook_logs.error IS 'Transport error (timeout, DNS, connection, TLS) or other failure reason; NULL when a response was received without error.';
COMMENT ON COLUMN @extschema@.webhook_logs.created_at IS 'When the attempt was logged; cleanup_webhook_logs deletes rows by this column.';

-- Partitioned by UTC day. The parent has no indexes of its own: pg_restore
-- attaches the dumped daily partitions to the parent CREATE EXTENSION made, and
-- would clash with indexes the parent cloned onto them. The default partition
-- (rows outside every daily one) is the template: run_maintenance() creates each
-- daily partition LIKE it, with its primary key, indexes and comments. Daily
-- partitions are ordinary tables, so pg_dump writes them with their rows.
CREATE TABLE @extschema@.webhook_logs_default (
    LIKE @extschema@.webhook_logs INCLUDING ALL,
    CONSTRAINT webhook_logs_default_pkey PRIMARY KEY (tenant_id, id)
);
CREATE INDEX webhook_logs_default_tenant_id_created_at_idx ON @extschema@.webhook_logs_default (tenant_id, created_at);
CREATE INDEX webhook_logs_default_tenant_id_webhook_id_created_at_idx ON @extschema@.webhook_logs_default (tenant_id, webhook_id, created_at);
CREATE INDEX webhook_logs_default_tenant_id_delivery_id_idx ON @extschema@.webhook_logs_default (tenant_id, delivery_id);
CREATE INDEX webhook_logs_default_created_at_idx ON @extschema@.webhook_logs_default (created_at);
ALTER TABLE @extschema@.webhook_logs ATTACH PARTITION @extschema@.webhook_logs_default DEFAULT;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.webhook_logs_default', '');
COMMENT ON TABLE @extschema@.webhook_logs_default IS
    'Rows of webhook_logs outside every daily partition, and the template of the daily partitions; run_maintenance() moves its rows into the partitions it creates.';

-- Privileges and isolation (0.7.0). Operators: everything but DDL. Applications:
-- their tenant's rows under row-level security; webhook_logs is append-only for
-- them, webhooks.secret can be set, never read back, and rotated-out secrets are
-- the operators' alone.
GRANT SELECT, INSERT, UPDATE, DELETE ON
    @extschema@.webhooks, @extschema@.webhook_secrets, @extschema@.webhook_events, @extschema@.webhook_deliveries,
    @extschema@.webhook_logs
    TO marimo_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.webhook_events TO marimo_app;
-- The worker owns the delivery state (0.10.0): applications read and delete
-- their deliveries, and insert only what a new pending delivery needs (the
-- columns emit_webhook_event fills; the state takes its defaults); they retry
-- or replay through the functions.
GRANT SELECT, DELETE ON @extschema@.webhook_deliveries TO marimo_app;
GRANT INSERT (tenant_id, webhook_id, event_id, max_attempts, next_attempt_at)
    ON @extschema@.webhook_deliveries TO marimo_app;
GRANT SELECT, INSERT ON @extschema@.webhook_logs TO marimo_app;
GRANT SELECT (tenant_id, id, name, description, url, event_types, is_active, max_attempts, timeout_ms,
              custom_headers, failure_count, last_success_at, last_failure_at, disabled_at, disabled_reason,
              created_at, updated_at, retry_schedule, max_in_flight, disable_after_failures, disable_after,
              failing_since)
    ON @extschema@.webhooks TO marimo_app;
-- The endpoint's health (failure_count, failing_since, last_*_at, disabled_*)
-- is the worker's (0.10.0): applications write the configuration only, and
-- re-enable through enable_webhook().
GRANT INSERT (tenant_id, id, name, description, url, secret, event_types, is_active, max_attempts, timeout_ms,
              custom_headers, retry_schedule, max_in_flight, disable_after_failures, disable_after)
    ON @extschema@.webhooks TO marimo_app;
GRANT UPDATE (name, description, url, secret, event_types, is_active, max_attempts, timeout_ms,
              custom_headers, retry_schedule, max_in_flight, disable_after_failures, disable_after)
    ON @extschema@.webhooks TO marimo_app;
GRANT DELETE ON @extschema@.webhooks TO marimo_app;
SELECT pg_catalog.count(@extschema@.isolate_tenant_rows(t))
  FROM pg_catalog.unnest(ARRAY['@extschema@.webhooks', '@extschema@.webhook_secrets', '@extschema@.webhook_events',
                               '@extschema@.webhook_deliveries', '@extschema@.webhook_logs',
                               '@extschema@.webhook_logs_default']::pg_catalog.regclass[]) AS t;

-- emit_webhook_event (0.8.0) is declared here rather than by pgrx, whose jsonb
-- argument type would parse the payload as f64 numbers (see api.rs).
CREATE FUNCTION @extschema@.emit_webhook_event(tenant uuid, event_type text, payload jsonb,
                                               idempotency_key text DEFAULT NULL) RETURNS uuid
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'emit_webhook_event_wrapper';

-- The signature functions are pure: for everyone.
REVOKE ALL ON FUNCTION
    @extschema@.webhook_generate_secret(), @extschema@.webhook_sign(text, text, bigint, text),
    @extschema@.webhook_verify(text, text, bigint, text, text, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.webhook_generate_secret(), @extschema@.webhook_sign(text, text, bigint, text),
    @extschema@.webhook_verify(text, text, bigint, text, text, integer)
    TO PUBLIC;
-- The triggers' functions: for the triggers only.
REVOKE ALL ON FUNCTION
    @extschema@.webhook_events_check_payload(), @extschema@.webhooks_check_count()
    FROM PUBLIC;
REVOKE ALL ON FUNCTION
    @extschema@.create_webhook(uuid, text, text[], text),
    @extschema@.emit_webhook_event(uuid, text, jsonb, text),
    @extschema@.rotate_webhook_secret(uuid, uuid, text, interval),
    @extschema@.enable_webhook(uuid, uuid),
    @extschema@.retry_webhook_delivery(uuid, uuid),
    @extschema@.replay_webhook_deliveries(uuid, uuid, timestamptz),
    @extschema@.cleanup_webhook_logs(interval, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.create_webhook(uuid, text, text[], text),
    @extschema@.emit_webhook_event(uuid, text, jsonb, text),
    @extschema@.rotate_webhook_secret(uuid, uuid, text, interval),
    @extschema@.enable_webhook(uuid, uuid),
    @extschema@.retry_webhook_delivery(uuid, uuid),
    @extschema@.replay_webhook_deliveries(uuid, uuid, timestamptz)
    TO marimo_app, marimo_admin;
GRANT EXECUTE ON FUNCTION @extschema@.cleanup_webhook_logs(interval, integer) TO marimo_admin;

COMMENT ON FUNCTION @extschema@.cleanup_webhook_logs(interval, integer) IS
    'Removes webhook_logs rows older than retention (default 30 days). Wholly expired UTC days are dropped one transaction a day by a background worker, so that inserts wait for one day''s drop at most; the expired rows of the boundary day and the default partition are deleted in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches. Returns the number of rows removed: a dropped day''s rows are taken from the statistics (pg_stat live tuples, or pg_class.reltuples), not read, exact once the day was vacuumed after its last insert, an estimate otherwise; a day never vacuumed nor analyzed is counted. Days the worker dropped stay dropped if the calling transaction rolls back.';
COMMENT ON FUNCTION @extschema@.webhook_generate_secret() IS
    'A new Standard Webhooks secret: whsec_ followed by the base64 of 32 random bytes.';
COMMENT ON FUNCTION @extschema@.webhook_sign(text, text, bigint, text) IS
    'Standard Webhooks v1 signature (v1,<base64>) of msg_id.timestamp.payload, HMAC-SHA256 keyed by the base64-decoded secret.';
COMMENT ON FUNCTION @extschema@.webhook_verify(text, text, bigint, text, text, integer) IS
    'True when any v1 entry of the webhook-signature header matches (constant-time) and the timestamp is within tolerance_seconds of now; unknown versions are ignored; a malformed secret is an error.';
COMMENT ON FUNCTION @extschema@.create_webhook(uuid, text, text[], text) IS
    'Registers an endpoint (http or https URL with a host and no credentials) for event types (* , exact, or prefixes like invoice.*); generates a secret when none is given. Returns its id.';
COMMENT ON FUNCTION @extschema@.emit_webhook_event(uuid, text, jsonb, text) IS
    'Stores an event and one delivery per active matching webhook of the tenant; a repeated idempotency_key returns the first event and delivers nothing again. Wakes the delivery worker at commit.';
COMMENT ON FUNCTION @extschema@.rotate_webhook_secret(uuid, uuid, text, interval) IS
    'Replaces a webhook''s secret (generated when none is given), keeping the old one for grace (default 24 hours) so requests carry both signatures meanwhile. Returns the new secret.';
COMMENT ON FUNCTION @extschema@.enable_webhook(uuid, uuid) IS
    'Re-enables a disabled webhook and resets its failure count; its pending deliveries go out again.';
COMMENT ON FUNCTION @extschema@.retry_webhook_delivery(uuid, uuid) IS
    'Sends a failed, pending or cancelled delivery again now, with one more attempt.';
COMMENT ON FUNCTION @extschema@.replay_webhook_deliveries(uuid, uuid, timestamptz) IS
    'Sends again every failed delivery of a webhook created since the given time; returns how many.';
