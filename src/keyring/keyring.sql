-- Secrets at rest (0.11.0) over the rooms that hold them: webhooks.secret,
-- webhook_secrets.secret and integrations.credentials are encrypted on write
-- by encrypt_secret_column() once marimo_erp.secret_key_file names a key;
-- rotate_secret_key() re-encrypts them all; secrets_at_rest counts them by key.
--
-- Owners (the envelope's associated data): a webhook's current and rotated-out
-- secrets are bound to ('webhook', tenant_id, webhook id), so that
-- rotate_webhook_secret() moves an envelope unchanged; credentials to
-- ('integration', tenant_id, id). Only an UPDATE of the secret column or of the
-- owner's columns fires the trigger: an UPDATE of other columns never touches
-- the stored secret, and an envelope that is not the row's own (copied, kept
-- by an upsert from its proposed row, or under a changed tenant_id or id) is
-- refused rather than stored unreadable.

CREATE TRIGGER webhooks_encrypt_secret BEFORE INSERT OR UPDATE OF secret, tenant_id, id ON @extschema@.webhooks
    FOR EACH ROW EXECUTE FUNCTION @extschema@.encrypt_secret_column('webhook', 'secret', 'tenant_id', 'id');
CREATE TRIGGER webhook_secrets_encrypt_secret BEFORE INSERT OR UPDATE OF secret, tenant_id, webhook_id ON @extschema@.webhook_secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@.encrypt_secret_column('webhook', 'secret', 'tenant_id', 'webhook_id');
CREATE TRIGGER integrations_encrypt_credentials BEFORE INSERT OR UPDATE OF credentials, tenant_id, id ON @extschema@.integrations
    FOR EACH ROW EXECUTE FUNCTION @extschema@.encrypt_secret_column('integration', 'credentials', 'tenant_id', 'id');
-- The platform's Stripe account has no tenant: its envelope is bound to ('platform_stripe', id, id).
CREATE TRIGGER platform_stripe_account_encrypt_credentials BEFORE INSERT OR UPDATE OF credentials, id ON @extschema@.platform_stripe_account
    FOR EACH ROW EXECUTE FUNCTION @extschema@.encrypt_secret_column('platform_stripe', 'credentials', 'id', 'id');

-- security_invoker: operators (marimo_admin) read every row, as they may.
CREATE VIEW @extschema@.secrets_at_rest WITH (security_invoker = true) AS
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
  FROM @extschema@.integrations i GROUP BY 3
UNION ALL
SELECT 'platform_stripe_account', 'credentials',
       CASE WHEN (a.credentials OPERATOR(pg_catalog.->>) 'encrypted') LIKE 'enc:v1:%'
                 AND (a.credentials OPERATOR(pg_catalog.-) 'encrypted') OPERATOR(pg_catalog.=) '{}'::jsonb
            THEN pg_catalog.split_part(a.credentials OPERATOR(pg_catalog.->>) 'encrypted', ':', 3) END,
       pg_catalog.count(*)
  FROM @extschema@.platform_stripe_account a GROUP BY 3;

COMMENT ON VIEW @extschema@.secrets_at_rest IS
    'Stored secrets by table, column and the key that encrypts them (NULL: stored in clear); compare key_id with secret_key_id() after rotate_secret_key().';
COMMENT ON COLUMN @extschema@.secrets_at_rest.table_name IS 'Table holding the secrets: webhooks, webhook_secrets, integrations or platform_stripe_account.';
COMMENT ON COLUMN @extschema@.secrets_at_rest.column_name IS 'Column holding them: secret or credentials.';
COMMENT ON COLUMN @extschema@.secrets_at_rest.key_id IS 'Id of the key the envelopes name (as secret_key_id() shows it); NULL for secrets stored in clear.';
COMMENT ON COLUMN @extschema@.secrets_at_rest.secrets IS 'How many rows hold such a secret.';
GRANT SELECT ON @extschema@.secrets_at_rest TO marimo_admin;

COMMENT ON FUNCTION @extschema@.rotate_secret_key() IS
    'Re-encrypts every stored secret (webhooks, webhook_secrets, integrations.credentials) under the key of marimo_erp.secret_key_file, opening old ones with it or marimo_erp.previous_secret_key_file, and encrypts plain ones; one transaction; returns how many rows it rewrote. Raises (55000) and changes nothing when no key is configured or a secret needs another key.';
REVOKE ALL ON FUNCTION @extschema@.rotate_secret_key() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rotate_secret_key() TO marimo_admin;
