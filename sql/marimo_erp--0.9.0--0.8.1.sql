-- marimo_erp 0.9.0 -> 0.8.1: takes back what 0.9.0 added, in reverse order.
-- Refuses while a table it drops holds rows, unless marimo_erp.allow_data_loss is on.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.8.1'" to load this file. \quit

-- == Search for applications, and tenant routing ==

-- == Monitoring: partitions, maintenance history, webhook backlog ==

-- == Usage: timestamptz bounds and named result types ==

-- == Extension tables refuse changes pg_dump would not keep ==

-- == Logs without foreign keys: parallel pg_restore keeps every row ==
