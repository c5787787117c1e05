-- marimo_erp 0.11.0 -> 0.10.0: takes back what 0.11.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.10.0'" to load this file. \quit

-- == Outbound provider calls: durable, retried, logged ==

-- == SendGrid: verified event ingestion and suppression state ==

-- == Stripe: verified, idempotent, order-proof event ingestion ==
-- Refuses while the new tables hold rows (the inbox, the items, the platform
-- account and billing state); the order-key columns of the mirrors go with
-- their values, which 0.10.0 has no place for.
SELECT @extschema@.assert_no_data_loss('0.10.0', ARRAY['stripe_events', 'stripe_subscription_items',
                                                       'platform_stripe_account', 'tenant_stripe_billing']);
DROP FUNCTION @extschema@.ingest_stripe_event(uuid, text, text, interval);
DROP FUNCTION @extschema@.ingest_platform_stripe_event(text, text, interval);
DROP FUNCTION @extschema@.cleanup_stripe_events(interval, integer);
-- Out of the extension first, which also takes them off its pg_dump list (extconfig).
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.tenant_stripe_billing;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.platform_stripe_account;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.stripe_subscription_items;
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.stripe_events;
DROP TABLE @extschema@.tenant_stripe_billing;
DROP TABLE @extschema@.platform_stripe_account;
DROP TABLE @extschema@.stripe_subscription_items;
DROP TABLE @extschema@.stripe_events;
ALTER TABLE @extschema@.stripe_subscriptions
    DROP COLUMN stripe_event_id,
    DROP COLUMN stripe_event_rank,
    DROP COLUMN stripe_event_created_at,
    DROP COLUMN integration_id;
ALTER TABLE @extschema@.stripe_customers
    DROP COLUMN stripe_event_id,
    DROP COLUMN stripe_event_rank,
    DROP COLUMN stripe_event_created_at,
    DROP COLUMN integration_id;

-- == Secrets encrypted at rest ==
