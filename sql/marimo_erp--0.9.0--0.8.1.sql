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

-- == Usage: timestamptz bounds and named result types ==

-- == Extension tables refuse changes pg_dump would not keep ==

-- == Logs without foreign keys: parallel pg_restore keeps every row ==
