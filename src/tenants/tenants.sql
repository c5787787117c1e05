-- Tenants (seed migration 001_create_tenants, extension version 0.1.0; roles and
-- row-level security since 0.7.0).
--
-- Every other table of the extension is tenant-scoped: it carries tenant_id,
-- which leads its primary key and every unique constraint, so that rows of one
-- tenant can never point at rows of another and every table can be distributed
-- by tenant_id (Citus).

CREATE TABLE @extschema@.tenants (
    id                      uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    slug                    text        NOT NULL,
    name                    text        NOT NULL,
    custom_domain           text,
    status                  text        NOT NULL DEFAULT 'active',
    plan                    text        NOT NULL DEFAULT 'free',
    subscription_status     text        NOT NULL DEFAULT 'trialing',
    stripe_customer_id      text,
    stripe_subscription_id  text,
    max_users               integer     NOT NULL DEFAULT 5,
    max_storage_bytes       bigint      NOT NULL DEFAULT 1073741824,
    features                jsonb       NOT NULL DEFAULT '{}'::jsonb,
    limits                  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    settings                jsonb       NOT NULL DEFAULT '{}'::jsonb,
    trial_ends_at           timestamptz,
    suspended_at            timestamptz,
    suspension_reason       text,
    created_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at              timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT tenants_pkey PRIMARY KEY (id),
    CONSTRAINT tenants_slug_key UNIQUE (slug),
    CONSTRAINT tenants_custom_domain_key UNIQUE (custom_domain),
    CONSTRAINT tenants_stripe_customer_id_key UNIQUE (stripe_customer_id),
    CONSTRAINT tenants_stripe_subscription_id_key UNIQUE (stripe_subscription_id),
    CONSTRAINT tenants_slug_check CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
    CONSTRAINT tenants_name_check CHECK (pg_catalog.length(pg_catalog.btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT tenants_custom_domain_check CHECK (
        custom_domain ~ '^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$'),
    CONSTRAINT tenants_status_check CHECK (status IN ('active', 'suspended', 'cancelled')),
    CONSTRAINT tenants_plan_check CHECK (plan IN ('free', 'starter', 'professional', 'enterprise')),
    CONSTRAINT tenants_subscription_status_check CHECK (subscription_status IN (
        'trialing', 'active', 'past_due', 'canceled', 'unpaid',
        'incomplete', 'incomplete_expired', 'paused')),
    CONSTRAINT tenants_stripe_customer_id_check CHECK (stripe_customer_id ~ '^cus_[A-Za-z0-9]+$'),
    CONSTRAINT tenants_stripe_subscription_id_check CHECK (stripe_subscription_id ~ '^sub_[A-Za-z0-9]+$'),
    CONSTRAINT tenants_max_users_check CHECK (max_users >= 0),
    CONSTRAINT tenants_max_storage_bytes_check CHECK (max_storage_bytes >= 0),
    CONSTRAINT tenants_features_check CHECK (pg_catalog.jsonb_typeof(features) = 'object'),
    CONSTRAINT tenants_limits_check CHECK (
        pg_catalog.jsonb_typeof(limits) = 'object'
        AND NOT pg_catalog.jsonb_path_exists(
            limits, '$.* ? (@.type() != "number" || @ < 0 || @ != @.floor())')),
    CONSTRAINT tenants_settings_check CHECK (pg_catalog.jsonb_typeof(settings) = 'object'),
    CONSTRAINT tenants_suspension_check CHECK (status <> 'suspended' OR suspended_at IS NOT NULL)
);

CREATE INDEX tenants_status_idx ON @extschema@.tenants (status);
CREATE INDEX tenants_subscription_status_idx ON @extschema@.tenants (subscription_status);
CREATE INDEX tenants_trial_ends_at_idx ON @extschema@.tenants (trial_ends_at)
    WHERE subscription_status = 'trialing';
CREATE INDEX tenants_created_at_idx ON @extschema@.tenants (created_at);

CREATE TRIGGER tenants_set_updated_at BEFORE UPDATE ON @extschema@.tenants
    FOR EACH ROW EXECUTE FUNCTION @extschema@.set_updated_at();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.tenants', '');

COMMENT ON TABLE @extschema@.tenants IS
    'One row per customer organisation of the SaaS; every other marimo_erp table is scoped to a tenant.';
COMMENT ON COLUMN @extschema@.tenants.id IS 'Tenant identifier, referenced as tenant_id by every tenant-scoped table.';
COMMENT ON COLUMN @extschema@.tenants.slug IS 'URL-safe unique name (lowercase letters, digits, inner hyphens; 1-63 characters), e.g. the subdomain.';
COMMENT ON COLUMN @extschema@.tenants.name IS 'Display name of the organisation.';
COMMENT ON COLUMN @extschema@.tenants.custom_domain IS 'Optional custom domain (lowercase host name) that serves this tenant; unique across tenants.';
COMMENT ON COLUMN @extschema@.tenants.status IS 'Lifecycle state: active, suspended (no writes, limits refuse) or cancelled.';
COMMENT ON COLUMN @extschema@.tenants.plan IS 'Subscription plan: free, starter, professional or enterprise.';
COMMENT ON COLUMN @extschema@.tenants.subscription_status IS 'Status of the Stripe subscription, with Stripe''s own values (trialing, active, past_due, canceled, unpaid, incomplete, incomplete_expired, paused).';
COMMENT ON COLUMN @extschema@.tenants.stripe_customer_id IS 'Stripe customer id (cus_...) of the tenant as a paying customer of the SaaS.';
COMMENT ON COLUMN @extschema@.tenants.stripe_subscription_id IS 'Stripe subscription id (sub_...) of the tenant''s plan.';
COMMENT ON COLUMN @extschema@.tenants.max_users IS 'Most users the tenant may have: the limit of check_tenant_limit(..., ''users_count'').';
COMMENT ON COLUMN @extschema@.tenants.max_storage_bytes IS 'Most storage the tenant may use, in bytes: the limit of check_tenant_limit(..., ''storage_bytes'').';
COMMENT ON COLUMN @extschema@.tenants.features IS 'Feature flags as a JSON object, e.g. {"webhooks": true}.';
COMMENT ON COLUMN @extschema@.tenants.limits IS 'Further limits as a JSON object of non-negative integers, e.g. {"api_calls_per_month": 100000, "webhooks_count": 10}; read by check_tenant_limit.';
COMMENT ON COLUMN @extschema@.tenants.settings IS 'Free-form tenant settings as a JSON object (locale, branding, ...).';
COMMENT ON COLUMN @extschema@.tenants.trial_ends_at IS 'End of the trial; once past, the tenant needs an active subscription for check_tenant_limit to allow anything.';
COMMENT ON COLUMN @extschema@.tenants.suspended_at IS 'When the tenant was suspended; required while status is suspended.';
COMMENT ON COLUMN @extschema@.tenants.suspension_reason IS 'Why the tenant was suspended, for operators and for the tenant.';
COMMENT ON COLUMN @extschema@.tenants.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.tenants.updated_at IS 'When the row was last updated; kept by the set_updated_at trigger.';

COMMENT ON FUNCTION @extschema@.set_updated_at() IS
    'Trigger function: sets NEW.updated_at to the transaction timestamp on every UPDATE.';

REVOKE ALL ON FUNCTION @extschema@.set_updated_at() FROM PUBLIC;

-- Operators: everything but DDL. A tenant reads its own row and edits its name
-- and settings; plan, limits and status are the operators'.
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.tenants TO marimo_admin;
GRANT SELECT ON @extschema@.tenants TO marimo_app;
GRANT UPDATE (name, settings) ON @extschema@.tenants TO marimo_app;
SELECT @extschema@.isolate_tenant_rows('@extschema@.tenants');

-- Tenant routing (0.9.0): a request router's first step, before any tenant is
-- set, when row-level security shows an application no tenant at all. Only an
-- active tenant's id, for one exact key (a slug, or a custom domain in any
-- case): no other column, no pattern, no range, so it tells an application
-- nothing beyond whether that one key is an active tenant's.
CREATE FUNCTION @extschema@.resolve_tenant(slug_or_domain text) RETURNS uuid
    LANGUAGE plpgsql
    STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found uuid;
BEGIN
    IF slug_or_domain IS NULL THEN
        RAISE EXCEPTION 'argument "slug_or_domain" must not be NULL' USING ERRCODE = '22004';
    END IF;
    -- 253 characters: the longest host name; a slug has at most 63.
    IF pg_catalog.length(slug_or_domain) NOT BETWEEN 1 AND 253 THEN
        RAISE EXCEPTION 'argument "slug_or_domain" must be 1 to 253 characters long'
            USING ERRCODE = '22023';
    END IF;
    SELECT t.id INTO found
      FROM @extschema@.tenants t
     WHERE (t.slug = slug_or_domain OR t.custom_domain = pg_catalog.lower(slug_or_domain))
       AND t.status = 'active';
    RETURN found;
END
$$;

COMMENT ON FUNCTION @extschema@.resolve_tenant(text) IS
    'The id of the active tenant whose slug, or custom domain (in any case), is slug_or_domain; NULL when none is, or when it is suspended or cancelled. Needs no tenant set; returns nothing else of the tenant.';

REVOKE ALL ON FUNCTION @extschema@.resolve_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.resolve_tenant(text) TO marimo_app, marimo_admin;
