-- tenants: the tenants table's constraints, the set_updated_at trigger, cascading
-- deletes and composite foreign keys of tenant-scoped tables, and enable_tenancy.
SET timezone = 'UTC';

------------------------------------------------------------------------------
-- CHECK constraints of tenants (23514), each next to a value that passes.
------------------------------------------------------------------------------
-- slug: lowercase letters, digits and inner hyphens, 1-63 characters.
SELECT regress.expect_error($$INSERT INTO tenants (slug, name) VALUES ('Regress-Upper', 'x')$$);
SELECT regress.expect_error($$INSERT INTO tenants (slug, name) VALUES ('regress_underscore', 'x')$$);
SELECT regress.expect_error($$INSERT INTO tenants (slug, name) VALUES ('-regress-leading', 'x')$$);
SELECT regress.expect_error($$INSERT INTO tenants (slug, name) VALUES ('regress-trailing-', 'x')$$);
SELECT regress.expect_error($$INSERT INTO tenants (slug, name) VALUES ('', 'x')$$);
SELECT regress.expect_error(format($$INSERT INTO tenants (slug, name) VALUES (%L, 'x')$$, 'r' || repeat('e', 63)));
SELECT regress.expect_error($$INSERT INTO tenants (id, slug, name) VALUES ('a0000000-0000-4000-8000-000000000009', 'regress-tenants-ok', 'x')$$);
SELECT regress.expect_error(format($$INSERT INTO tenants (id, slug, name) VALUES ('a0000000-0000-4000-8000-00000000000a', %L, 'x')$$, 'r' || repeat('e', 62)));

-- custom_domain: a lowercase host name with at least one dot.
SELECT regress.expect_error($$INSERT INTO tenants (slug, name, custom_domain) VALUES ('regress-dom-1', 'x', 'App.Example.com')$$);
SELECT regress.expect_error($$INSERT INTO tenants (slug, name, custom_domain) VALUES ('regress-dom-2', 'x', 'localhost')$$);
SELECT regress.expect_error($$INSERT INTO tenants (slug, name, custom_domain) VALUES ('regress-dom-3', 'x', 'https://app.example.com')$$);
SELECT regress.expect_error($$INSERT INTO tenants (slug, name, custom_domain) VALUES ('regress-dom-4', 'x', 'app.example.com.')$$);
SELECT regress.expect_error($$INSERT INTO tenants (id, slug, name, custom_domain) VALUES ('a0000000-0000-4000-8000-00000000000b', 'regress-dom-5', 'x', 'erp.regress.example.com')$$);

-- limits: a JSON object of non-negative integers.
SELECT regress.expect_error($$INSERT INTO tenants (slug, name, limits) VALUES ('regress-lim-1', 'x', '{"webhooks_count": -1}')$$);
SELECT regress.expect_error($$INSERT INTO tenants (slug, name, limits) VALUES ('regress-lim-2', 'x', '{"webhooks_count": 1.5}')$$);
SELECT regress.expect_error($$INSERT INTO tenants (slug, name, limits) VALUES ('regress-lim-3', 'x', '{"webhooks_count": "10"}')$$);
SELECT regress.expect_error($$INSERT INTO tenants (slug, name, limits) VALUES ('regress-lim-4', 'x', '{"webhooks_count": 10, "api_calls_per_day": -0.5}')$$);
SELECT regress.expect_error($$INSERT INTO tenants (slug, name, limits) VALUES ('regress-lim-5', 'x', '[10]')$$);
SELECT regress.expect_error($$INSERT INTO tenants (id, slug, name, limits) VALUES ('a0000000-0000-4000-8000-00000000000c', 'regress-lim-6', 'x', '{"webhooks_count": 0, "api_calls_per_month": 100000}')$$);

-- A suspended tenant needs suspended_at.
SELECT regress.expect_error($$INSERT INTO tenants (slug, name, status) VALUES ('regress-susp-1', 'x', 'suspended')$$);
SELECT regress.expect_error($$INSERT INTO tenants (id, slug, name, status, suspended_at) VALUES ('a0000000-0000-4000-8000-00000000000d', 'regress-susp-2', 'x', 'suspended', now())$$);
SELECT regress.expect_error($$UPDATE tenants SET suspended_at = NULL WHERE id = 'a0000000-0000-4000-8000-00000000000d'$$);

