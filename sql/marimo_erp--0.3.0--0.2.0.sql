\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.2.0'" to load this file. \quit
-- marimo_erp 0.3.0 -> 0.2.0: the seed's rollback of 003_create_webhooks.
-- Refuses while a table it drops holds rows, unless marimo_erp.allow_data_loss is on.

SELECT @extschema@.assert_no_data_loss('0.2.0', ARRAY['webhook_logs', 'webhook_deliveries', 'webhook_events', 'webhooks']);

-- Leave the extension first, so the tables also leave pg_extension.extconfig.
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.webhook_logs;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.webhook_deliveries;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.webhook_events;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.webhooks;

DROP TABLE @extschema@.webhook_logs;
DROP TABLE @extschema@.webhook_deliveries;
DROP TABLE @extschema@.webhook_events;
DROP TABLE @extschema@.webhooks;

DROP FUNCTION @extschema@.cleanup_webhook_logs(interval, integer);
