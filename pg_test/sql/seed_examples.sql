-- seed_examples: the example SQL of the seed README ("Maintenance Functions",
-- "Check Tenant Limits", "Aggregate Usage", "Monitoring"), verbatim except
-- 'tenant-uuid', replaced by a tenant inserted here.
SET timezone = 'UTC';

INSERT INTO tenants (id, slug, name, max_users)
VALUES ('5eed0000-0000-4000-8000-000000000001', 'regress-seed-examples', 'Seed examples', 50);

------------------------------------------------------------------------------
-- Maintenance Functions / Cleanup Old Data
------------------------------------------------------------------------------
-- One expired and one recent row in each log the examples clean.
INSERT INTO webhooks (tenant_id, id, name, url, secret)
VALUES ('5eed0000-0000-4000-8000-000000000001', '5eed0001-0000-4000-8000-000000000001',
        'seed hook', 'https://example.com/hook', 'whsec_c2VlZC10ZXN0LXNlY3JldC1rZXktMDEy');
INSERT INTO webhook_logs (tenant_id, webhook_id, attempt, request_url, created_at)
SELECT '5eed0000-0000-4000-8000-000000000001', '5eed0001-0000-4000-8000-000000000001', 1,
       'https://example.com/hook', now() - age
  FROM (VALUES (interval '31 days'), (interval '29 days')) v(age);
INSERT INTO integrations (tenant_id, id, provider, name)
VALUES ('5eed0000-0000-4000-8000-000000000001', '5eed0002-0000-4000-8000-000000000001', 'stripe', 'Stripe');
INSERT INTO integration_logs (tenant_id, integration_id, operation, status, created_at)
SELECT '5eed0000-0000-4000-8000-000000000001', '5eed0002-0000-4000-8000-000000000001',
       'customers.sync', 'success', now() - age
  FROM (VALUES (interval '91 days'), (interval '89 days')) v(age);
INSERT INTO user_activities (tenant_id, action, created_at)
SELECT '5eed0000-0000-4000-8000-000000000001', 'invoice.created', now() - age
  FROM (VALUES (interval '181 days'), (interval '179 days')) v(age);

-- Clean webhook logs (> 30 days)
SELECT cleanup_webhook_logs();

-- Clean integration logs (> 90 days)
SELECT cleanup_integration_logs();

-- Clean activity logs (> 180 days)
SELECT cleanup_activity_logs();

-- The recent row of each log is left.
SELECT (SELECT count(*) FROM webhook_logs WHERE tenant_id = '5eed0000-0000-4000-8000-000000000001') AS webhook_logs,
       (SELECT count(*) FROM integration_logs WHERE tenant_id = '5eed0000-0000-4000-8000-000000000001') AS integration_logs,
       (SELECT count(*) FROM user_activities WHERE tenant_id = '5eed0000-0000-4000-8000-000000000001') AS user_activities;

-- Run again: nothing is left to clean.
SELECT cleanup_webhook_logs();
SELECT cleanup_integration_logs();
SELECT cleanup_activity_logs();

------------------------------------------------------------------------------
-- Check Tenant Limits (max_users is 50: 50 users is exactly the limit)
------------------------------------------------------------------------------
SELECT * FROM check_tenant_limit(
    '5eed0000-0000-4000-8000-000000000001'::UUID,
    'users_count',
    50
);

------------------------------------------------------------------------------
-- Aggregate Usage
------------------------------------------------------------------------------
-- Inside [2024-01-01, 2024-01-31): 10 + 20 + 5 = 35 over 3 samples, min 5, max 20.
-- Outside: the last minute of 2023 and 31 January itself ("to" is excluded).
SELECT record_usage('5eed0000-0000-4000-8000-000000000001', 'api_calls', 10, '2024-01-01 00:00:00+00');
SELECT record_usage('5eed0000-0000-4000-8000-000000000001', 'api_calls', 20, '2024-01-15 12:34:56+00');
SELECT record_usage('5eed0000-0000-4000-8000-000000000001', 'api_calls', 5, '2024-01-30 23:59:59+00');
SELECT record_usage('5eed0000-0000-4000-8000-000000000001', 'api_calls', 1000, '2023-12-31 23:59:59+00');
SELECT record_usage('5eed0000-0000-4000-8000-000000000001', 'api_calls', 1000, '2024-01-31 10:00:00+00');
-- Another metric in the same hours is not counted.
SELECT record_usage('5eed0000-0000-4000-8000-000000000001', 'storage_bytes', 777, '2024-01-15 12:00:00+00');

SELECT * FROM aggregate_usage_metrics(
    '5eed0000-0000-4000-8000-000000000001'::UUID,
    'api_calls',
    '2024-01-01'::TIMESTAMP,
    '2024-01-31'::TIMESTAMP
);