-- Negative max_users and an unknown status.
SELECT regress.expect_error($$INSERT INTO tenants (slug, name, max_users) VALUES ('regress-neg', 'x', -1)$$);
SELECT regress.expect_error($$INSERT INTO tenants (slug, name, status) VALUES ('regress-status', 'x', 'deleted')$$);

-- Only the rows that passed were stored.
SELECT slug FROM tenants WHERE id::text LIKE 'a0000000-%' ORDER BY slug;
DELETE FROM tenants WHERE id::text LIKE 'a0000000-%';

------------------------------------------------------------------------------
-- set_updated_at: every UPDATE stamps updated_at with the transaction timestamp.
------------------------------------------------------------------------------
INSERT INTO tenants (id, slug, name, created_at, updated_at)
VALUES ('a0000000-0000-4000-8000-000000000003', 'regress-tenants-c', 'Tenant C', '2000-01-01 00:00:00+00', '2000-01-01 00:00:00+00');
SELECT updated_at FROM tenants WHERE id = 'a0000000-0000-4000-8000-000000000003';

BEGIN;
UPDATE tenants SET name = 'Tenant C renamed' WHERE id = 'a0000000-0000-4000-8000-000000000003';
SELECT updated_at = now() AS stamped_now, created_at = '2000-01-01 00:00:00+00' AS created_at_kept
  FROM tenants WHERE id = 'a0000000-0000-4000-8000-000000000003';
COMMIT;

-- An UPDATE that sets updated_at itself is overridden too.
BEGIN;
UPDATE tenants SET updated_at = '1999-01-01 00:00:00+00' WHERE id = 'a0000000-0000-4000-8000-000000000003';
SELECT updated_at = now() AS stamped_now FROM tenants WHERE id = 'a0000000-0000-4000-8000-000000000003';
COMMIT;

-- The same trigger on a tenant-scoped table.
INSERT INTO dashboards (tenant_id, id, name, created_at, updated_at)
VALUES ('a0000000-0000-4000-8000-000000000003', 'a3000000-0000-4000-8000-000000000003', 'Overview',
        '2000-01-01 00:00:00+00', '2000-01-01 00:00:00+00');
BEGIN;
UPDATE dashboards SET description = 'Main numbers' WHERE tenant_id = 'a0000000-0000-4000-8000-000000000003';
SELECT updated_at = now() AS stamped_now FROM dashboards WHERE tenant_id = 'a0000000-0000-4000-8000-000000000003';
COMMIT;

-- Every table of the extension with an updated_at column has the trigger.
SELECT c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind = 'r'
   AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'updated_at')
   AND NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgfoid = 'set_updated_at'::regproc);

-- Misused: a table without updated_at, and a statement-level trigger.
CREATE TABLE regress.no_updated_at (id int);
CREATE TRIGGER no_updated_at_set_updated_at BEFORE UPDATE ON regress.no_updated_at
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
INSERT INTO regress.no_updated_at VALUES (1);
SELECT regress.expect_error($$UPDATE regress.no_updated_at SET id = 2$$);
CREATE TABLE regress.statement_level (id int, updated_at timestamptz);
CREATE TRIGGER statement_level_set_updated_at BEFORE UPDATE ON regress.statement_level
    FOR EACH STATEMENT EXECUTE FUNCTION set_updated_at();
INSERT INTO regress.statement_level VALUES (1, '2000-01-01 00:00:00+00');
SELECT regress.expect_error($$UPDATE regress.statement_level SET id = 2$$);
DROP TABLE regress.no_updated_at, regress.statement_level;

DELETE FROM tenants WHERE id = 'a0000000-0000-4000-8000-000000000003';

