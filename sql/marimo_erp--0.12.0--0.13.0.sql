-- marimo_erp 0.12.0 -> 0.13.0: hot paths (issue 10). Each section below is one
-- capability; each adds what a fresh 0.13.0 install has, in the same column order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.13.0'" to load this file. \quit

-- == Tenant limits: check_tenant_limit from kept plans and an exact cache; rollup reads by tenant ==

-- == Ingest: record_usage and the API usage rollup off the insert path ==

-- == Cleanups that commit day by day ==

-- == Webhook worker: claims and records from kept plans ==
-- No SQL object changes: the worker's claim and record (src/webhooks/queries/)
-- are statements the library runs, now from plans it keeps; the claim offers
-- fewer rows per endpoint. Nothing to add here.
