-- marimo_erp 0.11.0 -> 0.10.0: takes back what 0.11.0 added, in reverse order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.10.0'" to load this file. \quit

-- == Outbound provider calls: durable, retried, logged ==
SELECT @extschema@.assert_no_data_loss('0.10.0', ARRAY['integration_requests']);
DROP FUNCTION @extschema@.sync_sendgrid_contacts(uuid, uuid);
DROP FUNCTION @extschema@.enqueue_integration_request(uuid, uuid, text, text, text, jsonb, jsonb, integer);
-- Out of the extension first: that takes it out of pg_extension.extconfig too
-- (a plain DROP TABLE would leave its oid there, for pg_dump to trip on).
ALTER EXTENSION marimo_erp DROP TABLE @extschema@.integration_requests;
DROP TABLE @extschema@.integration_requests;

-- == SendGrid: verified event ingestion and suppression state ==

-- == Stripe: verified, idempotent, order-proof event ingestion ==

-- == Secrets encrypted at rest ==