------------------------------------------------------------------------------
-- Deleting a tenant deletes its rows in every tenant-scoped table, and only its rows.
------------------------------------------------------------------------------
INSERT INTO tenants (id, slug, name) VALUES
    ('a0000000-0000-4000-8000-000000000001', 'regress-tenants-a', 'Tenant A'),
    ('a0000000-0000-4000-8000-000000000002', 'regress-tenants-b', 'Tenant B');

-- One row per tenant in each of the 15 tenant-scoped tables; ids end in the tenant's digit.
INSERT INTO analytics_queries (tenant_id, id, name, query_text)
SELECT t, ('a1000000-0000-4000-8000-00000000000' || k)::uuid, 'Revenue', 'SELECT 1'
  FROM (VALUES (1, 'a0000000-0000-4000-8000-000000000001'::uuid), (2, 'a0000000-0000-4000-8000-000000000002')) v(k, t);
INSERT INTO dashboards (tenant_id, id, name)
SELECT t, ('a2000000-0000-4000-8000-00000000000' || k)::uuid, 'Overview'
  FROM (VALUES (1, 'a0000000-0000-4000-8000-000000000001'::uuid), (2, 'a0000000-0000-4000-8000-000000000002')) v(k, t);
INSERT INTO scheduled_reports (tenant_id, id, name, analytics_query_id, schedule, recipients)
SELECT t, ('a3000000-0000-4000-8000-00000000000' || k)::uuid, 'Weekly revenue',
       ('a1000000-0000-4000-8000-00000000000' || k)::uuid, '0 8 * * 1', '{ops@example.com}'
  FROM (VALUES (1, 'a0000000-0000-4000-8000-000000000001'::uuid), (2, 'a0000000-0000-4000-8000-000000000002')) v(k, t);
INSERT INTO webhooks (tenant_id, id, name, url, secret)
SELECT t, ('a4000000-0000-4000-8000-00000000000' || k)::uuid, 'Hook', 'https://example.com/hook', 'whsec_cmVncmVzcy10ZXN0LXNlY3JldC1rZXkt'
  FROM (VALUES (1, 'a0000000-0000-4000-8000-000000000001'::uuid), (2, 'a0000000-0000-4000-8000-000000000002')) v(k, t);
INSERT INTO webhook_events (tenant_id, id, event_type, payload)
SELECT t, ('a5000000-0000-4000-8000-00000000000' || k)::uuid, 'invoice.paid', '{}'
  FROM (VALUES (1, 'a0000000-0000-4000-8000-000000000001'::uuid), (2, 'a0000000-0000-4000-8000-000000000002')) v(k, t);
INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id)
SELECT t, ('a6000000-0000-4000-8000-00000000000' || k)::uuid,
       ('a4000000-0000-4000-8000-00000000000' || k)::uuid, ('a5000000-0000-4000-8000-00000000000' || k)::uuid
  FROM (VALUES (1, 'a0000000-0000-4000-8000-000000000001'::uuid), (2, 'a0000000-0000-4000-8000-000000000002')) v(k, t);
INSERT INTO webhook_logs (tenant_id, webhook_id, delivery_id, attempt, request_url)
SELECT t, ('a4000000-0000-4000-8000-00000000000' || k)::uuid, ('a6000000-0000-4000-8000-00000000000' || k)::uuid,
       1, 'https://example.com/hook'
  FROM (VALUES (1, 'a0000000-0000-4000-8000-000000000001'::uuid), (2, 'a0000000-0000-4000-8000-000000000002')) v(k, t);
INSERT INTO integrations (tenant_id, id, provider, name)
SELECT t, ('a7000000-0000-4000-8000-00000000000' || k)::uuid, 'stripe', 'Stripe'
  FROM (VALUES (1, 'a0000000-0000-4000-8000-000000000001'::uuid), (2, 'a0000000-0000-4000-8000-000000000002')) v(k, t);
INSERT INTO integration_logs (tenant_id, integration_id, operation, status)
SELECT t, ('a7000000-0000-4000-8000-00000000000' || k)::uuid, 'customers.sync', 'success'
  FROM (VALUES (1, 'a0000000-0000-4000-8000-000000000001'::uuid), (2, 'a0000000-0000-4000-8000-000000000002')) v(k, t);
