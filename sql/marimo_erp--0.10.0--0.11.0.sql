-- marimo_erp 0.10.0 -> 0.11.0: integrations that sync (issue 12). Each section
-- below is one capability; each adds what a fresh 0.11.0 install has, in the
-- same column order.
\echo Use "ALTER EXTENSION marimo_erp UPDATE TO '0.11.0'" to load this file. \quit

-- == Secrets encrypted at rest ==
-- webhooks.secret, webhook_secrets.secret and integrations.credentials are
-- stored encrypted (AES-256-GCM) once marimo_erp.secret_key_file names a key
-- (src/infra/secrets.rs, src/keyring/). The CHECKs accept the envelope besides
-- every value they accepted before, so no row needs repair; webhook_secrets is
-- keyed by a new id instead of its secret (random nonces make every envelope
-- unique). The secrets already stored are encrypted at the end of this section
-- when a key is configured; otherwise they stay in clear, working as before,
-- and a WARNING says how to enable encryption (see the end of the section).
CREATE FUNCTION @extschema@."encrypt_secret_column"() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'encrypt_secret_column_wrapper';
CREATE FUNCTION @extschema@."secret_key_id"() RETURNS text
    STRICT STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'secret_key_id_wrapper';
CREATE FUNCTION @extschema@."rotate_secret_key"() RETURNS bigint
    STRICT VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'rotate_secret_key_wrapper';
COMMENT ON FUNCTION @extschema@.encrypt_secret_column() IS
    'Trigger (BEFORE INSERT OR UPDATE, per row; arguments: scope, secret column, tenant column, row column): encrypts a plain secret (text, or a jsonb object) with AES-256-GCM under the key of marimo_erp.secret_key_file, bound to (scope, tenant, row); leaves envelopes alone, and every value when no key is configured.';
COMMENT ON FUNCTION @extschema@.secret_key_id() IS
    'Id (16 hex digits of SHA-256 over the key) of the key marimo_erp.secret_key_file names, as envelopes carry it; NULL when none is configured; an unusable key file raises F0000.';
-- The trigger's function: for the triggers only. The key id: for operators.
REVOKE ALL ON FUNCTION @extschema@.encrypt_secret_column(), @extschema@.secret_key_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.secret_key_id() TO marimo_admin;

ALTER TABLE @extschema@.webhooks DROP CONSTRAINT webhooks_secret_check,
    ADD CONSTRAINT webhooks_secret_check CHECK (secret ~ '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]={0,2})?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$'
        OR secret ~ '^enc:v1:[0-9a-f]{16}:(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$');
ALTER TABLE @extschema@.webhook_secrets DROP CONSTRAINT webhook_secrets_secret_check,
    ADD CONSTRAINT webhook_secrets_secret_check CHECK (secret ~ '^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]={0,2})?|(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)$'
        OR secret ~ '^enc:v1:[0-9a-f]{16}:(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$');
-- Every kept secret gets its own id (a volatile default: one per row).
ALTER TABLE @extschema@.webhook_secrets ADD COLUMN id uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid();
ALTER TABLE @extschema@.webhook_secrets DROP CONSTRAINT webhook_secrets_pkey,
    ADD CONSTRAINT webhook_secrets_pkey PRIMARY KEY (tenant_id, webhook_id, id);
COMMENT ON COLUMN @extschema@.webhooks.secret IS 'Signing secret in Standard Webhooks format: whsec_ followed by the base64 of the key; used for the HMAC-SHA256 webhook-signature header. Written plain; stored encrypted (enc:v1:<key id>:...) when marimo_erp.secret_key_file names a key.';
COMMENT ON COLUMN @extschema@.webhook_secrets.secret IS 'The previous secret (whsec_ + base64, or its envelope enc:v1:... when encrypted at rest); never readable by marimo_app.';
COMMENT ON COLUMN @extschema@.webhook_secrets.id IS 'Identifier of the kept secret, unique within the webhook.';
COMMENT ON COLUMN @extschema@.integrations.credentials IS 'Secret credentials as a JSON object (API keys, OAuth access and refresh tokens); never expose to clients. Written plain; stored as {"encrypted": "enc:v1:<key id>:..."} when marimo_erp.secret_key_file names a key.';

