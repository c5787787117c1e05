-- Webhook delivery (extension version 0.8.0).
--
-- Events fan out to webhook_deliveries; the background worker claims due ones,
-- endpoint by endpoint,
-- with a lease (lease_token, lease_expires_at), sends them signed as Standard
-- Webhooks outside any transaction, and records each attempt in webhook_logs.
-- Each webhook has its retry schedule, an in-flight cap, and health thresholds
-- past which it is disabled. A rotated secret keeps signing for a grace period.

ALTER TABLE @extschema@.webhooks
    ADD COLUMN retry_schedule interval[] NOT NULL
        DEFAULT '{"5 seconds","5 minutes","30 minutes","2 hours","5 hours","10 hours","10 hours"}'::interval[],
    ADD COLUMN max_in_flight integer NOT NULL DEFAULT 8,
    ADD COLUMN disable_after_failures integer NOT NULL DEFAULT 100,
    ADD COLUMN disable_after interval NOT NULL DEFAULT '5 days'::interval,
    ADD COLUMN failing_since timestamptz,
    ADD CONSTRAINT webhooks_retry_schedule_check CHECK (
        pg_catalog.cardinality(retry_schedule) BETWEEN 1 AND 50
        AND pg_catalog.array_position(retry_schedule, NULL) IS NULL
        AND '00:00:00'::interval < ALL (retry_schedule)),
    ADD CONSTRAINT webhooks_max_in_flight_check CHECK (max_in_flight BETWEEN 1 AND 256),
    ADD CONSTRAINT webhooks_disable_after_failures_check CHECK (disable_after_failures >= 1),
    ADD CONSTRAINT webhooks_disable_after_check CHECK (disable_after > '00:00:00'::interval);

COMMENT ON COLUMN @extschema@.webhooks.retry_schedule IS 'Delays before each retry (the last repeats): Svix''s 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h by default, each with ±20 % jitter; a 429 or a timeout waits at least 60 s.';
COMMENT ON COLUMN @extschema@.webhooks.max_in_flight IS 'Most requests to this endpoint in flight at once (1-256).';
COMMENT ON COLUMN @extschema@.webhooks.disable_after_failures IS 'Consecutive failed attempts after which the endpoint is disabled.';
COMMENT ON COLUMN @extschema@.webhooks.disable_after IS 'How long the endpoint may fail without a success before it is disabled.';
COMMENT ON COLUMN @extschema@.webhooks.failing_since IS 'When the current run of failures began; NULL after a success.';

ALTER TABLE @extschema@.webhook_deliveries
    ADD COLUMN lease_token uuid,
    ADD COLUMN lease_expires_at timestamptz;

CREATE INDEX webhook_deliveries_lease_expires_at_idx ON @extschema@.webhook_deliveries (lease_expires_at)
    WHERE status = 'in_progress';
-- The worker's per-endpoint queues: each endpoint's due deliveries, oldest first.
CREATE INDEX webhook_deliveries_due_idx ON @extschema@.webhook_deliveries (tenant_id, webhook_id, next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_lapsed_idx ON @extschema@.webhook_deliveries (tenant_id, webhook_id, lease_expires_at)
    WHERE status = 'in_progress';

COMMENT ON COLUMN @extschema@.webhook_deliveries.lease_token IS 'Token of the worker''s claim on an in_progress attempt; its outcome is recorded only under it.';
COMMENT ON COLUMN @extschema@.webhook_deliveries.lease_expires_at IS 'When an in_progress attempt''s claim lapses (the endpoint''s timeout plus a margin) and the delivery may be claimed again.';

CREATE TABLE @extschema@.webhook_secrets (
    tenant_id   uuid        NOT NULL,
    webhook_id  uuid        NOT NULL,
    secret      text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT webhook_secrets_pkey PRIMARY KEY (tenant_id, webhook_id, secret),
    CONSTRAINT webhook_secrets_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT webhook_secrets_webhook_id_fkey FOREIGN KEY (tenant_id, webhook_id)
        REFERENCES @extschema@.webhooks (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_secrets_secret_check CHECK (secret ~ '^whsec_[A-Za-z0-9+/]+={0,2}$')
);

CREATE INDEX webhook_secrets_expires_at_idx ON @extschema@.webhook_secrets (expires_at);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.webhook_secrets', '');

COMMENT ON TABLE @extschema@.webhook_secrets IS 'Previous secrets of rotated webhooks: requests carry a signature with each until it expires.';
COMMENT ON COLUMN @extschema@.webhook_secrets.tenant_id IS 'Tenant of the webhook.';
COMMENT ON COLUMN @extschema@.webhook_secrets.webhook_id IS 'Webhook whose secret this was.';
COMMENT ON COLUMN @extschema@.webhook_secrets.secret IS 'The previous secret (whsec_ + base64); never readable by marimo_app.';
COMMENT ON COLUMN @extschema@.webhook_secrets.expires_at IS 'End of the grace period: from then on, requests are no longer signed with it.';
COMMENT ON COLUMN @extschema@.webhook_secrets.created_at IS 'When the secret was rotated out.';

-- Privileges and isolation, as for every tenant table (see security.sql).
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.webhook_secrets TO marimo_admin;
GRANT SELECT (retry_schedule, max_in_flight, disable_after_failures, disable_after, failing_since)
    ON @extschema@.webhooks TO marimo_app;
SELECT @extschema@.isolate_tenant_rows('@extschema@.webhook_secrets');

-- The signature functions are pure: for everyone. (Revoked first so that the
-- privileges are the same whether they were created before or after
-- security.sql's revocation.)
REVOKE ALL ON FUNCTION
    @extschema@.webhook_generate_secret(), @extschema@.webhook_sign(text, text, bigint, text),
    @extschema@.webhook_verify(text, text, bigint, text, text, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.webhook_generate_secret(), @extschema@.webhook_sign(text, text, bigint, text),
    @extschema@.webhook_verify(text, text, bigint, text, text, integer)
    TO PUBLIC;
REVOKE ALL ON FUNCTION
    @extschema@.create_webhook(uuid, text, text[], text),
    @extschema@.emit_webhook_event(uuid, text, jsonb, text),
    @extschema@.rotate_webhook_secret(uuid, uuid, text, interval),
    @extschema@.enable_webhook(uuid, uuid),
    @extschema@.retry_webhook_delivery(uuid, uuid),
    @extschema@.replay_webhook_deliveries(uuid, uuid, timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.create_webhook(uuid, text, text[], text),
    @extschema@.emit_webhook_event(uuid, text, jsonb, text),
    @extschema@.rotate_webhook_secret(uuid, uuid, text, interval),
    @extschema@.enable_webhook(uuid, uuid),
    @extschema@.retry_webhook_delivery(uuid, uuid),
    @extschema@.replay_webhook_deliveries(uuid, uuid, timestamptz)
    TO marimo_app, marimo_admin;

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
