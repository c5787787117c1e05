-- errors: every bad call raises an ERROR with a fitting SQLSTATE and a message
-- naming the argument. Shown through regress.expect_error as "SQLSTATE: message".
SET timezone = 'UTC';

INSERT INTO tenants (id, slug, name) VALUES ('e0000000-0000-4000-8000-000000000001', 'regress-errors', 'Errors');
-- e0000000-0000-4000-8000-0000000000ff is never inserted: the unknown tenant.

------------------------------------------------------------------------------
-- record_usage
------------------------------------------------------------------------------
-- NULL for each argument (22004).
SELECT regress.expect_error($$SELECT record_usage(NULL, 'api_calls', 1)$$);
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', NULL, 1)$$);
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', 'api_calls', NULL)$$);
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', 'api_calls', 1, NULL)$$);
-- Unknown tenant (P0002).
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-0000000000ff', 'api_calls', 1)$$);
-- metric_type not a lowercase identifier (22023).
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', 'API Calls', 1)$$);
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', '', 1)$$);
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', 'x;drop table tenants', 1)$$);
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', '1st_metric', 1)$$);
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', 'api-calls', 1)$$);
SELECT regress.expect_error(format($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', %L, 1)$$, repeat('m', 64)));
-- 63 characters is the most allowed.
SELECT regress.expect_error(format($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', %L, 1, '2024-01-01 00:00:00+00')$$, repeat('m', 63)));
-- Negative and NaN values (22023).
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', 'api_calls', -1)$$);
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', 'api_calls', -0.001)$$);
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', 'api_calls', 'NaN')$$);
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', 'api_calls', '-Infinity')$$);
-- The bad metric name reached no table, and nothing else was recorded.
SELECT to_regclass('tenants') IS NOT NULL AS tenants_still_there;
SELECT roll_up_usage() > 0 AS rolled_up;  -- the deltas of the calls above into usage_metrics
SELECT metric_type, value_sum FROM usage_metrics WHERE tenant_id = 'e0000000-0000-4000-8000-000000000001';

------------------------------------------------------------------------------
-- aggregate_usage_metrics
------------------------------------------------------------------------------
SELECT regress.expect_error($$SELECT * FROM aggregate_usage_metrics(NULL, 'api_calls', '2024-01-01', '2024-02-01')$$);
SELECT regress.expect_error($$SELECT * FROM aggregate_usage_metrics('e0000000-0000-4000-8000-000000000001', NULL, '2024-01-01', '2024-02-01')$$);
SELECT regress.expect_error($$SELECT * FROM aggregate_usage_metrics('e0000000-0000-4000-8000-000000000001', 'api_calls', NULL, '2024-02-01')$$);
SELECT regress.expect_error($$SELECT * FROM aggregate_usage_metrics('e0000000-0000-4000-8000-000000000001', 'api_calls', '2024-01-01', NULL)$$);
-- Unknown tenant.
SELECT regress.expect_error($$SELECT * FROM aggregate_usage_metrics('e0000000-0000-4000-8000-0000000000ff', 'api_calls', '2024-01-01', '2024-02-01')$$);
-- Bad metric_type.
SELECT regress.expect_error($$SELECT * FROM aggregate_usage_metrics('e0000000-0000-4000-8000-000000000001', 'API Calls', '2024-01-01', '2024-02-01')$$);
SELECT regress.expect_error($$SELECT * FROM aggregate_usage_metrics('e0000000-0000-4000-8000-000000000001', '', '2024-01-01', '2024-02-01')$$);
SELECT regress.expect_error($$SELECT * FROM aggregate_usage_metrics('e0000000-0000-4000-8000-000000000001', 'x;drop table tenants', '2024-01-01', '2024-02-01')$$);
-- Unknown bucket (names are lowercase).
SELECT regress.expect_error($$SELECT * FROM aggregate_usage_metrics('e0000000-0000-4000-8000-000000000001', 'api_calls', '2024-01-01', '2024-02-01', 'year')$$);
SELECT regress.expect_error($$SELECT * FROM aggregate_usage_metrics('e0000000-0000-4000-8000-000000000001', 'api_calls', '2024-01-01', '2024-02-01', 'DAY')$$);
SELECT regress.expect_error($$SELECT * FROM aggregate_usage_metrics('e0000000-0000-4000-8000-000000000001', 'api_calls', '2024-01-01', '2024-02-01', '')$$);
-- from after to, and from equal to to.
SELECT regress.expect_error($$SELECT * FROM aggregate_usage_metrics('e0000000-0000-4000-8000-000000000001', 'api_calls', '2024-02-01', '2024-01-01')$$);
SELECT regress.expect_error($$SELECT * FROM aggregate_usage_metrics('e0000000-0000-4000-8000-000000000001', 'api_calls', '2024-01-01', '2024-01-01')$$);
SELECT regress.expect_error($$SELECT * FROM aggregate_usage_metrics('e0000000-0000-4000-8000-000000000001', 'api_calls', '2024-01-01', '2024-01-01', 'day')$$);

------------------------------------------------------------------------------
-- check_tenant_limit
------------------------------------------------------------------------------
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit(NULL, 'users_count', 1)$$);
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('e0000000-0000-4000-8000-000000000001', NULL, 1)$$);
-- Unknown tenant.
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('e0000000-0000-4000-8000-0000000000ff', 'users_count', 1)$$);
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('e0000000-0000-4000-8000-0000000000ff', 'webhooks_count')$$);
-- Unknown limit types (not configured for the tenant either).
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('e0000000-0000-4000-8000-000000000001', 'bogus', 1)$$);
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('e0000000-0000-4000-8000-000000000001', 'USERS_COUNT', 1)$$);
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('e0000000-0000-4000-8000-000000000001', 'API_CALLS_per_day')$$);
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('e0000000-0000-4000-8000-000000000001', '_per_month')$$);
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('e0000000-0000-4000-8000-000000000001', '')$$);
-- Negative current_value.
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('e0000000-0000-4000-8000-000000000001', 'users_count', -1)$$);
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('e0000000-0000-4000-8000-000000000001', 'webhooks_count', -5)$$);
-- current_value required where the extension does not hold the data.
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('e0000000-0000-4000-8000-000000000001', 'users_count')$$);
SELECT regress.expect_error($$SELECT * FROM check_tenant_limit('e0000000-0000-4000-8000-000000000001', 'storage_bytes', NULL)$$);

