-- partitions (0.6.0): daily log partitions, maintenance, cleanup by dropping
-- whole days, idempotent record_usage, API usage rolled up into usage_metrics.
SET timezone = 'UTC';
INSERT INTO tenants (id, slug, name) VALUES
    ('f0000000-0000-4000-8000-000000000001', 'regress-partitions-1', 'Partitions 1'),
    ('f0000000-0000-4000-8000-000000000002', 'regress-partitions-2', 'Partitions 2');
INSERT INTO webhooks (tenant_id, id, name, url, secret) VALUES
    ('f0000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000001', 'P', 'https://p.example/h',
     'whsec_cGFydGl0aW9ucy10ZXN0LXNlY3JldC1r');

------------------------------------------------------------------------------
-- No insert ever fails: far past and far future land in the default partition.
------------------------------------------------------------------------------
INSERT INTO api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms, created_at) VALUES
    ('f0000000-0000-4000-8000-000000000001', 'GET', '/far-past', 200, 1, '1970-01-01 00:00+00'),
    ('f0000000-0000-4000-8000-000000000001', 'GET', '/far-future', 200, 1, '2999-12-31 23:59+00');
SELECT endpoint, tableoid::regclass AS partition FROM api_usage_logs
 WHERE tenant_id = 'f0000000-0000-4000-8000-000000000001' ORDER BY endpoint;

------------------------------------------------------------------------------
-- run_maintenance() creates the daily partitions from yesterday to a week ahead
-- for every log table; a second run creates none.
------------------------------------------------------------------------------
SELECT action, count(*) FROM run_maintenance() GROUP BY action ORDER BY action;
SELECT t AS log_table,
       count(*) FILTER (WHERE c.relname ~ '_p[0-9]{8}$') AS daily_partitions
  FROM unnest(ARRAY['webhook_logs', 'integration_logs', 'user_activities', 'api_usage_logs']) t
  JOIN pg_inherits i ON i.inhparent = t::regclass
  JOIN pg_class c ON c.oid = i.inhrelid
 GROUP BY t ORDER BY t;
SELECT count(*) AS created_again FROM run_maintenance() WHERE action = 'created partition';
-- Today's rows go to today's partition.
INSERT INTO api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms)
VALUES ('f0000000-0000-4000-8000-000000000001', 'GET', '/today', 200, 1);
SELECT tableoid::regclass::text = 'api_usage_logs_p' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD') AS in_todays_partition
  FROM api_usage_logs WHERE endpoint = '/today';
-- A daily partition has the template's primary key, indexes, comments and the parent's foreign keys.
SELECT (SELECT count(*) FROM pg_index WHERE indrelid = p.oid) = (SELECT count(*) FROM pg_index
            WHERE indrelid = 'api_usage_logs_default'::regclass) AS same_indexes,
       (SELECT indisprimary FROM pg_index WHERE indrelid = p.oid AND indisprimary) AS has_primary_key,
       obj_description(p.oid, 'pg_class') LIKE 'Partition of api_usage_logs for the UTC day %' AS table_comment,
       col_description(p.oid, 1) = col_description('api_usage_logs'::regclass, 1) AS column_comments,
       (SELECT count(*) FROM pg_constraint WHERE conrelid = p.oid AND contype = 'f') AS foreign_keys
  FROM pg_class p WHERE p.relname = 'api_usage_logs_p' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD');

------------------------------------------------------------------------------
-- create_log_partitions() for past days moves their rows out of the default partition.
------------------------------------------------------------------------------
INSERT INTO webhook_logs (tenant_id, webhook_id, attempt, request_url, created_at)
SELECT 'f0000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000001', 1, 'https://p.example/h',
       now() - d * interval '1 day'
  FROM generate_series(28, 33) AS d;
SELECT count(*) AS in_default_before FROM webhook_logs_default WHERE tenant_id = 'f0000000-0000-4000-8000-000000000001';
SELECT create_log_partitions('webhook_logs', (now() AT TIME ZONE 'UTC')::date - 34,
                             (now() AT TIME ZONE 'UTC')::date - 27) AS created;
SELECT count(*) AS in_default_after FROM webhook_logs_default WHERE tenant_id = 'f0000000-0000-4000-8000-000000000001';
SELECT count(*) AS in_daily_partitions FROM webhook_logs
 WHERE tenant_id = 'f0000000-0000-4000-8000-000000000001' AND tableoid::regclass::text LIKE 'webhook_logs_p%';
SELECT create_log_partitions('webhook_logs', (now() AT TIME ZONE 'UTC')::date - 34,
                             (now() AT TIME ZONE 'UTC')::date - 27) AS created_again;

------------------------------------------------------------------------------
-- cleanup drops wholly expired days, deletes expired rows of the boundary day,
-- keeps the rest: 30 days of webhook logs.
------------------------------------------------------------------------------
SELECT cleanup_webhook_logs() AS removed;
SELECT count(*) AS kept, min(created_at) > now() - interval '30 days' AS all_younger_than_retention
  FROM webhook_logs WHERE tenant_id = 'f0000000-0000-4000-8000-000000000001';
SELECT to_regclass('webhook_logs_p' || to_char((now() - interval '32 days') AT TIME ZONE 'UTC', 'YYYYMMDD')) IS NULL
           AS expired_day_dropped,
       to_regclass('webhook_logs_p' || to_char((now() - interval '29 days') AT TIME ZONE 'UTC', 'YYYYMMDD')) IS NOT NULL
           AS live_day_kept;
