\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.1.0'" to load this file. \quit
-- marimo_erp 0.2.0 -> 0.1.0: the seed's rollback of 002_create_analytics.
-- Refuses while a table it drops holds rows, unless marimo_erp.allow_data_loss is on.

SELECT @extschema@.assert_no_data_loss('0.1.0', ARRAY['scheduled_reports', 'dashboards', 'analytics_queries']);

-- Leave the extension first, so the tables also leave pg_extension.extconfig.
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.scheduled_reports;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.dashboards;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.analytics_queries;

DROP TABLE @extschema@.scheduled_reports;
DROP TABLE @extschema@.dashboards;
DROP TABLE @extschema@.analytics_queries;
