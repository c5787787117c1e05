-- Usage tracking (seed migration 005_create_usage_tracking, extension version 0.5.0;
-- logs partitioned by day, rollups and idempotency keys since 0.6.0, privileges
-- and isolation since 0.7.0).
--
-- usage_metrics is a rollup: one row per tenant, metric and UTC hour, kept by
-- record_usage() with an upsert, so limits and aggregates read a few hundred
-- rows per tenant and month instead of raw events. user_activities and
-- api_usage_logs are append-only logs with their own retention cleanups.

CREATE TABLE @extschema@.usage_metrics (
    tenant_id     uuid        NOT NULL,
    metric_type   text        NOT NULL,
    period_start  timestamptz NOT NULL,
    value_sum     numeric     NOT NULL,
    sample_count  bigint      NOT NULL,
    value_min     numeric     NOT NULL,
    value_max     numeric     NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT usage_metrics_pkey PRIMARY KEY (tenant_id, metric_type, period_start),
    CONSTRAINT usage_metrics_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT usage_metrics_metric_type_check CHECK (metric_type ~ '^[a-z][a-z0-9_]{0,62}$'),
    -- Rows are whole UTC hours: extract(epoch) is time-zone independent.
    CONSTRAINT usage_metrics_period_start_check CHECK (
        pg_catalog.mod(EXTRACT(epoch FROM period_start), 3600) = 0),
    CONSTRAINT usage_metrics_values_check CHECK (
        value_min >= 0 AND value_min <= value_max AND value_sum >= value_max),
    CONSTRAINT usage_metrics_sample_count_check CHECK (sample_count >= 1)
);

-- Every reader of the rollups names the tenant and the metric and reads a range
-- of hours: the primary key (tenant_id, metric_type, period_start) serves them
-- all, and the cascade of a tenant's deletion (tenant_id leads it). Until 0.13.0
-- there were also (tenant_id, period_start) and (period_start) indexes; no
-- statement needed them, and the second misled the planner: period_start follows
-- the heap order, so with the default random_page_cost it read a tenant's month
-- through it and filtered out every other tenant's rows, more of them as tenants
-- grow. Nothing reads the rollups by time alone (no cleanup of old rollups
-- exists); one would scan the table, once, which is what removing most of it costs anyway.

CREATE TRIGGER usage_metrics_set_updated_at BEFORE UPDATE ON @extschema@.usage_metrics
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.usage_metrics', '');

COMMENT ON TABLE @extschema@.usage_metrics IS 'Hourly usage rollups per tenant and metric (API calls, storage, ...), kept by roll_up_usage() from what record_usage() and API log inserts append to usage_deltas; aggregate_usage_metrics() and check_tenant_limit() read both.';
COMMENT ON COLUMN @extschema@.usage_metrics.tenant_id IS 'Tenant whose usage this is.';
COMMENT ON COLUMN @extschema@.usage_metrics.metric_type IS 'What is measured, a lowercase identifier such as api_calls or storage_bytes.';
COMMENT ON COLUMN @extschema@.usage_metrics.period_start IS 'Start of the UTC hour the row covers.';
COMMENT ON COLUMN @extschema@.usage_metrics.value_sum IS 'Sum of the values recorded in the hour.';
COMMENT ON COLUMN @extschema@.usage_metrics.sample_count IS 'Number of values recorded in the hour.';
COMMENT ON COLUMN @extschema@.usage_metrics.value_min IS 'Smallest value recorded in the hour.';
COMMENT ON COLUMN @extschema@.usage_metrics.value_max IS 'Largest value recorded in the hour.';
COMMENT ON COLUMN @extschema@.usage_metrics.created_at IS 'When the hour''s first value was recorded.';
COMMENT ON COLUMN @extschema@.usage_metrics.updated_at IS 'When the hour''s last value was recorded; kept by the set_updated_at trigger.';

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

