-- marimo_erp 0.8.1 -> 0.9.0: the users' own paths (issue 15). Each section
-- below is one capability; each adds what a fresh 0.9.0 install has, in the
-- same column order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.9.0'" to load this file. \quit

-- == Logs without foreign keys: parallel pg_restore keeps every row ==

-- == Extension tables refuse changes pg_dump would not keep ==

-- == Usage: timestamptz bounds and named result types ==

-- == Monitoring: partitions, maintenance history, webhook backlog ==

-- == Search for applications, and tenant routing ==
