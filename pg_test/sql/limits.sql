-- limits: check_tenant_limit.
SET timezone = 'UTC';

-- Tenant 1: active and paying; 10 users, 1000 bytes, and limits in tenants.limits
-- (no dashboards_count among them).
-- Tenant 2: active; owns rows that must not count for tenant 1.
INSERT INTO tenants (id, slug, name, subscription_status, max_users, max_storage_bytes, limits) VALUES
    ('c0000000-0000-4000-8000-000000000001', 'regress-limits-1', 'Limits 1', 'active', 10, 1000,
     '{"webhooks_count": 2, "api_calls_per_month": 100, "api_calls_per_day": 10, "seats_count": 3, "integrations_count": 0}'),
    ('c0000000-0000-4000-8000-000000000002', 'regress-limits-2', 'Limits 2', 'active', 5, 5,
     '{"api_calls_per_day": 10}');

------------------------------------------------------------------------------
-- users_count: limited by max_users, current_value given by the caller.
------------------------------------------------------------------------------
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'users_count', 0);
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'users_count', 9);
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'users_count', 10);
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'users_count', 11);
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'users_count', 9223372036854775807);

------------------------------------------------------------------------------
-- storage_bytes: limited by max_storage_bytes.
------------------------------------------------------------------------------
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'storage_bytes', 1000);
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'storage_bytes', 1001);
-- max_users does not apply to storage, nor max_storage_bytes to users.
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'storage_bytes', 11);
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'users_count', 999);

------------------------------------------------------------------------------
-- <table>_count without current_value: counted in the extension's tables.
------------------------------------------------------------------------------
-- No webhooks yet.
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'webhooks_count');
INSERT INTO webhooks (tenant_id, name, url, secret) VALUES
    ('c0000000-0000-4000-8000-000000000001', 'Hook 1', 'https://example.com/1', 'whsec_MTIzNDU2Nzg5MC10ZXN0LXNlY3JldC1r'),
    ('c0000000-0000-4000-8000-000000000001', 'Hook 2', 'https://example.com/2', 'whsec_YWJjZGVmLXRlc3Qtc2VjcmV0LWtleS0w');
-- The other tenant's webhooks are not counted.
INSERT INTO webhooks (tenant_id, name, url, secret) VALUES
    ('c0000000-0000-4000-8000-000000000002', 'Hook 1', 'https://example.com/1', 'whsec_MTIzNDU2Nzg5MC10ZXN0LXNlY3JldC1r'),
    ('c0000000-0000-4000-8000-000000000002', 'Hook 2', 'https://example.com/2', 'whsec_MTIzNDU2Nzg5MC10ZXN0LXNlY3JldC1r'),
    ('c0000000-0000-4000-8000-000000000002', 'Hook 3', 'https://example.com/3', 'whsec_MTIzNDU2Nzg5MC10ZXN0LXNlY3JldC1r');
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'webhooks_count');
-- A third is refused (53400): a trigger keeps direct inserts to webhooks_count
-- as create_webhook (since 0.10.0).
INSERT INTO webhooks (tenant_id, name, url, secret) VALUES
    ('c0000000-0000-4000-8000-000000000001', 'Hook 3', 'https://example.com/3', 'whsec_eHl6LXRlc3Qtc2VjcmV0LWtleS0wMTIz');
-- A limit an operator lowers below what the tenant has keeps its webhooks, and
-- the check reports it exceeded.
UPDATE tenants SET limits = limits || '{"webhooks_count": 3}' WHERE id = 'c0000000-0000-4000-8000-000000000001';
INSERT INTO webhooks (tenant_id, name, url, secret) VALUES
    ('c0000000-0000-4000-8000-000000000001', 'Hook 3', 'https://example.com/3', 'whsec_eHl6LXRlc3Qtc2VjcmV0LWtleS0wMTIz');
UPDATE tenants SET limits = limits || '{"webhooks_count": 2}' WHERE id = 'c0000000-0000-4000-8000-000000000001';
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'webhooks_count');
-- A given current_value is used as is, not measured.
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'webhooks_count', 1);

-- dashboards_count: counted, but no limit is configured: allowed, no limit, no remaining.
INSERT INTO dashboards (tenant_id, name) VALUES
    ('c0000000-0000-4000-8000-000000000001', 'One'),
    ('c0000000-0000-4000-8000-000000000001', 'Two'),
    ('c0000000-0000-4000-8000-000000000001', 'Three');
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'dashboards_count');

