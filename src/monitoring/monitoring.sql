-- Monitoring (extension version 0.5.0; for operators only since 0.7.0; partitions,
-- maintenance history and webhook backlog since 0.9.0): the seed's "Monitoring"
-- queries as views over the extension's own tables, and the views a DBA needs
-- for the partitioned logs, maintenance and webhook delivery.
--
-- Every view is security_invoker (a caller sees only the statistics and rows its
-- own privileges show) and is granted to marimo_admin only.
--
-- A logical table is a table of the extension that is not a partition. Its
-- relations are the table itself and, for the four partitioned logs, every
-- relation of pg_partition_tree(table): the default partition and every daily
-- partition (which are ordinary tables, not members of the extension).
-- pg_partition_tree() of a table that is not partitioned returns no row.

-- security_invoker: a caller sees only the statistics its own privileges show.
CREATE VIEW @extschema@.monitoring_table_sizes WITH (security_invoker = true) AS
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

CREATE VIEW @extschema@.monitoring_index_usage WITH (security_invoker = true) AS
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
