-- Webhooks (seed migration 003_create_webhooks, extension version 0.3.0).
--
-- An event is stored once in webhook_events and fanned out to one
-- webhook_deliveries row per subscribed endpoint; the worker claims due pending
-- deliveries by next_attempt_at and appends one webhook_logs row per HTTP attempt.
-- Secrets follow the Standard Webhooks format (whsec_ + base64); webhook_logs is
-- append-only and purged in batches by cleanup_webhook_logs.

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
    CONSTRAINT webhooks_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT webhooks_tenant_id_name_key UNIQUE (tenant_id, name),
    CONSTRAINT webhooks_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT webhooks_name_check CHECK (pg_catalog.length(pg_catalog.btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT webhooks_url_check CHECK (url ~ '^https?://[^/?#\s@]+(?:[/?#]\S*)?$' AND pg_catalog.length(url) <= 2048),
    CONSTRAINT webhooks_secret_check CHECK (secret ~ '^whsec_[A-Za-z0-9+/]+={0,2}$'),
    CONSTRAINT webhooks_event_types_check CHECK (
        pg_catalog.cardinality(event_types) >= 1
        AND pg_catalog.array_position(event_types, NULL) IS NULL),
    CONSTRAINT webhooks_max_attempts_check CHECK (max_attempts BETWEEN 1 AND 50),
    CONSTRAINT webhooks_timeout_ms_check CHECK (timeout_ms BETWEEN 100 AND 120000),
    CONSTRAINT webhooks_custom_headers_check CHECK (pg_catalog.jsonb_typeof(custom_headers) = 'object'),
    CONSTRAINT webhooks_failure_count_check CHECK (failure_count >= 0)
);

CREATE INDEX webhooks_tenant_id_is_active_idx ON @extschema@.webhooks (tenant_id, is_active);
CREATE INDEX webhooks_event_types_idx ON @extschema@.webhooks USING gin (event_types);

CREATE TRIGGER webhooks_set_updated_at BEFORE UPDATE ON @extschema@.webhooks
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.webhooks', '');

COMMENT ON TABLE @extschema@.webhooks IS
    'Webhook endpoints of a tenant: where events are POSTed, how they are signed, which event types they receive and how deliveries are retried.';
COMMENT ON COLUMN @extschema@.webhooks.tenant_id IS 'Tenant that owns the endpoint.';
COMMENT ON COLUMN @extschema@.webhooks.id IS 'Endpoint identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.webhooks.name IS 'Display name of the endpoint (1-200 characters after trimming), unique within the tenant.';
COMMENT ON COLUMN @extschema@.webhooks.description IS 'Optional free-text description of the endpoint.';
COMMENT ON COLUMN @extschema@.webhooks.url IS 'Target URL (http:// or https:// with a host, at most 2048 characters) that receives the event as an HTTP POST.';
COMMENT ON COLUMN @extschema@.webhooks.secret IS 'Signing secret in Standard Webhooks format: whsec_ followed by the base64 of the key; used for the HMAC-SHA256 webhook-signature header.';
COMMENT ON COLUMN @extschema@.webhooks.event_types IS 'Event types the endpoint subscribes to (at least one, no NULL); ''*'' means every event type.';
COMMENT ON COLUMN @extschema@.webhooks.is_active IS 'Whether new events are delivered to the endpoint; false when paused by the tenant or disabled after failures.';
COMMENT ON COLUMN @extschema@.webhooks.max_attempts IS 'Most delivery attempts per event, first attempt included (1-50); copied to each new delivery.';
COMMENT ON COLUMN @extschema@.webhooks.timeout_ms IS 'HTTP request timeout per attempt, in milliseconds (100-120000).';
COMMENT ON COLUMN @extschema@.webhooks.custom_headers IS 'Extra HTTP headers sent with every request, as a JSON object of header name to value.';
COMMENT ON COLUMN @extschema@.webhooks.failure_count IS 'Consecutive failed attempts since the last success; reset to 0 on success.';
COMMENT ON COLUMN @extschema@.webhooks.last_success_at IS 'When an attempt to this endpoint last succeeded (2xx response).';
COMMENT ON COLUMN @extschema@.webhooks.last_failure_at IS 'When an attempt to this endpoint last failed.';
COMMENT ON COLUMN @extschema@.webhooks.disabled_at IS 'When the endpoint was disabled (automatically after repeated failures or by an operator); NULL while enabled.';
COMMENT ON COLUMN @extschema@.webhooks.disabled_reason IS 'Why the endpoint was disabled, e.g. too many consecutive failures or HTTP 410 Gone.';
COMMENT ON COLUMN @extschema@.webhooks.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.webhooks.updated_at IS 'When the row was last updated; kept by the set_updated_at trigger.';

CREATE TABLE @extschema@.webhook_events (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    event_type              text        NOT NULL,
    payload                 jsonb       NOT NULL,
    idempotency_key         text,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
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

COMMENT ON FUNCTION @extschema@.cleanup_webhook_logs(interval, integer) IS
    'Deletes webhook_logs rows older than retention (default 30 days) in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches; returns the number of rows removed.';
