-- cleanup: the four retention cleanups (webhook_logs 30 days, integration_logs
-- 90 days, user_activities 180 days, api_usage_logs 90 days by default).
SET timezone = 'UTC';

INSERT INTO tenants (id, slug, name) VALUES
    ('d0000000-0000-4000-8000-000000000001', 'regress-cleanup-1', 'Cleanup 1'),
    ('d0000000-0000-4000-8000-000000000002', 'regress-cleanup-2', 'Cleanup 2');
INSERT INTO webhooks (tenant_id, name, url, secret)
SELECT id, 'Hook', 'https://example.com/hook', 'whsec_Y2xlYW51cC10ZXN0LXNlY3JldC1rZXkt' FROM tenants WHERE id IN ('d0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000002');
INSERT INTO integrations (tenant_id, provider, name)
SELECT id, 'stripe', 'Stripe' FROM tenants WHERE id IN ('d0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000002');

-- Adds one row per age (created_at = now() - age) to a log table for a tenant;
-- returns how many rows it added.
CREATE FUNCTION regress.add_logs(log text, tenant uuid, VARIADIC ages interval[]) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    added bigint;
BEGIN
    CASE log
    WHEN 'webhook_logs' THEN
        INSERT INTO webhook_logs (tenant_id, webhook_id, attempt, request_url, created_at)
        SELECT tenant, (SELECT id FROM webhooks WHERE tenant_id = tenant), 1, 'https://example.com/hook', now() - age
          FROM unnest(ages) age;
    WHEN 'integration_logs' THEN
        INSERT INTO integration_logs (tenant_id, integration_id, operation, status, created_at)
        SELECT tenant, (SELECT id FROM integrations WHERE tenant_id = tenant), 'customers.sync', 'success', now() - age
          FROM unnest(ages) age;
    WHEN 'user_activities' THEN
        INSERT INTO user_activities (tenant_id, action, created_at)
        SELECT tenant, 'invoice.created', now() - age FROM unnest(ages) age;
    WHEN 'api_usage_logs' THEN
        INSERT INTO api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms, created_at)
        SELECT tenant, 'GET', '/v1/invoices', 200, 5, now() - age FROM unnest(ages) age;
    END CASE;
    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added;
END
$fn$;

-- The suite's rows per log table and tenant, with their ages in whole days.
CREATE VIEW regress.log_rows AS
SELECT log, tenant_id, count(*) AS rows,
       min(date_part('day', now() - created_at))::int AS youngest_days,
       max(date_part('day', now() - created_at))::int AS oldest_days
  FROM (          SELECT 'webhook_logs' AS log, tenant_id, created_at FROM webhook_logs
        UNION ALL SELECT 'integration_logs', tenant_id, created_at FROM integration_logs
        UNION ALL SELECT 'user_activities', tenant_id, created_at FROM user_activities
        UNION ALL SELECT 'api_usage_logs', tenant_id, created_at FROM api_usage_logs) l
 WHERE tenant_id IN ('d0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000002')
 GROUP BY log, tenant_id;

------------------------------------------------------------------------------
-- Each cleanup empties only its own table: one row a year old in each.
------------------------------------------------------------------------------
SELECT regress.add_logs(log, 'd0000000-0000-4000-8000-000000000001', '365 days')
  FROM unnest(ARRAY['webhook_logs', 'integration_logs', 'user_activities', 'api_usage_logs']) log;
SELECT log, rows FROM regress.log_rows ORDER BY log;

SELECT cleanup_webhook_logs();
SELECT log, rows FROM regress.log_rows ORDER BY log;

SELECT cleanup_integration_logs();
SELECT log, rows FROM regress.log_rows ORDER BY log;

SELECT cleanup_activity_logs();
SELECT log, rows FROM regress.log_rows ORDER BY log;

SELECT cleanup_api_usage_logs();
SELECT log, rows FROM regress.log_rows ORDER BY log;

------------------------------------------------------------------------------
-- cleanup_webhook_logs: default retention 30 days.
------------------------------------------------------------------------------
-- Tenant 1: expired at 31, 40 and 400 days; kept at 29 days and 1 minute.
-- Tenant 2: expired at 30 days and 1 hour. Cleanup is not per tenant: 4 rows go.
SELECT regress.add_logs('webhook_logs', 'd0000000-0000-4000-8000-000000000001', '31 days', '40 days', '400 days', '29 days', '1 minute');
SELECT regress.add_logs('webhook_logs', 'd0000000-0000-4000-8000-000000000002', '30 days 1 hour');
SELECT cleanup_webhook_logs();
SELECT tenant_id, rows, youngest_days, oldest_days FROM regress.log_rows WHERE log = 'webhook_logs' ORDER BY tenant_id;
-- Nothing left to delete.
SELECT cleanup_webhook_logs();

