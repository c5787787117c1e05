\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.6.0'" to load this file. \quit
-- marimo_erp 0.5.0 -> 0.6.0. Frozen with the 0.6.0 release: never edit it, add a version.
--
-- The append-only logs become tables partitioned by UTC day. No large table is
-- rewritten and no index is rebuilt: each existing log table is attached, as it
-- is, with its primary key and indexes, as the partition of everything up to
-- tomorrow (its rows dated later, if any, move to the default partition), and
-- retention drops it whole once all of it has expired. The attach reads the
-- table once to check its bound.
-- Existing API usage logs are rolled up into usage_metrics once; new ones are
-- rolled up by a statement trigger.

-- Native functions (Rust), exactly as cargo pgrx schema emits them.

DROP FUNCTION @extschema@.record_usage(uuid, text, numeric, timestamptz);
CREATE FUNCTION @extschema@."record_usage"(
	"tenant" uuid,
	"metric_type" TEXT,
	"value" NUMERIC,
	"at" timestamp with time zone DEFAULT now(),
	"idempotency_key" TEXT DEFAULT NULL
) RETURNS timestamp with time zone
VOLATILE PARALLEL UNSAFE 
LANGUAGE c
AS 'MODULE_PATHNAME', 'record_usage_with_key_wrapper';

CREATE FUNCTION @extschema@."cleanup_idempotency_keys"(
	"retention" interval DEFAULT '35 days',
	"batch_size" INT DEFAULT 10000
) RETURNS bigint
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'cleanup_idempotency_keys_wrapper';

CREATE FUNCTION @extschema@."create_log_partitions"(
	"table_name" TEXT,
	"from_day" date,
	"to_day" date
) RETURNS INT
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'create_log_partitions_wrapper';

CREATE FUNCTION @extschema@."run_maintenance"(
	"premake" interval DEFAULT '7 days'
) RETURNS TABLE (
	"action" TEXT,
	"relation" TEXT,
	"rows" bigint
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'run_maintenance_wrapper';

-- webhook_logs: the 0.5.0 table steps aside, leaves the extension, and becomes a partition.
DO $$
DECLARE
    i record;
BEGIN
    -- Index names are unique per schema: free the ones the new parent will use.
    FOR i IN SELECT c.relname FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid
              WHERE x.indrelid = '@extschema@.webhook_logs'::pg_catalog.regclass
    LOOP
        EXECUTE pg_catalog.format('ALTER INDEX @extschema@.%I RENAME TO %I', i.relname,
                                  pg_catalog.replace(i.relname, 'webhook_logs_', 'webhook_logs_legacy_'));
    END LOOP;
END
$$;
ALTER TABLE @extschema@.webhook_logs RENAME TO webhook_logs_legacy;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.webhook_logs_legacy;

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

DO $$
DECLARE
    tomorrow timestamptz := (pg_catalog.date_trunc('day', pg_catalog.now() AT TIME ZONE 'UTC') + interval '1 day')
                            AT TIME ZONE 'UTC';
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.webhook_logs_legacy) THEN
        DROP TABLE @extschema@.webhook_logs_legacy;
        RETURN;
    END IF;
    -- Rows dated tomorrow or later go to the default partition, the rest stay put.
    WITH moved AS (DELETE FROM @extschema@.webhook_logs_legacy WHERE created_at >= tomorrow RETURNING *)
    INSERT INTO @extschema@.webhook_logs SELECT * FROM moved;
    EXECUTE pg_catalog.format('ALTER TABLE @extschema@.webhook_logs ATTACH PARTITION @extschema@.webhook_logs_legacy '
                              'FOR VALUES FROM (MINVALUE) TO (%L)', tomorrow);
    COMMENT ON TABLE @extschema@.webhook_logs_legacy IS
        'The webhook_logs rows of marimo_erp 0.5.0, up to the day of the upgrade; dropped whole once all of it has expired.';
END
$$;

-- integration_logs: the 0.5.0 table steps aside, leaves the extension, and becomes a partition.
DO $$
DECLARE
    i record;
BEGIN
    -- Index names are unique per schema: free the ones the new parent will use.
    FOR i IN SELECT c.relname FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid
              WHERE x.indrelid = '@extschema@.integration_logs'::pg_catalog.regclass
    LOOP
        EXECUTE pg_catalog.format('ALTER INDEX @extschema@.%I RENAME TO %I', i.relname,
                                  pg_catalog.replace(i.relname, 'integration_logs_', 'integration_logs_legacy_'));
    END LOOP;