------------------------------------------------------------------------------
-- Monitoring / Table Sizes: sizes vary, so the seed query runs inside wrappers.
------------------------------------------------------------------------------
SELECT count(*) > 0 AS has_rows FROM (
SELECT
    schemaname,
    tablename,
    pg_size_pretty(pg_total_relation_size(schemaname||'.'||tablename)) AS size
FROM pg_tables
WHERE schemaname = 'public'
ORDER BY pg_total_relation_size(schemaname||'.'||tablename) DESC
) q;

-- The tables it lists (public holds only the extension's tables), and that every size is set.
SELECT string_agg(tablename, ', ' ORDER BY tablename) AS tables, bool_and(size IS NOT NULL) AS sized FROM (
SELECT
    schemaname,
    tablename,
    pg_size_pretty(pg_total_relation_size(schemaname||'.'||tablename)) AS size
FROM pg_tables
WHERE schemaname = 'public'
ORDER BY pg_total_relation_size(schemaname||'.'||tablename) DESC
) q;

------------------------------------------------------------------------------
-- Monitoring / Index Usage: the README query, verbatim. pg_stat_user_indexes
-- names its columns relname and indexrelname, so as written it fails.
------------------------------------------------------------------------------
SELECT regress.expect_error($seed$
SELECT
    schemaname,
    tablename,
    indexname,
    idx_scan,
    idx_tup_read,
    idx_tup_fetch
FROM pg_stat_user_indexes
ORDER BY idx_scan DESC;
$seed$);

-- The same query with the catalog's column names, wrapped.
SELECT count(*) > 0 AS has_rows FROM (
SELECT
    schemaname,
    relname AS tablename,
    indexrelname AS indexname,
    idx_scan,
    idx_tup_read,
    idx_tup_fetch
FROM pg_stat_user_indexes
ORDER BY idx_scan DESC
) q;

------------------------------------------------------------------------------
-- The extension's views for the two Monitoring queries.
------------------------------------------------------------------------------
SELECT schemaname, tablename FROM monitoring_table_sizes ORDER BY tablename;

-- Every table of the extension appears, and nothing else.
SELECT count(*) AS missing FROM (
    SELECT c.relname::text
      FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
     WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass
       AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'marimo_erp')
       AND d.deptype = 'e' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    EXCEPT SELECT tablename::text FROM monitoring_table_sizes) m;
SELECT count(*) AS extra FROM (
    SELECT tablename::text FROM monitoring_table_sizes
    EXCEPT SELECT tablename::text FROM pg_tables WHERE schemaname = 'public') e;

-- Its sizes agree with the catalog functions and with each other.
SELECT bool_and(size = pg_size_pretty(total_bytes)) AS size_is_total,
       bool_and(total_bytes = (SELECT sum(pg_total_relation_size(r.oid)) FROM pg_class r
                                WHERE r.oid = format('%I.%I', schemaname, tablename)::regclass
                                   OR r.oid IN (SELECT relid FROM pg_partition_tree(format('%I.%I', schemaname, tablename)::regclass))))
           AS total_matches,
       bool_and(total_bytes >= table_bytes + index_bytes) AS total_covers_parts,
       bool_and(index_bytes > 0) AS every_table_indexed
  FROM monitoring_table_sizes;

-- A table outside the extension is not listed by either view.
CREATE TABLE regress.monitor_probe (id int PRIMARY KEY);
SELECT (SELECT count(*) FROM monitoring_table_sizes WHERE tablename = 'monitor_probe') AS in_sizes,
       (SELECT count(*) FROM monitoring_index_usage WHERE tablename = 'monitor_probe') AS in_index_usage;
DROP TABLE regress.monitor_probe;

-- Index usage: indexes per table of the extension.
SELECT tablename, count(*) AS indexes FROM monitoring_index_usage GROUP BY tablename ORDER BY tablename;

-- Exactly the indexes of the extension's tables, with their sizes.
SELECT count(*) AS missing FROM (
    SELECT tablename::text, indexname::text FROM pg_indexes WHERE schemaname = 'public'
    EXCEPT SELECT coalesce(partitionname, tablename)::text, indexname::text FROM monitoring_index_usage) m;
SELECT count(*) AS extra FROM (
    SELECT coalesce(partitionname, tablename)::text, indexname::text FROM monitoring_index_usage
    EXCEPT SELECT tablename::text, indexname::text FROM pg_indexes WHERE schemaname = 'public') e;
SELECT bool_and(schemaname = 'public') AS in_public,
       bool_and(idx_scan >= 0 AND idx_tup_read >= 0 AND idx_tup_fetch >= 0) AS counters_set,
       bool_and(index_bytes = pg_relation_size(format('%I.%I', schemaname, indexname)::regclass)) AS bytes_match
  FROM monitoring_index_usage;

-- Cleanup.
DELETE FROM tenants WHERE id = '5eed0000-0000-4000-8000-000000000001';
SELECT count(*) FROM usage_metrics WHERE tenant_id = '5eed0000-0000-4000-8000-000000000001';
