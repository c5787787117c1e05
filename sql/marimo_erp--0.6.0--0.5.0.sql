\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.5.0'" to load this file. \quit
-- marimo_erp 0.6.0 -> 0.5.0. Refuses while usage_idempotency_keys holds rows,
-- unless marimo_erp.allow_data_loss is on (the keys would be forgotten).
-- The partitioned logs become plain tables again with every row: this rewrites
-- them (copies every row), which a rollback may.

SELECT @extschema@.assert_no_data_loss('0.5.0', ARRAY['usage_idempotency_keys']);

DROP TRIGGER api_usage_logs_rollup ON @extschema@.api_usage_logs;
DROP FUNCTION @extschema@.rollup_api_usage();

ALTER EXTENSION marimo_erp DROP TABLE @extschema@.usage_idempotency_keys;
DROP TABLE @extschema@.usage_idempotency_keys;

DROP FUNCTION @extschema@.run_maintenance(interval);
DROP FUNCTION @extschema@.create_log_partitions(text, date, date);
DROP FUNCTION @extschema@.cleanup_idempotency_keys(interval, integer);
DROP FUNCTION @extschema@.record_usage(uuid, text, numeric, timestamptz, text);
CREATE FUNCTION @extschema@."record_usage"(
	"tenant" uuid,
	"metric_type" TEXT,
	"value" NUMERIC,
	"at" timestamp with time zone DEFAULT now()
) RETURNS timestamp with time zone
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'record_usage_wrapper';

-- webhook_logs: the partitioned table leaves the extension and steps aside; a plain
-- table as in 0.5.0 takes its place and its rows.
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.webhook_logs_default;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.webhook_logs;
DO $$
DECLARE
    i record;
BEGIN
    FOR i IN SELECT c.relname FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid
              WHERE x.indrelid = '@extschema@.webhook_logs'::pg_catalog.regclass
    LOOP
        EXECUTE pg_catalog.format('ALTER INDEX @extschema@.%I RENAME TO %I', i.relname,
                                  pg_catalog.replace(i.relname, 'webhook_logs_', 'webhook_logs_partitioned_'));
    END LOOP;
END
$$;
ALTER TABLE @extschema@.webhook_logs RENAME TO webhook_logs_partitioned;

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
    CONSTRAINT webhook_logs_pkey PRIMARY KEY (tenant_id, id),
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
);

CREATE INDEX webhook_logs_tenant_id_created_at_idx ON @extschema@.webhook_logs (tenant_id, created_at);
CREATE INDEX webhook_logs_tenant_id_webhook_id_created_at_idx
    ON @extschema@.webhook_logs (tenant_id, webhook_id, created_at);
CREATE INDEX webhook_logs_tenant_id_delivery_id_idx ON @extschema@.webhook_logs (tenant_id, delivery_id);
CREATE INDEX webhook_logs_created_at_idx ON @extschema@.webhook_logs (created_at);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.webhook_logs', '');

COMMENT ON TABLE @extschema@.webhook_logs IS
    'Append-only log of webhook HTTP attempts, one row per request with its response; purged by cleanup_webhook_logs.';
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

INSERT INTO @extschema@.webhook_logs SELECT * FROM @extschema@.webhook_logs_partitioned;
DROP TABLE @extschema@.webhook_logs_partitioned;

-- integration_logs: the partitioned table leaves the extension and steps aside; a plain
-- table as in 0.5.0 takes its place and its rows.
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.integration_logs_default;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.integration_logs;
DO $$
DECLARE
    i record;
BEGIN
    FOR i IN SELECT c.relname FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid
              WHERE x.indrelid = '@extschema@.integration_logs'::pg_catalog.regclass
    LOOP
        EXECUTE pg_catalog.format('ALTER INDEX @extschema@.%I RENAME TO %I', i.relname,
                                  pg_catalog.replace(i.relname, 'integration_logs_', 'integration_logs_partitioned_'));
    END LOOP;
END
$$;
ALTER TABLE @extschema@.integration_logs RENAME TO integration_logs_partitioned;