END
$$;
ALTER TABLE @extschema@.integration_logs RENAME TO integration_logs_legacy;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.integration_logs_legacy;

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
) PARTITION BY RANGE (created_at);



COMMENT ON TABLE @extschema@.integration_logs IS
    'Append-only log of calls between the tenant''s integrations and their providers, one row per call; purged by cleanup_integration_logs. Partitioned by UTC day on created_at.';
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

-- Partitioned by UTC day. The parent has no indexes of its own: pg_restore
-- attaches the dumped daily partitions to the parent CREATE EXTENSION made, and
-- would clash with indexes the parent cloned onto them. The default partition
-- (rows outside every daily one) is the template: run_maintenance() creates each
-- daily partition LIKE it, with its primary key, indexes and comments. Daily
-- partitions are ordinary tables, so pg_dump writes them with their rows.
CREATE TABLE @extschema@.integration_logs_default (
    LIKE @extschema@.integration_logs INCLUDING ALL,
    CONSTRAINT integration_logs_default_pkey PRIMARY KEY (tenant_id, id)
);
CREATE INDEX integration_logs_default_tenant_id_created_at_idx ON @extschema@.integration_logs_default (tenant_id, created_at);
CREATE INDEX integration_logs_default_tenant_id_integration_id_created_at_idx ON @extschema@.integration_logs_default (tenant_id, integration_id, created_at);
CREATE INDEX integration_logs_default_tenant_id_status_created_at_idx ON @extschema@.integration_logs_default (tenant_id, status, created_at);
CREATE INDEX integration_logs_default_created_at_idx ON @extschema@.integration_logs_default (created_at);
ALTER TABLE @extschema@.integration_logs ATTACH PARTITION @extschema@.integration_logs_default DEFAULT;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.integration_logs_default', '');
COMMENT ON TABLE @extschema@.integration_logs_default IS
    'Rows of integration_logs outside every daily partition, and the template of the daily partitions; run_maintenance() moves its rows into the partitions it creates.';

DO $$
DECLARE
    tomorrow timestamptz := (pg_catalog.date_trunc('day', pg_catalog.now() AT TIME ZONE 'UTC') + interval '1 day')
                            AT TIME ZONE 'UTC';
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.integration_logs_legacy) THEN
        DROP TABLE @extschema@.integration_logs_legacy;
        RETURN;
    END IF;
    -- Rows dated tomorrow or later go to the default partition, the rest stay put.
    WITH moved AS (DELETE FROM @extschema@.integration_logs_legacy WHERE created_at >= tomorrow RETURNING *)
    INSERT INTO @extschema@.integration_logs SELECT * FROM moved;
    EXECUTE pg_catalog.format('ALTER TABLE @extschema@.integration_logs ATTACH PARTITION @extschema@.integration_logs_legacy '
                              'FOR VALUES FROM (MINVALUE) TO (%L)', tomorrow);
    COMMENT ON TABLE @extschema@.integration_logs_legacy IS
        'The integration_logs rows of marimo_erp 0.5.0, up to the day of the upgrade; dropped whole once all of it has expired.';
END
$$;

-- user_activities: the 0.5.0 table steps aside, leaves the extension, and becomes a partition.
DO $$
DECLARE
    i record;
BEGIN
    -- Index names are unique per schema: free the ones the new parent will use.
    FOR i IN SELECT c.relname FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid
              WHERE x.indrelid = '@extschema@.user_activities'::pg_catalog.regclass
    LOOP
        EXECUTE pg_catalog.format('ALTER INDEX @extschema@.%I RENAME TO %I', i.relname,
                                  pg_catalog.replace(i.relname, 'user_activities_', 'user_activities_legacy_'));
    END LOOP;
END
$$;
ALTER TABLE @extschema@.user_activities RENAME TO user_activities_legacy;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.user_activities_legacy;

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
    CONSTRAINT user_activities_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT user_activities_actor_type_check CHECK (actor_type IN ('user', 'api_key', 'system', 'integration')),
    CONSTRAINT user_activities_action_check CHECK (action ~ '^[a-z][a-z0-9_.]{0,99}$'),
    CONSTRAINT user_activities_resource_check CHECK (resource_id IS NULL OR resource_type IS NOT NULL),
    CONSTRAINT user_activities_metadata_check CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
    CONSTRAINT user_activities_user_agent_check CHECK (pg_catalog.length(user_agent) <= 1024)
) PARTITION BY RANGE (created_at);



