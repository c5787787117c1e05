\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.3.0'" to load this file. \quit
-- marimo_erp 0.4.0 -> 0.3.0: the seed's rollback of 004_create_integrations.
-- Refuses while a table it drops holds rows, unless marimo_erp.allow_data_loss is on.

SELECT @extschema@.assert_no_data_loss('0.3.0', ARRAY['sendgrid_contacts', 'stripe_subscriptions', 'stripe_customers', 'integration_logs', 'integrations']);

-- Leave the extension first, so the tables also leave pg_extension.extconfig.
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.sendgrid_contacts;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.stripe_subscriptions;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.stripe_customers;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.integration_logs;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.integrations;

DROP TABLE @extschema@.sendgrid_contacts;
DROP TABLE @extschema@.stripe_subscriptions;
DROP TABLE @extschema@.stripe_customers;
DROP TABLE @extschema@.integration_logs;
DROP TABLE @extschema@.integrations;

DROP FUNCTION @extschema@.cleanup_integration_logs(interval, integer);
