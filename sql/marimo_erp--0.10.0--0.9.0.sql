-- marimo_erp 0.10.0 -> 0.9.0: takes back what 0.10.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.9.0'" to load this file. \quit

-- == Side channels: what an application role cannot read through EXPLAIN or cursors ==

-- == Maintenance in bounded chunks ==

-- == Webhooks: fairness across tenants (claims, limits, payload size) ==

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
