-- marimo_erp 0.9.0 -> 0.8.1: takes back what 0.9.0 added, in reverse order.
-- Refuses while a table it drops holds rows, unless marimo_erp.allow_data_loss is on.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.8.1'" to load this file. \quit

-- == Search for applications, and tenant routing ==

-- == Monitoring: partitions, maintenance history, webhook backlog ==

-- == Adoption: a database built by the seed's migrations ==
DROP FUNCTION @extschema@.adopt_seed_tables(pg_catalog.regnamespace);

-- == Usage: timestamptz bounds and named result types ==
-- Back to 0.8.1's anonymous row types and the timestamp signature alone.
DROP FUNCTION @extschema@.check_tenant_limit(uuid, text, bigint);
DROP FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamptz, timestamptz, text);
DROP FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text);
DROP TYPE @extschema@.tenant_limit_check;
DROP TYPE @extschema@.usage_aggregate;

CREATE FUNCTION @extschema@.check_tenant_limit(tenant uuid, limit_type text, current_value bigint DEFAULT NULL)
    RETURNS TABLE (allowed bool, limit_type text, current_value bigint, limit_value bigint, remaining bigint,
                   reason text)
    STABLE PARALLEL RESTRICTED
    LANGUAGE c AS 'MODULE_PATHNAME', 'check_tenant_limit_wrapper';
CREATE FUNCTION @extschema@.aggregate_usage_metrics(tenant uuid, metric_type text, "from" timestamp,
                                                    "to" timestamp, bucket text DEFAULT NULL)
    RETURNS TABLE (bucket_start timestamptz, metric_type text, total numeric, average numeric, minimum numeric,
                   maximum numeric, samples bigint)
    STABLE PARALLEL RESTRICTED
    LANGUAGE c AS 'MODULE_PATHNAME', 'aggregate_usage_metrics_wrapper';
COMMENT ON FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text) IS
    'Total, average, minimum, maximum and sample count of a tenant''s metric over [from, to) (read as UTC): one row for the range, or one per hour, day, week or month with data.';
COMMENT ON FUNCTION @extschema@.check_tenant_limit(uuid, text, bigint) IS
    'Checks a tenant''s usage against its limit: allowed when current_value <= limit_value and the tenant is neither suspended, cancelled nor past its trial without a subscription. Without current_value, measures usage where marimo_erp holds the data.';
REVOKE ALL ON FUNCTION
    @extschema@.check_tenant_limit(uuid, text, bigint),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.check_tenant_limit(uuid, text, bigint),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text)
    TO marimo_app, marimo_admin;

-- == Extension tables refuse changes pg_dump would not keep ==
DROP EVENT TRIGGER marimo_erp_member_ddl;
DROP FUNCTION @extschema@.guard_member_ddl();