CREATE TABLE @extschema@.integration_logs (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    integration_id          uuid        NOT NULL,
    operation               text        NOT NULL,
    direction               text        NOT NULL DEFAULT 'outbound',
    http_method             text,
    endpoint                text,
    request_payload         jsonb,
    response_status         integer,
    response_payload        jsonb,
    status                  text        NOT NULL,
    error_message           text,
    duration_ms             integer,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT integration_logs_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT integration_logs_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT integration_logs_integration_id_fkey FOREIGN KEY (tenant_id, integration_id)
        REFERENCES @extschema@.integrations (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT integration_logs_operation_check CHECK (
        pg_catalog.length(pg_catalog.btrim(operation)) BETWEEN 1 AND 200),
    CONSTRAINT integration_logs_direction_check CHECK (direction IN ('outbound', 'inbound')),
    CONSTRAINT integration_logs_http_method_check CHECK (
        http_method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS')),
    CONSTRAINT integration_logs_response_status_check CHECK (response_status BETWEEN 100 AND 599),
    CONSTRAINT integration_logs_status_check CHECK (status IN ('success', 'error')),
    CONSTRAINT integration_logs_duration_ms_check CHECK (duration_ms >= 0)
);

CREATE INDEX integration_logs_tenant_id_created_at_idx ON @extschema@.integration_logs (tenant_id, created_at);
CREATE INDEX integration_logs_tenant_id_integration_id_created_at_idx
    ON @extschema@.integration_logs (tenant_id, integration_id, created_at);
CREATE INDEX integration_logs_tenant_id_status_created_at_idx
    ON @extschema@.integration_logs (tenant_id, status, created_at);
CREATE INDEX integration_logs_created_at_idx ON @extschema@.integration_logs (created_at);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.integration_logs', '');

COMMENT ON TABLE @extschema@.integration_logs IS
    'Append-only log of calls between the tenant''s integrations and their providers, one row per call; purged by cleanup_integration_logs.';
COMMENT ON COLUMN @extschema@.integration_logs.tenant_id IS 'Tenant that owns the integration.';
COMMENT ON COLUMN @extschema@.integration_logs.id IS 'Log entry identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.integration_logs.integration_id IS 'Integration the call was made for (integrations.id of the same tenant).';
COMMENT ON COLUMN @extschema@.integration_logs.operation IS 'Logical operation (1-200 characters after trimming), e.g. customers.sync or contacts.upsert.';
COMMENT ON COLUMN @extschema@.integration_logs.direction IS 'outbound for calls made to the provider, inbound for calls received from it (e.g. its webhooks).';
COMMENT ON COLUMN @extschema@.integration_logs.http_method IS 'HTTP method of the call (GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS); NULL when not an HTTP call.';
COMMENT ON COLUMN @extschema@.integration_logs.endpoint IS 'Provider URL or path that was called or that received the call.';
COMMENT ON COLUMN @extschema@.integration_logs.request_payload IS 'Request body as JSON, with secrets removed; NULL when there was none.';
COMMENT ON COLUMN @extschema@.integration_logs.response_status IS 'HTTP status code of the response (100-599); NULL if no response was received.';
COMMENT ON COLUMN @extschema@.integration_logs.response_payload IS 'Response body as JSON; NULL when there was none or it was not JSON.';
COMMENT ON COLUMN @extschema@.integration_logs.status IS 'Outcome of the call: success or error.';
COMMENT ON COLUMN @extschema@.integration_logs.error_message IS 'Error message when status is error.';
COMMENT ON COLUMN @extschema@.integration_logs.duration_ms IS 'Duration of the call, in milliseconds.';
COMMENT ON COLUMN @extschema@.integration_logs.created_at IS 'When the call was logged; cleanup_integration_logs deletes rows by this column.';

INSERT INTO @extschema@.integration_logs SELECT * FROM @extschema@.integration_logs_partitioned;
DROP TABLE @extschema@.integration_logs_partitioned;

-- user_activities: the partitioned table leaves the extension and steps aside; a plain
-- table as in 0.5.0 takes its place and its rows.
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.user_activities_default;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.user_activities;
DO $$
DECLARE
    i record;
BEGIN
    FOR i IN SELECT c.relname FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid
              WHERE x.indrelid = '@extschema@.user_activities'::pg_catalog.regclass
    LOOP
        EXECUTE pg_catalog.format('ALTER INDEX @extschema@.%I RENAME TO %I', i.relname,
                                  pg_catalog.replace(i.relname, 'user_activities_', 'user_activities_partitioned_'));
    END LOOP;
END
$$;
ALTER TABLE @extschema@.user_activities RENAME TO user_activities_partitioned;

CREATE TABLE @extschema@.user_activities (
    tenant_id      uuid        NOT NULL,
    id             uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id        uuid,
    actor_type     text        NOT NULL DEFAULT 'user',
    action         text        NOT NULL,
    resource_type  text,
    resource_id    text,
    description    text,
    metadata       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    ip_address     inet,
    user_agent     text,
    session_id     text,
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT user_activities_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT user_activities_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT user_activities_actor_type_check CHECK (actor_type IN ('user', 'api_key', 'system', 'integration')),
    CONSTRAINT user_activities_action_check CHECK (action ~ '^[a-z][a-z0-9_.]{0,99}$'),
    CONSTRAINT user_activities_resource_check CHECK (resource_id IS NULL OR resource_type IS NOT NULL),
    CONSTRAINT user_activities_metadata_check CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
    CONSTRAINT user_activities_user_agent_check CHECK (pg_catalog.length(user_agent) <= 1024)
);

CREATE INDEX user_activities_tenant_id_created_at_idx ON @extschema@.user_activities (tenant_id, created_at);
CREATE INDEX user_activities_tenant_id_user_id_created_at_idx
    ON @extschema@.user_activities (tenant_id, user_id, created_at);
CREATE INDEX user_activities_tenant_id_resource_idx
    ON @extschema@.user_activities (tenant_id, resource_type, resource_id);
CREATE INDEX user_activities_created_at_idx ON @extschema@.user_activities (created_at);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.user_activities', '');

COMMENT ON TABLE @extschema@.user_activities IS 'Append-only log of what users (and API keys, integrations, the system) did in a tenant; cleanup_activity_logs() keeps 180 days by default.';
COMMENT ON COLUMN @extschema@.user_activities.tenant_id IS 'Tenant the activity happened in.';
COMMENT ON COLUMN @extschema@.user_activities.id IS 'Activity identifier.';
COMMENT ON COLUMN @extschema@.user_activities.user_id IS 'Acting user of the application; NULL for system actions.';
COMMENT ON COLUMN @extschema@.user_activities.actor_type IS 'Who acted: user, api_key, system or integration.';
COMMENT ON COLUMN @extschema@.user_activities.action IS 'What was done, a lowercase dotted name such as invoice.created.';
COMMENT ON COLUMN @extschema@.user_activities.resource_type IS 'Kind of object acted on, e.g. invoice.';
COMMENT ON COLUMN @extschema@.user_activities.resource_id IS 'Identifier of the object acted on; needs resource_type.';
COMMENT ON COLUMN @extschema@.user_activities.description IS 'Human-readable description of the activity.';
COMMENT ON COLUMN @extschema@.user_activities.metadata IS 'Further details (changed fields, old and new values), as a JSON object.';
COMMENT ON COLUMN @extschema@.user_activities.ip_address IS 'Client IP address the action came from.';
COMMENT ON COLUMN @extschema@.user_activities.user_agent IS 'Client User-Agent header (at most 1024 characters).';
COMMENT ON COLUMN @extschema@.user_activities.session_id IS 'Application session the action belongs to.';
COMMENT ON COLUMN @extschema@.user_activities.created_at IS 'When the activity happened; retention is measured from it.';

INSERT INTO @extschema@.user_activities SELECT * FROM @extschema@.user_activities_partitioned;
DROP TABLE @extschema@.user_activities_partitioned;

-- api_usage_logs: the partitioned table leaves the extension and steps aside; a plain
-- table as in 0.5.0 takes its place and its rows.
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.api_usage_logs_default;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.api_usage_logs;
DO $$
DECLARE
    i record;
BEGIN
    FOR i IN SELECT c.relname FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid
              WHERE x.indrelid = '@extschema@.api_usage_logs'::pg_catalog.regclass
    LOOP
        EXECUTE pg_catalog.format('ALTER INDEX @extschema@.%I RENAME TO %I', i.relname,
                                  pg_catalog.replace(i.relname, 'api_usage_logs_', 'api_usage_logs_partitioned_'));
    END LOOP;
END
$$;
ALTER TABLE @extschema@.api_usage_logs RENAME TO api_usage_logs_partitioned;

CREATE TABLE @extschema@.api_usage_logs (
    tenant_id            uuid        NOT NULL,
    id                   uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id              uuid,
    api_key_id           uuid,
    method               text        NOT NULL,
    endpoint             text        NOT NULL,
    status_code          integer     NOT NULL,
    response_time_ms     integer     NOT NULL,
    request_size_bytes   bigint      NOT NULL DEFAULT 0,
    response_size_bytes  bigint      NOT NULL DEFAULT 0,
    ip_address           inet,
    user_agent           text,
    error_message        text,
    created_at           timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT api_usage_logs_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT api_usage_logs_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT api_usage_logs_method_check CHECK (
        method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS')),
    CONSTRAINT api_usage_logs_endpoint_check CHECK (pg_catalog.length(endpoint) BETWEEN 1 AND 2048),
    CONSTRAINT api_usage_logs_status_code_check CHECK (status_code BETWEEN 100 AND 599),
    CONSTRAINT api_usage_logs_response_time_ms_check CHECK (response_time_ms >= 0),
    CONSTRAINT api_usage_logs_sizes_check CHECK (request_size_bytes >= 0 AND response_size_bytes >= 0),
    CONSTRAINT api_usage_logs_user_agent_check CHECK (pg_catalog.length(user_agent) <= 1024)
);

CREATE INDEX api_usage_logs_tenant_id_created_at_idx ON @extschema@.api_usage_logs (tenant_id, created_at);
CREATE INDEX api_usage_logs_tenant_id_endpoint_created_at_idx
    ON @extschema@.api_usage_logs (tenant_id, endpoint, created_at);
CREATE INDEX api_usage_logs_tenant_id_status_code_idx ON @extschema@.api_usage_logs (tenant_id, status_code);
CREATE INDEX api_usage_logs_created_at_idx ON @extschema@.api_usage_logs (created_at);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.api_usage_logs', '');

COMMENT ON TABLE @extschema@.api_usage_logs IS 'Append-only log of API requests per tenant; cleanup_api_usage_logs() keeps 90 days by default.';
COMMENT ON COLUMN @extschema@.api_usage_logs.tenant_id IS 'Tenant the request was made for.';
COMMENT ON COLUMN @extschema@.api_usage_logs.id IS 'Request identifier.';
COMMENT ON COLUMN @extschema@.api_usage_logs.user_id IS 'Calling user of the application, when authenticated as a user.';
COMMENT ON COLUMN @extschema@.api_usage_logs.api_key_id IS 'API key the request was authenticated with, when any.';
COMMENT ON COLUMN @extschema@.api_usage_logs.method IS 'HTTP method: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.';
COMMENT ON COLUMN @extschema@.api_usage_logs.endpoint IS 'Request path or route template, e.g. /v1/invoices/{id} (1-2048 characters).';
COMMENT ON COLUMN @extschema@.api_usage_logs.status_code IS 'HTTP status code of the response (100-599).';
COMMENT ON COLUMN @extschema@.api_usage_logs.response_time_ms IS 'Latency from request to response, in milliseconds.';
COMMENT ON COLUMN @extschema@.api_usage_logs.request_size_bytes IS 'Size of the request body in bytes.';
COMMENT ON COLUMN @extschema@.api_usage_logs.response_size_bytes IS 'Size of the response body in bytes.';
COMMENT ON COLUMN @extschema@.api_usage_logs.ip_address IS 'Client IP address.';
COMMENT ON COLUMN @extschema@.api_usage_logs.user_agent IS 'Client User-Agent header (at most 1024 characters).';
COMMENT ON COLUMN @extschema@.api_usage_logs.error_message IS 'Error returned to the client, for failed requests.';
COMMENT ON COLUMN @extschema@.api_usage_logs.created_at IS 'When the request was received; retention is measured from it.';

INSERT INTO @extschema@.api_usage_logs SELECT * FROM @extschema@.api_usage_logs_partitioned;
DROP TABLE @extschema@.api_usage_logs_partitioned;

COMMENT ON FUNCTION @extschema@.record_usage(uuid, text, numeric, timestamptz) IS
    'Adds value to the tenant''s usage_metrics row for the UTC hour of at (sum, count, min, max) and returns that hour; concurrent calls lose nothing.';
