-- marimo_erp 0.13.0 -> 0.12.0: takes back what 0.13.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.12.0'" to load this file. \quit

-- == Webhook worker: claims and records from kept plans ==

-- == Cleanups that commit day by day ==

-- == Ingest: record_usage and the API usage rollup off the insert path ==

-- == Tenant limits: check_tenant_limit from kept plans and an exact cache; rollup reads by tenant ==

-- 0.12.0's indexes of the rollups, as 0.12.0 created them.
CREATE INDEX usage_metrics_tenant_id_period_start_idx ON @extschema@.usage_metrics (tenant_id, period_start);
CREATE INDEX usage_metrics_period_start_idx ON @extschema@.usage_metrics (period_start);
