-- The reference: what users run today, without marimo_erp's native functions.
-- Its tables are the seed migrations' (005_create_usage_tracking): raw events,
-- unpartitioned, with the seed's indexes. It lives in its own database of the
-- benchmark cluster (next to the extension's tenants table), schema reference.

CREATE SCHEMA reference;

-- API requests, exactly as the seed (and marimo_erp 0.5.0) defines api_usage_logs:
-- one unpartitioned table, primary key plus four indexes, no rollup.
-- The benchmark creates the primary key, the foreign key and the indexes after the
-- bulk load (reference/indexes.sql), which gives them their tightest layout.
CREATE TABLE reference.api_usage_logs (
    tenant_id            uuid        NOT NULL,
    id                   uuid        NOT NULL DEFAULT gen_random_uuid(),
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
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_usage_logs_method_check CHECK (
        method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS')),
    CONSTRAINT api_usage_logs_endpoint_check CHECK (length(endpoint) BETWEEN 1 AND 2048),
    CONSTRAINT api_usage_logs_status_code_check CHECK (status_code BETWEEN 100 AND 599),
    CONSTRAINT api_usage_logs_response_time_ms_check CHECK (response_time_ms >= 0),
    CONSTRAINT api_usage_logs_sizes_check CHECK (request_size_bytes >= 0 AND response_size_bytes >= 0),
    CONSTRAINT api_usage_logs_user_agent_check CHECK (length(user_agent) <= 1024)
);

-- Other usage events (record_usage): one row per event, as an application that
-- meters usage without a rollup stores them.
CREATE TABLE reference.usage_events (
    tenant_id        uuid        NOT NULL REFERENCES public.tenants (id) ON DELETE CASCADE,
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    metric_type      text        NOT NULL CHECK (metric_type ~ '^[a-z][a-z0-9_]{0,62}$'),
    value            numeric     NOT NULL CHECK (value >= 0),
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    idempotency_key  text,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX usage_events_tenant_id_metric_type_recorded_at_idx
    ON reference.usage_events (tenant_id, metric_type, recorded_at);
CREATE UNIQUE INDEX usage_events_tenant_id_idempotency_key_idx
    ON reference.usage_events (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX usage_events_recorded_at_idx ON reference.usage_events (recorded_at);
