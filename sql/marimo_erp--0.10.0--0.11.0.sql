-- marimo_erp 0.10.0 -> 0.11.0: integrations that sync (issue 12). Each section
-- below is one capability; each adds what a fresh 0.11.0 install has, in the
-- same column order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.11.0'" to load this file. \quit

-- == Secrets encrypted at rest ==

-- == Stripe: verified, idempotent, order-proof event ingestion ==

-- == SendGrid: verified event ingestion and suppression state ==

-- == Outbound provider calls: durable, retried, logged ==
-- integration_requests (new, no existing rows to repair) and the functions that
-- queue them, as src/integrations/outbound.sql has them for a fresh install.

CREATE TABLE @extschema@.integration_requests (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    integration_id          uuid        NOT NULL,
    operation               text        NOT NULL,
    method                  text        NOT NULL DEFAULT 'POST',
    path                    text        NOT NULL,
    body                    jsonb,
    context                 jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status                  text        NOT NULL DEFAULT 'pending',
    attempts                integer     NOT NULL DEFAULT 0,
    max_attempts            integer     NOT NULL DEFAULT 8,
    retry_schedule          interval[]  NOT NULL
        DEFAULT '{"5 seconds","5 minutes","30 minutes","2 hours","5 hours","10 hours","10 hours"}'::interval[],
    timeout_ms              integer     NOT NULL DEFAULT 15000,
    next_attempt_at         timestamptz DEFAULT pg_catalog.now(),
    lease_token             uuid,
    lease_expires_at        timestamptz,
    last_attempt_at         timestamptz,
    response_status         integer,
    last_error              text,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    completed_at            timestamptz,
    CONSTRAINT integration_requests_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT integration_requests_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT integration_requests_integration_id_fkey FOREIGN KEY (tenant_id, integration_id)
        REFERENCES @extschema@.integrations (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT integration_requests_operation_check CHECK (
        pg_catalog.length(pg_catalog.btrim(operation)) BETWEEN 1 AND 200),
    CONSTRAINT integration_requests_method_check CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')),
    CONSTRAINT integration_requests_path_check CHECK (
        path ~ '^/[!-~]*$' AND pg_catalog.length(path) <= 2048),
    CONSTRAINT integration_requests_context_check CHECK (pg_catalog.jsonb_typeof(context) = 'object'),
    CONSTRAINT integration_requests_status_check CHECK (status IN ('pending', 'in_flight', 'succeeded', 'failed')),
    CONSTRAINT integration_requests_attempts_check CHECK (attempts BETWEEN 0 AND max_attempts),
    CONSTRAINT integration_requests_max_attempts_check CHECK (max_attempts BETWEEN 1 AND 50),
    CONSTRAINT integration_requests_retry_schedule_check CHECK (
        pg_catalog.cardinality(retry_schedule) BETWEEN 1 AND 50
        AND pg_catalog.array_position(retry_schedule, NULL) IS NULL
        AND '00:00:01'::interval <= ALL (retry_schedule)
        AND '7 days'::interval >= ALL (retry_schedule)),
    CONSTRAINT integration_requests_timeout_ms_check CHECK (timeout_ms BETWEEN 1 AND 120000),
    CONSTRAINT integration_requests_pending_check CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL),
    CONSTRAINT integration_requests_lease_check CHECK (
        status <> 'in_flight' OR (lease_token IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CONSTRAINT integration_requests_response_status_check CHECK (response_status BETWEEN 100 AND 599)
);

CREATE INDEX integration_requests_due_idx ON @extschema@.integration_requests (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX integration_requests_lease_idx ON @extschema@.integration_requests (lease_expires_at)
    WHERE status = 'in_flight';
CREATE INDEX integration_requests_tenant_id_integration_id_created_at_idx
    ON @extschema@.integration_requests (tenant_id, integration_id, created_at);
CREATE INDEX integration_requests_completed_at_idx ON @extschema@.integration_requests (completed_at)
    WHERE status IN ('succeeded', 'failed');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.integration_requests', '');

COMMENT ON TABLE @extschema@.integration_requests IS
    'Queue of HTTP requests to the tenant''s providers (SendGrid, Stripe, ...), sent by the background worker with retries; every attempt is an integration_logs row. Holds no credential: they are read from the integration when a request is sent.';
COMMENT ON COLUMN @extschema@.integration_requests.tenant_id IS 'Tenant that owns the integration.';
COMMENT ON COLUMN @extschema@.integration_requests.id IS 'Request identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.integration_requests.integration_id IS 'Integration whose provider is called (integrations.id of the same tenant), with its credentials and base URL (config->>''base_url'').';
COMMENT ON COLUMN @extschema@.integration_requests.operation IS 'Logical operation (1-200 characters after trimming), e.g. contacts.upsert or mail.send; copied into each log row.';
COMMENT ON COLUMN @extschema@.integration_requests.method IS 'HTTP method: GET, POST, PUT, PATCH or DELETE.';
COMMENT ON COLUMN @extschema@.integration_requests.path IS 'Path (and query) below the integration''s base URL, starting with /, e.g. /v3/marketing/contacts; printable ASCII, at most 2048 characters.';
COMMENT ON COLUMN @extschema@.integration_requests.body IS 'JSON body to send; NULL for none. Never holds a credential.';
COMMENT ON COLUMN @extschema@.integration_requests.context IS 'What success means locally, as a JSON object: for contacts.upsert, {"sendgrid_contacts": [ids]} whose last_synced_at is then set.';
COMMENT ON COLUMN @extschema@.integration_requests.status IS 'pending (waiting for next_attempt_at), in_flight (claimed by the worker under a lease), succeeded (2xx) or failed (a 4xx other than 429, or max_attempts reached).';
COMMENT ON COLUMN @extschema@.integration_requests.attempts IS 'Attempts made so far, at most max_attempts.';
COMMENT ON COLUMN @extschema@.integration_requests.max_attempts IS 'Attempts allowed (1-50) before the request fails.';
COMMENT ON COLUMN @extschema@.integration_requests.retry_schedule IS 'Delays before retry 1, 2, ... (the last repeats), each 1 s to 7 days, with ±20 % jitter; a 429 or a timeout waits at least 60 s, and Retry-After is honoured.';
COMMENT ON COLUMN @extschema@.integration_requests.timeout_ms IS 'Time allowed for one attempt, in milliseconds (1-120000), capped by marimo_erp.webhook_max_timeout.';
COMMENT ON COLUMN @extschema@.integration_requests.next_attempt_at IS 'When the next attempt is due while pending; NULL once finished.';
COMMENT ON COLUMN @extschema@.integration_requests.lease_token IS 'Token of the worker''s current claim while in_flight; an outcome is recorded only under it.';
COMMENT ON COLUMN @extschema@.integration_requests.lease_expires_at IS 'When the claim lapses while in_flight (the timeout plus 30 s); a lapsed claim is sent again as the same attempt.';
COMMENT ON COLUMN @extschema@.integration_requests.last_attempt_at IS 'When the last attempt was claimed.';
COMMENT ON COLUMN @extschema@.integration_requests.response_status IS 'HTTP status of the last answer (100-599); NULL if none came.';
COMMENT ON COLUMN @extschema@.integration_requests.last_error IS 'Error of the last failed attempt (network error or HTTP status); NULL after success.';
COMMENT ON COLUMN @extschema@.integration_requests.created_at IS 'When the request was queued.';
COMMENT ON COLUMN @extschema@.integration_requests.completed_at IS 'When it succeeded or failed for good; cleanup_integration_logs deletes finished requests by this column.';

CREATE FUNCTION @extschema@.enqueue_integration_request(
    tenant uuid, integration uuid, operation text, method text, path text,
    body jsonb DEFAULT NULL, context jsonb DEFAULT '{}', max_attempts integer DEFAULT 8)
    RETURNS uuid
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'enqueue_integration_request_wrapper';
CREATE FUNCTION @extschema@.sync_sendgrid_contacts(tenant uuid, integration uuid)
    RETURNS bigint
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'sync_sendgrid_contacts_wrapper';

COMMENT ON FUNCTION @extschema@.enqueue_integration_request(uuid, uuid, text, text, text, jsonb, jsonb, integer) IS
    'Queues an HTTP request to the provider of a tenant''s integration (path below its base URL, JSON body without credentials), sent by the background worker with retries and logged in integration_logs; returns the request id. Operators only.';
COMMENT ON FUNCTION @extschema@.sync_sendgrid_contacts(uuid, uuid) IS
    'Queues upserts of the tenant''s SendGrid contacts not yet synced (or changed since) to SendGrid''s Marketing Contacts API (PUT /v3/marketing/contacts, in batches), through integration, a sendgrid integration of the tenant; success sets their last_synced_at. Returns the number of contacts queued. An application may sync only its current tenant.';

-- Operators: everything but DDL. Applications: read their tenant's requests;
-- they queue them through sync_sendgrid_contacts().
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.integration_requests TO marimo_admin;
GRANT SELECT ON @extschema@.integration_requests TO marimo_app;
SELECT @extschema@.isolate_tenant_rows('@extschema@.integration_requests'::pg_catalog.regclass);

REVOKE ALL ON FUNCTION @extschema@.enqueue_integration_request(uuid, uuid, text, text, text, jsonb, jsonb, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.enqueue_integration_request(uuid, uuid, text, text, text, jsonb, jsonb, integer)
    TO marimo_admin;
REVOKE ALL ON FUNCTION @extschema@.sync_sendgrid_contacts(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.sync_sendgrid_contacts(uuid, uuid) TO marimo_app, marimo_admin;