-- Usage deltas (0.13.0): record_usage() and the API usage rollup append one
-- row here instead of updating the tenant's hourly row of usage_metrics, so
-- that many sessions recording for one tenant and hour never wait on one row
-- (an append-then-roll-up design, as TimescaleDB's real-time continuous
-- aggregates keep a materialized part and merge the newest rows at read time).
-- roll_up_usage() moves deltas into usage_metrics in one statement; readers sum
-- both tables, so every committed call counts at once, exactly once.
CREATE TABLE @extschema@.usage_deltas (
    tenant_id     uuid        NOT NULL,
    metric_type   text        NOT NULL,
    period_start  timestamptz NOT NULL,
    value_sum     numeric     NOT NULL,
    sample_count  bigint      NOT NULL,
    value_min     numeric     NOT NULL,
    value_max     numeric     NOT NULL
);

CREATE INDEX usage_deltas_tenant_id_metric_type_period_start_idx
    ON @extschema@.usage_deltas (tenant_id, metric_type, period_start);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.usage_deltas', '');

COMMENT ON TABLE @extschema@.usage_deltas IS 'Usage recorded but not yet rolled up into usage_metrics: record_usage() and the API usage rollup append here (no hot row to wait on), roll_up_usage() moves the rows into usage_metrics, and readers add both. No foreign key: writers lock the tenant themselves, and a trigger on tenants deletes a tenant''s deltas with it.';
COMMENT ON COLUMN @extschema@.usage_deltas.tenant_id IS 'Tenant whose usage this is.';
COMMENT ON COLUMN @extschema@.usage_deltas.metric_type IS 'What is measured, as in usage_metrics.';
COMMENT ON COLUMN @extschema@.usage_deltas.period_start IS 'Start of the UTC hour of usage_metrics the delta belongs to.';
COMMENT ON COLUMN @extschema@.usage_deltas.value_sum IS 'Sum of the values of the delta (one record_usage call, or one statement''s API requests).';
COMMENT ON COLUMN @extschema@.usage_deltas.sample_count IS 'Number of values of the delta.';
COMMENT ON COLUMN @extschema@.usage_deltas.value_min IS 'Smallest value of the delta.';
COMMENT ON COLUMN @extschema@.usage_deltas.value_max IS 'Largest value of the delta.';

-- One statement moves a batch: the deltas it deletes are the ones it adds, and
-- both commit together, so a reader sees a delta either here or in usage_metrics.
-- SKIP LOCKED: two roll-ups at once take different deltas, none twice. A delta
-- committed late, whatever its hour, is simply taken by a later roll-up; the
-- API logs are never read, so a day dropped by a cleanup loses nothing.
CREATE FUNCTION @extschema@.roll_up_usage(batch_size integer DEFAULT 10000) RETURNS bigint
    LANGUAGE sql
    VOLATILE PARALLEL UNSAFE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH picked AS (
        SELECT d.ctid FROM @extschema@.usage_deltas AS d
         LIMIT GREATEST(batch_size, 1)
           FOR UPDATE SKIP LOCKED),
    moved AS (
        DELETE FROM @extschema@.usage_deltas AS d
         WHERE d.ctid = ANY (ARRAY(SELECT p.ctid FROM picked AS p))
        RETURNING d.tenant_id, d.metric_type, d.period_start, d.value_sum, d.sample_count, d.value_min, d.value_max),
    merged AS (
        INSERT INTO @extschema@.usage_metrics AS m
               (tenant_id, metric_type, period_start, value_sum, sample_count, value_min, value_max)
        SELECT mv.tenant_id, mv.metric_type, mv.period_start, pg_catalog.sum(mv.value_sum),
               pg_catalog.sum(mv.sample_count)::bigint, pg_catalog.min(mv.value_min), pg_catalog.max(mv.value_max)
          FROM moved AS mv
         -- A tenant deleted since its delta was written: the delta goes with it.
         WHERE EXISTS (SELECT FROM @extschema@.tenants AS t WHERE t.id = mv.tenant_id)
         GROUP BY 1, 2, 3
         -- One order for every roll-up, so two never wait on each other's rows in turn.
         ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, metric_type, period_start) DO UPDATE
           SET value_sum    = m.value_sum + excluded.value_sum,
               sample_count = m.sample_count + excluded.sample_count,
               value_min    = LEAST(m.value_min, excluded.value_min),
               value_max    = GREATEST(m.value_max, excluded.value_max)
        RETURNING 1)
    SELECT pg_catalog.count(*) FROM moved
$$;

