-- marimo_erp 0.11.0 -> 0.12.0: analytics that run (issue 11). Each section
-- below is one capability; each adds what a fresh 0.12.0 install has, in the
-- same column order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.12.0'" to load this file. \quit

-- == Saved queries that run: the per-tenant sandbox and dashboards ==

-- == Report schedules: five-field cron in each report's time zone ==

-- == Report files: csv, json, html, xlsx and pdf ==

-- == Report runs: the runner, run history and delivery ==
