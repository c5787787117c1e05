-- search: full-text search for applications under row-level security (the
-- search functions use their GIN index and return only the current tenant's
-- rows), the tenant's language with stemming, e-mail addresses by their parts,
-- and tenant routing with resolve_tenant(). Run as a marimo_app member.
SET timezone = 'UTC';

------------------------------------------------------------------------------
-- The scene, as the superuser: tenants A and B (english, the default), G
-- (german), S (suspended) and X (cancelled); 1,500 saved queries, 500
-- dashboards and 1,500 contacts for each of A, B, G and S, so that the planner
-- chooses between the indexes honestly. A and B both hold rows that match.
------------------------------------------------------------------------------
INSERT INTO tenants (id, slug, name, custom_domain, settings, status, suspended_at) VALUES
 ('a5ea0000-0000-4000-8000-00000000000a', 'regress-search-a', 'Search A', 'erp.search-a.example.com', '{}', 'active', NULL),
 ('a5ea0000-0000-4000-8000-00000000000b', 'regress-search-b', 'Search B', NULL, '{}', 'active', NULL),
 ('a5ea0000-0000-4000-8000-00000000000c', 'regress-search-g', 'Search G', NULL, '{"search_language": "german"}', 'active', NULL),
 ('a5ea0000-0000-4000-8000-00000000000d', 'regress-search-s', 'Search S', 'erp.search-s.example.com', '{}', 'suspended', now()),
 ('a5ea0000-0000-4000-8000-00000000000e', 'regress-search-x', 'Search X', 'erp.search-x.example.com', '{}', 'cancelled', NULL);

CREATE TEMP TABLE search_tenants (tenant uuid, slug text) ON COMMIT PRESERVE ROWS;
INSERT INTO search_tenants SELECT id, slug FROM tenants WHERE slug IN
    ('regress-search-a', 'regress-search-b', 'regress-search-g', 'regress-search-s');

INSERT INTO analytics_queries (tenant_id, name, description, query_text, updated_at)
SELECT t.tenant, 'Report ' || n,
       'Weekly totals of ' || (ARRAY['orders', 'invoices', 'refunds', 'signups', 'tickets'])[n % 5 + 1],
       'SELECT 1', '2001-01-01 00:00:00+00'
  FROM search_tenants t, generate_series(1, 1500) AS n;
INSERT INTO analytics_queries (tenant_id, name, description, query_text, updated_at) VALUES
 ('a5ea0000-0000-4000-8000-00000000000a', 'Monthly revenue', 'Revenues by running month and region', 'SELECT 1', '2001-01-01 00:00:00+00'),
 ('a5ea0000-0000-4000-8000-00000000000a', 'Churn', 'Revenue lost to cancelled plans', 'SELECT 1', '2001-01-01 00:00:00+00'),
 ('a5ea0000-0000-4000-8000-00000000000b', 'Monthly revenue', 'Revenues of B, which A must never see', 'SELECT 1', '2001-01-01 00:00:00+00'),
 ('a5ea0000-0000-4000-8000-00000000000b', 'Revenue forecast', 'Next quarter', 'SELECT 1', '2001-01-01 00:00:00+00'),
 ('a5ea0000-0000-4000-8000-00000000000c', 'Monatlicher Umsatz', 'Umsätze nach Regionen', 'SELECT 1', '2001-01-01 00:00:00+00');

INSERT INTO dashboards (tenant_id, name, description)
SELECT t.tenant, 'Board ' || n, 'Tiles of ' || (ARRAY['orders', 'invoices', 'refunds', 'signups', 'tickets'])[n % 5 + 1]
  FROM search_tenants t, generate_series(1, 500) AS n;
INSERT INTO dashboards (tenant_id, name, description) VALUES
 ('a5ea0000-0000-4000-8000-00000000000a', 'Sales overview', 'Pipeline and closed deals'),
 ('a5ea0000-0000-4000-8000-00000000000b', 'Sales overview', 'B''s pipeline');

INSERT INTO sendgrid_contacts (tenant_id, email, first_name, last_name, list_ids)
SELECT t.tenant, 'user' || n || '@' || t.slug || '.test',
       (ARRAY['Ana', 'Ben', 'Chloe', 'Dev', 'Eva'])[n % 5 + 1], 'Member' || n,
       ARRAY['list-' || (n % 50)]
  FROM search_tenants t, generate_series(1, 1500) AS n;
INSERT INTO sendgrid_contacts (tenant_id, email, first_name, last_name, list_ids) VALUES
 ('a5ea0000-0000-4000-8000-00000000000a', 'jane.doe@example.com', 'Jane', 'Doe', '{list-news}'),
 ('a5ea0000-0000-4000-8000-00000000000a', 'john.smith@acme.io', 'John', 'Smith', '{list-news,list-vip}'),
 ('a5ea0000-0000-4000-8000-00000000000b', 'jane.doe@example.com', 'Jane', 'Doe', '{list-news}');