COMMENT ON FUNCTION @extschema@.roll_up_usage(integer) IS
    'Moves up to batch_size rows of usage_deltas into the hourly rows of usage_metrics, atomically, and returns how many it moved; run by run_maintenance() and, every few thousand calls, by record_usage() and API log inserts through roll_up_usage_in_passing(). Sessions running it at once never take the same delta, but may wait on each other''s usage_metrics rows until the other commits.';

-- The writers' roll-up in passing (0.13.0): every 4096 deltas a backend appends
-- (record_usage() calls, API log statements; 0.13.0 took one API log statement
-- in a thousand at random) roll a batch up inside the caller's transaction, so
-- that usage_deltas stays short between maintenance runs. It must never fail or stall the caller: a lock it would
-- wait on for more than lock_timeout (run_maintenance() holding the hour's rows,
-- another roll-up, a deadlock) or a transaction snapshot that another roll-up
-- has moved deltas past (REPEATABLE READ, SERIALIZABLE: 40001) leaves the
-- batch for later, and the subtransaction gives back what it locked.
CREATE FUNCTION @extschema@.roll_up_usage_in_passing() RETURNS bigint
    LANGUAGE plpgsql
    VOLATILE PARALLEL UNSAFE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET lock_timeout = '100ms'
AS $$
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RETURN 0;
    END IF;
    RETURN @extschema@.roll_up_usage(8192);
EXCEPTION WHEN lock_not_available OR deadlock_detected OR serialization_failure THEN
    RETURN 0;
END
$$;

COMMENT ON FUNCTION @extschema@.roll_up_usage_in_passing() IS
    'roll_up_usage(8192) as the writers run it in passing (every 4096 deltas a backend appends through record_usage and API log inserts): skipped under REPEATABLE READ and SERIALIZABLE, and given up, returning 0, on a lock wait over 100 ms, a deadlock or a serialization failure, so that it never fails or stalls the caller. Not for direct use.';

-- A tenant's deltas go with the tenant, as its rollups do through their foreign key.
CREATE FUNCTION @extschema@.delete_tenant_usage_deltas() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.usage_deltas WHERE tenant_id = OLD.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_delete_usage_deltas AFTER DELETE ON @extschema@.tenants
    FOR EACH ROW EXECUTE FUNCTION @extschema@.delete_tenant_usage_deltas();

COMMENT ON FUNCTION @extschema@.delete_tenant_usage_deltas() IS
    'Row trigger on tenants: deletes the tenant''s usage_deltas, which have no foreign key (record_usage locks the tenant row instead, once per call).';

-- API usage feeds the rollup (0.6.0), once per statement over all its rows, so
-- aggregate_usage_metrics() and check_tenant_limit() never read raw logs. Since
-- 0.13.0 it appends the statement's sums to usage_deltas (no hot row, no lock
-- held on usage_metrics by the inserting transaction). Since 0.13.1 the trigger
-- function is native (api_rollup.rs): it reads the transition table itself and
-- writes as the extension's owner, without the cost of a SECURITY DEFINER
-- function's SET clause on every insert; every 4096 deltas a backend appends,
-- it also rolls a batch of deltas up.
CREATE TRIGGER api_usage_logs_rollup AFTER INSERT ON @extschema@.api_usage_logs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.rollup_api_usage();

COMMENT ON FUNCTION @extschema@.rollup_api_usage() IS
    'Statement trigger on api_usage_logs (native since 0.13.1): appends the inserted requests to usage_deltas as api_requests, api_response_time_ms and api_server_errors (status >= 500) per tenant and UTC hour, as the extension''s owner, and every 4096 deltas a backend appends rolls a batch up (roll_up_usage_in_passing).';