-- Exactly 30 days old is not older than 30 days: kept. One microsecond more: deleted.
BEGIN;
SELECT regress.add_logs('webhook_logs', 'd0000000-0000-4000-8000-000000000001', '30 days');
SELECT cleanup_webhook_logs();
SELECT regress.add_logs('webhook_logs', 'd0000000-0000-4000-8000-000000000001', '30 days 0.000001 seconds');
SELECT cleanup_webhook_logs();
SELECT rows FROM regress.log_rows WHERE log = 'webhook_logs' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
ROLLBACK;

-- A custom retention of 1 hour: 2 hours and 61 minutes go, 59 minutes and now stay;
-- so do the 29-day and 1-minute rows from before: 2 + 1 deleted.
BEGIN;
SELECT regress.add_logs('webhook_logs', 'd0000000-0000-4000-8000-000000000001', '2 hours', '61 minutes', '59 minutes', '0 seconds');
SELECT cleanup_webhook_logs('1 hour');
SELECT rows FROM regress.log_rows WHERE log = 'webhook_logs' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
COMMIT;

-- Batches: 5 expired rows go whatever the batch size (1, 2, 5, 6), never the young ones.
DELETE FROM webhook_logs WHERE tenant_id = 'd0000000-0000-4000-8000-000000000001';
SELECT regress.add_logs('webhook_logs', 'd0000000-0000-4000-8000-000000000001', '31 days', '32 days', '33 days', '34 days', '35 days', '1 minute');
SELECT cleanup_webhook_logs(batch_size => 1);
SELECT rows FROM regress.log_rows WHERE log = 'webhook_logs' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
SELECT regress.add_logs('webhook_logs', 'd0000000-0000-4000-8000-000000000001', '31 days', '32 days', '33 days', '34 days', '35 days');
SELECT cleanup_webhook_logs('30 days', 2);
SELECT regress.add_logs('webhook_logs', 'd0000000-0000-4000-8000-000000000001', '31 days', '32 days', '33 days', '34 days', '35 days');
SELECT cleanup_webhook_logs('30 days', 5);
SELECT regress.add_logs('webhook_logs', 'd0000000-0000-4000-8000-000000000001', '31 days', '32 days', '33 days', '34 days', '35 days');
SELECT cleanup_webhook_logs('30 days', 6);
SELECT rows FROM regress.log_rows WHERE log = 'webhook_logs' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
DELETE FROM webhook_logs WHERE tenant_id = 'd0000000-0000-4000-8000-000000000001';

------------------------------------------------------------------------------
-- cleanup_integration_logs: default retention 90 days.
------------------------------------------------------------------------------
-- Tenant 1: expired at 91, 100 and 400 days; kept at 89 days and 1 minute.
-- Tenant 2: expired at 90 days and 1 hour. Cleanup is not per tenant: 4 rows go.
SELECT regress.add_logs('integration_logs', 'd0000000-0000-4000-8000-000000000001', '91 days', '100 days', '400 days', '89 days', '1 minute');
SELECT regress.add_logs('integration_logs', 'd0000000-0000-4000-8000-000000000002', '90 days 1 hour');
SELECT cleanup_integration_logs();
SELECT tenant_id, rows, youngest_days, oldest_days FROM regress.log_rows WHERE log = 'integration_logs' ORDER BY tenant_id;
-- Nothing left to delete.
SELECT cleanup_integration_logs();

-- Exactly 90 days old is not older than 90 days: kept. One microsecond more: deleted.
BEGIN;
SELECT regress.add_logs('integration_logs', 'd0000000-0000-4000-8000-000000000001', '90 days');
SELECT cleanup_integration_logs();
SELECT regress.add_logs('integration_logs', 'd0000000-0000-4000-8000-000000000001', '90 days 0.000001 seconds');
SELECT cleanup_integration_logs();
SELECT rows FROM regress.log_rows WHERE log = 'integration_logs' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
ROLLBACK;