-- As autovacuum would: statistics, and the GIN indexes' pending lists merged
-- (a search must read a long pending list whole, so the planner avoids it).
VACUUM ANALYZE tenants, analytics_queries, dashboards, sendgrid_contacts;

SELECT t.slug, count(*) AS queries
  FROM analytics_queries q JOIN tenants t ON t.id = q.tenant_id
 WHERE t.slug LIKE 'regress-search-%' GROUP BY 1 ORDER BY 1;

-- The document: words stemmed in the tenant's language, and an e-mail address
-- also by its parts.
SELECT search_document('english', 'jane.doe@example.com', 'Running revenues');
SELECT search_vector FROM sendgrid_contacts
 WHERE tenant_id = 'a5ea0000-0000-4000-8000-00000000000a' AND email = 'jane.doe@example.com';
SELECT name, search_vector FROM analytics_queries WHERE name IN ('Monthly revenue', 'Monatlicher Umsatz') ORDER BY tenant_id;

-- The application's login role: marimo_app and nothing else (a role of an
-- earlier run that stopped half-way goes first).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'marimo_search_app') THEN
        DROP OWNED BY marimo_search_app;
        DROP ROLE marimo_search_app;
    END IF;
END
$$;
CREATE ROLE marimo_search_app LOGIN;
GRANT marimo_app TO marimo_search_app;
GRANT USAGE ON SCHEMA regress TO marimo_search_app;

\c - marimo_search_app
SET timezone = 'UTC';

------------------------------------------------------------------------------
-- Tenant routing: before any tenant is set, the application sees no tenant
-- row, but resolve_tenant() finds an active tenant by slug or custom domain.
------------------------------------------------------------------------------
SELECT current_tenant(), count(*) AS tenants_visible FROM tenants;
SELECT resolve_tenant('regress-search-a') AS by_slug,
       resolve_tenant('erp.search-a.example.com') AS by_domain,
       resolve_tenant('ERP.Search-A.Example.COM') AS by_domain_in_capitals;
-- The README's example ("Tenant routing").
SELECT resolve_tenant('regress-search-a'), resolve_tenant('ERP.Search-A.Example.COM');
-- Suspended and cancelled tenants, unknown keys and patterns: NULL.
SELECT resolve_tenant('regress-search-s') AS suspended_slug,
       resolve_tenant('erp.search-s.example.com') AS suspended_domain,
       resolve_tenant('regress-search-x') AS cancelled,
       resolve_tenant('regress-search-nobody') AS unknown,
       resolve_tenant('regress-search-%') AS pattern,
       resolve_tenant('Regress-Search-A') AS slug_in_capitals;
-- Only the id: the function returns one uuid, nothing else of the tenant.
SELECT pg_get_function_result('resolve_tenant(text)'::regprocedure) AS returns;
SELECT regress.expect_error($$SELECT resolve_tenant(NULL)$$);
SELECT regress.expect_error($$SELECT resolve_tenant('')$$);
SELECT regress.expect_error($$SELECT resolve_tenant(repeat('a', 254))$$);

------------------------------------------------------------------------------
-- No tenant set: a clear error, never every tenant's rows.
------------------------------------------------------------------------------
SELECT regress.expect_error($$SELECT * FROM search_analytics_queries('revenue')$$);
SELECT regress.expect_error($$SELECT * FROM search_dashboards('sales')$$);
SELECT regress.expect_error($$SELECT * FROM search_sendgrid_contacts('jane')$$);
SELECT regress.expect_error($$SELECT * FROM sendgrid_contacts_in_list('list-news')$$);
-- Naming a tenant is no way around it.
SELECT regress.expect_error($$SELECT * FROM search_analytics_queries('revenue', 50, 'a5ea0000-0000-4000-8000-00000000000b')$$);

------------------------------------------------------------------------------
-- Tenant A: its rows only, best match first (a name match outranks a
-- description match), with stemming (revenues, running).
------------------------------------------------------------------------------
BEGIN;
SELECT set_tenant(resolve_tenant('regress-search-a')) IS NOT NULL AS tenant_set;
SELECT name, description, rank > 0 AS ranked FROM search_analytics_queries('revenue');
-- The README's example ("Search").
SELECT name, description FROM search_analytics_queries('revenues');
SELECT name FROM search_analytics_queries('runs');
SELECT name FROM search_analytics_queries('"monthly revenue"');
SELECT name FROM search_analytics_queries('revenue -churn');
SELECT name FROM search_analytics_queries('revenue', 1);
-- Every row returned is one of A's: under row-level security A sees only its
-- own rows, and each id returned is among them.
SELECT count(*) AS returned,
       count(*) FILTER (WHERE NOT EXISTS (SELECT FROM analytics_queries q WHERE q.id = s.id)) AS not_of_a
  FROM search_analytics_queries('revenue OR forecast OR orders', 10000) AS s;