COMMENT ON TABLE @extschema@.user_activities IS 'Append-only log of what users (and API keys, integrations, the system) did in a tenant; cleanup_activity_logs() keeps 180 days by default. Partitioned by UTC day on created_at.';
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

-- Partitioned by UTC day. The parent has no indexes of its own: pg_restore
-- attaches the dumped daily partitions to the parent CREATE EXTENSION made, and
-- would clash with indexes the parent cloned onto them. The default partition
-- (rows outside every daily one) is the template: run_maintenance() creates each
-- daily partition LIKE it, with its primary key, indexes and comments. Daily
-- partitions are ordinary tables, so pg_dump writes them with their rows.
CREATE TABLE @extschema@.user_activities_default (
    LIKE @extschema@.user_activities INCLUDING ALL,
    CONSTRAINT user_activities_default_pkey PRIMARY KEY (tenant_id, id)
);
CREATE INDEX user_activities_default_tenant_id_created_at_idx ON @extschema@.user_activities_default (tenant_id, created_at);
CREATE INDEX user_activities_default_tenant_id_user_id_created_at_idx ON @extschema@.user_activities_default (tenant_id, user_id, created_at);
CREATE INDEX user_activities_default_tenant_id_resource_idx ON @extschema@.user_activities_default (tenant_id, resource_type, resource_id);
CREATE INDEX user_activities_default_created_at_idx ON @extschema@.user_activities_default (created_at);
ALTER TABLE @extschema@.user_activities ATTACH PARTITION @extschema@.user_activities_default DEFAULT;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.user_activities_default', '');
COMMENT ON TABLE @extschema@.user_activities_default IS
    'Rows of user_activities outside every daily partition, and the template of the daily partitions; run_maintenance() moves its rows into the partitions it creates.';

DO $$
DECLARE
    tomorrow timestamptz := (pg_catalog.date_trunc('day', pg_catalog.now() AT TIME ZONE 'UTC') + interval '1 day')
                            AT TIME ZONE 'UTC';
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.user_activities_legacy) THEN
        DROP TABLE @extschema@.user_activities_legacy;
        RETURN;
    END IF;
    -- Rows dated tomorrow or later go to the default partition, the rest stay put.
    WITH moved AS (DELETE FROM @extschema@.user_activities_legacy WHERE created_at >= tomorrow RETURNING *)
    INSERT INTO @extschema@.user_activities SELECT * FROM moved;
    EXECUTE pg_catalog.format('ALTER TABLE @extschema@.user_activities ATTACH PARTITION @extschema@.user_activities_legacy '
                              'FOR VALUES FROM (MINVALUE) TO (%L)', tomorrow);
    COMMENT ON TABLE @extschema@.user_activities_legacy IS
        'The user_activities rows of marimo_erp 0.5.0, up to the day of the upgrade; dropped whole once all of it has expired.';
END
$$;

-- api_usage_logs: the 0.5.0 table steps aside, leaves the extension, and becomes a partition.
DO $$
DECLARE
    i record;
BEGIN
    -- Index names are unique per schema: free the ones the new parent will use.
    FOR i IN SELECT c.relname FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid
              WHERE x.indrelid = '@extschema@.api_usage_logs'::pg_catalog.regclass
    LOOP
        EXECUTE pg_catalog.format('ALTER INDEX @extschema@.%I RENAME TO %I', i.relname,
                                  pg_catalog.replace(i.relname, 'api_usage_logs_', 'api_usage_logs_legacy_'));
    END LOOP;
