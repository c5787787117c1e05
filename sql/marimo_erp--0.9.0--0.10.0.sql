-- marimo_erp 0.9.0 -> 0.10.0: hardening (issue 14). Each section below is one
-- capability; each adds what a fresh 0.10.0 install has, in the same column
-- order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.10.0'" to load this file. \quit

-- == Webhooks: the worker owns its columns, and what applications write is checked ==

-- == Webhooks: fairness across tenants (claims, limits, payload size) ==

-- == Maintenance in bounded chunks ==

-- == Side channels: what an application role cannot read through EXPLAIN or cursors ==
-- Nothing in the catalog: the library's hooks refuse EXPLAIN ANALYZE, cursors
-- WITH HOLD and (with a tenant set) temporary tables that keep their rows past
-- commit to application roles, and run their plain EXPLAIN without costs
-- (src/tenancy/side_channels.rs). They apply as soon as the 0.10.0 library is
-- loaded, before or after this update.