-- A limit of 0: nothing allowed beyond none.
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'integrations_count');
INSERT INTO integrations (tenant_id, provider, name) VALUES ('c0000000-0000-4000-8000-000000000001', 'sendgrid', 'SendGrid');
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'integrations_count');

-- The other counted tables, no limits configured.
SELECT limit_type, current_value, allowed, limit_value
  FROM unnest(ARRAY['analytics_queries_count', 'scheduled_reports_count']) l,
       check_tenant_limit('c0000000-0000-4000-8000-000000000001', l);

------------------------------------------------------------------------------
-- <metric>_per_month / <metric>_per_day: the metric's total in the current UTC
-- month / day. One transaction, so that now() is the same instant throughout.
------------------------------------------------------------------------------
BEGIN;
-- Just outside the current UTC month on both sides: never counted.
SELECT record_usage('c0000000-0000-4000-8000-000000000001', 'api_calls', 1000,
                    date_trunc('month', now(), 'UTC') - interval '1 microsecond') < date_trunc('month', now(), 'UTC') AS before_month;
SELECT record_usage('c0000000-0000-4000-8000-000000000001', 'api_calls', 1000,
                    date_trunc('month', now(), 'UTC') + interval '1 month')
       = date_trunc('month', now(), 'UTC') + interval '1 month' AS after_month;
-- The other tenant's calls now: not counted for tenant 1.
SELECT record_usage('c0000000-0000-4000-8000-000000000002', 'api_calls', 5000) IS NOT NULL AS recorded;
-- Nothing of tenant 1 in this month yet.
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'api_calls_per_month');
-- 60 + 40 now: exactly the monthly limit of 100.
SELECT record_usage('c0000000-0000-4000-8000-000000000001', 'api_calls', 60) IS NOT NULL AS recorded;
SELECT record_usage('c0000000-0000-4000-8000-000000000001', 'api_calls', 40) IS NOT NULL AS recorded;
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'api_calls_per_month');
-- The same 100 today is over the daily limit of 10.
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'api_calls_per_day');
-- A fraction more: the total is rounded up, 100.5 counts as 101.
SELECT record_usage('c0000000-0000-4000-8000-000000000001', 'api_calls', 0.5) IS NOT NULL AS recorded;
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'api_calls_per_month');
-- A metric with no limit configured: measured, allowed, no limit.
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'exports_per_month');
COMMIT;

-- Per day for tenant 2: its 5000 today, then the hours just outside today.
BEGIN;
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000002', 'api_calls_per_day');
DELETE FROM usage_metrics WHERE tenant_id = 'c0000000-0000-4000-8000-000000000002';
DELETE FROM usage_deltas WHERE tenant_id = 'c0000000-0000-4000-8000-000000000002';
SELECT record_usage('c0000000-0000-4000-8000-000000000002', 'api_calls', 500,
                    date_trunc('day', now(), 'UTC') - interval '1 microsecond') < date_trunc('day', now(), 'UTC') AS before_today;
SELECT record_usage('c0000000-0000-4000-8000-000000000002', 'api_calls', 500,
                    date_trunc('day', now(), 'UTC') + interval '1 day') = date_trunc('day', now(), 'UTC') + interval '1 day' AS after_today;
SELECT record_usage('c0000000-0000-4000-8000-000000000002', 'api_calls', 7) IS NOT NULL AS recorded;
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000002', 'api_calls_per_day');
COMMIT;

------------------------------------------------------------------------------
-- A limit type only tenants.limits knows (seats_count): needs current_value.
------------------------------------------------------------------------------
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'seats_count', 3);
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'seats_count', 4);
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'seats_count')$$);
-- Tenant 2 has no seats_count: unknown.
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000002', 'seats_count', 1)$$);

------------------------------------------------------------------------------
-- Tenant state: suspended, cancelled, trial over.
------------------------------------------------------------------------------
UPDATE tenants SET status = 'suspended', suspended_at = now(), suspension_reason = 'unpaid invoices'
 WHERE id = 'c0000000-0000-4000-8000-000000000001';
-- Under the limit, still refused.
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'users_count', 1);
-- Over the limit: the suspension is the reason given.
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'users_count', 11);
-- Measured limit types are refused too.
SELECT allowed, reason FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'dashboards_count');

UPDATE tenants SET status = 'cancelled' WHERE id = 'c0000000-0000-4000-8000-000000000001';
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'users_count', 1);

-- Back to active.
UPDATE tenants SET status = 'active', suspended_at = NULL WHERE id = 'c0000000-0000-4000-8000-000000000001';
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000001', 'users_count', 1);