-- The limit check and the aggregate (0.5.0) return named types since 0.9.0, so
-- that a driver can register and decode a row selected as one value.
CREATE TYPE @extschema@.tenant_limit_check AS (
    allowed boolean,
    limit_type text,
    current_value bigint,
    limit_value bigint,
    remaining bigint,
    reason text
);
COMMENT ON TYPE @extschema@.tenant_limit_check IS 'A row of check_tenant_limit(): whether the tenant may go on, and the numbers behind the answer.';
COMMENT ON COLUMN @extschema@.tenant_limit_check.allowed IS 'Whether the tenant may do more: current_value <= limit_value and the tenant is in good standing.';
COMMENT ON COLUMN @extschema@.tenant_limit_check.limit_type IS 'The limit checked, as passed.';
COMMENT ON COLUMN @extschema@.tenant_limit_check.current_value IS 'Usage counted against the limit: the value passed, or measured.';
COMMENT ON COLUMN @extschema@.tenant_limit_check.limit_value IS 'The tenant''s limit; NULL when none is configured (then allowed).';
COMMENT ON COLUMN @extschema@.tenant_limit_check.remaining IS 'limit_value - current_value, never below 0; NULL without a limit.';
COMMENT ON COLUMN @extschema@.tenant_limit_check.reason IS 'Why the answer is no (limit reached, suspended, cancelled, trial over), NULL when allowed.';

CREATE TYPE @extschema@.usage_aggregate AS (
    bucket_start timestamptz,
    metric_type text,
    total numeric,
    average numeric,
    minimum numeric,
    maximum numeric,
    samples bigint
);
COMMENT ON TYPE @extschema@.usage_aggregate IS 'A row of aggregate_usage_metrics(): a metric over the whole range or over one UTC bucket.';
COMMENT ON COLUMN @extschema@.usage_aggregate.bucket_start IS 'Start of the bucket (UTC hour, day, ISO week or month), or of the range without a bucket.';
COMMENT ON COLUMN @extschema@.usage_aggregate.metric_type IS 'The metric aggregated.';
COMMENT ON COLUMN @extschema@.usage_aggregate.total IS 'Sum of the values recorded (0 without data).';
COMMENT ON COLUMN @extschema@.usage_aggregate.average IS 'Average value per sample; NULL without data.';
COMMENT ON COLUMN @extschema@.usage_aggregate.minimum IS 'Smallest value recorded; NULL without data.';
COMMENT ON COLUMN @extschema@.usage_aggregate.maximum IS 'Largest value recorded; NULL without data.';
COMMENT ON COLUMN @extschema@.usage_aggregate.samples IS 'Number of values recorded.';

CREATE FUNCTION @extschema@.check_tenant_limit(tenant uuid, limit_type text, current_value bigint DEFAULT NULL)
    RETURNS SETOF @extschema@.tenant_limit_check
    STABLE PARALLEL RESTRICTED ROWS 1
    LANGUAGE c AS 'MODULE_PATHNAME', 'check_tenant_limit_wrapper';

-- Two signatures: timestamptz, what every driver sends for an aware time, and
-- the seed's timestamp, read as UTC. An untyped literal picks timestamptz (the
-- preferred type of its category), read in the session's time zone.
CREATE FUNCTION @extschema@.aggregate_usage_metrics(tenant uuid, metric_type text, "from" timestamptz,
                                                    "to" timestamptz, bucket text DEFAULT NULL)
    RETURNS SETOF @extschema@.usage_aggregate
    STABLE PARALLEL RESTRICTED
    LANGUAGE c AS 'MODULE_PATHNAME', 'aggregate_usage_metrics_tz_wrapper';
CREATE FUNCTION @extschema@.aggregate_usage_metrics(tenant uuid, metric_type text, "from" timestamp,
                                                    "to" timestamp, bucket text DEFAULT NULL)
    RETURNS SETOF @extschema@.usage_aggregate
    STABLE PARALLEL RESTRICTED
    LANGUAGE c AS 'MODULE_PATHNAME', 'aggregate_usage_metrics_wrapper';

COMMENT ON FUNCTION @extschema@.record_usage(uuid, text, numeric, timestamptz, text) IS
    'Records value for the tenant and the UTC hour of at (a row of usage_deltas, which roll_up_usage() adds to that hour''s usage_metrics row: sum, count, min, max) and returns that hour; concurrent calls lose nothing and never wait on each other; a repeated idempotency_key counts once.';
COMMENT ON FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamptz, timestamptz, text) IS
    'Total, average, minimum, maximum and sample count of a tenant''s metric over [from, to): one row for the range, or one per UTC hour, day, week or month with data.';
COMMENT ON FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text) IS
    'The seed''s signature: as aggregate_usage_metrics(uuid, text, timestamptz, timestamptz, text) with from and to read as UTC, whatever the session''s time zone.';
