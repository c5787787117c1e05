-- marimo_erp 0.8.1 -> 0.9.0: the users' own paths (issue 15). Each section
-- below is one capability; each adds what a fresh 0.9.0 install has, in the
-- same column order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.9.0'" to load this file. \quit

-- == Extension tables refuse changes pg_dump would not keep ==
CREATE FUNCTION @extschema@.guard_member_ddl() RETURNS event_trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'guard_member_ddl';
REVOKE ALL ON FUNCTION @extschema@.guard_member_ddl() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.guard_member_ddl() IS
    'Event trigger function of marimo_erp_member_ddl: refuses ALTER TABLE, CREATE INDEX, CREATE TRIGGER, CREATE RULE and renames on the extension''s tables (pg_dump keeps their rows, not changes to their definitions, so a restore would fail or lose them), outside extension scripts and pg_upgrade; lets partitions be attached and detached, and tuning with a WARNING.';

CREATE EVENT TRIGGER marimo_erp_member_ddl ON ddl_command_start
    WHEN TAG IN ('ALTER TABLE', 'CREATE INDEX', 'CREATE TRIGGER', 'CREATE RULE')
    EXECUTE FUNCTION @extschema@.guard_member_ddl();
COMMENT ON EVENT TRIGGER marimo_erp_member_ddl IS
    'Refuses changes to the definitions of marimo_erp''s tables that pg_dump would not keep; see guard_member_ddl().';


-- == Usage: timestamptz bounds and named result types ==
-- check_tenant_limit and aggregate_usage_metrics return named types, which a
-- return type change cannot do in place: each is created again, with the same
-- privileges. aggregate_usage_metrics gains a timestamptz signature.
DROP FUNCTION @extschema@.check_tenant_limit(uuid, text, bigint);
DROP FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text);

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

COMMENT ON FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamptz, timestamptz, text) IS
    'Total, average, minimum, maximum and sample count of a tenant''s metric over [from, to): one row for the range, or one per UTC hour, day, week or month with data.';
COMMENT ON FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text) IS
    'The seed''s signature: as aggregate_usage_metrics(uuid, text, timestamptz, timestamptz, text) with from and to read as UTC, whatever the session''s time zone.';
COMMENT ON FUNCTION @extschema@.check_tenant_limit(uuid, text, bigint) IS
    'Checks a tenant''s usage against its limit: allowed when current_value <= limit_value and the tenant is neither suspended, cancelled nor past its trial without a subscription. Without current_value, measures usage where marimo_erp holds the data.';
REVOKE ALL ON FUNCTION
    @extschema@.check_tenant_limit(uuid, text, bigint),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamptz, timestamptz, text),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.check_tenant_limit(uuid, text, bigint),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamptz, timestamptz, text),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text)
    TO marimo_app, marimo_admin;

-- == Monitoring: partitions, maintenance history, webhook backlog ==

-- == Search for applications, and tenant routing ==
