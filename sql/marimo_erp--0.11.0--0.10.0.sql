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
-- The inbox holds what SendGrid sent: refuse to drop it while it has rows. The
-- contacts keep their rows and their status; the details behind the status
-- (bounce type and reason, spam report time, groups, last event) go with their columns.
SELECT @extschema@.assert_no_data_loss('0.10.0', ARRAY['sendgrid_events']);
-- A contact's unsubscribes from suppression groups exist only in these columns
-- (0.10.0 has no place for them) and are the recipient's choice: refuse, as for
-- a table holding rows, unless the DBA allows the loss.
DO $rollback$
BEGIN
    IF NOT COALESCE(pg_catalog.current_setting('marimo_erp.allow_data_loss', true), 'off')
               OPERATOR(pg_catalog.=) ANY (ARRAY['on', 'true', 'yes', '1'])
       AND EXISTS (SELECT FROM @extschema@.sendgrid_contacts c
                    WHERE c.suppressed_groups OPERATOR(pg_catalog.<>) '{}'::integer[]) THEN
        RAISE EXCEPTION 'rolling marimo_erp back to 0.10.0 would drop the suppression groups contacts unsubscribed from (sendgrid_contacts.suppressed_groups)'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Back the rows up first, then SET marimo_erp.allow_data_loss = on in this session to proceed.';
    END IF;
END
$rollback$;
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
-- Refuses while the new tables hold rows (the inbox, the items, the platform
-- account and billing state); the order-key columns of the mirrors go with
-- their values, which 0.10.0 has no place for.
-- secrets_at_rest counts the platform account's credentials: back to the three
-- tables of the secrets section, before the table goes.
CREATE OR REPLACE VIEW @extschema@.secrets_at_rest WITH (security_invoker = true) AS
SELECT 'webhooks'::text AS table_name, 'secret'::text AS column_name,
       CASE WHEN w.secret LIKE 'enc:v1:%' THEN pg_catalog.split_part(w.secret, ':', 3) END AS key_id,
       pg_catalog.count(*) AS secrets
  FROM @extschema@.webhooks w GROUP BY 3
UNION ALL
SELECT 'webhook_secrets', 'secret',
       CASE WHEN s.secret LIKE 'enc:v1:%' THEN pg_catalog.split_part(s.secret, ':', 3) END,
       pg_catalog.count(*)
  FROM @extschema@.webhook_secrets s GROUP BY 3
UNION ALL
SELECT 'integrations', 'credentials',
       CASE WHEN (i.credentials OPERATOR(pg_catalog.->>) 'encrypted') LIKE 'enc:v1:%'
                 AND (i.credentials OPERATOR(pg_catalog.-) 'encrypted') OPERATOR(pg_catalog.=) '{}'::jsonb
            THEN pg_catalog.split_part(i.credentials OPERATOR(pg_catalog.->>) 'encrypted', ':', 3) END,
       pg_catalog.count(*)
  FROM @extschema@.integrations i GROUP BY 3;
COMMENT ON COLUMN @extschema@.secrets_at_rest.table_name IS 'Table holding the secrets: webhooks, webhook_secrets or integrations.';
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
-- 0.10.0 stores secrets in clear: every envelope is decrypted first (with the
-- current or the previous key). A secret neither key opens stops the rollback
-- (55000, naming the key ids) before anything changed: no secret is lost.
DROP TRIGGER webhooks_encrypt_secret ON @extschema@.webhooks;
DROP TRIGGER webhook_secrets_encrypt_secret ON @extschema@.webhook_secrets;
DROP TRIGGER integrations_encrypt_credentials ON @extschema@.integrations;
CREATE FUNCTION @extschema@.marimo_erp_decrypt_secrets_for_rollback() RETURNS bigint
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'decrypt_secrets_for_rollback_wrapper';
SELECT @extschema@.marimo_erp_decrypt_secrets_for_rollback();
DROP FUNCTION @extschema@.marimo_erp_decrypt_secrets_for_rollback();
DROP VIEW @extschema@.secrets_at_rest;
DROP FUNCTION @extschema@.rotate_secret_key();
DROP FUNCTION @extschema@.secret_key_id();
DROP FUNCTION @extschema@.encrypt_secret_column();
-- 0.10.0 keys kept secrets by their value: the same secret kept twice (rotated
-- back and forth) becomes one row, the one that expires last. No secret goes.
DELETE FROM @extschema@.webhook_secrets s
 USING @extschema@.webhook_secrets t
 WHERE s.tenant_id = t.tenant_id AND s.webhook_id = t.webhook_id AND s.secret = t.secret
   AND (s.expires_at, s.id) < (t.expires_at, t.id);
ALTER TABLE @extschema@.webhook_secrets DROP CONSTRAINT webhook_secrets_pkey,
    ADD CONSTRAINT webhook_secrets_pkey PRIMARY KEY (tenant_id, webhook_id, secret);
ALTER TABLE @extschema@.webhook_secrets DROP COLUMN id;
ALTER TABLE @extschema@.webhooks DROP CONSTRAINT webhooks_secret_check,
    ADD CONSTRAINT webhooks_secret_check CHECK (secret ~ '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]={0,2})?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$');
ALTER TABLE @extschema@.webhook_secrets DROP CONSTRAINT webhook_secrets_secret_check,
    ADD CONSTRAINT webhook_secrets_secret_check CHECK (secret ~ '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]={0,2})?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$');
COMMENT ON COLUMN @extschema@.webhooks.secret IS 'Signing secret in Standard Webhooks format: whsec_ followed by the base64 of the key; used for the HMAC-SHA256 webhook-signature header.';
COMMENT ON COLUMN @extschema@.webhook_secrets.secret IS 'The previous secret (whsec_ + base64); never readable by marimo_app.';
COMMENT ON COLUMN @extschema@.integrations.credentials IS 'Secret credentials as a JSON object (API keys, OAuth access and refresh tokens); never expose to clients.';
