-- marimo_erp 0.10.0 -> 0.9.0: takes back what 0.10.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.9.0'" to load this file. \quit

-- == Side channels: what an application role cannot read through EXPLAIN or cursors ==

-- == Maintenance in bounded chunks ==
-- Nothing to undo: 0.10.0 changed no catalog object for it (the library does the chunks).

-- == Webhooks: fairness across tenants (claims, limits, payload size) ==

-- == Webhooks: the worker owns its columns, and what applications write is checked ==