------------------------------------------------------------------------------
-- enable_tenancy
------------------------------------------------------------------------------
CREATE TABLE regress.plain (id int);
INSERT INTO regress.plain VALUES (1);
SELECT regress.expect_error($$SELECT enable_tenancy(NULL)$$);
-- An OID that names no relation: 42P01, not an internal error.
SELECT regress.expect_error($$SELECT enable_tenancy(0::regclass)$$);
SELECT regress.expect_error($$SELECT enable_tenancy(NULL, 'e0000000-0000-4000-8000-000000000001')$$);
-- Unknown tenant: refused before anything changes.
SELECT regress.expect_error($$SELECT enable_tenancy('regress.plain', 'e0000000-0000-4000-8000-0000000000ff')$$);
SELECT count(*) AS tenant_id_columns FROM pg_attribute WHERE attrelid = 'regress.plain'::regclass AND attname = 'tenant_id';
-- Not a table (42809): a view, a materialized view, a sequence, a system catalog, tenants itself.
CREATE VIEW regress.plain_view AS SELECT id FROM regress.plain;
CREATE MATERIALIZED VIEW regress.plain_matview AS SELECT id FROM regress.plain;
CREATE SEQUENCE regress.plain_seq;
SELECT regress.expect_error($$SELECT enable_tenancy('regress.plain_view')$$);
SELECT regress.expect_error($$SELECT enable_tenancy('regress.plain_view', 'e0000000-0000-4000-8000-000000000001')$$);
SELECT regress.expect_error($$SELECT enable_tenancy('regress.plain_matview')$$);
SELECT regress.expect_error($$SELECT enable_tenancy('regress.plain_seq')$$);
SELECT regress.expect_error($$SELECT enable_tenancy('pg_catalog.pg_class')$$);
SELECT regress.expect_error($$SELECT enable_tenancy('information_schema.sql_features', 'e0000000-0000-4000-8000-000000000001')$$);
SELECT regress.expect_error($$SELECT enable_tenancy('tenants')$$);
SELECT regress.expect_error($$SELECT enable_tenancy('public.tenants', 'e0000000-0000-4000-8000-000000000001')$$);
-- A tenant_id column of another type (42804).
CREATE TABLE regress.text_tenant (id int, tenant_id text);
SELECT regress.expect_error($$SELECT enable_tenancy('regress.text_tenant')$$);
SELECT regress.expect_error($$SELECT enable_tenancy('regress.text_tenant', 'e0000000-0000-4000-8000-000000000001')$$);
CREATE TABLE regress.bigint_tenant (id int, tenant_id bigint);
SELECT regress.expect_error($$SELECT enable_tenancy('regress.bigint_tenant')$$);
-- A table that does not exist never reaches the function.
SELECT regress.expect_error($$SELECT enable_tenancy('regress.no_such_table')$$);
-- None of these changed anything.
SELECT attrelid::regclass AS relation, format_type(atttypid, atttypmod) AS type
  FROM pg_attribute
 WHERE attname = 'tenant_id'
   AND attrelid IN ('regress.plain'::regclass, 'regress.plain_view'::regclass, 'regress.plain_matview'::regclass,
                    'regress.text_tenant'::regclass, 'regress.bigint_tenant'::regclass)
 ORDER BY 1;