-- A custom retention of 1 hour: 2 hours and 61 minutes go, 59 minutes and now stay;
-- so do the 89-day and 1-minute rows from before: 2 + 1 deleted.
BEGIN;
SELECT regress.add_logs('integration_logs', 'd0000000-0000-4000-8000-000000000001', '2 hours', '61 minutes', '59 minutes', '0 seconds');
SELECT cleanup_integration_logs('1 hour');
SELECT rows FROM regress.log_rows WHERE log = 'integration_logs' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
COMMIT;

-- Batches: 5 expired rows go whatever the batch size (1, 2, 5, 6), never the young ones.
DELETE FROM integration_logs WHERE tenant_id = 'd0000000-0000-4000-8000-000000000001';
SELECT regress.add_logs('integration_logs', 'd0000000-0000-4000-8000-000000000001', '91 days', '92 days', '93 days', '94 days', '95 days', '1 minute');
SELECT cleanup_integration_logs(batch_size => 1);
SELECT rows FROM regress.log_rows WHERE log = 'integration_logs' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
SELECT regress.add_logs('integration_logs', 'd0000000-0000-4000-8000-000000000001', '91 days', '92 days', '93 days', '94 days', '95 days');
SELECT cleanup_integration_logs('90 days', 2);
SELECT regress.add_logs('integration_logs', 'd0000000-0000-4000-8000-000000000001', '91 days', '92 days', '93 days', '94 days', '95 days');
SELECT cleanup_integration_logs('90 days', 5);
SELECT regress.add_logs('integration_logs', 'd0000000-0000-4000-8000-000000000001', '91 days', '92 days', '93 days', '94 days', '95 days');
SELECT cleanup_integration_logs('90 days', 6);
SELECT rows FROM regress.log_rows WHERE log = 'integration_logs' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
DELETE FROM integration_logs WHERE tenant_id = 'd0000000-0000-4000-8000-000000000001';

------------------------------------------------------------------------------
-- cleanup_activity_logs: default retention 180 days.
------------------------------------------------------------------------------
-- Tenant 1: expired at 181, 190 and 400 days; kept at 179 days and 1 minute.
-- Tenant 2: expired at 180 days and 1 hour. Cleanup is not per tenant: 4 rows go.
SELECT regress.add_logs('user_activities', 'd0000000-0000-4000-8000-000000000001', '181 days', '190 days', '400 days', '179 days', '1 minute');
SELECT regress.add_logs('user_activities', 'd0000000-0000-4000-8000-000000000002', '180 days 1 hour');
SELECT cleanup_activity_logs();
SELECT tenant_id, rows, youngest_days, oldest_days FROM regress.log_rows WHERE log = 'user_activities' ORDER BY tenant_id;
-- Nothing left to delete.
SELECT cleanup_activity_logs();

-- Exactly 180 days old is not older than 180 days: kept. One microsecond more: deleted.
BEGIN;
SELECT regress.add_logs('user_activities', 'd0000000-0000-4000-8000-000000000001', '180 days');
SELECT cleanup_activity_logs();
SELECT regress.add_logs('user_activities', 'd0000000-0000-4000-8000-000000000001', '180 days 0.000001 seconds');
SELECT cleanup_activity_logs();
SELECT rows FROM regress.log_rows WHERE log = 'user_activities' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
ROLLBACK;

-- A custom retention of 1 hour: 2 hours and 61 minutes go, 59 minutes and now stay;
-- so do the 179-day and 1-minute rows from before: 2 + 1 deleted.
BEGIN;
SELECT regress.add_logs('user_activities', 'd0000000-0000-4000-8000-000000000001', '2 hours', '61 minutes', '59 minutes', '0 seconds');
SELECT cleanup_activity_logs('1 hour');
SELECT rows FROM regress.log_rows WHERE log = 'user_activities' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
COMMIT;

-- Batches: 5 expired rows go whatever the batch size (1, 2, 5, 6), never the young ones.
DELETE FROM user_activities WHERE tenant_id = 'd0000000-0000-4000-8000-000000000001';
SELECT regress.add_logs('user_activities', 'd0000000-0000-4000-8000-000000000001', '181 days', '182 days', '183 days', '184 days', '185 days', '1 minute');
SELECT cleanup_activity_logs(batch_size => 1);
SELECT rows FROM regress.log_rows WHERE log = 'user_activities' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
SELECT regress.add_logs('user_activities', 'd0000000-0000-4000-8000-000000000001', '181 days', '182 days', '183 days', '184 days', '185 days');
SELECT cleanup_activity_logs('180 days', 2);
SELECT regress.add_logs('user_activities', 'd0000000-0000-4000-8000-000000000001', '181 days', '182 days', '183 days', '184 days', '185 days');
SELECT cleanup_activity_logs('180 days', 5);
SELECT regress.add_logs('user_activities', 'd0000000-0000-4000-8000-000000000001', '181 days', '182 days', '183 days', '184 days', '185 days');
SELECT cleanup_activity_logs('180 days', 6);
SELECT rows FROM regress.log_rows WHERE log = 'user_activities' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
DELETE FROM user_activities WHERE tenant_id = 'd0000000-0000-4000-8000-000000000001';