CREATE TRIGGER webhooks_encrypt_secret BEFORE INSERT OR UPDATE OF secret ON @extschema@.webhooks
    FOR EACH ROW EXECUTE FUNCTION @extschema@.encrypt_secret_column('webhook', 'secret', 'tenant_id', 'id');
CREATE TRIGGER webhook_secrets_encrypt_secret BEFORE INSERT OR UPDATE OF secret ON @extschema@.webhook_secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@.encrypt_secret_column('webhook', 'secret', 'tenant_id', 'webhook_id');
CREATE TRIGGER integrations_encrypt_credentials BEFORE INSERT OR UPDATE OF credentials ON @extschema@.integrations
    FOR EACH ROW EXECUTE FUNCTION @extschema@.encrypt_secret_column('integration', 'credentials', 'tenant_id', 'id');

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
  FROM @extschema@.integrations i GROUP BY 3;

COMMENT ON VIEW @extschema@.secrets_at_rest IS
    'Stored secrets by table, column and the key that encrypts them (NULL: stored in clear); compare key_id with secret_key_id() after rotate_secret_key().';
COMMENT ON COLUMN @extschema@.secrets_at_rest.table_name IS 'Table holding the secrets: webhooks, webhook_secrets or integrations.';
COMMENT ON COLUMN @extschema@.secrets_at_rest.column_name IS 'Column holding them: secret or credentials.';
COMMENT ON COLUMN @extschema@.secrets_at_rest.key_id IS 'Id of the key the envelopes name (as secret_key_id() shows it); NULL for secrets stored in clear.';
COMMENT ON COLUMN @extschema@.secrets_at_rest.secrets IS 'How many rows hold such a secret.';
GRANT SELECT ON @extschema@.secrets_at_rest TO marimo_admin;

COMMENT ON FUNCTION @extschema@.rotate_secret_key() IS
    'Re-encrypts every stored secret (webhooks, webhook_secrets, integrations.credentials) under the key of marimo_erp.secret_key_file, opening old ones with it or marimo_erp.previous_secret_key_file, and encrypts plain ones; one transaction; returns how many rows it rewrote. Raises (55000) and changes nothing when no key is configured or a secret needs another key.';
REVOKE ALL ON FUNCTION @extschema@.rotate_secret_key() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rotate_secret_key() TO marimo_admin;

-- The secrets already stored: encrypted now under the configured key, or kept
-- in clear (as 0.10.0 stored them). Either way a WARNING says so: PostgreSQL
-- runs extension scripts with client_min_messages at least WARNING, so a
-- NOTICE would never reach the operator, who must learn either that the key
-- file is now needed to read the secrets, or how to encrypt them. An unusable
-- key file stops the update (F0000) rather than leave them in clear.
DO $$
DECLARE
    key_id text := @extschema@.secret_key_id();
BEGIN
    IF key_id IS NULL THEN
        RAISE WARNING 'marimo_erp 0.11.0: secrets stay stored in clear: no key is configured (marimo_erp.secret_key_file is empty)'
            USING HINT = 'Write a key (openssl rand -hex 32) to a file outside the data directory owned by the server''s user, chmod 600, set marimo_erp.secret_key_file to its path, SELECT pg_reload_conf(), then SELECT rotate_secret_key() as an operator. See README, "Secrets at rest".';
    ELSE
        RAISE WARNING 'marimo_erp 0.11.0: % secrets encrypted under key %', @extschema@.rotate_secret_key(), key_id
            USING HINT = 'Keep that key file (and a copy of it away from the database backups): the secrets cannot be read without it.';
    END IF;
END
$$;

-- == Stripe: verified, idempotent, order-proof event ingestion ==

-- == SendGrid: verified event ingestion and suppression state ==

-- == Outbound provider calls: durable, retried, logged ==