END
$$;
ALTER TABLE @extschema@.api_usage_logs RENAME TO api_usage_logs_legacy;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.api_usage_logs_legacy;

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
    CONSTRAINT api_usage_logs_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT api_usage_logs_method_check CHECK (
        method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS')),
    CONSTRAINT api_usage_logs_endpoint_check CHECK (pg_catalog.length(endpoint) BETWEEN 1 AND 2048),
    CONSTRAINT api_usage_logs_status_code_check CHECK (status_code BETWEEN 100 AND 599),
    CONSTRAINT api_usage_logs_response_time_ms_check CHECK (response_time_ms >= 0),
    CONSTRAINT api_usage_logs_sizes_check CHECK (request_size_bytes >= 0 AND response_size_bytes >= 0),
    CONSTRAINT api_usage_logs_user_agent_check CHECK (pg_catalog.length(user_agent) <= 1024)
) PARTITION BY RANGE (created_at);



COMMENT ON TABLE @extschema@.api_usage_logs IS 'Append-only log of API requests per tenant; cleanup_api_usage_logs() keeps 90 days by default. Partitioned by UTC day on created_at.';
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

-- Partitioned by UTC day. The parent has no indexes of its own: pg_restore
-- attaches the dumped daily partitions to the parent CREATE EXTENSION made, and
-- would clash with indexes the parent cloned onto them. The default partition
-- (rows outside every daily one) is the template: run_maintenance() creates each
-- daily partition LIKE it, with its primary key, indexes and comments. Daily
-- partitions are ordinary tables, so pg_dump writes them with their rows.
CREATE TABLE @extschema@.api_usage_logs_default (
    LIKE @extschema@.api_usage_logs INCLUDING ALL,
    CONSTRAINT api_usage_logs_default_pkey PRIMARY KEY (tenant_id, id)
);
CREATE INDEX api_usage_logs_default_tenant_id_created_at_idx ON @extschema@.api_usage_logs_default (tenant_id, created_at);
CREATE INDEX api_usage_logs_default_tenant_id_endpoint_created_at_idx ON @extschema@.api_usage_logs_default (tenant_id, endpoint, created_at);
CREATE INDEX api_usage_logs_default_tenant_id_status_code_idx ON @extschema@.api_usage_logs_default (tenant_id, status_code);
CREATE INDEX api_usage_logs_default_created_at_idx ON @extschema@.api_usage_logs_default (created_at);
ALTER TABLE @extschema@.api_usage_logs ATTACH PARTITION @extschema@.api_usage_logs_default DEFAULT;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.api_usage_logs_default', '');
COMMENT ON TABLE @extschema@.api_usage_logs_default IS
    'Rows of api_usage_logs outside every daily partition, and the template of the daily partitions; run_maintenance() moves its rows into the partitions it creates.';

DO $$
DECLARE
    tomorrow timestamptz := (pg_catalog.date_trunc('day', pg_catalog.now() AT TIME ZONE 'UTC') + interval '1 day')
                            AT TIME ZONE 'UTC';
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.api_usage_logs_legacy) THEN
        DROP TABLE @extschema@.api_usage_logs_legacy;
        RETURN;
    END IF;
    -- Rows dated tomorrow or later go to the default partition, the rest stay put.
    WITH moved AS (DELETE FROM @extschema@.api_usage_logs_legacy WHERE created_at >= tomorrow RETURNING *)
    INSERT INTO @extschema@.api_usage_logs SELECT * FROM moved;
    EXECUTE pg_catalog.format('ALTER TABLE @extschema@.api_usage_logs ATTACH PARTITION @extschema@.api_usage_logs_legacy '
                              'FOR VALUES FROM (MINVALUE) TO (%L)', tomorrow);
    COMMENT ON TABLE @extschema@.api_usage_logs_legacy IS
        'The api_usage_logs rows of marimo_erp 0.5.0, up to the day of the upgrade; dropped whole once all of it has expired.';
END
$$;

-- Existing API usage logs, rolled up once, as the trigger does for new ones.
INSERT INTO @extschema@.usage_metrics AS m
       (tenant_id, metric_type, period_start, value_sum, sample_count, value_min, value_max)
SELECT r.tenant_id, x.metric_type,
       pg_catalog.date_bin('1 hour', r.created_at, '2000-01-01 00:00:00+00'),
       pg_catalog.sum(x.value), pg_catalog.count(*), pg_catalog.min(x.value), pg_catalog.max(x.value)
  FROM @extschema@.api_usage_logs AS r
 CROSS JOIN LATERAL (VALUES ('api_requests', 1::numeric),
                            ('api_response_time_ms', r.response_time_ms::numeric),
                            ('api_server_errors', CASE WHEN r.status_code >= 500 THEN 1::numeric END))
       AS x(metric_type, value)
 WHERE x.value IS NOT NULL
 GROUP BY 1, 2, 3
