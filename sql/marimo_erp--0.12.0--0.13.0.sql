-- marimo_erp 0.12.0 -> 0.13.0: hot paths (issue 10). Each section below is one
-- capability; each adds what a fresh 0.13.0 install has, in the same column order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.13.0'" to load this file. \quit

-- == Tenant limits: check_tenant_limit from kept plans and an exact cache; rollup reads by tenant ==

-- == Ingest: record_usage and the API usage rollup off the insert path ==

-- == Cleanups that commit day by day ==
-- The expired days are dropped by a background worker, one transaction a day, and a
-- dropped day's rows are taken from the statistics instead of counted: the library
-- (src/logs/retention.rs, chunks.rs, chunk_worker.rs). The SQL change is the four
-- cleanups' comments, which say so.
COMMENT ON FUNCTION @extschema@.cleanup_webhook_logs(interval, integer) IS
    'Removes webhook_logs rows older than retention (default 30 days). Wholly expired UTC days are dropped one transaction a day by a background worker, so that inserts wait for one day''s drop at most; the expired rows of the boundary day and the default partition are deleted in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches. Returns the number of rows removed: a dropped day''s rows are taken from the statistics (pg_stat live tuples, or pg_class.reltuples), not read, exact once the day was vacuumed after its last insert, an estimate otherwise; a day never vacuumed nor analyzed is counted. Days the worker dropped stay dropped if the calling transaction rolls back.';
COMMENT ON FUNCTION @extschema@.cleanup_integration_logs(interval, integer) IS
    'Removes integration_logs rows older than retention (default 90 days). Wholly expired UTC days are dropped one transaction a day by a background worker, so that inserts wait for one day''s drop at most; the expired rows of the boundary day and the default partition are deleted in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches. Returns the number of rows removed: a dropped day''s rows are taken from the statistics (pg_stat live tuples, or pg_class.reltuples), not read, exact once the day was vacuumed after its last insert, an estimate otherwise; a day never vacuumed nor analyzed is counted. Days the worker dropped stay dropped if the calling transaction rolls back.';
COMMENT ON FUNCTION @extschema@.cleanup_activity_logs(interval, integer) IS
    'Removes user_activities rows older than retention (default 180 days). Wholly expired UTC days are dropped one transaction a day by a background worker, so that inserts wait for one day''s drop at most; the expired rows of the boundary day and the default partition are deleted in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches. Returns the number of rows removed: a dropped day''s rows are taken from the statistics (pg_stat live tuples, or pg_class.reltuples), not read, exact once the day was vacuumed after its last insert, an estimate otherwise; a day never vacuumed nor analyzed is counted. Days the worker dropped stay dropped if the calling transaction rolls back.';
COMMENT ON FUNCTION @extschema@.cleanup_api_usage_logs(interval, integer) IS
    'Removes api_usage_logs rows older than retention (default 90 days). Wholly expired UTC days are dropped one transaction a day by a background worker, so that inserts wait for one day''s drop at most; the expired rows of the boundary day and the default partition are deleted in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches. Returns the number of rows removed: a dropped day''s rows are taken from the statistics (pg_stat live tuples, or pg_class.reltuples), not read, exact once the day was vacuumed after its last insert, an estimate otherwise; a day never vacuumed nor analyzed is counted. Days the worker dropped stay dropped if the calling transaction rolls back.';

-- == Webhook worker: claims and records from kept plans ==
