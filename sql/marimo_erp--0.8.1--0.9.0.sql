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

-- == Adoption: a database built by the seed's migrations ==
CREATE FUNCTION @extschema@.adopt_seed_tables(source pg_catalog.regnamespace)
    RETURNS TABLE (table_name text, rows_copied bigint)
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- Parents before children, so that every foreign key finds its row.
    tables constant text[] := ARRAY[
        'tenants', 'analytics_queries', 'dashboards', 'scheduled_reports',
        'webhooks', 'webhook_events', 'webhook_deliveries', 'webhook_logs',
        'integrations', 'integration_logs', 'stripe_customers', 'stripe_subscriptions', 'sendgrid_contacts',
        'usage_metrics', 'user_activities', 'api_usage_logs'];
    target text;
    source_table pg_catalog.regclass;
    target_table pg_catalog.regclass;
    shared_columns text;
    holds_rows boolean;
BEGIN
    IF source IS NULL THEN
        RAISE EXCEPTION 'marimo_erp: argument "source" must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF source OPERATOR(pg_catalog.=) '@extschema@'::pg_catalog.regnamespace THEN
        RAISE EXCEPTION 'marimo_erp: argument "source" must be the schema the seed''s tables were moved to, not the extension''s own'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- All or nothing: a second adoption would copy every row twice.
    FOREACH target IN ARRAY tables LOOP
        EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM @extschema@.%I)', target) INTO holds_rows;
        IF holds_rows THEN
            RAISE EXCEPTION 'marimo_erp: cannot adopt the seed''s tables: %.% already holds rows', '@extschema@', target
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'adopt_seed_tables() fills an empty installation, once.';
        END IF;
    END LOOP;
    FOREACH target IN ARRAY tables LOOP
        source_table := pg_catalog.to_regclass(pg_catalog.format('%s.%I', source, target));
        CONTINUE WHEN source_table IS NULL;
        target_table := pg_catalog.format('@extschema@.%I', target)::pg_catalog.regclass;
        -- The columns both have, by name; generated ones are computed again.
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(t.attname), ', ' ORDER BY t.attnum)
          INTO shared_columns
          FROM pg_catalog.pg_attribute t
          JOIN pg_catalog.pg_attribute s ON s.attrelid OPERATOR(pg_catalog.=) source_table
                                        AND s.attname OPERATOR(pg_catalog.=) t.attname
                                        AND s.attnum OPERATOR(pg_catalog.>) 0 AND NOT s.attisdropped
         WHERE t.attrelid OPERATOR(pg_catalog.=) target_table AND t.attnum OPERATOR(pg_catalog.>) 0
           AND NOT t.attisdropped AND t.attgenerated OPERATOR(pg_catalog.=) '';
        CONTINUE WHEN shared_columns IS NULL;
        EXECUTE pg_catalog.format('INSERT INTO %s (%s) SELECT %s FROM %s', target_table, shared_columns, shared_columns,
                                  source_table);
        GET DIAGNOSTICS rows_copied = ROW_COUNT;
        table_name := target;
        RETURN NEXT;
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION @extschema@.adopt_seed_tables(pg_catalog.regnamespace) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.adopt_seed_tables(pg_catalog.regnamespace) IS
    'Copies every row of the tables a database built by the seed''s migrations holds, moved into the schema source, into the extension''s empty tables (columns of the same name; parents first); returns the rows copied per table. The source tables are left as they are. For the owner or a superuser only.';

-- == Monitoring: partitions, maintenance history, webhook backlog ==

-- == Search for applications, and tenant routing ==
