\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.4.0'" to load this file. \quit
-- marimo_erp 0.5.0 -> 0.4.0: the seed's rollback of 005_create_usage_tracking.
-- Refuses while a table it drops holds rows, unless marimo_erp.allow_data_loss is on.

SELECT @extschema@.assert_no_data_loss('0.4.0', ARRAY['api_usage_logs', 'user_activities', 'usage_metrics']);

DROP VIEW @extschema@.monitoring_index_usage;
DROP VIEW @extschema@.monitoring_table_sizes;

-- Leave the extension first, so the tables also leave pg_extension.extconfig.
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.api_usage_logs;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.user_activities;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.usage_metrics;

DROP TABLE @extschema@.api_usage_logs;
DROP TABLE @extschema@.user_activities;
DROP TABLE @extschema@.usage_metrics;

DROP FUNCTION @extschema@.cleanup_api_usage_logs(interval, integer);
DROP FUNCTION @extschema@.cleanup_activity_logs(interval, integer);
DROP FUNCTION @extschema@.check_tenant_limit(uuid, text, bigint);
DROP FUNCTION @extschema@.aggregate_usage_metrics(uuid, text, timestamp, timestamp, text);
DROP FUNCTION @extschema@.record_usage(uuid, text, numeric, timestamptz);
