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
-- The history of run_maintenance() and the cleanups (src/logs/logs.sql), the
-- two seed views counting the logs' partitions (new columns at the end), and
-- the views of partitions, maintenance and webhook backlog
-- (src/monitoring/monitoring.sql).
-- The history of maintenance (0.9.0): one row per run_maintenance() call and per
-- cleanup call, written by the call itself, in the calling transaction: a call
-- that fails leaves no row. For operators
-- only: no tenant's data, so no row-level security; marimo_admin reads it.
-- run_maintenance() prunes it after marimo_erp.maintenance_history_retention.
CREATE TABLE @extschema@.maintenance_runs (
    id                  uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    task                text        NOT NULL,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz NOT NULL,
    duration            interval    GENERATED ALWAYS AS (finished_at - started_at) STORED,
    rows_removed        bigint      NOT NULL DEFAULT 0,
    partitions_created  integer     NOT NULL DEFAULT 0,
    partitions_dropped  integer     NOT NULL DEFAULT 0,
    run_by              text        NOT NULL,
    maintenance_run     uuid,
    details             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT maintenance_runs_pkey PRIMARY KEY (id),
    CONSTRAINT maintenance_runs_finished_check CHECK (finished_at >= started_at),
    CONSTRAINT maintenance_runs_counts_check CHECK (
        rows_removed >= 0 AND partitions_created >= 0 AND partitions_dropped >= 0),
    CONSTRAINT maintenance_runs_details_check CHECK (pg_catalog.jsonb_typeof(details) = 'object')
);

CREATE INDEX maintenance_runs_started_at_idx ON @extschema@.maintenance_runs (started_at);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.maintenance_runs', '');

COMMENT ON TABLE @extschema@.maintenance_runs IS
    'History of run_maintenance() and of every cleanup_* call: when each ran, for how long, as whom and what it did. run_maintenance() deletes the rows older than marimo_erp.maintenance_history_retention (90 days by default), so it does not grow forever. Operators only (marimo_admin).';
COMMENT ON COLUMN @extschema@.maintenance_runs.id IS 'Identifier of the run.';
COMMENT ON COLUMN @extschema@.maintenance_runs.task IS 'The function that ran: run_maintenance or a cleanup_* function.';
COMMENT ON COLUMN @extschema@.maintenance_runs.started_at IS 'When the call began (clock time, not the transaction''s start).';
COMMENT ON COLUMN @extschema@.maintenance_runs.finished_at IS 'When the call finished its work; it is committed with the transaction that made the call.';
COMMENT ON COLUMN @extschema@.maintenance_runs.duration IS 'How long the call took: finished_at - started_at.';
COMMENT ON COLUMN @extschema@.maintenance_runs.rows_removed IS 'Rows the call removed, by deleting them or by dropping their partitions (for run_maintenance, those of the cleanups it ran and of the history it pruned).';
COMMENT ON COLUMN @extschema@.maintenance_runs.partitions_created IS 'Daily log partitions the call created.';
COMMENT ON COLUMN @extschema@.maintenance_runs.partitions_dropped IS 'Wholly expired daily log partitions the call dropped.';
COMMENT ON COLUMN @extschema@.maintenance_runs.run_by IS 'The role that made the call (the session''s role, outside any SECURITY DEFINER function).';
COMMENT ON COLUMN @extschema@.maintenance_runs.maintenance_run IS 'For a cleanup that run_maintenance() called, the id of that run_maintenance() row; NULL for a call of its own.';
COMMENT ON COLUMN @extschema@.maintenance_runs.details IS 'What the call did, as JSON: tables (each table cleaned, with rows_removed, partitions_dropped and the cutoff older_than), partitions_created (each with rows_moved out of the default partition), and for run_maintenance premake_days.';

GRANT SELECT ON @extschema@.maintenance_runs TO marimo_admin;

-- security_invoker: a caller sees only the statistics its own privileges show.
CREATE OR REPLACE VIEW @extschema@.monitoring_table_sizes WITH (security_invoker = true) AS
SELECT n.nspname AS schemaname,
       c.relname AS tablename,
       pg_catalog.pg_size_pretty(s.total_bytes) AS size,
       s.total_bytes,
       s.table_bytes,
       s.index_bytes,
       s.partitions,
       s.row_estimate
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'marimo_erp'
  JOIN pg_catalog.pg_class c ON c.oid = d.objid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 CROSS JOIN LATERAL (
       SELECT pg_catalog.sum(pg_catalog.pg_total_relation_size(t.relid))::bigint AS total_bytes,
              pg_catalog.sum(pg_catalog.pg_relation_size(t.relid))::bigint AS table_bytes,
              pg_catalog.sum(pg_catalog.pg_indexes_size(t.relid))::bigint AS index_bytes,
              (pg_catalog.count(*) FILTER (WHERE t.level > 0))::integer AS partitions,
              pg_catalog.sum(r.reltuples) FILTER (WHERE t.isleaf AND r.reltuples >= 0)::bigint AS row_estimate
         FROM (SELECT c.oid AS relid, 0 AS level, true AS isleaf WHERE c.relkind <> 'p'
               UNION ALL
               SELECT p.relid, p.level, p.isleaf FROM pg_catalog.pg_partition_tree(c.oid) p) t
         JOIN pg_catalog.pg_class r ON r.oid = t.relid) s
 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
   AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
   AND d.deptype = 'e'
   AND c.relkind IN ('r', 'p')
   AND NOT c.relispartition
 ORDER BY s.total_bytes DESC, c.relname;