-- Nothing older than the calendar: nothing removed.
SELECT cleanup_webhook_logs('1000000 years') AS removed_with_huge_retention;

------------------------------------------------------------------------------
-- API usage logs feed usage_metrics, once per statement, multi-row or not.
------------------------------------------------------------------------------
INSERT INTO api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms, created_at) VALUES
    ('f0000000-0000-4000-8000-000000000002', 'GET', '/a', 200, 10, '2025-03-01 10:05+00'),
    ('f0000000-0000-4000-8000-000000000002', 'GET', '/a', 503, 90, '2025-03-01 10:30+00'),
    ('f0000000-0000-4000-8000-000000000002', 'POST', '/b', 201, 20, '2025-03-01 11:00+00');
INSERT INTO api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms, created_at)
VALUES ('f0000000-0000-4000-8000-000000000002', 'GET', '/a', 500, 40, '2025-03-01 11:59+00');
SELECT metric_type, total, average, minimum, maximum, samples
  FROM unnest(ARRAY['api_requests', 'api_response_time_ms', 'api_server_errors']) m,
       aggregate_usage_metrics('f0000000-0000-4000-8000-000000000002', m, '2025-03-01', '2025-03-02')
 ORDER BY metric_type;
SELECT bucket_start, total FROM aggregate_usage_metrics('f0000000-0000-4000-8000-000000000002', 'api_requests',
                                                        '2025-03-01', '2025-03-02', 'hour');

------------------------------------------------------------------------------
-- record_usage with an idempotency key counts a repeated key once.
------------------------------------------------------------------------------
SELECT record_usage('f0000000-0000-4000-8000-000000000002', 'emails_sent', 5, '2025-04-01 08:15+00', 'msg-1') AS first;
SELECT record_usage('f0000000-0000-4000-8000-000000000002', 'emails_sent', 5, '2025-04-01 09:45+00', 'msg-1') AS repeated;
SELECT record_usage('f0000000-0000-4000-8000-000000000002', 'emails_sent', 7, '2025-04-01 08:20+00', 'msg-2') AS second;
SELECT record_usage('f0000000-0000-4000-8000-000000000002', 'emails_sent', 1, '2025-04-01 08:30+00') AS without_key;
-- The same key of another tenant is another key.
SELECT record_usage('f0000000-0000-4000-8000-000000000001', 'emails_sent', 5, '2025-04-01 08:15+00', 'msg-1') AS other_tenant;
SELECT roll_up_usage() > 0 AS rolled_up;  -- the deltas of the calls above into usage_metrics
SELECT tenant_id, value_sum, sample_count FROM usage_metrics
 WHERE metric_type = 'emails_sent' AND tenant_id::text LIKE 'f0000000-%' ORDER BY tenant_id;
SELECT regress.expect_error($$SELECT record_usage('f0000000-0000-4000-8000-000000000002', 'emails_sent', 1, now(), '')$$);
SELECT regress.expect_error(format('SELECT record_usage(%L, %L, 1, now(), %L)',
                                   'f0000000-0000-4000-8000-000000000002', 'emails_sent', repeat('k', 256)));
-- Keys are forgotten after their retention: then the key counts again.
UPDATE usage_idempotency_keys SET created_at = now() - interval '40 days'
 WHERE tenant_id = 'f0000000-0000-4000-8000-000000000002' AND idempotency_key = 'msg-1';
SELECT cleanup_idempotency_keys() AS keys_forgotten;
SELECT record_usage('f0000000-0000-4000-8000-000000000002', 'emails_sent', 5, '2025-04-01 08:15+00', 'msg-1') IS NOT NULL AS recorded;
SELECT roll_up_usage() > 0 AS rolled_up;  -- the deltas of the calls above into usage_metrics
SELECT value_sum, sample_count FROM usage_metrics
 WHERE metric_type = 'emails_sent' AND tenant_id = 'f0000000-0000-4000-8000-000000000002';

------------------------------------------------------------------------------
-- Bad input.
------------------------------------------------------------------------------
SELECT regress.expect_error($$SELECT * FROM run_maintenance(NULL)$$);
SELECT regress.expect_error($$SELECT * FROM run_maintenance('-1 day')$$);
SELECT regress.expect_error($$SELECT * FROM run_maintenance('400 days')$$);
SELECT regress.expect_error($$SELECT create_log_partitions('tenants', '2025-01-01', '2025-01-02')$$);
SELECT regress.expect_error($$SELECT create_log_partitions('webhook_logs; DROP TABLE tenants', '2025-01-01', '2025-01-02')$$);
SELECT regress.expect_error($$SELECT create_log_partitions(NULL, '2025-01-01', '2025-01-02')$$);
SELECT regress.expect_error($$SELECT create_log_partitions('webhook_logs', '2025-01-02', '2025-01-01')$$);
SELECT regress.expect_error($$SELECT create_log_partitions('webhook_logs', '2000-01-01', '2025-01-01')$$);
SELECT regress.expect_error($$SELECT cleanup_idempotency_keys(batch_size => 0)$$);

-- Cleanup.
DELETE FROM tenants WHERE id::text LIKE 'f0000000-%';
SELECT (SELECT count(*) FROM api_usage_logs WHERE tenant_id::text LIKE 'f0000000-%') AS api_logs,
       (SELECT count(*) FROM usage_idempotency_keys WHERE tenant_id::text LIKE 'f0000000-%') AS keys;
