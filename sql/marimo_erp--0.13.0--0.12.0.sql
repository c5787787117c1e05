-- marimo_erp 0.13.0 -> 0.12.0: takes back what 0.13.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.12.0'" to load this file. \quit

-- == Webhook worker: claims and records from kept plans ==

-- == Cleanups that commit day by day ==
-- The four cleanups' comments as 0.12.0 had them.
COMMENT ON FUNCTION @extschema@.cleanup_webhook_logs(interval, integer) IS
    'Deletes webhook_logs rows older than retention (default 30 days) in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches; returns the number of rows removed.';
COMMENT ON FUNCTION @extschema@.cleanup_integration_logs(interval, integer) IS
    'Deletes integration_logs rows older than retention (default 90 days) in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches; returns the number of rows removed.';
COMMENT ON FUNCTION @extschema@.cleanup_activity_logs(interval, integer) IS
    'Deletes user_activities rows older than retention (default 180 days) in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches; returns the number of rows removed.';
COMMENT ON FUNCTION @extschema@.cleanup_api_usage_logs(interval, integer) IS
    'Deletes api_usage_logs rows older than retention (default 90 days) in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches; returns the number of rows removed.';

-- == Ingest: record_usage and the API usage rollup off the insert path ==

-- == Tenant limits: check_tenant_limit from kept plans and an exact cache; rollup reads by tenant ==