DROP VIEW regress.plain_view;
DROP MATERIALIZED VIEW regress.plain_matview;
DROP TABLE regress.plain, regress.text_tenant, regress.bigint_tenant;
DROP SEQUENCE regress.plain_seq;

------------------------------------------------------------------------------
-- The four cleanups: NULL, zero and negative retention and batch_size.
------------------------------------------------------------------------------
SELECT f, regress.expect_error(format('SELECT %s(NULL)', f)) AS null_retention,
          regress.expect_error(format('SELECT %s(%L, NULL)', f, '30 days')) AS null_batch_size
  FROM unnest(ARRAY['cleanup_webhook_logs', 'cleanup_integration_logs', 'cleanup_activity_logs', 'cleanup_api_usage_logs']) f;
SELECT f, regress.expect_error(format('SELECT %s(%L)', f, '0 seconds')) AS zero_retention,
          regress.expect_error(format('SELECT %s(%L)', f, '-1 day')) AS negative_retention
  FROM unnest(ARRAY['cleanup_webhook_logs', 'cleanup_integration_logs', 'cleanup_activity_logs', 'cleanup_api_usage_logs']) f;
SELECT f, regress.expect_error(format('SELECT %s(batch_size => 0)', f)) AS zero_batch_size,
          regress.expect_error(format('SELECT %s(batch_size => -1)', f)) AS negative_batch_size
  FROM unnest(ARRAY['cleanup_webhook_logs', 'cleanup_integration_logs', 'cleanup_activity_logs', 'cleanup_api_usage_logs']) f;
-- Mixed signs that add up to nothing are not positive either.
SELECT regress.expect_error($$SELECT cleanup_webhook_logs('1 day -24 hours')$$);
SELECT regress.expect_error($$SELECT cleanup_activity_logs('1 mon -30 days')$$);

-- Infinite values would poison every sum of the hour; infinite times fit no hour.
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', 'api_calls', 'Infinity')$$);
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', 'api_calls', '-Infinity')$$);
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', 'api_calls', 1, 'infinity')$$);
SELECT regress.expect_error($$SELECT record_usage('e0000000-0000-4000-8000-000000000001', 'api_calls', 1, '-infinity')$$);
-- A retention longer than the calendar removes nothing (no error, no overflow).
SELECT cleanup_webhook_logs('1000000 years') AS removed_with_huge_retention;
-- set_updated_at anywhere but BEFORE UPDATE FOR EACH ROW is refused, not a silent no-op.
CREATE TABLE regress.misused (id int, updated_at timestamptz);
INSERT INTO regress.misused VALUES (1, '2001-01-01');
CREATE TRIGGER misused_after AFTER UPDATE ON regress.misused FOR EACH ROW EXECUTE FUNCTION set_updated_at();
SELECT regress.expect_error($$UPDATE regress.misused SET id = 2$$);
DROP TRIGGER misused_after ON regress.misused;
CREATE TRIGGER misused_insert BEFORE INSERT ON regress.misused FOR EACH ROW EXECUTE FUNCTION set_updated_at();
SELECT regress.expect_error($$INSERT INTO regress.misused VALUES (3, '2001-01-01')$$);
DROP TABLE regress.misused;

-- After all these errors the backend is alive and well.
SELECT 1 AS alive;

-- Cleanup.
DELETE FROM tenants WHERE id = 'e0000000-0000-4000-8000-000000000001';
SELECT count(*) FROM usage_metrics WHERE tenant_id = 'e0000000-0000-4000-8000-000000000001';
