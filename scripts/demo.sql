-- The demo: a few tenants with usage, webhooks and logs, then the seed README's
-- example queries with a real tenant id in place of 'tenant-uuid'.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;

\echo '== CREATE EXTENSION marimo_erp'
CREATE EXTENSION marimo_erp;
SELECT extname, extversion FROM pg_extension WHERE extname = 'marimo_erp';

\echo '== Demo data: tenants Acme (professional), Globex (trial), Initech (suspended)'
\o /dev/null
\ir ../pg_test/fixtures/0.1.0.sql
\ir ../pg_test/fixtures/0.2.0.sql
\ir ../pg_test/fixtures/0.3.0.sql
\ir ../pg_test/fixtures/0.4.0.sql
\ir ../pg_test/fixtures/0.5.0.sql
\ir ../pg_test/fixtures/0.6.0.sql
\ir ../pg_test/fixtures/0.7.0.sql
\ir ../pg_test/fixtures/0.8.0.sql
-- January 2024 API traffic for Acme, for the seed's aggregation example.
SELECT count(record_usage('11111111-1111-4111-8111-111111111111', 'api_calls', 10 + (h % 24),
                          '2024-01-01 00:00+00'::timestamptz + h * interval '1 hour'))
  FROM generate_series(0, 31 * 24 - 1) AS h;
\o
SELECT slug, name, status, plan, subscription_status, max_users, limits FROM tenants ORDER BY slug;

\echo
\echo '== Seed example: Check Tenant Limits'
\echo 'SELECT * FROM check_tenant_limit(''11111111-1111-4111-8111-111111111111''::UUID, ''users_count'', 50);'
SELECT * FROM check_tenant_limit(
    '11111111-1111-4111-8111-111111111111'::UUID,
    'users_count',
    50
);
\echo '-- measured by the extension itself: API calls this month, webhooks; and a suspended tenant'
SELECT * FROM check_tenant_limit('11111111-1111-4111-8111-111111111111', 'api_calls_per_month');
SELECT * FROM check_tenant_limit('11111111-1111-4111-8111-111111111111', 'webhooks_count');
SELECT * FROM check_tenant_limit('33333333-3333-4333-8333-333333333333', 'users_count', 1);

\echo '== Seed example: Aggregate Usage'
SELECT * FROM aggregate_usage_metrics(
    '11111111-1111-4111-8111-111111111111'::UUID,
    'api_calls',
    '2024-01-01'::TIMESTAMP,
    '2024-01-31'::TIMESTAMP
);
\echo '-- the same range by week'
SELECT * FROM aggregate_usage_metrics('11111111-1111-4111-8111-111111111111', 'api_calls',
                                      '2024-01-01', '2024-01-31', 'week');

\echo '== Seed example: Cleanup Old Data'
-- Clean webhook logs (> 30 days)
SELECT cleanup_webhook_logs();
-- Clean integration logs (> 90 days)
SELECT cleanup_integration_logs();
-- Clean activity logs (> 180 days)
SELECT cleanup_activity_logs();
-- and the API usage logs the seed never cleaned (> 90 days)
SELECT cleanup_api_usage_logs();

\echo '== Beyond the seed (0.6.0): daily log partitions, kept by run_maintenance()'
SELECT action, count(*) AS times, sum(rows) AS rows FROM run_maintenance() GROUP BY action ORDER BY action;
SELECT parent.relname AS log_table, count(*) AS partitions,
       min(child.relname) FILTER (WHERE child.relname ~ '_p[0-9]{8}$') AS first_daily,
       max(child.relname) FILTER (WHERE child.relname ~ '_p[0-9]{8}$') AS last_daily
  FROM pg_inherits i JOIN pg_class parent ON parent.oid = i.inhparent JOIN pg_class child ON child.oid = i.inhrelid
 GROUP BY parent.relname ORDER BY parent.relname;
\echo '-- API usage logs roll up into usage_metrics: today''s requests and latency for Acme'
SELECT metric_type, total, round(average, 1) AS average, maximum, samples
  FROM unnest(ARRAY['api_requests', 'api_response_time_ms', 'api_server_errors']) AS m,
       aggregate_usage_metrics('11111111-1111-4111-8111-111111111111', m,
                               date_trunc('day', now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC') + interval '1 hour');
\echo '-- record_usage with an idempotency key: the retry counts once'
SELECT record_usage('11111111-1111-4111-8111-111111111111', 'exports', 1, now(), 'export-42') AS first_call,
       record_usage('11111111-1111-4111-8111-111111111111', 'exports', 1, now(), 'export-42') AS retried;
SELECT value_sum, sample_count FROM usage_metrics
 WHERE tenant_id = '11111111-1111-4111-8111-111111111111' AND metric_type = 'exports';

\echo '== Beyond the seed (0.8.0): webhooks, signed as Standard Webhooks'
SELECT webhook_sign('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330,
                    '{"test": 2432232314}') AS specification_test_vector;
\echo '-- an event fans out to the matching webhooks (Acme''s billing endpoint takes invoice.*); a repeated key adds nothing'
SELECT emit_webhook_event('11111111-1111-4111-8111-111111111111', 'invoice.paid', '{"invoice": "INV-2002", "amount": 1200}', 'inv-2002-paid')
     = emit_webhook_event('11111111-1111-4111-8111-111111111111', 'invoice.paid', '{"invoice": "INV-2002", "amount": 1200}', 'inv-2002-paid')
       AS same_event;
SELECT w.name AS webhook, e.event_type, d.status, d.attempts
  FROM webhook_deliveries d JOIN webhooks w ON (w.tenant_id, w.id) = (d.tenant_id, d.webhook_id)
  JOIN webhook_events e ON (e.tenant_id, e.id) = (d.tenant_id, d.event_id)
 WHERE e.idempotency_key = 'inv-2002-paid';
\echo '-- (this demo cluster has no delivery worker: add marimo_erp to shared_preload_libraries to send them)'

-- Publish this session's statistics now rather than within the second.
\o /dev/null
SELECT pg_stat_force_next_flush();
\o
\echo '== Seed example: Monitoring / Table Sizes'
SELECT
    schemaname,
    tablename,
    pg_size_pretty(pg_total_relation_size(schemaname||'.'||tablename)) AS size
FROM pg_tables
WHERE schemaname = 'public'
ORDER BY pg_total_relation_size(schemaname||'.'||tablename) DESC;

\echo '== Seed example: Monitoring / Index Usage (top 10)'
-- The seed's query reads tablename and indexname from pg_stat_user_indexes, which
-- has relname and indexrelname instead, so it fails on every PostgreSQL. The
-- view monitoring_index_usage has the seed's column names: the same query runs
-- against it with only the FROM changed.
SELECT
    schemaname,
    tablename,
    indexname,
    idx_scan,
    idx_tup_read,
    idx_tup_fetch
FROM monitoring_index_usage
ORDER BY idx_scan DESC
LIMIT 10;
