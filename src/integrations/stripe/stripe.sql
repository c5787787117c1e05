-- Stripe ingestion (0.11.0): the inbox of verified events of each tenant's
-- Stripe integrations, the items of the mirrored subscriptions, and the
-- platform's own Stripe account (the one billing the tenants) with the billing
-- state it keeps in tenants. Filled by ingest_stripe_event() and
-- ingest_platform_stripe_event(); see README "Stripe ingestion".

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
