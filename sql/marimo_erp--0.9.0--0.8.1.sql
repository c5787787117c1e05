-- marimo_erp 0.9.0 -> 0.8.1: takes back what 0.9.0 added, in reverse order.
-- Refuses while a table it drops holds rows, unless marimo_erp.allow_data_loss is on.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.8.1'" to load this file. \quit

-- == Search for applications, and tenant routing ==
-- Drops no table: the search vectors are derived from the rows, which stay.
DROP FUNCTION @extschema@.resolve_tenant(text);
DROP FUNCTION @extschema@.search_analytics_queries(text, integer, uuid);
DROP FUNCTION @extschema@.search_dashboards(text, integer, uuid);
DROP FUNCTION @extschema@.search_sendgrid_contacts(text, integer, uuid);
DROP FUNCTION @extschema@.sendgrid_contacts_in_list(text, integer, uuid);

DROP TRIGGER analytics_queries_update_search_vector ON @extschema@.analytics_queries;
DROP TRIGGER dashboards_update_search_vector ON @extschema@.dashboards;
DROP TRIGGER sendgrid_contacts_update_search_vector ON @extschema@.sendgrid_contacts;
-- Dropping the column drops its GIN index; 0.8.1's expression indexes come back.
ALTER TABLE @extschema@.analytics_queries DROP COLUMN search_vector;
ALTER TABLE @extschema@.dashboards DROP COLUMN search_vector;
ALTER TABLE @extschema@.sendgrid_contacts DROP COLUMN search_vector;
CREATE INDEX analytics_queries_search_idx ON @extschema@.analytics_queries USING gin (
    pg_catalog.to_tsvector('simple'::regconfig, name || ' ' || COALESCE(description, '')));
CREATE INDEX dashboards_search_idx ON @extschema@.dashboards USING gin (
    pg_catalog.to_tsvector('simple'::regconfig, name || ' ' || COALESCE(description, '')));
CREATE INDEX sendgrid_contacts_search_idx ON @extschema@.sendgrid_contacts USING gin (
    pg_catalog.to_tsvector('simple'::regconfig,
        COALESCE(email, '') || ' ' || COALESCE(first_name, '') || ' ' || COALESCE(last_name, '')));

DROP TRIGGER tenants_search_language_refresh ON @extschema@.tenants;
DROP TRIGGER tenants_search_language_check ON @extschema@.tenants;
DROP FUNCTION @extschema@.tenants_search_language();
DROP FUNCTION @extschema@.refresh_search_vectors(uuid);
DROP FUNCTION @extschema@.set_search_vector();
DROP FUNCTION @extschema@.search_document(regconfig, text, text);
DROP FUNCTION @extschema@.search_language(uuid);
DROP FUNCTION @extschema@.search_config(text);

-- == Monitoring: partitions, maintenance history, webhook backlog ==
-- Refuses while maintenance_runs holds rows, unless marimo_erp.allow_data_loss
-- is on. The two seed views go back to their 0.8.1 columns: dropped and made
-- again, as CREATE OR REPLACE VIEW cannot drop columns.
SELECT @extschema@.assert_no_data_loss('0.8.1', ARRAY['maintenance_runs']);

DROP VIEW @extschema@.monitoring_webhook_backlog;
DROP VIEW @extschema@.monitoring_maintenance;
DROP VIEW @extschema@.monitoring_partitions;
DROP FUNCTION @extschema@.monitoring_partition_bounds(regclass);
DROP VIEW @extschema@.monitoring_index_usage;
DROP VIEW @extschema@.monitoring_table_sizes;

-- security_invoker: a caller sees only the statistics its own privileges show.
CREATE VIEW @extschema@.monitoring_table_sizes WITH (security_invoker = true) AS
SELECT n.nspname AS schemaname,
       c.relname AS tablename,
       pg_catalog.pg_size_pretty(pg_catalog.pg_total_relation_size(c.oid)) AS size,
       pg_catalog.pg_total_relation_size(c.oid) AS total_bytes,
       pg_catalog.pg_relation_size(c.oid) AS table_bytes,
       pg_catalog.pg_indexes_size(c.oid) AS index_bytes
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'marimo_erp'
  JOIN pg_catalog.pg_class c ON c.oid = d.objid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
   AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
   AND d.deptype = 'e'
   AND c.relkind IN ('r', 'p')
 ORDER BY pg_catalog.pg_total_relation_size(c.oid) DESC, c.relname;

