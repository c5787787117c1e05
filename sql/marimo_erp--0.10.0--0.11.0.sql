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

CREATE TRIGGER webhooks_encrypt_secret BEFORE INSERT OR UPDATE OF secret, tenant_id, id ON @extschema@.webhooks
    FOR EACH ROW EXECUTE FUNCTION @extschema@.encrypt_secret_column('webhook', 'secret', 'tenant_id', 'id');
CREATE TRIGGER webhook_secrets_encrypt_secret BEFORE INSERT OR UPDATE OF secret, tenant_id, webhook_id ON @extschema@.webhook_secrets
    FOR EACH ROW EXECUTE FUNCTION @extschema@.encrypt_secret_column('webhook', 'secret', 'tenant_id', 'webhook_id');
CREATE TRIGGER integrations_encrypt_credentials BEFORE INSERT OR UPDATE OF credentials, tenant_id, id ON @extschema@.integrations
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
-- The mirrors learn which state they hold: the integration and the order key
-- (created, rank, event id) of the last applied event, appended as a fresh
-- install has them. Existing rows keep NULL there: no event set them, so the
-- first event of each applies.
ALTER TABLE @extschema@.stripe_customers
    ADD COLUMN integration_id uuid,
    ADD COLUMN stripe_event_created_at timestamptz,
    ADD COLUMN stripe_event_rank smallint,
    ADD COLUMN stripe_event_id text;
ALTER TABLE @extschema@.stripe_subscriptions
    ADD COLUMN integration_id uuid,
    ADD COLUMN stripe_event_created_at timestamptz,
    ADD COLUMN stripe_event_rank smallint,
    ADD COLUMN stripe_event_id text;
COMMENT ON COLUMN @extschema@.stripe_customers.integration_id IS 'Stripe integration (integrations.id of the same tenant) whose event last set the row; NULL for rows not written by ingest_stripe_event.';
COMMENT ON COLUMN @extschema@.stripe_customers.stripe_event_created_at IS 'created of the event whose state the row holds (first key of Stripe''s event order); NULL for a row no event has set.';
COMMENT ON COLUMN @extschema@.stripe_customers.stripe_event_rank IS 'Rank of that state among same-second states (second order key): 2 for a terminal state (deleted customer), else 1.';
COMMENT ON COLUMN @extschema@.stripe_customers.stripe_event_id IS 'Id of that event (third order key, compared bytewise); an older event never overwrites the row.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.integration_id IS 'Stripe integration (integrations.id of the same tenant) whose event last set the row; NULL for rows not written by ingest_stripe_event.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.stripe_event_created_at IS 'created of the event whose state the row holds (first key of Stripe''s event order); NULL for a row no event has set.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.stripe_event_rank IS 'Rank of that state among same-second states (second order key): 2 for a terminal state (canceled or incomplete_expired), else 1.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.stripe_event_id IS 'Id of that event (third order key, compared bytewise); an older event never overwrites the row.';

CREATE FUNCTION @extschema@.cleanup_stripe_events(retention interval DEFAULT '30 days', batch_size integer DEFAULT 10000)
    RETURNS bigint
    VOLATILE SECURITY DEFINER PARALLEL UNSAFE
    SET search_path TO pg_catalog, pg_temp
    LANGUAGE c AS 'MODULE_PATHNAME', 'cleanup_stripe_events_wrapper';
CREATE FUNCTION @extschema@.ingest_platform_stripe_event(payload text, stripe_signature text,
                                                         tolerance interval DEFAULT '5 minutes')
    RETURNS TABLE (event_id text, event_type text, outcome text)
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'ingest_platform_stripe_event_wrapper';
CREATE FUNCTION @extschema@.ingest_stripe_event(integration uuid, payload text, stripe_signature text,
                                                tolerance interval DEFAULT '5 minutes')
    RETURNS TABLE (event_id text, event_type text, outcome text)
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'ingest_stripe_event_wrapper';