COMMENT ON VIEW @extschema@.monitoring_table_sizes IS 'Size of every marimo_erp table with its indexes and TOAST, largest first (the seed''s "Table Sizes" query); a partitioned log counts all its partitions (since 0.9.0; monitoring_partitions has each partition).';
COMMENT ON COLUMN @extschema@.monitoring_table_sizes.schemaname IS 'Schema of the table.';
COMMENT ON COLUMN @extschema@.monitoring_table_sizes.tablename IS 'Name of the table (a partitioned log by its parent''s name; its partitions are not listed on their own).';
COMMENT ON COLUMN @extschema@.monitoring_table_sizes.size IS 'Total size, human-readable.';
COMMENT ON COLUMN @extschema@.monitoring_table_sizes.total_bytes IS 'Total size in bytes: table, indexes and TOAST, summed over every partition of a partitioned log.';
COMMENT ON COLUMN @extschema@.monitoring_table_sizes.table_bytes IS 'Size of the table''s main fork in bytes, summed over every partition of a partitioned log.';
COMMENT ON COLUMN @extschema@.monitoring_table_sizes.index_bytes IS 'Size of the table''s indexes in bytes, summed over every partition of a partitioned log.';
COMMENT ON COLUMN @extschema@.monitoring_table_sizes.partitions IS 'Number of partitions (default partition included) of a partitioned log; 0 for a table that is not partitioned.';
COMMENT ON COLUMN @extschema@.monitoring_table_sizes.row_estimate IS 'Estimated rows (pg_class.reltuples), summed over the partitions that VACUUM or ANALYZE has measured; NULL when none has been.';

CREATE OR REPLACE VIEW @extschema@.monitoring_index_usage WITH (security_invoker = true) AS
SELECT s.schemaname,
       c.relname AS tablename,
       s.indexrelname AS indexname,
       s.idx_scan,
       s.idx_tup_read,
       s.idx_tup_fetch,
       pg_catalog.pg_relation_size(s.indexrelid) AS index_bytes,
       CASE WHEN t.level > 0 THEN s.relname END AS partitionname
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'marimo_erp'
  JOIN pg_catalog.pg_class c ON c.oid = d.objid
 CROSS JOIN LATERAL (
       SELECT c.oid AS relid, 0 AS level WHERE c.relkind <> 'p'
       UNION ALL
       SELECT p.relid, p.level FROM pg_catalog.pg_partition_tree(c.oid) p) t
  JOIN pg_catalog.pg_stat_user_indexes s ON s.relid = t.relid
 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
   AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
   AND d.deptype = 'e'
   AND c.relkind IN ('r', 'p')
   AND NOT c.relispartition
 ORDER BY s.idx_scan DESC, s.indexrelname;

COMMENT ON VIEW @extschema@.monitoring_index_usage IS 'How often each index of a marimo_erp table is used, most used first (the seed''s "Index Usage" query), the indexes of every partition of the partitioned logs included (since 0.9.0); idx_scan = 0 marks candidates for removal.';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.schemaname IS 'Schema of the table.';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.tablename IS 'Table the index belongs to; for an index of a partition, the partitioned log (see partitionname).';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.indexname IS 'Name of the index.';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.idx_scan IS 'Number of index scans since statistics were last reset.';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.idx_tup_read IS 'Index entries returned by scans of the index.';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.idx_tup_fetch IS 'Live table rows fetched by simple index scans of the index.';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.index_bytes IS 'Size of the index in bytes.';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.partitionname IS 'The partition the index is on (default or daily partition of a log); NULL for the index of a table that is not partitioned.';

-- The bounds of a partition, read in ISO and UTC whatever the session's
-- DateStyle and TimeZone are: pg_get_expr prints them in the session's settings
-- and the casts read them back with them (src/logs/queries/partitions_of.sql
-- pins the same two settings).
CREATE FUNCTION @extschema@.monitoring_partition_bounds(
    partition regclass, OUT is_default boolean, OUT lower_bound timestamptz, OUT upper_bound timestamptz)