------------------------------------------------------------------------------
-- cleanup_api_usage_logs: default retention 90 days.
------------------------------------------------------------------------------
-- Tenant 1: expired at 91, 100 and 400 days; kept at 89 days and 1 minute.
-- Tenant 2: expired at 90 days and 1 hour. Cleanup is not per tenant: 4 rows go.
SELECT regress.add_logs('api_usage_logs', 'd0000000-0000-4000-8000-000000000001', '91 days', '100 days', '400 days', '89 days', '1 minute');
SELECT regress.add_logs('api_usage_logs', 'd0000000-0000-4000-8000-000000000002', '90 days 1 hour');
SELECT cleanup_api_usage_logs();
SELECT tenant_id, rows, youngest_days, oldest_days FROM regress.log_rows WHERE log = 'api_usage_logs' ORDER BY tenant_id;
-- Nothing left to delete.
SELECT cleanup_api_usage_logs();

-- Exactly 90 days old is not older than 90 days: kept. One microsecond more: deleted.
BEGIN;
SELECT regress.add_logs('api_usage_logs', 'd0000000-0000-4000-8000-000000000001', '90 days');
SELECT cleanup_api_usage_logs();
SELECT regress.add_logs('api_usage_logs', 'd0000000-0000-4000-8000-000000000001', '90 days 0.000001 seconds');
SELECT cleanup_api_usage_logs();
SELECT rows FROM regress.log_rows WHERE log = 'api_usage_logs' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
ROLLBACK;

-- A custom retention of 1 hour: 2 hours and 61 minutes go, 59 minutes and now stay;
-- so do the 89-day and 1-minute rows from before: 2 + 1 deleted.
BEGIN;
SELECT regress.add_logs('api_usage_logs', 'd0000000-0000-4000-8000-000000000001', '2 hours', '61 minutes', '59 minutes', '0 seconds');
SELECT cleanup_api_usage_logs('1 hour');
SELECT rows FROM regress.log_rows WHERE log = 'api_usage_logs' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
COMMIT;

-- Batches: 5 expired rows go whatever the batch size (1, 2, 5, 6), never the young ones.
DELETE FROM api_usage_logs WHERE tenant_id = 'd0000000-0000-4000-8000-000000000001';
SELECT regress.add_logs('api_usage_logs', 'd0000000-0000-4000-8000-000000000001', '91 days', '92 days', '93 days', '94 days', '95 days', '1 minute');
SELECT cleanup_api_usage_logs(batch_size => 1);
SELECT rows FROM regress.log_rows WHERE log = 'api_usage_logs' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
SELECT regress.add_logs('api_usage_logs', 'd0000000-0000-4000-8000-000000000001', '91 days', '92 days', '93 days', '94 days', '95 days');
SELECT cleanup_api_usage_logs('90 days', 2);
SELECT regress.add_logs('api_usage_logs', 'd0000000-0000-4000-8000-000000000001', '91 days', '92 days', '93 days', '94 days', '95 days');
SELECT cleanup_api_usage_logs('90 days', 5);
SELECT regress.add_logs('api_usage_logs', 'd0000000-0000-4000-8000-000000000001', '91 days', '92 days', '93 days', '94 days', '95 days');
SELECT cleanup_api_usage_logs('90 days', 6);
SELECT rows FROM regress.log_rows WHERE log = 'api_usage_logs' AND tenant_id = 'd0000000-0000-4000-8000-000000000001';
DELETE FROM api_usage_logs WHERE tenant_id = 'd0000000-0000-4000-8000-000000000001';

-- Cleanup.
DROP VIEW regress.log_rows;
DROP FUNCTION regress.add_logs(text, uuid, interval[]);
DELETE FROM tenants WHERE id IN ('d0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000002');
SELECT (SELECT count(*) FROM webhooks WHERE tenant_id::text LIKE 'd0000000-%') AS webhooks,
       (SELECT count(*) FROM integrations WHERE tenant_id::text LIKE 'd0000000-%') AS integrations;
