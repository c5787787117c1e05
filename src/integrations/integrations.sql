-- Integrations (seed migration 004_create_integrations, extension version 0.4.0;
-- logs partitioned by day since 0.6.0, privileges and isolation since 0.7.0).
--
-- integrations holds one configured connection per provider and name, with its
-- non-secret config and its credentials kept apart; integration_logs is the
-- append-only log of its API calls, purged in batches by cleanup_integration_logs.
-- stripe_customers, stripe_subscriptions and sendgrid_contacts are local mirrors
-- of the providers' objects, keyed by the providers' own ids within the tenant.

CREATE TABLE @extschema@.integrations (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    provider                text        NOT NULL,
    name                    text        NOT NULL,
    config                  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    credentials             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status                  text        NOT NULL DEFAULT 'pending',
    last_sync_at            timestamptz,
    last_error              text,
    last_error_at           timestamptz,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT integrations_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT integrations_tenant_id_provider_name_key UNIQUE (tenant_id, provider, name),
    CONSTRAINT integrations_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT integrations_provider_check CHECK (provider ~ '^[a-z][a-z0-9_]{0,62}$'),
    CONSTRAINT integrations_name_check CHECK (pg_catalog.length(pg_catalog.btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT integrations_config_check CHECK (pg_catalog.jsonb_typeof(config) = 'object'),
    CONSTRAINT integrations_credentials_check CHECK (pg_catalog.jsonb_typeof(credentials) = 'object'),
    CONSTRAINT integrations_status_check CHECK (status IN ('pending', 'active', 'error', 'disabled'))
);

CREATE INDEX integrations_tenant_id_status_idx ON @extschema@.integrations (tenant_id, status);

CREATE TRIGGER integrations_set_updated_at BEFORE UPDATE ON @extschema@.integrations
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.integrations', '');

COMMENT ON TABLE @extschema@.integrations IS
    'Third-party integrations configured by a tenant (Stripe, SendGrid, ...): settings, credentials and sync state.';
COMMENT ON COLUMN @extschema@.integrations.tenant_id IS 'Tenant that owns the integration.';
COMMENT ON COLUMN @extschema@.integrations.id IS 'Integration identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.integrations.provider IS 'Provider key: lowercase letter, then lowercase letters, digits or underscores (1-63 characters), e.g. stripe or sendgrid.';
COMMENT ON COLUMN @extschema@.integrations.name IS 'Display name of the integration (1-200 characters after trimming), unique within the tenant and provider.';
COMMENT ON COLUMN @extschema@.integrations.config IS 'Non-secret settings as a JSON object (account id, region, sync options, ...).';
COMMENT ON COLUMN @extschema@.integrations.credentials IS 'Secret credentials as a JSON object (API keys, OAuth access and refresh tokens); never expose to clients. Written plain; stored as {"encrypted": "enc:v1:<key id>:..."} when marimo_erp.secret_key_file names a key.';
COMMENT ON COLUMN @extschema@.integrations.status IS 'Connection state: pending (not yet verified), active, error (last call or sync failed) or disabled.';
COMMENT ON COLUMN @extschema@.integrations.last_sync_at IS 'When the last successful synchronisation with the provider finished.';
COMMENT ON COLUMN @extschema@.integrations.last_error IS 'Message of the last error returned by or about the provider.';
COMMENT ON COLUMN @extschema@.integrations.last_error_at IS 'When last_error occurred.';
COMMENT ON COLUMN @extschema@.integrations.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.integrations.updated_at IS 'When the row was last updated; kept by the set_updated_at trigger.';

CREATE TABLE @extschema@.integration_logs (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    integration_id          uuid        NOT NULL,
    operation               text        NOT NULL,
    direction               text        NOT NULL DEFAULT 'outbound',
    http_method             text,
    endpoint                text,
    request_payload         jsonb,
    response_status         integer,
    response_payload        jsonb,
    status                  text        NOT NULL,
    error_message           text,
    duration_ms             integer,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT integration_logs_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT integration_logs_integration_id_fkey FOREIGN KEY (tenant_id, integration_id)
        REFERENCES @extschema@.integrations (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT integration_logs_operation_check CHECK (
        pg_catalog.length(pg_catalog.btrim(operation)) BETWEEN 1 AND 200),
    CONSTRAINT integration_logs_direction_check CHECK (direction IN ('outbound', 'inbound')),
    CONSTRAINT integration_logs_http_method_check CHECK (
        http_method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS')),
    CONSTRAINT integration_logs_response_status_check CHECK (response_status BETWEEN 100 AND 599),
    CONSTRAINT integration_logs_status_check CHECK (status IN ('success', 'error')),
    CONSTRAINT integration_logs_duration_ms_check CHECK (duration_ms >= 0)
) PARTITION BY RANGE (created_at);



COMMENT ON TABLE @extschema@.integration_logs IS
    'Append-only log of calls between the tenant''s integrations and their providers, one row per call; purged by cleanup_integration_logs. Partitioned by UTC day on created_at.';
COMMENT ON COLUMN @extschema@.integration_logs.tenant_id IS 'Tenant that owns the integration.';
COMMENT ON COLUMN @extschema@.integration_logs.id IS 'Log entry identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.integration_logs.integration_id IS 'Integration the call was made for (integrations.id of the same tenant).';
COMMENT ON COLUMN @extschema@.integration_logs.operation IS 'Logical operation (1-200 characters after trimming), e.g. customers.sync or contacts.upsert.';
COMMENT ON COLUMN @extschema@.integration_logs.direction IS 'outbound for calls made to the provider, inbound for calls received from it (e.g. its webhooks).';
COMMENT ON COLUMN @extschema@.integration_logs.http_method IS 'HTTP method of the call (GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS); NULL when not an HTTP call.';
COMMENT ON COLUMN @extschema@.integration_logs.endpoint IS 'Provider URL or path that was called or that received the call.';
COMMENT ON COLUMN @extschema@.integration_logs.request_payload IS 'Request body as JSON, with secrets removed; NULL when there was none.';
COMMENT ON COLUMN @extschema@.integration_logs.response_status IS 'HTTP status code of the response (100-599); NULL if no response was received.';
COMMENT ON COLUMN @extschema@.integration_logs.response_payload IS 'Response body as JSON; NULL when there was none or it was not JSON.';
COMMENT ON COLUMN @extschema@.integration_logs.status IS 'Outcome of the call: success or error.';
COMMENT ON COLUMN @extschema@.integration_logs.error_message IS 'Error message when status is error.';
COMMENT ON COLUMN @extschema@.integration_logs.duration_ms IS 'Duration of the call, in milliseconds.';
COMMENT ON COLUMN @extschema@.integration_logs.created_at IS 'When the call was logged; cleanup_integration_logs deletes rows by this column.';

-- Partitioned by UTC day. The parent has no indexes of its own: pg_restore
-- attaches the dumped daily partitions to the parent CREATE EXTENSION made, and
-- would clash with indexes the parent cloned onto them. The default partition
-- (rows outside every daily one) is the template: run_maintenance() creates each
-- daily partition LIKE it, with its primary key, indexes and comments. Daily
-- partitions are ordinary tables, so pg_dump writes them with their rows.
CREATE TABLE @extschema@.integration_logs_default (
    LIKE @extschema@.integration_logs INCLUDING ALL,
    CONSTRAINT integration_logs_default_pkey PRIMARY KEY (tenant_id, id)
);
CREATE INDEX integration_logs_default_tenant_id_created_at_idx ON @extschema@.integration_logs_default (tenant_id, created_at);
CREATE INDEX integration_logs_default_tenant_id_integration_id_created_at_idx ON @extschema@.integration_logs_default (tenant_id, integration_id, created_at);
CREATE INDEX integration_logs_default_tenant_id_status_created_at_idx ON @extschema@.integration_logs_default (tenant_id, status, created_at);
CREATE INDEX integration_logs_default_created_at_idx ON @extschema@.integration_logs_default (created_at);
ALTER TABLE @extschema@.integration_logs ATTACH PARTITION @extschema@.integration_logs_default DEFAULT;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.integration_logs_default', '');
COMMENT ON TABLE @extschema@.integration_logs_default IS
    'Rows of integration_logs outside every daily partition, and the template of the daily partitions; run_maintenance() moves its rows into the partitions it creates.';

CREATE TABLE @extschema@.stripe_customers (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    stripe_customer_id      text        NOT NULL,
    email                   text,
    name                    text,
    phone                   text,
    currency                text,
    balance                 bigint      NOT NULL DEFAULT 0,
    delinquent              boolean     NOT NULL DEFAULT false,
    default_payment_method  text,
    metadata                jsonb       NOT NULL DEFAULT '{}'::jsonb,
    livemode                boolean     NOT NULL DEFAULT false,
    stripe_created_at       timestamptz,
    deleted_at              timestamptz,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- Stripe ingestion (0.11.0): the integration and the order key of the state held.
    integration_id          uuid,
    stripe_event_created_at timestamptz,
    stripe_event_rank       smallint,
    stripe_event_id         text,
    CONSTRAINT stripe_customers_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT stripe_customers_tenant_id_stripe_customer_id_key UNIQUE (tenant_id, stripe_customer_id),
    CONSTRAINT stripe_customers_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT stripe_customers_stripe_customer_id_check CHECK (stripe_customer_id ~ '^cus_[A-Za-z0-9]+$'),
    CONSTRAINT stripe_customers_email_check CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    CONSTRAINT stripe_customers_currency_check CHECK (currency ~ '^[a-z]{3}$'),
    CONSTRAINT stripe_customers_metadata_check CHECK (pg_catalog.jsonb_typeof(metadata) = 'object')
);

CREATE INDEX stripe_customers_tenant_id_email_idx ON @extschema@.stripe_customers (tenant_id, email);

CREATE TRIGGER stripe_customers_set_updated_at BEFORE UPDATE ON @extschema@.stripe_customers
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.stripe_customers', '');

COMMENT ON TABLE @extschema@.stripe_customers IS
    'Local mirror of the Stripe Customer objects of a tenant''s Stripe account.';
COMMENT ON COLUMN @extschema@.stripe_customers.tenant_id IS 'Tenant whose Stripe account holds the customer.';
COMMENT ON COLUMN @extschema@.stripe_customers.id IS 'Local customer identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.stripe_customers.stripe_customer_id IS 'Stripe customer id (cus_...), unique within the tenant.';
COMMENT ON COLUMN @extschema@.stripe_customers.email IS 'Customer email address as stored in Stripe.';
COMMENT ON COLUMN @extschema@.stripe_customers.name IS 'Customer full name or business name.';
COMMENT ON COLUMN @extschema@.stripe_customers.phone IS 'Customer phone number, as entered in Stripe.';
COMMENT ON COLUMN @extschema@.stripe_customers.currency IS 'Three-letter lowercase ISO 4217 currency the customer is billed in, e.g. eur.';
COMMENT ON COLUMN @extschema@.stripe_customers.balance IS 'Customer balance in the smallest unit of currency (e.g. cents); positive is owed by the customer, negative is a credit.';
COMMENT ON COLUMN @extschema@.stripe_customers.delinquent IS 'Whether the customer''s latest invoice charge failed or is past due, as reported by Stripe.';
COMMENT ON COLUMN @extschema@.stripe_customers.default_payment_method IS 'Stripe id of the default payment method (pm_... or legacy card_/src_ id).';
COMMENT ON COLUMN @extschema@.stripe_customers.metadata IS 'Stripe metadata key-value pairs, as a JSON object.';
COMMENT ON COLUMN @extschema@.stripe_customers.livemode IS 'true for a live-mode object, false for test mode.';
COMMENT ON COLUMN @extschema@.stripe_customers.stripe_created_at IS 'When the customer was created in Stripe.';
COMMENT ON COLUMN @extschema@.stripe_customers.deleted_at IS 'When the customer was deleted in Stripe; NULL while it exists.';
COMMENT ON COLUMN @extschema@.stripe_customers.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.stripe_customers.updated_at IS 'When the row was last updated; kept by the set_updated_at trigger.';
COMMENT ON COLUMN @extschema@.stripe_customers.integration_id IS 'Stripe integration (integrations.id of the same tenant) whose event last set the row; NULL for rows not written by ingest_stripe_event.';
COMMENT ON COLUMN @extschema@.stripe_customers.stripe_event_created_at IS 'created of the event whose state the row holds (first key of Stripe''s event order); NULL for a row no event has set.';
COMMENT ON COLUMN @extschema@.stripe_customers.stripe_event_rank IS 'Rank of that state among same-second states (second order key): 2 for a terminal state (deleted customer), else 1.';
COMMENT ON COLUMN @extschema@.stripe_customers.stripe_event_id IS 'Id of that event (third order key, compared bytewise); an older event never overwrites the row.';

CREATE TABLE @extschema@.stripe_subscriptions (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    stripe_subscription_id  text        NOT NULL,
    customer_id             uuid        NOT NULL,
    stripe_price_id         text,
    stripe_product_id       text,
    status                  text        NOT NULL,
    quantity                integer     NOT NULL DEFAULT 1,
    currency                text,
    unit_amount             bigint,
    billing_interval        text,
    billing_interval_count  integer     NOT NULL DEFAULT 1,
    current_period_start    timestamptz,
    current_period_end      timestamptz,
    cancel_at_period_end    boolean     NOT NULL DEFAULT false,
    cancel_at               timestamptz,
    canceled_at             timestamptz,
    ended_at                timestamptz,
    trial_start             timestamptz,
    trial_end               timestamptz,
    metadata                jsonb       NOT NULL DEFAULT '{}'::jsonb,
    livemode                boolean     NOT NULL DEFAULT false,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- Stripe ingestion (0.11.0): the integration and the order key of the state held.
    integration_id          uuid,
    stripe_event_created_at timestamptz,
    stripe_event_rank       smallint,
    stripe_event_id         text,
    CONSTRAINT stripe_subscriptions_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT stripe_subscriptions_tenant_id_stripe_subscription_id_key UNIQUE (tenant_id, stripe_subscription_id),
    CONSTRAINT stripe_subscriptions_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT stripe_subscriptions_customer_id_fkey FOREIGN KEY (tenant_id, customer_id)
        REFERENCES @extschema@.stripe_customers (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT stripe_subscriptions_stripe_subscription_id_check CHECK (
        stripe_subscription_id ~ '^sub_[A-Za-z0-9]+$'),
    CONSTRAINT stripe_subscriptions_status_check CHECK (status IN (
        'incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due',
        'canceled', 'unpaid', 'paused')),
    CONSTRAINT stripe_subscriptions_quantity_check CHECK (quantity >= 0),
    CONSTRAINT stripe_subscriptions_currency_check CHECK (currency ~ '^[a-z]{3}$'),
    CONSTRAINT stripe_subscriptions_unit_amount_check CHECK (unit_amount >= 0),
    CONSTRAINT stripe_subscriptions_billing_interval_check CHECK (
        billing_interval IN ('day', 'week', 'month', 'year')),
    CONSTRAINT stripe_subscriptions_billing_interval_count_check CHECK (billing_interval_count >= 1),
    CONSTRAINT stripe_subscriptions_current_period_check CHECK (current_period_end >= current_period_start),
    CONSTRAINT stripe_subscriptions_trial_check CHECK (trial_end >= trial_start),
    CONSTRAINT stripe_subscriptions_metadata_check CHECK (pg_catalog.jsonb_typeof(metadata) = 'object')
);

CREATE INDEX stripe_subscriptions_tenant_id_customer_id_idx
    ON @extschema@.stripe_subscriptions (tenant_id, customer_id);
CREATE INDEX stripe_subscriptions_tenant_id_status_idx ON @extschema@.stripe_subscriptions (tenant_id, status);
CREATE INDEX stripe_subscriptions_current_period_end_idx ON @extschema@.stripe_subscriptions (current_period_end);

CREATE TRIGGER stripe_subscriptions_set_updated_at BEFORE UPDATE ON @extschema@.stripe_subscriptions
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.stripe_subscriptions', '');

COMMENT ON TABLE @extschema@.stripe_subscriptions IS
    'Local mirror of the Stripe Subscription objects of a tenant''s Stripe account, with the price of their main item.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.tenant_id IS 'Tenant whose Stripe account holds the subscription.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.id IS 'Local subscription identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.stripe_subscription_id IS 'Stripe subscription id (sub_...), unique within the tenant.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.customer_id IS 'Subscribed customer (stripe_customers.id of the same tenant).';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.stripe_price_id IS 'Stripe price id of the subscription''s main item (price_..., or a legacy plan''s custom id).';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.stripe_product_id IS 'Stripe product id of that price (prod_..., or a custom id).';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.status IS 'Stripe subscription status: incomplete, incomplete_expired, trialing, active, past_due, canceled, unpaid or paused.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.quantity IS 'Quantity of the main item (e.g. seats), 0 or more.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.currency IS 'Three-letter lowercase ISO 4217 currency of the subscription, e.g. eur.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.unit_amount IS 'Price per unit per billing interval in the smallest unit of currency (e.g. cents); NULL for prices without a fixed unit amount.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.billing_interval IS 'Billing interval of the price: day, week, month or year; NULL if unknown.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.billing_interval_count IS 'Number of billing_interval units between billings, e.g. 3 with month for quarterly (1 or more).';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.current_period_start IS 'Start of the current billing period.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.current_period_end IS 'End of the current billing period, not before its start; the next renewal.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.cancel_at_period_end IS 'Whether the subscription will be canceled at the end of the current period.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.cancel_at IS 'When the subscription is scheduled to be canceled, if it is.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.canceled_at IS 'When cancellation was requested; the subscription may stay active until cancel_at or period end.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.ended_at IS 'When the subscription ended, if it has.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.trial_start IS 'Start of the trial, if any.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.trial_end IS 'End of the trial, if any; not before its start.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.metadata IS 'Stripe metadata key-value pairs, as a JSON object.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.livemode IS 'true for a live-mode object, false for test mode.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.updated_at IS 'When the row was last updated; kept by the set_updated_at trigger.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.integration_id IS 'Stripe integration (integrations.id of the same tenant) whose event last set the row; NULL for rows not written by ingest_stripe_event.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.stripe_event_created_at IS 'created of the event whose state the row holds (first key of Stripe''s event order); NULL for a row no event has set.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.stripe_event_rank IS 'Rank of that state among same-second states (second order key): 2 for a terminal state (canceled or incomplete_expired), else 1.';
COMMENT ON COLUMN @extschema@.stripe_subscriptions.stripe_event_id IS 'Id of that event (third order key, compared bytewise); an older event never overwrites the row.';

CREATE TABLE @extschema@.sendgrid_contacts (
    tenant_id               uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    sendgrid_contact_id     text,
    email                   text        NOT NULL,
    first_name              text,
    last_name               text,
    list_ids                text[]      NOT NULL DEFAULT '{}'::text[],
    custom_fields           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status                  text        NOT NULL DEFAULT 'subscribed',
    unsubscribed_at         timestamptz,
    last_synced_at          timestamptz,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    search_vector           tsvector,
    -- Suppression state from SendGrid's Event Webhook (0.11.0, see sendgrid.sql).
    bounce_type             text,
    bounce_reason           text,
    bounced_at              timestamptz,
    bounce_event_id         text,
    spam_reported_at        timestamptz,
    suppressed_groups       integer[]   NOT NULL DEFAULT '{}'::integer[],
    asm_group_states        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    last_event              text,
    last_event_at           timestamptz,
    last_event_id           text,
    CONSTRAINT sendgrid_contacts_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT sendgrid_contacts_tenant_id_email_key UNIQUE (tenant_id, email),
    CONSTRAINT sendgrid_contacts_tenant_id_sendgrid_contact_id_key UNIQUE (tenant_id, sendgrid_contact_id),
    CONSTRAINT sendgrid_contacts_tenant_id_fkey FOREIGN KEY (tenant_id)
        REFERENCES @extschema@.tenants (id) ON DELETE CASCADE,
    CONSTRAINT sendgrid_contacts_email_check CHECK (
        email ~ '^[^@\s]+@[^@\s]+$' AND email = pg_catalog.lower(email)),
    CONSTRAINT sendgrid_contacts_list_ids_check CHECK (pg_catalog.array_position(list_ids, NULL) IS NULL),
    CONSTRAINT sendgrid_contacts_custom_fields_check CHECK (pg_catalog.jsonb_typeof(custom_fields) = 'object'),
    CONSTRAINT sendgrid_contacts_status_check CHECK (
        status IN ('subscribed', 'unsubscribed', 'bounced', 'spam_report')),
    CONSTRAINT sendgrid_contacts_unsubscribed_check CHECK (status <> 'unsubscribed' OR unsubscribed_at IS NOT NULL),
    CONSTRAINT sendgrid_contacts_bounce_type_check CHECK (bounce_type IN ('bounce', 'blocked')),
    CONSTRAINT sendgrid_contacts_suppressed_groups_check CHECK (
        pg_catalog.array_position(suppressed_groups, NULL) IS NULL),
    CONSTRAINT sendgrid_contacts_asm_group_states_check CHECK (pg_catalog.jsonb_typeof(asm_group_states) = 'object')
);

CREATE INDEX sendgrid_contacts_tenant_id_status_idx ON @extschema@.sendgrid_contacts (tenant_id, status);
-- Read by sendgrid_contacts_in_list() (0.9.0).
CREATE INDEX sendgrid_contacts_list_ids_idx ON @extschema@.sendgrid_contacts USING gin (list_ids);
-- Search (0.9.0): search_vector in the tenant's language, read by search_sendgrid_contacts().
CREATE INDEX sendgrid_contacts_search_idx ON @extschema@.sendgrid_contacts USING gin (search_vector);

CREATE TRIGGER sendgrid_contacts_set_updated_at BEFORE UPDATE ON @extschema@.sendgrid_contacts
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();
-- After set_updated_at (name order), which a refresh of the vectors undoes.
CREATE TRIGGER sendgrid_contacts_update_search_vector
    BEFORE INSERT OR UPDATE OF tenant_id, email, first_name, last_name, search_vector ON @extschema@.sendgrid_contacts
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_search_vector('email, first_name, last_name');

SELECT pg_catalog.pg_extension_config_dump('@extschema@.sendgrid_contacts', '');

COMMENT ON TABLE @extschema@.sendgrid_contacts IS
    'Local mirror of a tenant''s SendGrid Marketing contacts, with their list memberships and subscription state.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.tenant_id IS 'Tenant whose SendGrid account holds the contact.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.id IS 'Local contact identifier, unique within the tenant.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.sendgrid_contact_id IS 'SendGrid''s contact id, unique within the tenant; NULL until the contact has been synced to SendGrid.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.email IS 'Contact email address in lowercase, unique within the tenant.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.first_name IS 'Contact first name.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.last_name IS 'Contact last name.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.list_ids IS 'SendGrid ids of the marketing lists the contact belongs to (no NULL; empty when on no list).';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.custom_fields IS 'SendGrid custom field values, as a JSON object of field name or id to value.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.status IS 'Deliverability state: subscribed, unsubscribed, bounced or spam_report.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.unsubscribed_at IS 'When the contact unsubscribed; required while status is unsubscribed.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.last_synced_at IS 'When the contact was last synchronised with SendGrid; NULL if never.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.updated_at IS 'When the row was last updated; kept by the set_updated_at trigger.';
COMMENT ON COLUMN @extschema@.sendgrid_contacts.search_vector IS 'E-mail address (also by its parts) and names as a text search document in the tenant''s language; kept by a trigger, read by search_sendgrid_contacts().';

COMMENT ON FUNCTION @extschema@.cleanup_integration_logs(interval, integer) IS
    'Removes integration_logs rows older than retention (default 90 days). Wholly expired UTC days are dropped one transaction a day by a background worker, so that inserts wait for one day''s drop at most; the expired rows of the boundary day and the default partition are deleted in batches of batch_size (default 10000) that never block concurrent inserts and can be cancelled between batches. Returns the number of rows removed: a dropped day''s rows are taken from the statistics (pg_stat live tuples, or pg_class.reltuples), not read, exact once the day was vacuumed after its last insert, an estimate otherwise; a day never vacuumed nor analyzed is counted. Days the worker dropped stay dropped if the calling transaction rolls back.';

-- Privileges and isolation (0.7.0). Operators: everything but DDL. Applications:
-- their tenant's rows under row-level security; integration_logs is append-only
-- for them, and integrations.credentials can be set, never read back.
GRANT SELECT, INSERT, UPDATE, DELETE ON
    @extschema@.integrations, @extschema@.integration_logs, @extschema@.stripe_customers,
    @extschema@.stripe_subscriptions, @extschema@.sendgrid_contacts
    TO marimo_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    @extschema@.stripe_customers, @extschema@.stripe_subscriptions, @extschema@.sendgrid_contacts
    TO marimo_app;
GRANT SELECT, INSERT ON @extschema@.integration_logs TO marimo_app;
GRANT SELECT (tenant_id, id, provider, name, config, status, last_sync_at, last_error, last_error_at,
              created_at, updated_at)
    ON @extschema@.integrations TO marimo_app;
GRANT INSERT, UPDATE, DELETE ON @extschema@.integrations TO marimo_app;
SELECT pg_catalog.count(@extschema@.isolate_tenant_rows(t))
  FROM pg_catalog.unnest(ARRAY['@extschema@.integrations', '@extschema@.integration_logs',
                               '@extschema@.integration_logs_default', '@extschema@.stripe_customers',
                               '@extschema@.stripe_subscriptions', '@extschema@.sendgrid_contacts'
                              ]::pg_catalog.regclass[]) AS t;

REVOKE ALL ON FUNCTION @extschema@.cleanup_integration_logs(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.cleanup_integration_logs(interval, integer) TO marimo_admin;

-- Search (0.9.0): for applications, which under forced row-level security could
-- not use the GIN indexes themselves; the current tenant's rows only.
COMMENT ON FUNCTION @extschema@.search_sendgrid_contacts(text, integer, uuid) IS
    'Full-text search (web search syntax) of the tenant''s SendGrid contacts by e-mail address, its parts (jane, doe, example, example.com) and names, best match first, at most max_rows; tenant defaults to the current tenant, and an application may search only that one.';
COMMENT ON FUNCTION @extschema@.sendgrid_contacts_in_list(text, integer, uuid) IS
    'The tenant''s SendGrid contacts on the list list_id, by e-mail address, at most max_rows; tenant defaults to the current tenant, and an application may read only that one.';
REVOKE ALL ON FUNCTION
    @extschema@.search_sendgrid_contacts(text, integer, uuid), @extschema@.sendgrid_contacts_in_list(text, integer, uuid)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.search_sendgrid_contacts(text, integer, uuid), @extschema@.sendgrid_contacts_in_list(text, integer, uuid)
    TO marimo_app, marimo_admin;