-- Trials: tenant 3, still trialing.
INSERT INTO tenants (id, slug, name, subscription_status, max_users, trial_ends_at) VALUES
    ('c0000000-0000-4000-8000-000000000003', 'regress-limits-3', 'Limits 3', 'trialing', 10, now() + interval '7 days');
-- Trial not over yet.
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000003', 'users_count', 1);
-- Trial over, still trialing: refused, even far under the limit.
UPDATE tenants SET trial_ends_at = now() - interval '1 day' WHERE id = 'c0000000-0000-4000-8000-000000000003';
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000003', 'users_count', 1);
-- Trial over, subscription canceled: refused.
UPDATE tenants SET subscription_status = 'canceled' WHERE id = 'c0000000-0000-4000-8000-000000000003';
SELECT allowed, reason FROM check_tenant_limit('c0000000-0000-4000-8000-000000000003', 'users_count', 1);
-- Trial over, subscription active: allowed.
UPDATE tenants SET subscription_status = 'active' WHERE id = 'c0000000-0000-4000-8000-000000000003';
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000003', 'users_count', 1);
-- ... and still limited by the limit.
SELECT * FROM check_tenant_limit('c0000000-0000-4000-8000-000000000003', 'users_count', 11);
-- No trial end at all, trialing: allowed.
UPDATE tenants SET subscription_status = 'trialing', trial_ends_at = NULL WHERE id = 'c0000000-0000-4000-8000-000000000003';
SELECT allowed, reason FROM check_tenant_limit('c0000000-0000-4000-8000-000000000003', 'users_count', 1);

------------------------------------------------------------------------------
-- Limits the CHECK constraint accepts are all read: 5.0 is 5, 1e20 is beyond bigint.
------------------------------------------------------------------------------
UPDATE tenants SET limits = '{"webhooks_count": 5.0, "dashboards_count": 1e20}'
 WHERE id = 'c0000000-0000-4000-8000-000000000002';
SELECT limit_type, allowed, limit_value
  FROM unnest(ARRAY['webhooks_count', 'dashboards_count']) l,
       check_tenant_limit('c0000000-0000-4000-8000-000000000002', l, 6);

------------------------------------------------------------------------------
-- The per-month and per-day windows are UTC whatever the session's time zone:
-- usage in the first hour of next UTC month/day is not counted now, usage in
-- the last hour of this UTC month is.
------------------------------------------------------------------------------
UPDATE tenants SET limits = '{"zone_probe_per_month": 1000, "zone_probe_per_day": 1000}'
 WHERE id = 'c0000000-0000-4000-8000-000000000002';
SELECT record_usage('c0000000-0000-4000-8000-000000000002', 'zone_probe', 7,
       (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC') IS NOT NULL AS next_month;
SELECT record_usage('c0000000-0000-4000-8000-000000000002', 'zone_probe', 3,
       (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month' - interval '1 hour') AT TIME ZONE 'UTC') IS NOT NULL AS last_hour;
SELECT record_usage('c0000000-0000-4000-8000-000000000002', 'zone_probe', 11,
       (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC') IS NOT NULL AS next_day;
SET timezone = 'America/New_York';
SELECT current_value FROM check_tenant_limit('c0000000-0000-4000-8000-000000000002', 'zone_probe_per_month') AS new_york_month;
SET timezone = 'Asia/Kolkata';
SELECT current_value FROM check_tenant_limit('c0000000-0000-4000-8000-000000000002', 'zone_probe_per_month') AS kolkata_month;
SET timezone = 'UTC';
SELECT current_value FROM check_tenant_limit('c0000000-0000-4000-8000-000000000002', 'zone_probe_per_month') AS utc_month;
-- Today's UTC day: the last hour of the month counts only when today is that day.
SET timezone = 'America/Los_Angeles';
SELECT current_value = CASE WHEN date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day'
                                 = date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month'
                            THEN 3 ELSE 0 END AS day_window_is_utc
  FROM check_tenant_limit('c0000000-0000-4000-8000-000000000002', 'zone_probe_per_day');
SET timezone = 'UTC';

-- Cleanup.
DELETE FROM tenants WHERE id::text LIKE 'c0000000-%';
SELECT (SELECT count(*) FROM usage_metrics WHERE tenant_id::text LIKE 'c0000000-%') AS usage_rows,
       (SELECT count(*) FROM webhooks WHERE tenant_id::text LIKE 'c0000000-%') AS webhooks;
