-- monitoring (0.9.0): the views a DBA uses. Sizes of the partitioned logs with
-- their daily partitions counted, the partitions' indexes, the partitions with
-- their bounds whatever DateStyle and TimeZone say, the history of
-- run_maintenance() and the cleanups, and the webhook backlog; operators only.
-- No size in bytes is printed: sizes are compared.
SET timezone = 'UTC';
SELECT pg_catalog.clock_timestamp() AS suite_started \gset
INSERT INTO tenants (id, slug, name) VALUES
    ('30700000-0000-4000-8000-000000000001', 'regress-monitoring-1', 'Monitoring 1');
CREATE ROLE regress_mon_ops LOGIN IN ROLE marimo_admin;
CREATE ROLE regress_mon_app LOGIN IN ROLE marimo_app;
GRANT USAGE ON SCHEMA regress TO regress_mon_ops, regress_mon_app;

------------------------------------------------------------------------------
-- Sizes: a partitioned log counts its daily partitions.
------------------------------------------------------------------------------
SELECT create_log_partitions('api_usage_logs', '2031-05-14', '2031-05-16') AS created;
INSERT INTO api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms, created_at)
SELECT '30700000-0000-4000-8000-000000000001', 'GET', '/monitored', 200, s, '2031-05-14 00:00+00'::timestamptz + s * interval '1 minute'
  FROM generate_series(1, 30) s;
INSERT INTO api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms, created_at)
SELECT '30700000-0000-4000-8000-000000000001', 'GET', '/monitored', 200, s, '2031-05-15 12:00+00'::timestamptz + s * interval '1 minute'
  FROM generate_series(1, 20) s;
SELECT tableoid::regclass AS partition, count(*) FROM api_usage_logs
 WHERE tenant_id = '30700000-0000-4000-8000-000000000001' GROUP BY 1 ORDER BY 1;
-- The log's total is more than nothing, and is its partitions' sizes summed.
SELECT s.total_bytes > 0 AS counted,
       s.total_bytes = (SELECT sum(total_bytes) FROM monitoring_partitions WHERE tablename = 'api_usage_logs') AS sum_of_partitions,
       s.total_bytes = (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('api_usage_logs')) AS sum_of_tree,
       s.table_bytes = (SELECT sum(table_bytes) FROM monitoring_partitions WHERE tablename = 'api_usage_logs') AS tables_summed,
       s.index_bytes = (SELECT sum(index_bytes) FROM monitoring_partitions WHERE tablename = 'api_usage_logs') AS indexes_summed,
       s.size = pg_size_pretty(s.total_bytes) AS size_is_total,
       s.partitions = (SELECT count(*) FROM monitoring_partitions WHERE tablename = 'api_usage_logs') AS partitions_counted
  FROM monitoring_table_sizes s WHERE s.tablename = 'api_usage_logs';
-- A day with rows weighs more than an empty day.
SELECT (SELECT table_bytes FROM monitoring_partitions WHERE partitionname = 'api_usage_logs_p20310514')
     > (SELECT table_bytes FROM monitoring_partitions WHERE partitionname = 'api_usage_logs_p20310516') AS day_with_rows_larger;
-- One row per logical table: no partition, default or daily, on its own; every
-- table of the extension that is not a partition, and a plain table counts itself.
SELECT count(*) FILTER (WHERE tablename ~ '_(default|p[0-9]{8})$') AS partitions_listed,
       count(*) = (SELECT count(*) FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
                    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass
                      AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'marimo_erp')
                      AND d.deptype = 'e' AND c.relkind IN ('r', 'p') AND NOT c.relispartition) AS every_table,
       bool_and(total_bytes = pg_total_relation_size(format('%I.%I', schemaname, tablename)::regclass))
           FILTER (WHERE partitions = 0) AS plain_tables_count_themselves
  FROM monitoring_table_sizes;
SELECT tablename, partitions > 0 AS partitioned FROM monitoring_table_sizes WHERE partitions > 0 ORDER BY tablename;