COMMENT ON FUNCTION @extschema@.check_tenant_limit(uuid, text, bigint) IS
    'Checks a tenant''s usage against its limit: allowed when current_value <= limit_value and the tenant is neither suspended, cancelled nor past its trial without a subscription. Without current_value, measures usage where marimo_erp holds the data.';
COMMENT ON FUNCTION @extschema@.cleanup_activity_logs(interval, integer) IS
    'Removes user_activities rows older than retention (default 180 days). Wholly expired UTC days are dropped one transaction a day by a background worker, so that inserts wait for one day''s drop at most; the expired rows of the boundary day and the default partition are deleted in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches. Returns the number of rows removed: a dropped day''s rows are taken from the statistics (pg_stat live tuples, or pg_class.reltuples), not read, exact once the day was vacuumed after its last insert, an estimate otherwise; a day never vacuumed nor analyzed is counted. Days the worker dropped stay dropped if the calling transaction rolls back.';
COMMENT ON FUNCTION @extschema@.cleanup_api_usage_logs(interval, integer) IS
    'Removes api_usage_logs rows older than retention (default 90 days). Wholly expired UTC days are dropped one transaction a day by a background worker, so that inserts wait for one day''s drop at most; the expired rows of the boundary day and the default partition are deleted in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches. Returns the number of rows removed: a dropped day''s rows are taken from the statistics (pg_stat live tuples, or pg_class.reltuples), not read, exact once the day was vacuumed after its last insert, an estimate otherwise; a day never vacuumed nor analyzed is counted. Days the worker dropped stay dropped if the calling transaction rolls back.';
COMMENT ON FUNCTION @extschema@.cleanup_idempotency_keys(interval, integer) IS
    'Forgets record_usage idempotency keys older than retention (default 35 days), in batches; returns the number removed.';

-- Privileges and isolation (0.7.0). Operators: everything but DDL. Usage is
-- written only by record_usage() and the API usage rollup: an application that
-- could write it could rewrite its own bill. Logs are append-only for applications.
GRANT SELECT, INSERT, UPDATE, DELETE ON
    @extschema@.usage_metrics, @extschema@.usage_idempotency_keys, @extschema@.user_activities,
    @extschema@.api_usage_logs, @extschema@.usage_deltas
    TO marimo_admin;
GRANT SELECT, INSERT ON @extschema@.user_activities, @extschema@.api_usage_logs TO marimo_app;
GRANT SELECT ON @extschema@.usage_metrics, @extschema@.usage_idempotency_keys, @extschema@.usage_deltas TO marimo_app;
SELECT pg_catalog.count(@extschema@.isolate_tenant_rows(t))
  FROM pg_catalog.unnest(ARRAY['@extschema@.usage_metrics', '@extschema@.usage_idempotency_keys',
                               '@extschema@.user_activities', '@extschema@.user_activities_default',
                               '@extschema@.api_usage_logs', '@extschema@.api_usage_logs_default',
                               '@extschema@.usage_deltas'
                              ]::pg_catalog.regclass[]) AS t;

REVOKE ALL ON FUNCTION
    @extschema@.rollup_api_usage(), @extschema@.roll_up_usage(integer), @extschema@.delete_tenant_usage_deltas(),
    @extschema@.roll_up_usage_in_passing(),
    @extschema@.check_tenant_limit(uuid, text, bigint),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamptz, timestamptz, text),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text),
    @extschema@.record_usage(uuid, text, numeric, timestamptz, text),
    @extschema@.cleanup_activity_logs(interval, integer), @extschema@.cleanup_api_usage_logs(interval, integer),
    @extschema@.cleanup_idempotency_keys(interval, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.check_tenant_limit(uuid, text, bigint),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamptz, timestamptz, text),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text),
    @extschema@.record_usage(uuid, text, numeric, timestamptz, text)
    TO marimo_app, marimo_admin;
GRANT EXECUTE ON FUNCTION
    @extschema@.cleanup_activity_logs(interval, integer), @extschema@.cleanup_api_usage_logs(interval, integer),
    @extschema@.cleanup_idempotency_keys(interval, integer), @extschema@.roll_up_usage(integer)
    TO marimo_admin;
