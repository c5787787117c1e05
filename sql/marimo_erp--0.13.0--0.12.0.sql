-- marimo_erp 0.13.0 -> 0.12.0: takes back what 0.13.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.12.0'" to load this file. \quit

-- == Webhook worker: claims and records from kept plans ==
-- No SQL object changes: the worker's claim and record (src/webhooks/queries/)
-- are statements the library runs, now from plans it keeps; the claim offers
-- fewer rows per endpoint. Nothing to take back here.

-- == Cleanups that commit day by day ==

-- == Ingest: record_usage and the API usage rollup off the insert path ==

-- == Tenant limits: check_tenant_limit from kept plans and an exact cache; rollup reads by tenant ==