COMMENT ON VIEW @extschema@.monitoring_table_sizes IS 'Size of every marimo_erp table with its indexes and TOAST, largest first (the seed''s "Table Sizes" query).';
COMMENT ON COLUMN @extschema@.monitoring_table_sizes.schemaname IS 'Schema of the table.';
COMMENT ON COLUMN @extschema@.monitoring_table_sizes.tablename IS 'Name of the table.';
COMMENT ON COLUMN @extschema@.monitoring_table_sizes.size IS 'Total size, human-readable.';
COMMENT ON COLUMN @extschema@.monitoring_table_sizes.total_bytes IS 'Total size in bytes: table, indexes and TOAST.';
COMMENT ON COLUMN @extschema@.monitoring_table_sizes.table_bytes IS 'Size of the table''s main fork in bytes.';
COMMENT ON COLUMN @extschema@.monitoring_table_sizes.index_bytes IS 'Size of the table''s indexes in bytes.';

CREATE VIEW @extschema@.monitoring_index_usage WITH (security_invoker = true) AS
SELECT s.schemaname,
       s.relname AS tablename,
       s.indexrelname AS indexname,
       s.idx_scan,
       s.idx_tup_read,
       s.idx_tup_fetch,
       pg_catalog.pg_relation_size(s.indexrelid) AS index_bytes
  FROM pg_catalog.pg_stat_user_indexes s
  JOIN pg_catalog.pg_depend d ON d.objid = s.relid
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'marimo_erp'
 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
   AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
   AND d.deptype = 'e'
 ORDER BY s.idx_scan DESC, s.indexrelname;

COMMENT ON VIEW @extschema@.monitoring_index_usage IS 'How often each index of a marimo_erp table is used, most used first (the seed''s "Index Usage" query); idx_scan = 0 marks candidates for removal.';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.schemaname IS 'Schema of the table.';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.tablename IS 'Table the index belongs to.';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.indexname IS 'Name of the index.';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.idx_scan IS 'Number of index scans since statistics were last reset.';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.idx_tup_read IS 'Index entries returned by scans of the index.';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.idx_tup_fetch IS 'Live table rows fetched by simple index scans of the index.';
COMMENT ON COLUMN @extschema@.monitoring_index_usage.index_bytes IS 'Size of the index in bytes.';

GRANT SELECT ON @extschema@.monitoring_table_sizes, @extschema@.monitoring_index_usage TO marimo_admin;

ALTER EXTENSION marimo_erp DROP TABLE @extschema@.maintenance_runs;
DROP TABLE @extschema@.maintenance_runs;

-- == Adoption: a database built by the seed's migrations ==
DROP FUNCTION @extschema@.adopt_seed_tables(pg_catalog.regnamespace);

-- == Usage: timestamptz bounds and named result types ==
-- Back to 0.8.1's anonymous row types and the timestamp signature alone.
DROP FUNCTION @extschema@.check_tenant_limit(uuid, text, bigint);
DROP FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamptz, timestamptz, text);
DROP FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text);
DROP TYPE @extschema@.tenant_limit_check;
DROP TYPE @extschema@.usage_aggregate;

CREATE FUNCTION @extschema@.check_tenant_limit(tenant uuid, limit_type text, current_value bigint DEFAULT NULL)
    RETURNS TABLE (allowed bool, limit_type text, current_value bigint, limit_value bigint, remaining bigint,
                   reason text)
    STABLE PARALLEL RESTRICTED
    LANGUAGE c AS 'MODULE_PATHNAME', 'check_tenant_limit_wrapper';
CREATE FUNCTION @extschema@.aggregate_usage_metrics(tenant uuid, metric_type text, "from" timestamp,
                                                    "to" timestamp, bucket text DEFAULT NULL)
    RETURNS TABLE (bucket_start timestamptz, metric_type text, total numeric, average numeric, minimum numeric,
                   maximum numeric, samples bigint)
    STABLE PARALLEL RESTRICTED
    LANGUAGE c AS 'MODULE_PATHNAME', 'aggregate_usage_metrics_wrapper';
COMMENT ON FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text) IS
    'Total, average, minimum, maximum and sample count of a tenant''s metric over [from, to) (read as UTC): one row for the range, or one per hour, day, week or month with data.';
COMMENT ON FUNCTION @extschema@.check_tenant_limit(uuid, text, bigint) IS
    'Checks a tenant''s usage against its limit: allowed when current_value <= limit_value and the tenant is neither suspended, cancelled nor past its trial without a subscription. Without current_value, measures usage where marimo_erp holds the data.';
REVOKE ALL ON FUNCTION
    @extschema@.check_tenant_limit(uuid, text, bigint),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.check_tenant_limit(uuid, text, bigint),
    @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text)
    TO marimo_app, marimo_admin;

-- == Extension tables refuse changes pg_dump would not keep ==
DROP EVENT TRIGGER marimo_erp_member_ddl;
DROP FUNCTION @extschema@.guard_member_ddl();