ON CONFLICT (tenant_id, metric_type, period_start) DO UPDATE
   SET value_sum    = m.value_sum + excluded.value_sum,
       sample_count = m.sample_count + excluded.sample_count,
       value_min    = LEAST(m.value_min, excluded.value_min),
       value_max    = GREATEST(m.value_max, excluded.value_max);

-- Idempotency keys of record_usage (0.6.0): a key seen before is counted once.
CREATE TABLE @extschema@.usage_idempotency_keys (
    tenant_id        uuid        NOT NULL,
    idempotency_key  text        NOT NULL,
    metric_type      text        NOT NULL,
    period_start     timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT usage_idempotency_keys_pkey PRIMARY KEY (tenant_id, idempotency_key),
    CONSTRAINT usage_idempotency_keys_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT usage_idempotency_keys_idempotency_key_check CHECK (
        pg_catalog.octet_length(idempotency_key) BETWEEN 1 AND 255)
);

CREATE INDEX usage_idempotency_keys_created_at_idx ON @extschema@.usage_idempotency_keys (created_at);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.usage_idempotency_keys', '');

COMMENT ON TABLE @extschema@.usage_idempotency_keys IS 'Idempotency keys record_usage() has seen, so that a retried call counts once; cleanup_idempotency_keys() forgets them after 35 days by default.';
COMMENT ON COLUMN @extschema@.usage_idempotency_keys.tenant_id IS 'Tenant the key belongs to; keys are unique per tenant.';
COMMENT ON COLUMN @extschema@.usage_idempotency_keys.idempotency_key IS 'The caller''s key (1-255 bytes), e.g. its event or transaction id.';
COMMENT ON COLUMN @extschema@.usage_idempotency_keys.metric_type IS 'Metric the first call with this key recorded.';
COMMENT ON COLUMN @extschema@.usage_idempotency_keys.period_start IS 'UTC hour the first call with this key recorded into.';
COMMENT ON COLUMN @extschema@.usage_idempotency_keys.created_at IS 'When the key was first seen; retention is measured from it.';

-- API usage feeds the rollup (0.6.0), once per statement over all its rows, so
-- aggregate_usage_metrics() and check_tenant_limit() never read raw logs.
CREATE FUNCTION @extschema@.rollup_api_usage() RETURNS trigger
    LANGUAGE plpgsql
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
    ON CONFLICT (tenant_id, metric_type, period_start) DO UPDATE
       SET value_sum    = m.value_sum + excluded.value_sum,
           sample_count = m.sample_count + excluded.sample_count,
           value_min    = LEAST(m.value_min, excluded.value_min),
           value_max    = GREATEST(m.value_max, excluded.value_max);
    RETURN NULL;
END
$$;

CREATE TRIGGER api_usage_logs_rollup AFTER INSERT ON @extschema@.api_usage_logs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.rollup_api_usage();

COMMENT ON FUNCTION @extschema@.rollup_api_usage() IS
    'Statement trigger on api_usage_logs: adds the inserted requests to usage_metrics as api_requests, api_response_time_ms and api_server_errors (status >= 500) per tenant and UTC hour.';

COMMENT ON FUNCTION @extschema@.record_usage(uuid, text, numeric, timestamptz, text) IS
    'Adds value to the tenant''s usage_metrics row for the UTC hour of at (sum, count, min, max) and returns that hour; concurrent calls lose nothing; a repeated idempotency_key counts once.';
COMMENT ON FUNCTION @extschema@.cleanup_idempotency_keys(interval, integer) IS
    'Forgets record_usage idempotency keys older than retention (default 35 days), in batches; returns the number removed.';
COMMENT ON FUNCTION @extschema@.create_log_partitions(text, date, date) IS
    'Creates the daily partitions of a log table (webhook_logs, integration_logs, user_activities, api_usage_logs) for every UTC day from from_day to to_day that no partition covers yet, moving matching rows out of the default partition; returns how many it created.';
COMMENT ON FUNCTION @extschema@.run_maintenance(interval) IS
    'Creates the daily log partitions from yesterday to premake ahead (default 7 days) and runs every cleanup with its default retention; returns what it did. Schedule it at least daily, e.g. with pg_cron.';
