-- marimo_erp 0.11.0 -> 0.10.0: takes back what 0.11.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.10.0'" to load this file. \quit

-- == Outbound provider calls: durable, retried, logged ==

-- == SendGrid: verified event ingestion and suppression state ==
-- The inbox holds what SendGrid sent: refuse to drop it while it has rows. The
-- contacts keep their rows and their status; the details behind the status
-- (bounce type and reason, spam report time, groups, last event) go with their columns.
SELECT @extschema@.assert_no_data_loss('0.10.0', ARRAY['sendgrid_events']);
-- Out of the extension first, which also takes it out of pg_extension_config_dump's list.
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.sendgrid_events;
DROP TABLE @extschema@.sendgrid_events;
DROP FUNCTION @extschema@.ingest_sendgrid_events(uuid, text, text, text, interval);
ALTER TABLE @extschema@.sendgrid_contacts
    DROP COLUMN last_event_id,
    DROP COLUMN last_event_at,
    DROP COLUMN last_event,
    DROP COLUMN asm_group_states,
    DROP COLUMN suppressed_groups,
    DROP COLUMN spam_reported_at,
    DROP COLUMN bounce_event_id,
    DROP COLUMN bounced_at,
    DROP COLUMN bounce_reason,
    DROP COLUMN bounce_type;

-- == Stripe: verified, idempotent, order-proof event ingestion ==

-- == Secrets encrypted at rest ==