SELECT count(*) AS matching_rows_of_a FROM analytics_queries
 WHERE search_vector @@ websearch_to_tsquery('english', 'revenue OR forecast OR orders');
-- B's "Revenue forecast" is never found.
SELECT count(*) AS forecasts FROM search_analytics_queries('forecast');
-- An application may name its own tenant, and no other.
SELECT count(*) FROM search_analytics_queries('revenue', 50, 'a5ea0000-0000-4000-8000-00000000000a');
SELECT regress.expect_error($$SELECT * FROM search_analytics_queries('revenue', 50, 'a5ea0000-0000-4000-8000-00000000000b')$$);
SELECT regress.expect_error($$SELECT * FROM search_sendgrid_contacts('jane', 50, 'a5ea0000-0000-4000-8000-00000000000b')$$);

SELECT name, description FROM search_dashboards('sales');
SELECT name FROM search_dashboards('deal');

-- E-mail addresses by their parts, by the whole address, and by name.
SELECT email, first_name, last_name FROM search_sendgrid_contacts('example.com');
SELECT email, first_name, last_name, status FROM search_sendgrid_contacts('jane');
SELECT q AS query, (SELECT string_agg(email, ', ') FROM search_sendgrid_contacts(q)) AS found
  FROM unnest(ARRAY['doe', 'example', 'example.com', 'jane.doe@example.com', 'Jane Doe', 'acme.io',
                    'smith', 'jane OR john', 'nobody@example.com']) AS q;
-- Lists, through the GIN index on list_ids.
SELECT email FROM sendgrid_contacts_in_list('list-news');
SELECT email FROM sendgrid_contacts_in_list('list-vip');
SELECT count(*) AS on_list_7 FROM sendgrid_contacts_in_list('list-7');
SELECT count(*) AS on_list_7_capped FROM sendgrid_contacts_in_list('list-7', 5);
COMMIT;

------------------------------------------------------------------------------
-- The index: each call reads its GIN index and never scans the whole table,
-- as counted in this transaction's statistics; the application's own query,
-- under row-level security, cannot use that index.
------------------------------------------------------------------------------
BEGIN;
SELECT set_tenant('a5ea0000-0000-4000-8000-00000000000a') IS NOT NULL AS tenant_set;
SELECT count(*) FROM search_analytics_queries('revenue');
SELECT count(*) FROM search_dashboards('sales');
SELECT count(*) FROM search_sendgrid_contacts('example.com');
SELECT count(*) FROM sendgrid_contacts_in_list('list-news');
SELECT i AS index, pg_stat_get_xact_numscans(i) > 0 AS scanned
  FROM unnest(ARRAY['analytics_queries_search_idx', 'dashboards_search_idx',
                    'sendgrid_contacts_search_idx', 'sendgrid_contacts_list_ids_idx']::regclass[]) AS i;
SELECT t AS "table", pg_stat_get_xact_numscans(t) AS sequential_scans
  FROM unnest(ARRAY['analytics_queries', 'dashboards', 'sendgrid_contacts']::regclass[]) AS t;
COMMIT;
BEGIN;
SELECT set_tenant('a5ea0000-0000-4000-8000-00000000000a') IS NOT NULL AS tenant_set;
SET LOCAL enable_seqscan = off;
SELECT count(*) FROM analytics_queries WHERE search_vector @@ websearch_to_tsquery('english', 'revenue');
SELECT pg_stat_get_xact_numscans('analytics_queries_search_idx'::regclass) AS search_index_scans_by_own_query;
COMMIT;

------------------------------------------------------------------------------
-- Tenant G searches in german: Umsätze and Regionen are stemmed in german.
------------------------------------------------------------------------------
BEGIN;
SELECT set_tenant(resolve_tenant('regress-search-g')) IS NOT NULL AS tenant_set;
SELECT name FROM search_analytics_queries('Umsatz');
SELECT name FROM search_analytics_queries('Region');
SELECT count(*) AS revenue_in_german FROM search_analytics_queries('revenue');
COMMIT;

