-- marimo_erp 0.12.0 -> 0.13.0: hot paths (issue 10). Each section below is one
-- capability; each adds what a fresh 0.13.0 install has, in the same column order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.13.0'" to load this file. \quit

-- == Tenant limits: check_tenant_limit from kept plans and an exact cache; rollup reads by tenant ==

-- The primary key serves every reader of the rollups (see usage.sql); the
-- (period_start) index misled the planner into reading a tenant's month
-- through it, and (tenant_id, period_start) only cost every new hourly row.
DROP INDEX @extschema@.usage_metrics_period_start_idx;
DROP INDEX @extschema@.usage_metrics_tenant_id_period_start_idx;

-- == Ingest: record_usage and the API usage rollup off the insert path ==

-- == Cleanups that commit day by day ==

-- == Webhook worker: claims and records from kept plans ==
