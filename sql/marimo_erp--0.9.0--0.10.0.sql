-- marimo_erp 0.9.0 -> 0.10.0: hardening (issue 14). Each section below is one
-- capability; each adds what a fresh 0.10.0 install has, in the same column
-- order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.10.0'" to load this file. \quit

-- == Webhooks: the worker owns its columns, and what applications write is checked ==

-- == Webhooks: fairness across tenants (claims, limits, payload size) ==

-- == Maintenance in bounded chunks ==
-- No catalog change: the chunks (background workers that commit, a lock budget from
-- max_locks_per_transaction) are in the library, src/logs/chunks.rs and chunk_worker.rs.

-- == Side channels: what an application role cannot read through EXPLAIN or cursors ==