------------------------------------------------------------------------------
-- Partitions: bounds read the same under any DateStyle and TimeZone, row
-- estimates once measured.
------------------------------------------------------------------------------
SET datestyle = 'SQL, DMY';
SET timezone = 'Asia/Kathmandu';
SELECT partitionname, is_default,
       lower_bound = to_date(right(partitionname, 8), 'YYYYMMDD')::timestamp AT TIME ZONE 'UTC' AS lower_is_midnight_utc,
       upper_bound = (to_date(right(partitionname, 8), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' AS upper_is_next_midnight_utc,
       lower_bound AT TIME ZONE 'UTC' AS lower_utc, upper_bound AT TIME ZONE 'UTC' AS upper_utc,
       row_estimate
  FROM monitoring_partitions WHERE partitionname LIKE 'api_usage_logs_p2031051%' ORDER BY lower_bound;
SET datestyle = 'Postgres, MDY';
SET timezone = 'America/St_Johns';
SELECT partitionname, lower_bound = '2031-05-14 00:00:00+00' AS lower_is_midnight_utc,
       upper_bound - lower_bound AS span, to_char(lower_bound AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS day
  FROM monitoring_partitions WHERE partitionname = 'api_usage_logs_p20310514';
-- The same through the function, and NULLs for what is not a partition.
SELECT is_default, lower_bound = '2031-05-15 00:00:00+00' AS lower_ok, upper_bound = '2031-05-16 00:00:00+00' AS upper_ok
  FROM monitoring_partition_bounds('api_usage_logs_p20310515');
SELECT * FROM monitoring_partition_bounds('tenants');
RESET datestyle;
SET timezone = 'UTC';
-- The default partition of every log, with no bounds.
SELECT tablename, partitionname, lower_bound IS NULL AND upper_bound IS NULL AS unbounded
  FROM monitoring_partitions WHERE is_default ORDER BY tablename;
-- Every partition of the four logs, and only those.
SELECT count(*) = (SELECT count(*) FROM pg_inherits WHERE inhparent IN
                   ('webhook_logs'::regclass, 'integration_logs'::regclass, 'user_activities'::regclass, 'api_usage_logs'::regclass))
           AS every_partition
  FROM monitoring_partitions;
-- Analysed, a partition's estimate is its rows; the logical table sums them.
ANALYZE api_usage_logs_p20310514, api_usage_logs_p20310515;
SELECT partitionname, row_estimate, last_analyzed IS NOT NULL AS analysed
  FROM monitoring_partitions WHERE partitionname LIKE 'api_usage_logs_p2031051%' ORDER BY partitionname;
SELECT row_estimate >= 50 AS estimate_counts_partitions FROM monitoring_table_sizes WHERE tablename = 'api_usage_logs';

------------------------------------------------------------------------------
-- Index usage: the partitions' indexes, under their logical table.
------------------------------------------------------------------------------
SELECT tablename, partitionname, indexname
  FROM monitoring_index_usage WHERE partitionname = 'api_usage_logs_p20310514' ORDER BY indexname;
SELECT count(*) FILTER (WHERE partitionname IS NULL AND tablename = 'tenants') > 0 AS plain_table_indexes,
       count(*) FILTER (WHERE tablename ~ '_(default|p[0-9]{8})$') AS partitions_as_tables,
       count(*) = (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public') AS every_index
  FROM monitoring_index_usage;

------------------------------------------------------------------------------
-- The history: run_maintenance() and each cleanup leave a row saying what they did.
------------------------------------------------------------------------------
-- An expired day of 3 rows: run_maintenance()'s cleanup of the API logs (90 days) drops it.
SELECT create_log_partitions('api_usage_logs', (now() AT TIME ZONE 'UTC')::date - 120, (now() AT TIME ZONE 'UTC')::date - 120) AS created;
INSERT INTO api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms, created_at)
SELECT '30700000-0000-4000-8000-000000000001', 'GET', '/expired', 200, s, now() - interval '120 days' + s * interval '1 second'
  FROM generate_series(1, 3) s;
-- Old history: 100 days old goes, 80 days old stays (90 days by default).
INSERT INTO maintenance_runs (task, started_at, finished_at, run_by) VALUES
    ('regress_old', now() - interval '100 days', now() - interval '100 days', 'regress'),
    ('regress_recent', now() - interval '80 days', now() - interval '80 days', 'regress');
SELECT action, relation, rows FROM run_maintenance()
 WHERE action = 'removed expired rows' AND relation IN ('api_usage_logs', 'maintenance_runs') ORDER BY relation;
SELECT task FROM maintenance_runs WHERE task LIKE 'regress_%' ORDER BY task;
-- The run's row: when, how long, as whom, what it did.
SELECT id AS run_id FROM maintenance_runs WHERE task = 'run_maintenance' ORDER BY started_at DESC LIMIT 1 \gset
SELECT task, started_at <= finished_at AS ordered, duration = finished_at - started_at AS duration_computed,
       finished_at <= clock_timestamp() AS finished, run_by = current_user AS run_by_caller, maintenance_run IS NULL AS top_level,
       rows_removed >= 4 AS removed_rows_and_history, partitions_dropped >= 1 AS dropped_a_day,
       partitions_created = jsonb_array_length(details -> 'partitions_created') AS created_listed,
       (details ->> 'premake_days')::int AS premake_days,
       rows_removed = (SELECT sum((t ->> 'rows_removed')::bigint) FROM jsonb_array_elements(details -> 'tables') t) AS rows_add_up
  FROM maintenance_runs WHERE id = :'run_id';
SELECT t ->> 'table' AS cleaned FROM maintenance_runs, jsonb_array_elements(details -> 'tables') t
 WHERE id = :'run_id' ORDER BY 1;
-- Each cleanup it ran has its own row, linked to the run.
SELECT task, run_by = current_user AS run_by_caller FROM maintenance_runs WHERE maintenance_run = :'run_id' ORDER BY task;
SELECT rows_removed, partitions_dropped, details -> 'tables' -> 0 ->> 'table' AS tbl,
       (details -> 'tables' -> 0 ->> 'older_than')::timestamptz BETWEEN now() - interval '90 days 1 minute' AND now() - interval '90 days' AS cutoff_90_days
  FROM maintenance_runs WHERE maintenance_run = :'run_id' AND task = 'cleanup_api_usage_logs';
SELECT to_regclass('api_usage_logs_p' || to_char((now() - interval '120 days') AT TIME ZONE 'UTC', 'YYYYMMDD')) IS NULL AS expired_day_dropped;
-- (0.13.0) What it removed in place (dead tuples left for vacuum) and what it took
-- from the statistics of the days it dropped instead of reading them.
SELECT (details -> 'tables' -> 0 ->> 'dead_rows_left')::bigint AS dead_rows_left,
       (details -> 'tables' -> 0 ->> 'rows_from_statistics')::bigint AS rows_from_statistics
  FROM maintenance_runs WHERE maintenance_run = :'run_id' AND task = 'cleanup_api_usage_logs';
-- The retention of the history is a setting.
SET marimo_erp.maintenance_history_retention = '30d';
SELECT rows FROM run_maintenance() WHERE relation = 'maintenance_runs';
RESET marimo_erp.maintenance_history_retention;
SELECT count(*) AS regress_rows_left FROM maintenance_runs WHERE task LIKE 'regress_%';
-- A cleanup called on its own, by an operator: its row, as that operator.
SET ROLE regress_mon_ops;
SELECT cleanup_webhook_logs('30 days', 500) AS removed;
RESET ROLE;
SELECT task, run_by, maintenance_run IS NULL AS on_its_own, rows_removed, partitions_dropped,
       (SELECT string_agg(t ->> 'table', ', ' ORDER BY n) FROM jsonb_array_elements(details -> 'tables') WITH ORDINALITY x(t, n)) AS tables
  FROM maintenance_runs WHERE task = 'cleanup_webhook_logs' ORDER BY started_at DESC LIMIT 1;
-- A cleanup that fails leaves no row.
SELECT count(*) AS runs_before FROM maintenance_runs WHERE task = 'cleanup_activity_logs' \gset
SELECT regress.expect_error($$SELECT cleanup_activity_logs('-1 day')$$);
SELECT count(*) - :runs_before AS rows_of_failed_cleanup FROM maintenance_runs WHERE task = 'cleanup_activity_logs';
-- The summary per task.
SELECT task, runs >= 1 AS ran, last_started_at <= last_finished_at AS ordered,
       last_duration = last_finished_at - last_started_at AS last_duration_ok, longest_duration >= last_duration AS longest_ok
  FROM monitoring_maintenance ORDER BY task;
SELECT last_run_by FROM monitoring_maintenance WHERE task = 'cleanup_webhook_logs';

------------------------------------------------------------------------------
-- Webhook backlog, per tenant and endpoint.
------------------------------------------------------------------------------
INSERT INTO webhooks (tenant_id, id, name, url, secret) VALUES
    ('30700000-0000-4000-8000-000000000001', '30710000-0000-4000-8000-000000000001', 'Busy', 'https://busy.example/h', 'whsec_bW9uaXRvcmluZy10ZXN0LXNlY3JldC1r'),
    ('30700000-0000-4000-8000-000000000001', '30710000-0000-4000-8000-000000000002', 'Idle', 'https://idle.example/h', 'whsec_bW9uaXRvcmluZy10ZXN0LXNlY3JldC1r');
UPDATE webhooks SET is_active = false, disabled_at = now(), disabled_reason = 'regress'
 WHERE id = '30710000-0000-4000-8000-000000000002';
INSERT INTO webhook_events (tenant_id, id, event_type, payload)
SELECT '30700000-0000-4000-8000-000000000001', ('30720000-0000-4000-8000-00000000000' || e)::uuid, 'invoice.paid', '{}'
  FROM generate_series(1, 6) e;
INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id, status, attempts, next_attempt_at, delivered_at) VALUES
    ('30700000-0000-4000-8000-000000000001', '30710000-0000-4000-8000-000000000001', '30720000-0000-4000-8000-000000000001', 'pending', 0, '2031-01-01 10:00+00', NULL),
    ('30700000-0000-4000-8000-000000000001', '30710000-0000-4000-8000-000000000001', '30720000-0000-4000-8000-000000000002', 'pending', 2, '2031-01-01 09:00+00', NULL),
    ('30700000-0000-4000-8000-000000000001', '30710000-0000-4000-8000-000000000001', '30720000-0000-4000-8000-000000000003', 'pending', 0, '2031-01-01 11:00+00', NULL),
    ('30700000-0000-4000-8000-000000000001', '30710000-0000-4000-8000-000000000001', '30720000-0000-4000-8000-000000000004', 'in_progress', 1, NULL, NULL),
    ('30700000-0000-4000-8000-000000000001', '30710000-0000-4000-8000-000000000001', '30720000-0000-4000-8000-000000000005', 'failed', 8, NULL, NULL),
    ('30700000-0000-4000-8000-000000000001', '30710000-0000-4000-8000-000000000001', '30720000-0000-4000-8000-000000000006', 'succeeded', 1, NULL, now());
SELECT tenant_slug, webhook_name, endpoint_status, pending, in_progress, failing, failed,
       oldest_due = '2031-01-01 09:00+00' AS oldest_due_ok, oldest_created_at IS NOT NULL AS has_oldest
  FROM monitoring_webhook_backlog WHERE tenant_id = '30700000-0000-4000-8000-000000000001' ORDER BY webhook_name;
-- Largest backlog first.
SELECT webhook_name FROM monitoring_webhook_backlog
 WHERE tenant_id = '30700000-0000-4000-8000-000000000001' LIMIT 1;

------------------------------------------------------------------------------
-- For operators only: marimo_app reads none of it; marimo_admin reads all.
------------------------------------------------------------------------------
SET ROLE regress_mon_app;
SELECT v AS relation, regress.expect_error(format('SELECT 1 FROM %I', v)) AS outcome
  FROM unnest(ARRAY['monitoring_table_sizes', 'monitoring_index_usage', 'monitoring_partitions',
                    'monitoring_maintenance', 'monitoring_webhook_backlog', 'maintenance_runs']) v ORDER BY v;
SELECT regress.expect_error($$SELECT * FROM monitoring_partition_bounds('api_usage_logs_default')$$);
RESET ROLE;
SET ROLE regress_mon_ops;
SELECT v AS relation, regress.expect_error(format('SELECT 1 FROM %I', v)) AS outcome
  FROM unnest(ARRAY['monitoring_table_sizes', 'monitoring_index_usage', 'monitoring_partitions',
                    'monitoring_maintenance', 'monitoring_webhook_backlog', 'maintenance_runs']) v ORDER BY v;
SELECT regress.expect_error($$INSERT INTO maintenance_runs (task, started_at, finished_at, run_by) VALUES ('x', now(), now(), 'x')$$);
RESET ROLE;
-- Every view is security_invoker.
SELECT relname, reloptions FROM pg_class
 WHERE relnamespace = 'public'::regnamespace AND relkind = 'v' ORDER BY relname;

------------------------------------------------------------------------------
-- Cleanup.
------------------------------------------------------------------------------
DELETE FROM webhooks WHERE tenant_id = '30700000-0000-4000-8000-000000000001';
DELETE FROM webhook_events WHERE tenant_id = '30700000-0000-4000-8000-000000000001';
DELETE FROM api_usage_logs WHERE tenant_id = '30700000-0000-4000-8000-000000000001';
DROP TABLE api_usage_logs_p20310514, api_usage_logs_p20310515, api_usage_logs_p20310516;
DELETE FROM usage_metrics WHERE tenant_id = '30700000-0000-4000-8000-000000000001';
DELETE FROM tenants WHERE id = '30700000-0000-4000-8000-000000000001';
DELETE FROM maintenance_runs WHERE started_at >= :'suite_started';
REVOKE USAGE ON SCHEMA regress FROM regress_mon_ops, regress_mon_app;
DROP ROLE regress_mon_ops;
DROP ROLE regress_mon_app;
