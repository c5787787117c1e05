-- marimo_erp 0.10.0 -> 0.9.0: takes back what 0.10.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.9.0'" to load this file. \quit

-- == Side channels: what an application role cannot read through EXPLAIN or cursors ==

-- == Maintenance in bounded chunks ==

-- == Webhooks: fairness across tenants (claims, limits, payload size) ==
-- payload_bytes is derived from payload: dropping it loses nothing.
DROP TRIGGER webhooks_check_count ON @extschema@.webhooks;
DROP FUNCTION @extschema@.webhooks_check_count();
DROP TRIGGER webhook_events_check_payload ON @extschema@.webhook_events;
DROP FUNCTION @extschema@.webhook_events_check_payload();
ALTER TABLE @extschema@.webhook_events DROP COLUMN payload_bytes;

-- == Webhooks: the worker owns its columns, and what applications write is checked ==