CREATE TABLE @extschema@.stripe_events (
    tenant_id               uuid        NOT NULL,
    integration_id          uuid        NOT NULL,
    event_id                text        NOT NULL,
    event_type              text        NOT NULL,
    stripe_created_at       timestamptz NOT NULL,
    livemode                boolean     NOT NULL,
    account                 text,
    received_at             timestamptz NOT NULL DEFAULT pg_catalog.now(),
    outcome                 text        NOT NULL,
    payload                 jsonb       NOT NULL,
    CONSTRAINT stripe_events_pkey PRIMARY KEY (tenant_id, integration_id, event_id),
    CONSTRAINT stripe_events_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT stripe_events_integration_id_fkey FOREIGN KEY (tenant_id, integration_id)
        REFERENCES @extschema@.integrations (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT stripe_events_event_id_check CHECK (pg_catalog.length(event_id) BETWEEN 1 AND 255),
    CONSTRAINT stripe_events_event_type_check CHECK (pg_catalog.length(event_type) BETWEEN 1 AND 255),
    CONSTRAINT stripe_events_outcome_check CHECK (outcome IN ('applied', 'stale', 'ignored')),
    CONSTRAINT stripe_events_payload_check CHECK (pg_catalog.jsonb_typeof(payload) = 'object')
);

-- Read by cleanup_stripe_events().
CREATE INDEX stripe_events_received_at_idx ON @extschema@.stripe_events (received_at);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.stripe_events', '');

COMMENT ON TABLE @extschema@.stripe_events IS
    'Inbox of the verified Stripe events of each tenant''s Stripe integrations, one row per event and integration (the dedupe record), with what ingestion did with it; purged by cleanup_stripe_events.';
COMMENT ON COLUMN @extschema@.stripe_events.tenant_id IS 'Tenant whose integration received the event.';
COMMENT ON COLUMN @extschema@.stripe_events.integration_id IS 'Stripe integration (integrations.id of the same tenant) whose endpoint received the event; a tenant may have several Stripe accounts.';
COMMENT ON COLUMN @extschema@.stripe_events.event_id IS 'Stripe event id (evt_...), unique within the tenant and integration.';
COMMENT ON COLUMN @extschema@.stripe_events.event_type IS 'Stripe event type, e.g. customer.subscription.updated.';
COMMENT ON COLUMN @extschema@.stripe_events.stripe_created_at IS 'When Stripe created the event (whole seconds): the first key of the order in which states apply.';
COMMENT ON COLUMN @extschema@.stripe_events.livemode IS 'true for a live-mode event, false for test mode.';
COMMENT ON COLUMN @extschema@.stripe_events.account IS 'Connected account (acct_...) the event came from, for Stripe Connect; NULL otherwise.';
COMMENT ON COLUMN @extschema@.stripe_events.received_at IS 'When the event was first ingested; cleanup_stripe_events deletes rows by this column.';
COMMENT ON COLUMN @extschema@.stripe_events.outcome IS 'What ingestion did: applied (the mirrors now hold its state), stale (a newer state was already stored) or ignored (a type that is not mirrored).';
COMMENT ON COLUMN @extschema@.stripe_events.payload IS 'The event as received (the verified body), as JSON.';

CREATE TABLE @extschema@.stripe_subscription_items (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    stripe_subscription_item_id text    NOT NULL,
    subscription_id         uuid        NOT NULL,
    stripe_price_id         text,
    stripe_product_id       text,
    price_lookup_key        text,
    quantity                integer     NOT NULL DEFAULT 1,
    current_period_start    timestamptz,
    current_period_end      timestamptz,
    metadata                jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT stripe_subscription_items_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT stripe_subscription_items_tenant_id_stripe_subscription_item_id_key
        UNIQUE (tenant_id, stripe_subscription_item_id),
    CONSTRAINT stripe_subscription_items_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT stripe_subscription_items_subscription_id_fkey FOREIGN KEY (tenant_id, subscription_id)
        REFERENCES @extschema@.stripe_subscriptions (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT stripe_subscription_items_stripe_subscription_item_id_check CHECK (
        stripe_subscription_item_id ~ '^si_[A-Za-z0-9]+$'),
    CONSTRAINT stripe_subscription_items_quantity_check CHECK (quantity >= 0),
    CONSTRAINT stripe_subscription_items_current_period_check CHECK (current_period_end >= current_period_start),
    CONSTRAINT stripe_subscription_items_metadata_check CHECK (pg_catalog.jsonb_typeof(metadata) = 'object')
);

CREATE INDEX stripe_subscription_items_tenant_id_subscription_id_idx
    ON @extschema@.stripe_subscription_items (tenant_id, subscription_id);

CREATE TRIGGER stripe_subscription_items_set_updated_at BEFORE UPDATE ON @extschema@.stripe_subscription_items
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.stripe_subscription_items', '');

COMMENT ON TABLE @extschema@.stripe_subscription_items IS
    'Local mirror of the items of the mirrored Stripe subscriptions, with the billing period Stripe keeps per item; exactly the items of the subscription''s latest applied state.';
COMMENT ON COLUMN @extschema@.stripe_subscription_items.tenant_id IS 'Tenant whose Stripe account holds the subscription.';
COMMENT ON COLUMN @extschema@.stripe_subscription_items.id IS 'Local item identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.stripe_subscription_items.stripe_subscription_item_id IS 'Stripe subscription item id (si_...), unique within the tenant.';
COMMENT ON COLUMN @extschema@.stripe_subscription_items.subscription_id IS 'Subscription the item belongs to (stripe_subscriptions.id of the same tenant).';
COMMENT ON COLUMN @extschema@.stripe_subscription_items.stripe_price_id IS 'Stripe price id of the item (price_..., or a legacy plan''s custom id).';
COMMENT ON COLUMN @extschema@.stripe_subscription_items.stripe_product_id IS 'Stripe product id of that price.';
COMMENT ON COLUMN @extschema@.stripe_subscription_items.price_lookup_key IS 'Lookup key of that price, if it has one.';
COMMENT ON COLUMN @extschema@.stripe_subscription_items.quantity IS 'Quantity of the item (e.g. seats), 0 or more.';
COMMENT ON COLUMN @extschema@.stripe_subscription_items.current_period_start IS 'Start of the item''s current billing period.';
COMMENT ON COLUMN @extschema@.stripe_subscription_items.current_period_end IS 'End of the item''s current billing period, not before its start.';
COMMENT ON COLUMN @extschema@.stripe_subscription_items.metadata IS 'Stripe metadata of the item, as a JSON object.';
COMMENT ON COLUMN @extschema@.stripe_subscription_items.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.stripe_subscription_items.updated_at IS 'When the row was last updated; kept by the set_updated_at trigger.';

-- The platform's own Stripe account, the one billing the tenants. Its signing
-- secret is the operators' alone: a table of its own, not granted to
-- marimo_app at all, rather than an integrations row, which belongs to a tenant,
-- lives under that tenant's row-level security and can be written by the
-- tenant's application. At most one row.
CREATE TABLE @extschema@.platform_stripe_account (
    singleton               boolean     NOT NULL DEFAULT true,
    credentials             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    last_sync_at            timestamptz,
    last_error              text,
    last_error_at           timestamptz,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    CONSTRAINT platform_stripe_account_pkey PRIMARY KEY (singleton),
    CONSTRAINT platform_stripe_account_singleton_check CHECK (singleton),
    CONSTRAINT platform_stripe_account_credentials_check CHECK (pg_catalog.jsonb_typeof(credentials) = 'object')
);

CREATE TRIGGER platform_stripe_account_set_updated_at BEFORE UPDATE ON @extschema@.platform_stripe_account
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.platform_stripe_account', '');

COMMENT ON TABLE @extschema@.platform_stripe_account IS
    'The platform''s own Stripe account (the one billing the tenants), at most one row: its webhook signing secret and sync state; operators only.';
COMMENT ON COLUMN @extschema@.platform_stripe_account.singleton IS 'Always true: the table holds at most one row.';
COMMENT ON COLUMN @extschema@.platform_stripe_account.credentials IS 'Secret credentials as a JSON object; webhook_secret (whsec_...) is the endpoint''s signing secret read by ingest_platform_stripe_event.';
COMMENT ON COLUMN @extschema@.platform_stripe_account.last_sync_at IS 'When the last event was ingested.';
COMMENT ON COLUMN @extschema@.platform_stripe_account.last_error IS 'Message of the last event that verified but could not be applied.';
COMMENT ON COLUMN @extschema@.platform_stripe_account.last_error_at IS 'When last_error occurred.';
COMMENT ON COLUMN @extschema@.platform_stripe_account.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.platform_stripe_account.updated_at IS 'When the row was last updated; kept by the set_updated_at trigger.';
COMMENT ON COLUMN @extschema@.platform_stripe_account.id IS 'Identifier of the account row: the owner its encrypted credentials are bound to (see secrets_at_rest).';

-- Which state of the platform's Stripe subscription each tenant's billing
-- columns (tenants.subscription_status, trial_ends_at, plan) hold: the order
-- key of the last applied event, so that an older event never overwrites them.
CREATE TABLE @extschema@.tenant_stripe_billing (
    tenant_id               uuid        NOT NULL,
    stripe_subscription_id  text        NOT NULL,
    status                  text        NOT NULL,
    price_lookup_key        text,
    event_created_at        timestamptz NOT NULL,
    event_rank              smallint    NOT NULL,
    event_id                text        NOT NULL,
    updated_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT tenant_stripe_billing_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT tenant_stripe_billing_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE
);

CREATE TRIGGER tenant_stripe_billing_set_updated_at BEFORE UPDATE ON @extschema@.tenant_stripe_billing
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.tenant_stripe_billing', '');

COMMENT ON TABLE @extschema@.tenant_stripe_billing IS
    'The state of the platform''s Stripe subscription last applied to each tenant''s billing columns, with its event order key; written by ingest_platform_stripe_event.';
COMMENT ON COLUMN @extschema@.tenant_stripe_billing.tenant_id IS 'Tenant billed by the subscription.';
COMMENT ON COLUMN @extschema@.tenant_stripe_billing.stripe_subscription_id IS 'The platform''s Stripe subscription id (sub_...) of the tenant.';
COMMENT ON COLUMN @extschema@.tenant_stripe_billing.status IS 'Stripe status of that subscription in the last applied event.';
COMMENT ON COLUMN @extschema@.tenant_stripe_billing.price_lookup_key IS 'Lookup key (or metadata plan) of its first item''s price in that event, from which tenants.plan was set.';
COMMENT ON COLUMN @extschema@.tenant_stripe_billing.event_created_at IS 'created of the last applied event (first order key).';
COMMENT ON COLUMN @extschema@.tenant_stripe_billing.event_rank IS 'Rank of the last applied state among same-second states: 2 for canceled or incomplete_expired, else 1 (second order key).';
COMMENT ON COLUMN @extschema@.tenant_stripe_billing.event_id IS 'Id of the last applied event (third order key).';
COMMENT ON COLUMN @extschema@.tenant_stripe_billing.updated_at IS 'When the row was last updated; kept by the set_updated_at trigger.';

COMMENT ON FUNCTION @extschema@.ingest_stripe_event(uuid, text, text, interval) IS
    'Verifies a Stripe webhook request (raw body payload, Stripe-Signature header) with the integration''s credentials->>''webhook_secret'', records the event once in stripe_events and applies customer and subscription events to the mirrors in Stripe''s event order; returns the event id, type and outcome (applied, duplicate, stale, ignored, failed). An application may ingest only for its current tenant''s integrations.';
COMMENT ON FUNCTION @extschema@.ingest_platform_stripe_event(text, text, interval) IS
    'Verifies a Stripe webhook request of the platform''s own account (platform_stripe_account.credentials->>''webhook_secret'') and applies subscription events to the billing columns of the tenant whose stripe_customer_id or stripe_subscription_id they name, in Stripe''s event order; returns the event id, type and outcome. Operators only.';
COMMENT ON FUNCTION @extschema@.cleanup_stripe_events(interval, integer) IS
    'Deletes stripe_events rows received more than retention ago (default 30 days) in batches of batch_size (default 10000); returns the number of rows removed. The mirrors keep their own order keys, so an event re-delivered after its row is gone is still never applied twice.';

GRANT SELECT, INSERT, UPDATE, DELETE ON
    @extschema@.stripe_events, @extschema@.stripe_subscription_items,
    @extschema@.platform_stripe_account, @extschema@.tenant_stripe_billing
    TO marimo_admin;
GRANT SELECT ON @extschema@.stripe_events TO marimo_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.stripe_subscription_items TO marimo_app;
GRANT SELECT ON @extschema@.tenant_stripe_billing TO marimo_app;
SELECT pg_catalog.count(@extschema@.isolate_tenant_rows(t))
  FROM pg_catalog.unnest(ARRAY['@extschema@.stripe_events', '@extschema@.stripe_subscription_items',
                               '@extschema@.tenant_stripe_billing']::pg_catalog.regclass[]) AS t;

REVOKE ALL ON FUNCTION
    @extschema@.ingest_stripe_event(uuid, text, text, interval),
    @extschema@.ingest_platform_stripe_event(text, text, interval),
    @extschema@.cleanup_stripe_events(interval, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ingest_stripe_event(uuid, text, text, interval) TO marimo_app, marimo_admin;
GRANT EXECUTE ON FUNCTION
    @extschema@.ingest_platform_stripe_event(text, text, interval),
    @extschema@.cleanup_stripe_events(interval, integer)
    TO marimo_admin;

-- The platform account's credentials are a secret at rest like the others
-- (owner: ('platform_stripe', id, id), the row has no tenant), encrypted on write
-- and counted by secrets_at_rest, which the section above made before this table.
CREATE TRIGGER platform_stripe_account_encrypt_credentials BEFORE INSERT OR UPDATE OF credentials, id ON @extschema@.platform_stripe_account
    FOR EACH ROW EXECUTE FUNCTION @extschema@.encrypt_secret_column('platform_stripe', 'credentials', 'id', 'id');
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
  FROM @extschema@.integrations i GROUP BY 3
UNION ALL
SELECT 'platform_stripe_account', 'credentials',
       CASE WHEN (a.credentials OPERATOR(pg_catalog.->>) 'encrypted') LIKE 'enc:v1:%'
                 AND (a.credentials OPERATOR(pg_catalog.-) 'encrypted') OPERATOR(pg_catalog.=) '{}'::jsonb
            THEN pg_catalog.split_part(a.credentials OPERATOR(pg_catalog.->>) 'encrypted', ':', 3) END,
       pg_catalog.count(*)
  FROM @extschema@.platform_stripe_account a GROUP BY 3;
COMMENT ON COLUMN @extschema@.secrets_at_rest.table_name IS 'Table holding the secrets: webhooks, webhook_secrets, integrations or platform_stripe_account.';

-- == SendGrid: verified event ingestion and suppression state ==
-- sendgrid_contacts gains its suppression state at the end of the table, as a
-- fresh install has it. Every existing row has the new columns NULL or at their
-- defaults, which the new CHECKs accept: no row needs repairing.
ALTER TABLE @extschema@.sendgrid_contacts
    ADD COLUMN bounce_type text,
    ADD COLUMN bounce_reason text,
    ADD COLUMN bounced_at timestamptz,
    ADD COLUMN bounce_event_id text,
    ADD COLUMN spam_reported_at timestamptz,
    ADD COLUMN suppressed_groups integer[] NOT NULL DEFAULT '{}'::integer[],
    ADD COLUMN asm_group_states jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN last_event text,
    ADD COLUMN last_event_at timestamptz,
    ADD COLUMN last_event_id text,
    ADD CONSTRAINT sendgrid_contacts_bounce_type_check CHECK (bounce_type IN ('bounce', 'blocked')),
    ADD CONSTRAINT sendgrid_contacts_suppressed_groups_check CHECK (
        pg_catalog.array_position(suppressed_groups, NULL) IS NULL),
    ADD CONSTRAINT sendgrid_contacts_asm_group_states_check CHECK (pg_catalog.jsonb_typeof(asm_group_states) = 'object');

-- Contacts already bounced or reported as spam keep that suppression: their
-- registers are filled from their status (as of their last update), or the
-- first event that recomputes the status (a blocked bounce, an unsubscribe)
-- would find no register to explain it and lower it. updated_at is left as it
-- was, so the contact sync does not see them as changed.
ALTER TABLE @extschema@.sendgrid_contacts DISABLE TRIGGER sendgrid_contacts_set_updated_at;
UPDATE @extschema@.sendgrid_contacts
   SET bounce_type = CASE WHEN status = 'bounced' THEN 'bounce' END,
       bounced_at = CASE WHEN status = 'bounced' THEN updated_at END,
       spam_reported_at = CASE WHEN status = 'spam_report' THEN updated_at END
 WHERE status IN ('bounced', 'spam_report');
ALTER TABLE @extschema@.sendgrid_contacts ENABLE TRIGGER sendgrid_contacts_set_updated_at;

CREATE FUNCTION @extschema@."ingest_sendgrid_events"(
	"integration" uuid,
	"payload" TEXT,
	"signature" TEXT,
	"signed_at" TEXT,
	"tolerance" interval DEFAULT '5 minutes'
) RETURNS TABLE (
	"sg_event_id" TEXT,
	"event" TEXT,
	"outcome" TEXT
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'ingest_sendgrid_events_wrapper';

-- The inbox, its comments and grants, as src/integrations/sendgrid.sql has them.
CREATE TABLE @extschema@.sendgrid_events (
    tenant_id               uuid        NOT NULL,
    integration_id          uuid        NOT NULL,
    sg_event_id             text        NOT NULL,
    event                   text        NOT NULL,
    email                   text        NOT NULL,
    occurred_at             timestamptz NOT NULL,
    sg_message_id           text,
    reason                  text,
    bounce_type             text,
    smtp_status             text,
    asm_group_id            integer,
    outcome                 text        NOT NULL,
    payload                 jsonb       NOT NULL,
    received_at             timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT sendgrid_events_pkey PRIMARY KEY (tenant_id, integration_id, sg_event_id),
    CONSTRAINT sendgrid_events_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT sendgrid_events_integration_id_fkey FOREIGN KEY (tenant_id, integration_id)
        REFERENCES @extschema@.integrations (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT sendgrid_events_sg_event_id_check CHECK (pg_catalog.length(sg_event_id) BETWEEN 1 AND 255),
    CONSTRAINT sendgrid_events_event_check CHECK (pg_catalog.length(event) BETWEEN 1 AND 100),
    CONSTRAINT sendgrid_events_email_check CHECK (pg_catalog.length(email) BETWEEN 1 AND 320),
    CONSTRAINT sendgrid_events_outcome_check CHECK (outcome IN ('applied', 'ignored')),
    CONSTRAINT sendgrid_events_payload_check CHECK (pg_catalog.jsonb_typeof(payload) = 'object')
);

-- A contact's history by time; and the purge of old rows by received_at.
CREATE INDEX sendgrid_events_tenant_id_email_occurred_at_idx
    ON @extschema@.sendgrid_events (tenant_id, email, occurred_at);
CREATE INDEX sendgrid_events_received_at_idx ON @extschema@.sendgrid_events (received_at);

SELECT pg_catalog.pg_extension_config_dump('@extschema@.sendgrid_events', '');

COMMENT ON TABLE @extschema@.sendgrid_events IS
    'Inbox of SendGrid Event Webhook events, one row per sg_event_id and integration, written by ingest_sendgrid_events() after the batch''s signature verified; a replayed event is a duplicate and writes nothing. Old rows may be deleted (by received_at): the contacts'' state does not depend on them.';
COMMENT ON COLUMN @extschema@.sendgrid_events.tenant_id IS 'Tenant that owns the integration.';
COMMENT ON COLUMN @extschema@.sendgrid_events.integration_id IS 'SendGrid integration whose webhook delivered the event (integrations.id of the same tenant).';
COMMENT ON COLUMN @extschema@.sendgrid_events.sg_event_id IS 'SendGrid''s unique event id (1-255 characters); the same id again is a duplicate.';
COMMENT ON COLUMN @extschema@.sendgrid_events.event IS 'Event type as SendGrid sent it: processed, delivered, deferred, bounce, dropped, spamreport, unsubscribe, group_unsubscribe, group_resubscribe, open, click, or another (recorded, ignored).';
COMMENT ON COLUMN @extschema@.sendgrid_events.email IS 'Recipient address as SendGrid sent it; matched to sendgrid_contacts.email in lowercase.';
COMMENT ON COLUMN @extschema@.sendgrid_events.occurred_at IS 'When the event happened: SendGrid''s timestamp (Unix seconds).';
COMMENT ON COLUMN @extschema@.sendgrid_events.sg_message_id IS 'SendGrid''s id of the message the event is about, if sent.';
COMMENT ON COLUMN @extschema@.sendgrid_events.reason IS 'SendGrid''s reason (bounce, dropped, deferred), if sent.';
COMMENT ON COLUMN @extschema@.sendgrid_events.bounce_type IS 'SendGrid''s type of a bounce event: bounce (hard) or blocked; as sent.';
COMMENT ON COLUMN @extschema@.sendgrid_events.smtp_status IS 'SendGrid''s status field (an SMTP status code such as 5.1.1), if sent.';
COMMENT ON COLUMN @extschema@.sendgrid_events.asm_group_id IS 'Unsubscribe group (ASM group id) of the message or of a group_unsubscribe or group_resubscribe event, if sent.';
COMMENT ON COLUMN @extschema@.sendgrid_events.outcome IS 'applied (folded into the contact with this address) or ignored (an event type it does not read, a bounce of another type, a group event without group, or no contact with this address).';
COMMENT ON COLUMN @extschema@.sendgrid_events.payload IS 'The event''s JSON object as SendGrid sent it.';
COMMENT ON COLUMN @extschema@.sendgrid_events.received_at IS 'When the event was ingested (transaction time); old rows can be deleted by this column.';

COMMENT ON COLUMN @extschema@.sendgrid_contacts.bounce_type IS 'Type of the contact''s last bounce event (greatest by timestamp, then sg_event_id): bounce (hard; the status is then bounced) or blocked (transient); NULL if none.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.bounce_reason IS 'Reason SendGrid gave for that last bounce.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.bounced_at IS 'When that last bounce happened.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.bounce_event_id IS 'sg_event_id of that last bounce: the tie-break between bounces of the same second.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.spam_reported_at IS 'When the contact last reported a message as spam (SendGrid spamreport event); the status is then spam_report.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.suppressed_groups IS 'Unsubscribe groups (ASM group ids, ascending, no NULL) the contact left: those whose last group event is group_unsubscribe.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.asm_group_states IS 'Last group event of each unsubscribe group, as a JSON object of group id to {"event", "at" (Unix seconds), "id" (sg_event_id)}; suppressed_groups is derived from it.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.last_event IS 'Type of the contact''s last SendGrid event (greatest by timestamp, then sg_event_id).';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.last_event_at IS 'When that last event happened.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.last_event_id IS 'sg_event_id of that last event: the tie-break between events of the same second.';

COMMENT ON FUNCTION @extschema@.ingest_sendgrid_events(uuid, text, text, text, interval) IS
    'Verifies a SendGrid Event Webhook request (ECDSA P-256/SHA-256 over signed_at || payload with the integration''s config->>''verification_key'', signed_at within tolerance of now, NULL for no check) and ingests its events: each recorded once in sendgrid_events and folded into the suppression state of the tenant''s contact with that address; returns each event''s outcome (applied, duplicate, ignored). An application may ingest only for the current tenant''s integrations.';

-- Applications read their tenant's inbox; only the function writes it.
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.sendgrid_events TO marimo_admin;
GRANT SELECT ON @extschema@.sendgrid_events TO marimo_app;
SELECT @extschema@.isolate_tenant_rows('@extschema@.sendgrid_events');

REVOKE ALL ON FUNCTION @extschema@.ingest_sendgrid_events(uuid, text, text, text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ingest_sendgrid_events(uuid, text, text, text, interval)
    TO marimo_app, marimo_admin;

-- == Outbound provider calls: durable, retried, logged ==
-- integration_requests (new, no existing rows to repair) and the functions that
-- queue them, as src/integrations/outbound.sql has them for a fresh install.

CREATE TABLE @extschema@.integration_requests (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    integration_id          uuid        NOT NULL,
    operation               text        NOT NULL,
    method                  text        NOT NULL DEFAULT 'POST',
    path                    text        NOT NULL,
    body                    jsonb,
    context                 jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status                  text        NOT NULL DEFAULT 'pending',
    attempts                integer     NOT NULL DEFAULT 0,
    max_attempts            integer     NOT NULL DEFAULT 8,
    retry_schedule          interval[]  NOT NULL
        DEFAULT '{"5 seconds","5 minutes","30 minutes","2 hours","5 hours","10 hours","10 hours"}'::interval[],
    timeout_ms              integer     NOT NULL DEFAULT 15000,
    next_attempt_at         timestamptz DEFAULT pg_catalog.now(),
    lease_token             uuid,
    lease_expires_at        timestamptz,
    last_attempt_at         timestamptz,
    response_status         integer,
    last_error              text,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    completed_at            timestamptz,
    CONSTRAINT integration_requests_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT integration_requests_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT integration_requests_integration_id_fkey FOREIGN KEY (tenant_id, integration_id)
        REFERENCES @extschema@.integrations (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT integration_requests_operation_check CHECK (
        pg_catalog.length(pg_catalog.btrim(operation)) BETWEEN 1 AND 200),
    CONSTRAINT integration_requests_method_check CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')),
    CONSTRAINT integration_requests_path_check CHECK (
        path ~ '^/[!-~]*$' AND pg_catalog.length(path) <= 2048),
    CONSTRAINT integration_requests_context_check CHECK (pg_catalog.jsonb_typeof(context) = 'object'),
    CONSTRAINT integration_requests_status_check CHECK (status IN ('pending', 'in_flight', 'succeeded', 'failed')),
    CONSTRAINT integration_requests_attempts_check CHECK (attempts BETWEEN 0 AND max_attempts),
    CONSTRAINT integration_requests_max_attempts_check CHECK (max_attempts BETWEEN 1 AND 50),
    CONSTRAINT integration_requests_retry_schedule_check CHECK (
        pg_catalog.cardinality(retry_schedule) BETWEEN 1 AND 50
        AND pg_catalog.array_position(retry_schedule, NULL) IS NULL
        AND '00:00:01'::interval <= ALL (retry_schedule)
        AND '7 days'::interval >= ALL (retry_schedule)),
    CONSTRAINT integration_requests_timeout_ms_check CHECK (timeout_ms BETWEEN 1 AND 120000),
    CONSTRAINT integration_requests_pending_check CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL),
    CONSTRAINT integration_requests_lease_check CHECK (
        status <> 'in_flight' OR (lease_token IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CONSTRAINT integration_requests_response_status_check CHECK (response_status BETWEEN 100 AND 599)
);

CREATE INDEX integration_requests_due_idx ON @extschema@.integration_requests (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX integration_requests_lease_idx ON @extschema@.integration_requests (lease_expires_at)
    WHERE status = 'in_flight';
CREATE INDEX integration_requests_tenant_id_integration_id_created_at_idx
    ON @extschema@.integration_requests (tenant_id, integration_id, created_at);
CREATE INDEX integration_requests_completed_at_idx ON @extschema@.integration_requests (completed_at)
    WHERE status IN ('succeeded', 'failed');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.integration_requests', '');

COMMENT ON TABLE @extschema@.integration_requests IS
    'Queue of HTTP requests to the tenant''s providers (SendGrid, Stripe, ...), sent by the background worker with retries; every attempt is an integration_logs row. Holds no credential: they are read from the integration when a request is sent.';
COMMENT ON COLUMN @extschema@.integration_requests.tenant_id IS 'Tenant that owns the integration.';
COMMENT ON COLUMN @extschema@.integration_requests.id IS 'Request identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.integration_requests.integration_id IS 'Integration whose provider is called (integrations.id of the same tenant), with its credentials and base URL (config->>''base_url'').';
COMMENT ON COLUMN @extschema@.integration_requests.operation IS 'Logical operation (1-200 characters after trimming), e.g. contacts.upsert or mail.send; copied into each log row.';
COMMENT ON COLUMN @extschema@.integration_requests.method IS 'HTTP method: GET, POST, PUT, PATCH or DELETE.';
COMMENT ON COLUMN @extschema@.integration_requests.path IS 'Path (and query) below the integration''s base URL, starting with /, e.g. /v3/marketing/contacts; printable ASCII, at most 2048 characters.';
COMMENT ON COLUMN @extschema@.integration_requests.body IS 'JSON body to send; NULL for none. Never holds a credential.';
COMMENT ON COLUMN @extschema@.integration_requests.context IS 'What success means locally, as a JSON object: for contacts.upsert, {"sendgrid_contacts": [ids]} whose last_synced_at is then set.';
COMMENT ON COLUMN @extschema@.integration_requests.status IS 'pending (waiting for next_attempt_at), in_flight (claimed by the worker under a lease), succeeded (2xx) or failed (a 4xx other than 429, or max_attempts reached).';
COMMENT ON COLUMN @extschema@.integration_requests.attempts IS 'Attempts made so far, at most max_attempts.';
COMMENT ON COLUMN @extschema@.integration_requests.max_attempts IS 'Attempts allowed (1-50) before the request fails.';
COMMENT ON COLUMN @extschema@.integration_requests.retry_schedule IS 'Delays before retry 1, 2, ... (the last repeats), each 1 s to 7 days, with ±20 % jitter; a 429 or a timeout waits at least 60 s, and Retry-After is honoured.';
COMMENT ON COLUMN @extschema@.integration_requests.timeout_ms IS 'Time allowed for one attempt, in milliseconds (1-120000), capped by marimo_erp.webhook_max_timeout.';
COMMENT ON COLUMN @extschema@.integration_requests.next_attempt_at IS 'When the next attempt is due while pending; NULL once finished.';
COMMENT ON COLUMN @extschema@.integration_requests.lease_token IS 'Token of the worker''s current claim while in_flight; an outcome is recorded only under it.';
COMMENT ON COLUMN @extschema@.integration_requests.lease_expires_at IS 'When the claim lapses while in_flight (the timeout plus 30 s); a lapsed claim is sent again as the same attempt.';
COMMENT ON COLUMN @extschema@.integration_requests.last_attempt_at IS 'When the last attempt was claimed.';
COMMENT ON COLUMN @extschema@.integration_requests.response_status IS 'HTTP status of the last answer (100-599); NULL if none came.';
COMMENT ON COLUMN @extschema@.integration_requests.last_error IS 'Error of the last failed attempt (network error or HTTP status); NULL after success.';
COMMENT ON COLUMN @extschema@.integration_requests.created_at IS 'When the request was queued.';
COMMENT ON COLUMN @extschema@.integration_requests.completed_at IS 'When it succeeded or failed for good; cleanup_integration_logs deletes finished requests by this column.';

CREATE FUNCTION @extschema@.enqueue_integration_request(
    tenant uuid, integration uuid, operation text, method text, path text,
    body jsonb DEFAULT NULL, context jsonb DEFAULT '{}', max_attempts integer DEFAULT 8)
    RETURNS uuid
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'enqueue_integration_request_wrapper';
CREATE FUNCTION @extschema@.sync_sendgrid_contacts(tenant uuid, integration uuid)
    RETURNS bigint
    VOLATILE PARALLEL UNSAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'sync_sendgrid_contacts_wrapper';

COMMENT ON FUNCTION @extschema@.enqueue_integration_request(uuid, uuid, text, text, text, jsonb, jsonb, integer) IS
    'Queues an HTTP request to the provider of a tenant''s integration (path below its base URL, JSON body without credentials), sent by the background worker with retries and logged in integration_logs; returns the request id. Operators only.';
COMMENT ON FUNCTION @extschema@.sync_sendgrid_contacts(uuid, uuid) IS
    'Queues upserts of the tenant''s SendGrid contacts not yet synced (or changed since) to SendGrid''s Marketing Contacts API (PUT /v3/marketing/contacts, in batches), through integration, a sendgrid integration of the tenant; success sets their last_synced_at. Returns the number of contacts queued. An application may sync only its current tenant.';

-- Operators: everything but DDL. Applications: read their tenant's requests;
-- they queue them through sync_sendgrid_contacts().
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.integration_requests TO marimo_admin;
GRANT SELECT ON @extschema@.integration_requests TO marimo_app;
SELECT @extschema@.isolate_tenant_rows('@extschema@.integration_requests'::pg_catalog.regclass);

REVOKE ALL ON FUNCTION @extschema@.enqueue_integration_request(uuid, uuid, text, text, text, jsonb, jsonb, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.enqueue_integration_request(uuid, uuid, text, text, text, jsonb, jsonb, integer)
    TO marimo_admin;
REVOKE ALL ON FUNCTION @extschema@.sync_sendgrid_contacts(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.sync_sendgrid_contacts(uuid, uuid) TO marimo_app, marimo_admin;