INSERT INTO stripe_customers (tenant_id, id, stripe_customer_id)
SELECT t, ('a8000000-0000-4000-8000-00000000000' || k)::uuid, 'cus_Regress' || k
  FROM (VALUES (1, 'a0000000-0000-4000-8000-000000000001'::uuid), (2, 'a0000000-0000-4000-8000-000000000002')) v(k, t);
INSERT INTO stripe_subscriptions (tenant_id, stripe_subscription_id, customer_id, status)
SELECT t, 'sub_Regress' || k, ('a8000000-0000-4000-8000-00000000000' || k)::uuid, 'active'
  FROM (VALUES (1, 'a0000000-0000-4000-8000-000000000001'::uuid), (2, 'a0000000-0000-4000-8000-000000000002')) v(k, t);
INSERT INTO sendgrid_contacts (tenant_id, email)
SELECT t, 'contact' || k || '@example.com'
  FROM (VALUES (1, 'a0000000-0000-4000-8000-000000000001'::uuid), (2, 'a0000000-0000-4000-8000-000000000002')) v(k, t);
SELECT record_usage(t, 'api_calls', 1, '2024-06-01 12:00:00+00')
  FROM (VALUES ('a0000000-0000-4000-8000-000000000001'::uuid), ('a0000000-0000-4000-8000-000000000002')) v(t);
INSERT INTO user_activities (tenant_id, action)
SELECT t, 'invoice.created'
  FROM (VALUES ('a0000000-0000-4000-8000-000000000001'::uuid), ('a0000000-0000-4000-8000-000000000002')) v(t);
INSERT INTO api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms)
SELECT t, 'GET', '/v1/invoices', 200, 12
  FROM (VALUES ('a0000000-0000-4000-8000-000000000001'::uuid), ('a0000000-0000-4000-8000-000000000002')) v(t);

CREATE VIEW regress.tenant_rows AS
SELECT tbl,
       count(*) FILTER (WHERE tenant_id = 'a0000000-0000-4000-8000-000000000001') AS tenant_a,
       count(*) FILTER (WHERE tenant_id = 'a0000000-0000-4000-8000-000000000002') AS tenant_b
  FROM (          SELECT 'analytics_queries' AS tbl, tenant_id FROM analytics_queries
        UNION ALL SELECT 'dashboards', tenant_id FROM dashboards
        UNION ALL SELECT 'scheduled_reports', tenant_id FROM scheduled_reports
        UNION ALL SELECT 'webhooks', tenant_id FROM webhooks
        UNION ALL SELECT 'webhook_events', tenant_id FROM webhook_events
        UNION ALL SELECT 'webhook_deliveries', tenant_id FROM webhook_deliveries
        UNION ALL SELECT 'webhook_logs', tenant_id FROM webhook_logs
        UNION ALL SELECT 'integrations', tenant_id FROM integrations
        UNION ALL SELECT 'integration_logs', tenant_id FROM integration_logs
        UNION ALL SELECT 'stripe_customers', tenant_id FROM stripe_customers
        UNION ALL SELECT 'stripe_subscriptions', tenant_id FROM stripe_subscriptions
        UNION ALL SELECT 'sendgrid_contacts', tenant_id FROM sendgrid_contacts
        UNION ALL SELECT 'usage_metrics', tenant_id FROM usage_metrics
        UNION ALL SELECT 'usage_deltas', tenant_id FROM usage_deltas
        UNION ALL SELECT 'user_activities', tenant_id FROM user_activities
        UNION ALL SELECT 'api_usage_logs', tenant_id FROM api_usage_logs) r
 WHERE tenant_id IN ('a0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000002')
 GROUP BY tbl;

SELECT * FROM regress.tenant_rows ORDER BY tbl;