RETURNS record
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $fn$
SELECT b.bound OPERATOR(pg_catalog.=) 'DEFAULT',
       pg_catalog.substring(b.bound, $re$FROM \('([^']*)'\)$re$)::pg_catalog.timestamptz,
       pg_catalog.substring(b.bound, $re$TO \('([^']*)'\)$re$)::pg_catalog.timestamptz
  FROM (SELECT pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound
          FROM pg_catalog.pg_class c
         WHERE c.oid OPERATOR(pg_catalog.=) $1 AND c.relispartition) b
$fn$;

REVOKE ALL ON FUNCTION @extschema@.monitoring_partition_bounds(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.monitoring_partition_bounds(regclass) TO marimo_admin;

COMMENT ON FUNCTION @extschema@.monitoring_partition_bounds(regclass) IS
    'The range of a partition of a log: is_default, and lower_bound (inclusive) and upper_bound (exclusive) as timestamptz (NULL for the default partition, MINVALUE and MAXVALUE), read the same whatever the session''s DateStyle and TimeZone; all NULL for a relation that is not a partition. Used by monitoring_partitions.';

CREATE VIEW @extschema@.monitoring_partitions WITH (security_invoker = true) AS
SELECT n.nspname AS schemaname,
       c.relname AS tablename,
       p.relname AS partitionname,
       b.is_default,
       b.lower_bound,
       b.upper_bound,
       CASE WHEN p.reltuples >= 0 THEN p.reltuples::bigint END AS row_estimate,
       GREATEST(st.last_analyze, st.last_autoanalyze) AS last_analyzed,
       pg_catalog.pg_size_pretty(pg_catalog.pg_total_relation_size(p.oid)) AS size,
       pg_catalog.pg_total_relation_size(p.oid) AS total_bytes,
       pg_catalog.pg_relation_size(p.oid) AS table_bytes,
       pg_catalog.pg_indexes_size(p.oid) AS index_bytes
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'marimo_erp'
  JOIN pg_catalog.pg_class c ON c.oid = d.objid
 CROSS JOIN LATERAL pg_catalog.pg_partition_tree(c.oid) t
  JOIN pg_catalog.pg_class p ON p.oid = t.relid
  JOIN pg_catalog.pg_namespace n ON n.oid = p.relnamespace
 CROSS JOIN LATERAL @extschema@.monitoring_partition_bounds(p.oid) b
  LEFT JOIN pg_catalog.pg_stat_user_tables st ON st.relid = p.oid
 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
   AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
   AND d.deptype = 'e'
   AND c.relkind = 'p'
   AND NOT c.relispartition
   AND t.level > 0
 ORDER BY c.relname, b.is_default DESC, b.lower_bound, p.relname;

COMMENT ON VIEW @extschema@.monitoring_partitions IS 'Every partition of the partitioned logs (webhook_logs, integration_logs, user_activities, api_usage_logs): its range, estimated rows and size; per log, the default partition first, then the days in order.';
COMMENT ON COLUMN @extschema@.monitoring_partitions.schemaname IS 'Schema of the partition.';
COMMENT ON COLUMN @extschema@.monitoring_partitions.tablename IS 'The partitioned log the partition belongs to.';
COMMENT ON COLUMN @extschema@.monitoring_partitions.partitionname IS 'Name of the partition: <log>_default or <log>_pYYYYMMDD.';
COMMENT ON COLUMN @extschema@.monitoring_partitions.is_default IS 'Whether this is the default partition, which takes the rows no daily partition covers.';
COMMENT ON COLUMN @extschema@.monitoring_partitions.lower_bound IS 'Start of the partition''s range (inclusive), for a daily partition midnight UTC of its day; NULL for the default partition.';
COMMENT ON COLUMN @extschema@.monitoring_partitions.upper_bound IS 'End of the partition''s range (exclusive), for a daily partition midnight UTC of the next day; NULL for the default partition.';
COMMENT ON COLUMN @extschema@.monitoring_partitions.row_estimate IS 'Estimated rows (pg_class.reltuples); NULL while neither VACUUM nor ANALYZE has measured the partition.';
COMMENT ON COLUMN @extschema@.monitoring_partitions.last_analyzed IS 'When the partition was last analysed, by ANALYZE or autovacuum; NULL if never.';
COMMENT ON COLUMN @extschema@.monitoring_partitions.size IS 'Total size of the partition, human-readable.';
COMMENT ON COLUMN @extschema@.monitoring_partitions.total_bytes IS 'Total size of the partition in bytes: table, indexes and TOAST.';
COMMENT ON COLUMN @extschema@.monitoring_partitions.table_bytes IS 'Size of the partition''s main fork in bytes.';
COMMENT ON COLUMN @extschema@.monitoring_partitions.index_bytes IS 'Size of the partition''s indexes in bytes.';

CREATE VIEW @extschema@.monitoring_maintenance WITH (security_invoker = true) AS
SELECT l.task,
       a.runs,
       a.first_started_at,
       l.started_at AS last_started_at,
       l.finished_at AS last_finished_at,
       l.duration AS last_duration,
       l.rows_removed AS last_rows_removed,
       l.partitions_created AS last_partitions_created,
       l.partitions_dropped AS last_partitions_dropped,
       l.run_by AS last_run_by,
       a.longest_duration,
       a.rows_removed
  FROM (SELECT DISTINCT ON (r.task) r.*
          FROM @extschema@.maintenance_runs r
         ORDER BY r.task, r.started_at DESC, r.finished_at DESC) l
  JOIN (SELECT r.task, pg_catalog.count(*) AS runs, pg_catalog.min(r.started_at) AS first_started_at,
               pg_catalog.max(r.duration) AS longest_duration, pg_catalog.sum(r.rows_removed)::bigint AS rows_removed
          FROM @extschema@.maintenance_runs r
         GROUP BY r.task) a ON a.task = l.task
 ORDER BY l.task;

COMMENT ON VIEW @extschema@.monitoring_maintenance IS 'Per task (run_maintenance and each cleanup), its last run and a summary of the history kept in maintenance_runs (90 days by default, see marimo_erp.maintenance_history_retention); a task that stopped running shows an old last_started_at.';
COMMENT ON COLUMN @extschema@.monitoring_maintenance.task IS 'The function: run_maintenance or a cleanup_* function.';
COMMENT ON COLUMN @extschema@.monitoring_maintenance.runs IS 'Runs of the task in the kept history.';
COMMENT ON COLUMN @extschema@.monitoring_maintenance.first_started_at IS 'Start of the oldest run kept in the history.';
COMMENT ON COLUMN @extschema@.monitoring_maintenance.last_started_at IS 'When the last run began.';
COMMENT ON COLUMN @extschema@.monitoring_maintenance.last_finished_at IS 'When the last run finished.';
COMMENT ON COLUMN @extschema@.monitoring_maintenance.last_duration IS 'How long the last run took.';
COMMENT ON COLUMN @extschema@.monitoring_maintenance.last_rows_removed IS 'Rows the last run removed.';
COMMENT ON COLUMN @extschema@.monitoring_maintenance.last_partitions_created IS 'Daily partitions the last run created.';
COMMENT ON COLUMN @extschema@.monitoring_maintenance.last_partitions_dropped IS 'Daily partitions the last run dropped.';
COMMENT ON COLUMN @extschema@.monitoring_maintenance.last_run_by IS 'The role that made the last run.';
COMMENT ON COLUMN @extschema@.monitoring_maintenance.longest_duration IS 'The longest run in the kept history.';
COMMENT ON COLUMN @extschema@.monitoring_maintenance.rows_removed IS 'Rows removed by all the runs in the kept history.';

CREATE VIEW @extschema@.monitoring_webhook_backlog WITH (security_invoker = true) AS
SELECT w.tenant_id,
       t.slug AS tenant_slug,
       w.id AS webhook_id,
       w.name AS webhook_name,
       CASE WHEN w.disabled_at IS NOT NULL THEN 'disabled'
            WHEN NOT w.is_active THEN 'paused'
            WHEN w.failing_since IS NOT NULL THEN 'failing'
            ELSE 'active' END AS endpoint_status,
       COALESCE(q.pending, 0) AS pending,
       COALESCE(q.in_progress, 0) AS in_progress,
       COALESCE(q.failing, 0) AS failing,
       COALESCE(q.failed, 0) AS failed,
       q.oldest_due,
       q.oldest_created_at,
       w.failure_count,
       w.failing_since,
       w.last_success_at,
       w.last_failure_at
  FROM @extschema@.webhooks w
  JOIN @extschema@.tenants t ON t.id = w.tenant_id
  LEFT JOIN (
       SELECT dl.tenant_id, dl.webhook_id,
              pg_catalog.count(*) FILTER (WHERE dl.status = 'pending') AS pending,
              pg_catalog.count(*) FILTER (WHERE dl.status = 'in_progress') AS in_progress,
              pg_catalog.count(*) FILTER (WHERE dl.status IN ('pending', 'in_progress') AND dl.attempts > 0) AS failing,
              pg_catalog.count(*) FILTER (WHERE dl.status = 'failed') AS failed,
              pg_catalog.min(dl.next_attempt_at) FILTER (WHERE dl.status = 'pending') AS oldest_due,
              pg_catalog.min(dl.created_at) FILTER (WHERE dl.status IN ('pending', 'in_progress')) AS oldest_created_at
         FROM @extschema@.webhook_deliveries dl
        WHERE dl.status IN ('pending', 'in_progress', 'failed')
        GROUP BY dl.tenant_id, dl.webhook_id) q ON q.tenant_id = w.tenant_id AND q.webhook_id = w.id
 ORDER BY pending DESC, q.oldest_due NULLS LAST, w.tenant_id, w.id;

COMMENT ON VIEW @extschema@.monitoring_webhook_backlog IS 'The webhook delivery backlog per tenant and endpoint, every endpoint listed, largest backlog first: deliveries waiting, being sent, failing and given up, the oldest due, and the endpoint''s health.';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.tenant_id IS 'Tenant of the endpoint.';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.tenant_slug IS 'Slug of the tenant.';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.webhook_id IS 'The endpoint (webhooks.id).';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.webhook_name IS 'Display name of the endpoint.';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.endpoint_status IS 'disabled (disabled_at set, after failures or by an operator), paused (is_active false), failing (failing since failing_since) or active.';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.pending IS 'Deliveries waiting to be sent (status pending), first attempts and retries.';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.in_progress IS 'Deliveries the worker is sending now (status in_progress, under a lease).';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.failing IS 'Deliveries not yet delivered that have failed at least one attempt (pending or in_progress with attempts > 0).';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.failed IS 'Deliveries that used up their attempts (status failed), kept until cleanup_webhook_logs removes them; replay_webhook_deliveries() sends them again.';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.oldest_due IS 'The earliest next_attempt_at of the pending deliveries: how long the oldest has been due when in the past; NULL when none is pending.';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.oldest_created_at IS 'When the oldest delivery still pending or in progress was created; NULL when there is none.';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.failure_count IS 'Consecutive failed attempts of the endpoint since its last success.';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.failing_since IS 'When the endpoint''s current run of failures began; NULL after a success.';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.last_success_at IS 'When an attempt to the endpoint last succeeded.';
COMMENT ON COLUMN @extschema@.monitoring_webhook_backlog.last_failure_at IS 'When an attempt to the endpoint last failed.';

GRANT SELECT ON @extschema@.monitoring_table_sizes, @extschema@.monitoring_index_usage,
                @extschema@.monitoring_partitions, @extschema@.monitoring_maintenance,
                @extschema@.monitoring_webhook_backlog
    TO marimo_admin;

-- == Search for applications, and tenant routing ==
-- Full-text search for applications (issue 15): the shared pieces in the
-- tenants room (src/tenants/search.sql), a stored search_vector at the end of
-- analytics_queries, dashboards and sendgrid_contacts with a trigger, the GIN
-- indexes moved onto it, and the search functions; then resolve_tenant()
-- (src/tenants/tenants.sql). The statements are those of a fresh install.
CREATE FUNCTION @extschema@.search_config(name text) RETURNS regconfig
    LANGUAGE sql
    STABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::pg_catalog.regconfig
      FROM pg_catalog.pg_ts_config c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace
     CROSS JOIN LATERAL (SELECT pg_catalog.string_to_array(pg_catalog.lower(name), '.') AS parts) AS p
     WHERE name ~ '^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$'
       AND n.nspname = CASE WHEN pg_catalog.cardinality(p.parts) = 2 THEN p.parts[1] ELSE 'pg_catalog' END
       AND c.cfgname = p.parts[pg_catalog.cardinality(p.parts)]
       AND n.nspname !~ '^pg_(toast_)?temp_'
$$;

CREATE FUNCTION @extschema@.search_language(tenant uuid) RETURNS regconfig
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    chosen text;
    config regconfig;
BEGIN
    SELECT t.settings ->> 'search_language' INTO chosen FROM @extschema@.tenants t WHERE t.id = tenant;
    -- A configuration dropped since the tenant chose it: the default.
    config := @extschema@.search_config(chosen);
    IF config IS NOT NULL THEN
        RETURN config;
    END IF;
    chosen := COALESCE(NULLIF(pg_catalog.current_setting('marimo_erp.search_language', true), ''), 'english');
    config := @extschema@.search_config(chosen);
    IF config IS NULL THEN
        RAISE EXCEPTION 'marimo_erp.search_language "%" is not a text search configuration', chosen
            USING ERRCODE = '22023',
                  HINT = 'Set it to one, e.g. english or simple: SELECT cfgname FROM pg_ts_config.';
    END IF;
    RETURN config;
END
$$;

CREATE FUNCTION @extschema@.search_document(config regconfig, primary_text text, secondary_text text DEFAULT NULL)
    RETURNS tsvector
    LANGUAGE plpgsql
    IMMUTABLE
    PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    document tsvector := pg_catalog.to_tsvector(config, '');
    body text;
    weight "char";
    parts text;
BEGIN
    FOR body, weight IN SELECT v.body, v.weight
                          FROM (VALUES (primary_text, 'A'::"char"), (secondary_text, 'B'::"char")) AS v(body, weight)
                         WHERE v.body IS NOT NULL
    LOOP
        SELECT pg_catalog.string_agg(pg_catalog.translate(m[1], '.+_-', '    ') || ' '
                                     || pg_catalog.translate(m[2], '.-', '  ') || ' ' || m[2], ' ')
          INTO parts
          FROM pg_catalog.regexp_matches(body, '([^\s@<>(),;:"\[\]]+)@([^\s@<>(),;:"\[\]]+)', 'g') AS m;
        document := document
                    || pg_catalog.setweight(pg_catalog.to_tsvector(config, body || ' ' || COALESCE(parts, '')), weight);
    END LOOP;
    RETURN document;
END
$$;

CREATE FUNCTION @extschema@.set_search_vector() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fields jsonb;
    texts text[];
BEGIN
    IF TG_WHEN <> 'BEFORE' OR TG_LEVEL <> 'ROW' OR TG_OP NOT IN ('INSERT', 'UPDATE') OR TG_NARGS NOT IN (1, 2) THEN
        RAISE EXCEPTION 'set_search_vector() must be a row-level BEFORE INSERT OR UPDATE trigger with one or two column lists'
            USING ERRCODE = '39P01';
    END IF;
    fields := pg_catalog.to_jsonb(NEW);
    SELECT pg_catalog.array_agg((SELECT pg_catalog.string_agg(fields ->> pg_catalog.btrim(c), ' ')
                                   FROM pg_catalog.unnest(pg_catalog.string_to_array(l.list, ',')) AS c)
                                ORDER BY l.n)
      INTO texts
      FROM pg_catalog.unnest(TG_ARGV) WITH ORDINALITY AS l(list, n);
    NEW.search_vector := @extschema@.search_document(
        @extschema@.search_language((fields ->> 'tenant_id')::uuid), texts[1], texts[2]);
    IF TG_OP = 'UPDATE' AND pg_catalog.current_setting('marimo_erp.search_refresh', true) = 'on' THEN
        NEW.updated_at := OLD.updated_at;
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION @extschema@.refresh_search_vectors(tenant uuid DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql
    VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target regclass;
    changed bigint;
    total bigint := 0;
BEGIN
    IF tenant IS NOT NULL AND NOT EXISTS (SELECT FROM @extschema@.tenants t WHERE t.id = tenant) THEN
        RAISE EXCEPTION 'tenant % does not exist', tenant USING ERRCODE = 'P0002';
    END IF;
    -- Undone when this function returns (its SET clause opens a settings level).
    PERFORM pg_catalog.set_config('marimo_erp.search_refresh', 'on', true);
    FOR target IN
        SELECT c.oid::pg_catalog.regclass
          FROM pg_catalog.pg_depend d
          JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'marimo_erp'
          JOIN pg_catalog.pg_class c ON c.oid = d.objid AND c.relkind = 'r'
          JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'search_vector'
                                        AND a.atttypid = 'pg_catalog.tsvector'::pg_catalog.regtype
                                        AND NOT a.attisdropped
         WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'e'
         ORDER BY c.relname
    LOOP
        EXECUTE pg_catalog.format('UPDATE %s SET search_vector = NULL WHERE $1 IS NULL OR tenant_id = $1', target)
            USING tenant;
        GET DIAGNOSTICS changed = ROW_COUNT;
        total := total + changed;
    END LOOP;
    RETURN total;
END
$$;

CREATE FUNCTION @extschema@.tenants_search_language() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    chosen jsonb;
BEGIN
    IF TG_LEVEL <> 'ROW' OR TG_OP NOT IN ('INSERT', 'UPDATE') THEN
        RAISE EXCEPTION 'tenants_search_language() must be a row-level INSERT OR UPDATE trigger'
            USING ERRCODE = '39P01';
    END IF;
    IF TG_WHEN = 'AFTER' THEN
        PERFORM @extschema@.refresh_search_vectors(NEW.id);
        RETURN NULL;
    END IF;
    chosen := NEW.settings -> 'search_language';
    IF chosen IS NOT NULL AND chosen <> 'null'::jsonb
       AND (pg_catalog.jsonb_typeof(chosen) <> 'string' OR @extschema@.search_config(chosen #>> '{}') IS NULL) THEN
        RAISE EXCEPTION 'settings.search_language % is not a text search configuration', chosen
            USING ERRCODE = '22023',
                  HINT = 'Use the name of one, e.g. "english", "german" or "simple" (SELECT cfgname FROM pg_ts_config), or remove the key for the default (marimo_erp.search_language).';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tenants_search_language_check BEFORE INSERT OR UPDATE OF settings ON @extschema@.tenants
    FOR EACH ROW EXECUTE FUNCTION @extschema@.tenants_search_language();
CREATE TRIGGER tenants_search_language_refresh AFTER UPDATE OF settings ON @extschema@.tenants
    FOR EACH ROW
    WHEN (OLD.settings -> 'search_language' IS DISTINCT FROM NEW.settings -> 'search_language')
    EXECUTE FUNCTION @extschema@.tenants_search_language();

COMMENT ON FUNCTION @extschema@.search_config(text) IS
    'The text search configuration of a name (name, or schema.name outside temporary schemas; an unqualified name is a built-in of pg_catalog), NULL when there is none.';
COMMENT ON FUNCTION @extschema@.search_language(uuid) IS
    'The text search configuration a tenant''s documents and queries are parsed with: its settings->>''search_language'', else the setting marimo_erp.search_language, else english.';
COMMENT ON FUNCTION @extschema@.search_document(regconfig, text, text) IS
    'A search document: primary_text (weight A) and secondary_text (weight B) parsed with config, each e-mail address also as its parts (jane.doe@example.com as jane, doe, example, com and example.com).';
COMMENT ON FUNCTION @extschema@.set_search_vector() IS
    'Row trigger of the searchable tables: sets search_vector from the columns its arguments name (weight-A list, then weight-B list) in the language of the row''s tenant.';
COMMENT ON FUNCTION @extschema@.refresh_search_vectors(uuid) IS
    'Rebuilds search_vector of a tenant''s rows (every tenant''s with NULL) in every searchable table, keeping updated_at; run after changing marimo_erp.search_language. Returns the rows rebuilt.';
COMMENT ON FUNCTION @extschema@.tenants_search_language() IS
    'Trigger on tenants: refuses a settings.search_language that is not a text search configuration, and rebuilds the tenant''s search vectors when it changes.';


-- Internal: the triggers and the domains' search functions call them as the
-- owner. search_document is a pure function, there for anyone to try.
REVOKE ALL ON FUNCTION
    @extschema@.search_config(text), @extschema@.search_language(uuid),
    @extschema@.search_document(regconfig, text, text), @extschema@.set_search_vector(),
    @extschema@.refresh_search_vectors(uuid), @extschema@.tenants_search_language()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.search_document(regconfig, text, text) TO marimo_app, marimo_admin;
GRANT EXECUTE ON FUNCTION @extschema@.refresh_search_vectors(uuid) TO marimo_admin;

-- The stored documents, at the end of each table as in a fresh install. The
-- old GIN indexes (on to_tsvector('simple', ...)) go; the new ones are built
-- once the vectors are filled, which keeps every row's updated_at.
ALTER TABLE @extschema@.analytics_queries ADD COLUMN search_vector tsvector;
ALTER TABLE @extschema@.dashboards ADD COLUMN search_vector tsvector;
ALTER TABLE @extschema@.sendgrid_contacts ADD COLUMN search_vector tsvector;
COMMENT ON COLUMN @extschema@.analytics_queries.search_vector IS 'Name (weight A) and description (weight B) as a text search document in the tenant''s language; kept by a trigger, read by search_analytics_queries().';
COMMENT ON COLUMN @extschema@.dashboards.search_vector IS 'Name (weight A) and description (weight B) as a text search document in the tenant''s language; kept by a trigger, read by search_dashboards().';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.search_vector IS 'E-mail address (also by its parts) and names as a text search document in the tenant''s language; kept by a trigger, read by search_sendgrid_contacts().';

DROP INDEX @extschema@.analytics_queries_search_idx;
DROP INDEX @extschema@.dashboards_search_idx;
DROP INDEX @extschema@.sendgrid_contacts_search_idx;

CREATE TRIGGER analytics_queries_update_search_vector
    BEFORE INSERT OR UPDATE OF tenant_id, name, description, search_vector ON @extschema@.analytics_queries
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_search_vector('name', 'description');
CREATE TRIGGER dashboards_update_search_vector
    BEFORE INSERT OR UPDATE OF tenant_id, name, description, search_vector ON @extschema@.dashboards
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_search_vector('name', 'description');
CREATE TRIGGER sendgrid_contacts_update_search_vector
    BEFORE INSERT OR UPDATE OF tenant_id, email, first_name, last_name, search_vector ON @extschema@.sendgrid_contacts
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_search_vector('email, first_name, last_name');

SELECT @extschema@.refresh_search_vectors();

CREATE INDEX analytics_queries_search_idx ON @extschema@.analytics_queries USING gin (search_vector);
CREATE INDEX dashboards_search_idx ON @extschema@.dashboards USING gin (search_vector);
CREATE INDEX sendgrid_contacts_search_idx ON @extschema@.sendgrid_contacts USING gin (search_vector);

CREATE FUNCTION @extschema@."search_analytics_queries"(
	"query" TEXT,
	"max_rows" INT DEFAULT 50,
	"tenant" uuid DEFAULT NULL
) RETURNS TABLE (
	"id" uuid,
	"name" TEXT,
	"description" TEXT,
	"rank" real
)
STABLE PARALLEL RESTRICTED
LANGUAGE c
AS 'MODULE_PATHNAME', 'search_analytics_queries_wrapper';

CREATE FUNCTION @extschema@."search_dashboards"(
	"query" TEXT,
	"max_rows" INT DEFAULT 50,
	"tenant" uuid DEFAULT NULL
) RETURNS TABLE (
	"id" uuid,
	"name" TEXT,
	"description" TEXT,
	"rank" real
)
STABLE PARALLEL RESTRICTED
LANGUAGE c
AS 'MODULE_PATHNAME', 'search_dashboards_wrapper';

CREATE FUNCTION @extschema@."search_sendgrid_contacts"(
	"query" TEXT,
	"max_rows" INT DEFAULT 50,
	"tenant" uuid DEFAULT NULL
) RETURNS TABLE (
	"id" uuid,
	"email" TEXT,
	"first_name" TEXT,
	"last_name" TEXT,
	"status" TEXT,
	"rank" real
)
STABLE PARALLEL RESTRICTED
LANGUAGE c
AS 'MODULE_PATHNAME', 'search_sendgrid_contacts_wrapper';

CREATE FUNCTION @extschema@."sendgrid_contacts_in_list"(
	"list_id" TEXT,
	"max_rows" INT DEFAULT 1000,
	"tenant" uuid DEFAULT NULL
) RETURNS TABLE (
	"id" uuid,
	"email" TEXT,
	"first_name" TEXT,
	"last_name" TEXT,
	"status" TEXT
)
STABLE PARALLEL RESTRICTED
LANGUAGE c
AS 'MODULE_PATHNAME', 'sendgrid_contacts_in_list_wrapper';

COMMENT ON FUNCTION @extschema@.search_analytics_queries(text, integer, uuid) IS
    'Full-text search (web search syntax: words, "phrases", or, -not) of the tenant''s saved queries by name and description, best match first, at most max_rows; tenant defaults to the current tenant, and an application may search only that one.';
COMMENT ON FUNCTION @extschema@.search_dashboards(text, integer, uuid) IS
    'Full-text search (web search syntax: words, "phrases", or, -not) of the tenant''s dashboards by name and description, best match first, at most max_rows; tenant defaults to the current tenant, and an application may search only that one.';
REVOKE ALL ON FUNCTION
    @extschema@.search_analytics_queries(text, integer, uuid), @extschema@.search_dashboards(text, integer, uuid)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.search_analytics_queries(text, integer, uuid), @extschema@.search_dashboards(text, integer, uuid)
    TO marimo_app, marimo_admin;

COMMENT ON FUNCTION @extschema@.search_sendgrid_contacts(text, integer, uuid) IS
    'Full-text search (web search syntax) of the tenant''s SendGrid contacts by e-mail address, its parts (jane, doe, example, example.com) and names, best match first, at most max_rows; tenant defaults to the current tenant, and an application may search only that one.';
COMMENT ON FUNCTION @extschema@.sendgrid_contacts_in_list(text, integer, uuid) IS
    'The tenant''s SendGrid contacts on the list list_id, by e-mail address, at most max_rows; tenant defaults to the current tenant, and an application may read only that one.';
REVOKE ALL ON FUNCTION
    @extschema@.search_sendgrid_contacts(text, integer, uuid), @extschema@.sendgrid_contacts_in_list(text, integer, uuid)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.search_sendgrid_contacts(text, integer, uuid), @extschema@.sendgrid_contacts_in_list(text, integer, uuid)
    TO marimo_app, marimo_admin;

-- Tenant routing.
CREATE FUNCTION @extschema@.resolve_tenant(slug_or_domain text) RETURNS uuid
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found uuid;
BEGIN
    IF slug_or_domain IS NULL THEN
        RAISE EXCEPTION 'argument "slug_or_domain" must not be NULL' USING ERRCODE = '22004';
    END IF;
    -- 253 characters: the longest host name; a slug has at most 63.
    IF pg_catalog.length(slug_or_domain) NOT BETWEEN 1 AND 253 THEN
        RAISE EXCEPTION 'argument "slug_or_domain" must be 1 to 253 characters long'
            USING ERRCODE = '22023';
    END IF;
    SELECT t.id INTO found
      FROM @extschema@.tenants t
     WHERE (t.slug = slug_or_domain OR t.custom_domain = pg_catalog.lower(slug_or_domain))
       AND t.status = 'active';
    RETURN found;
END
$$;

COMMENT ON FUNCTION @extschema@.resolve_tenant(text) IS
    'The id of the active tenant whose slug, or custom domain (in any case), is slug_or_domain; NULL when none is, or when it is suspended or cancelled. Needs no tenant set; returns nothing else of the tenant.';

REVOKE ALL ON FUNCTION @extschema@.resolve_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.resolve_tenant(text) TO marimo_app, marimo_admin;