------------------------------------------------------------------------------
-- Writing as the application: a new row is searchable at once, in the
-- tenant's language; a search_vector the application writes is replaced.
------------------------------------------------------------------------------
BEGIN;
SELECT set_tenant('a5ea0000-0000-4000-8000-00000000000a') IS NOT NULL AS tenant_set;
INSERT INTO analytics_queries (tenant_id, name, description, query_text, search_vector)
VALUES (current_tenant(), 'Refund ratios', 'Refunded orders per region', 'SELECT 1', 'forged');
SELECT name FROM search_analytics_queries('refunded ratio');
SELECT count(*) AS forged FROM search_analytics_queries('forged');
UPDATE analytics_queries SET description = 'Chargebacks per region' WHERE name = 'Refund ratios';
SELECT name FROM search_analytics_queries('chargeback');
UPDATE analytics_queries SET search_vector = 'forged' WHERE name = 'Refund ratios';
SELECT count(*) AS forged FROM search_analytics_queries('forged');
-- The internal settings are the superuser's: no application sets them.
SELECT regress.expect_error($$SET marimo_erp.search_refresh = on$$);
SELECT regress.expect_error($$SET marimo_erp.search_language = 'german'$$);
SELECT regress.expect_error($$SELECT refresh_search_vectors()$$);
ROLLBACK;

------------------------------------------------------------------------------
-- Changing the language: the setting must name a text search configuration;
-- the tenant's documents are rebuilt at once, and keep their updated_at.
------------------------------------------------------------------------------
BEGIN;
SELECT set_tenant('a5ea0000-0000-4000-8000-00000000000b') IS NOT NULL AS tenant_set;
SELECT regress.expect_error($$UPDATE tenants SET settings = '{"search_language": "klingon"}'$$);
SELECT regress.expect_error($$UPDATE tenants SET settings = '{"search_language": 7}'$$);
SELECT regress.expect_error($$UPDATE tenants SET settings = '{"search_language": "pg_temp.english"}'$$);
SELECT name FROM search_analytics_queries('revenues');
UPDATE tenants SET settings = settings || '{"search_language": "simple"}';
SELECT count(*) AS revenues_without_stemming FROM search_analytics_queries('revenues');
SELECT name FROM search_analytics_queries('revenue');
SELECT count(*) AS rows_of_b, count(*) FILTER (WHERE updated_at = '2001-01-01 00:00:00+00') AS updated_at_kept
  FROM analytics_queries;
COMMIT;

------------------------------------------------------------------------------
-- Bad input: the argument named, with its SQLSTATE.
------------------------------------------------------------------------------
BEGIN;
SELECT set_tenant('a5ea0000-0000-4000-8000-00000000000a') IS NOT NULL AS tenant_set;
SELECT regress.expect_error($$SELECT * FROM search_analytics_queries(NULL)$$);
SELECT regress.expect_error($$SELECT * FROM search_analytics_queries('   ')$$);
SELECT regress.expect_error($$SELECT * FROM search_analytics_queries(repeat('a', 1001))$$);
SELECT regress.expect_error($$SELECT * FROM search_dashboards('sales', 0)$$);
SELECT regress.expect_error($$SELECT * FROM search_dashboards('sales', 10001)$$);
SELECT regress.expect_error($$SELECT * FROM search_sendgrid_contacts('jane', NULL)$$);
SELECT regress.expect_error($$SELECT * FROM sendgrid_contacts_in_list(NULL)$$);
SELECT regress.expect_error($$SELECT * FROM sendgrid_contacts_in_list('')$$);
SELECT regress.expect_error($$SELECT * FROM sendgrid_contacts_in_list(repeat('l', 256))$$);
COMMIT;

------------------------------------------------------------------------------
-- Operators (here the superuser) name any tenant, or use the one set; an
-- unknown tenant is P0002; after a change of marimo_erp.search_language they
-- rebuild the documents.
------------------------------------------------------------------------------
\c - postgres
SET timezone = 'UTC';
SELECT name FROM search_analytics_queries('revenue', 50, 'a5ea0000-0000-4000-8000-00000000000b');
SELECT regress.expect_error($$SELECT * FROM search_analytics_queries('revenue')$$);
SELECT regress.expect_error($$SELECT * FROM search_analytics_queries('revenue', 50, 'a5ea0000-0000-4000-8000-0000000000ff')$$);
SELECT regress.expect_error($$SELECT refresh_search_vectors('a5ea0000-0000-4000-8000-0000000000ff')$$);
SELECT refresh_search_vectors('a5ea0000-0000-4000-8000-00000000000c') AS rebuilt_for_g;
SELECT count(*) AS updated_at_kept FROM analytics_queries
 WHERE tenant_id = 'a5ea0000-0000-4000-8000-00000000000c' AND updated_at = '2001-01-01 00:00:00+00';
SET marimo_erp.search_language = 'klingon';
SELECT regress.expect_error($$SELECT * FROM search_analytics_queries('revenue', 50, 'a5ea0000-0000-4000-8000-00000000000a')$$);
RESET marimo_erp.search_language;

-- Clean up.
DROP OWNED BY marimo_search_app;
DROP ROLE marimo_search_app;
DELETE FROM tenants WHERE slug LIKE 'regress-search-%';