------------------------------------------------------------------------------
-- Composite foreign keys: a row of tenant A cannot point at tenant B's rows (23503).
------------------------------------------------------------------------------
-- A report of A running B's saved query, or B's dashboard.
SELECT regress.expect_error($$
    INSERT INTO scheduled_reports (tenant_id, name, analytics_query_id, schedule, recipients)
    VALUES ('a0000000-0000-4000-8000-000000000001', 'Stolen query', 'a1000000-0000-4000-8000-000000000002',
            '0 8 * * 1', '{ops@example.com}')$$);
SELECT regress.expect_error($$
    INSERT INTO scheduled_reports (tenant_id, name, dashboard_id, schedule, recipients)
    VALUES ('a0000000-0000-4000-8000-000000000001', 'Stolen dashboard', 'a2000000-0000-4000-8000-000000000002',
            '0 8 * * 1', '{ops@example.com}')$$);
-- Moving A's report to B's query by UPDATE is refused as well.
SELECT regress.expect_error($$
    UPDATE scheduled_reports SET analytics_query_id = 'a1000000-0000-4000-8000-000000000002'
     WHERE tenant_id = 'a0000000-0000-4000-8000-000000000001'$$);
-- A delivery of A for B's endpoint, a log of A for B's integration.
SELECT regress.expect_error($$
    INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id)
    VALUES ('a0000000-0000-4000-8000-000000000001', 'a4000000-0000-4000-8000-000000000002',
            'a5000000-0000-4000-8000-000000000001')$$);
SELECT regress.expect_error($$
    INSERT INTO integration_logs (tenant_id, integration_id, operation, status)
    VALUES ('a0000000-0000-4000-8000-000000000001', 'a7000000-0000-4000-8000-000000000002', 'x', 'success')$$);
-- The same report pointing at A's own dashboard is fine.
SELECT regress.expect_error($$
    INSERT INTO scheduled_reports (tenant_id, name, dashboard_id, schedule, recipients)
    VALUES ('a0000000-0000-4000-8000-000000000001', 'Own dashboard', 'a2000000-0000-4000-8000-000000000001',
            '0 8 * * 1', '{ops@example.com}')$$);
DELETE FROM scheduled_reports WHERE name = 'Own dashboard' AND tenant_id = 'a0000000-0000-4000-8000-000000000001';

-- Delete tenant A: its rows are gone from every table, B's are untouched.
DELETE FROM tenants WHERE id = 'a0000000-0000-4000-8000-000000000001';
SELECT * FROM regress.tenant_rows ORDER BY tbl;
SELECT count(*) AS tenant_a_rows FROM tenants WHERE id = 'a0000000-0000-4000-8000-000000000001';

------------------------------------------------------------------------------
-- enable_tenancy
------------------------------------------------------------------------------
CREATE TABLE regress.orders (id int PRIMARY KEY, total numeric);
INSERT INTO regress.orders VALUES (1, 10.50), (2, 20), (3, 30.25);

SELECT enable_tenancy('regress.orders', 'a0000000-0000-4000-8000-000000000002');

-- The column, NOT NULL; the foreign key to tenants with ON DELETE CASCADE; the index.
SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull
  FROM pg_attribute WHERE attrelid = 'regress.orders'::regclass AND attname = 'tenant_id';
SELECT conname, confrelid::regclass AS referenced, confdeltype AS on_delete,
       (SELECT array_agg(attname ORDER BY attnum) FROM pg_attribute
         WHERE attrelid = conrelid AND attnum = ANY (conkey)) AS columns
  FROM pg_constraint WHERE conrelid = 'regress.orders'::regclass AND contype = 'f';
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid) AS definition
  FROM pg_index WHERE indrelid = 'regress.orders'::regclass AND NOT indisprimary;

-- Every row got the tenant.
SELECT id, total, tenant_id FROM regress.orders ORDER BY id;

-- A second call has nothing to do.
SELECT enable_tenancy('regress.orders', 'a0000000-0000-4000-8000-000000000002');
SELECT enable_tenancy('regress.orders');
SELECT count(*) AS foreign_keys FROM pg_constraint WHERE conrelid = 'regress.orders'::regclass AND contype = 'f';
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'regress.orders'::regclass;

-- The new constraint holds: a row without a tenant, or with an unknown one, is refused.
SELECT regress.expect_error($$INSERT INTO regress.orders (id, total) VALUES (4, 1)$$);
SELECT regress.expect_error($$INSERT INTO regress.orders VALUES (4, 1, 'a0000000-0000-4000-8000-0000000000ff')$$);

-- Rows but no tenant given: the column, foreign key and index are added, the
-- column stays nullable (with a WARNING) since no tenant can be filled in.
CREATE TABLE regress.items (id int PRIMARY KEY);
INSERT INTO regress.items VALUES (1), (2);
SELECT enable_tenancy('regress.items');
SELECT attnotnull FROM pg_attribute WHERE attrelid = 'regress.items'::regclass AND attname = 'tenant_id';
SELECT count(*) AS without_tenant FROM regress.items WHERE tenant_id IS NULL;
-- Again with the tenant: fills the rows, then sets NOT NULL.
SELECT enable_tenancy('regress.items', 'a0000000-0000-4000-8000-000000000002');
SELECT attnotnull FROM pg_attribute WHERE attrelid = 'regress.items'::regclass AND attname = 'tenant_id';
SELECT id, tenant_id FROM regress.items ORDER BY id;
SELECT enable_tenancy('regress.items', 'a0000000-0000-4000-8000-000000000002');

-- An empty table needs no tenant to become NOT NULL.
CREATE TABLE regress.empty_table (id int);
SELECT enable_tenancy('regress.empty_table');
SELECT attnotnull FROM pg_attribute WHERE attrelid = 'regress.empty_table'::regclass AND attname = 'tenant_id';

-- A tenant_id uuid column already there (nullable, partly filled) is kept and completed.
CREATE TABLE regress.half_done (id int, tenant_id uuid);
INSERT INTO regress.half_done VALUES (1, 'a0000000-0000-4000-8000-000000000002'), (2, NULL);
SELECT enable_tenancy('regress.half_done', 'a0000000-0000-4000-8000-000000000002');
SELECT count(*) FILTER (WHERE tenant_id = 'a0000000-0000-4000-8000-000000000002') AS with_tenant,
       count(*) FILTER (WHERE tenant_id IS NULL) AS without_tenant
  FROM regress.half_done;

-- A name that needs quoting is quoted.
CREATE TABLE regress."Odd ""Name""; Table" (id int);
INSERT INTO regress."Odd ""Name""; Table" VALUES (1);
SELECT enable_tenancy('regress."Odd ""Name""; Table"', 'a0000000-0000-4000-8000-000000000002');
SELECT tenant_id FROM regress."Odd ""Name""; Table";

-- A partitioned table.
CREATE TABLE regress.events (id int, day date) PARTITION BY RANGE (day);
CREATE TABLE regress.events_2024 PARTITION OF regress.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO regress.events VALUES (1, '2024-05-01');
SELECT enable_tenancy('regress.events', 'a0000000-0000-4000-8000-000000000002');
SELECT enable_tenancy('regress.events_2024', 'a0000000-0000-4000-8000-000000000002');
SELECT tenant_id FROM regress.events;

-- Deleting the tenant cascades to the rows of the tables made tenant-scoped.
DELETE FROM tenants WHERE id = 'a0000000-0000-4000-8000-000000000002';
SELECT (SELECT count(*) FROM regress.orders) AS orders,
       (SELECT count(*) FROM regress.items) AS items,
       (SELECT count(*) FROM regress.half_done) AS half_done,
       (SELECT count(*) FROM regress."Odd ""Name""; Table") AS odd,
       (SELECT count(*) FROM regress.events) AS events;
-- and B's rows in the extension's tables are gone as well.
SELECT count(*) AS tables_with_rows FROM regress.tenant_rows;

-- Cleanup.
DROP VIEW regress.tenant_rows;
DROP TABLE regress.orders, regress.items, regress.empty_table, regress.half_done,
           regress."Odd ""Name""; Table", regress.events;
SELECT count(*) FROM tenants WHERE id::text LIKE 'a0000000-%';
