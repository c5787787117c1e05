-- A database the way the seed built it: its five psql migrations
-- (001_create_tenants.sql ... 005_create_usage_tracking.sql) run by hand into
-- public, with plain tables, VARCHAR columns, no row-level security, an
-- update_updated_at_column() trigger and PL/pgSQL functions under the names the
-- extension uses. Written from the seed README's description, for the test of
-- "Coming from the seed's migrations" (pg_test/run): adopt_seed_tables() must
-- move every row of such a database into the extension.
\set ON_ERROR_STOP on

-- 001_create_tenants.sql
CREATE TABLE tenants (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    slug VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    custom_domain VARCHAR(255),
    status VARCHAR(255) NOT NULL DEFAULT 'active',
    plan VARCHAR(255) NOT NULL DEFAULT 'free',
    subscription_status VARCHAR(255) NOT NULL DEFAULT 'trialing',
    stripe_customer_id VARCHAR(255),
    stripe_subscription_id VARCHAR(255),
    max_users integer NOT NULL DEFAULT 5,
    max_storage_bytes bigint NOT NULL DEFAULT 1073741824,
    features jsonb NOT NULL DEFAULT '{}'::jsonb,
    limits jsonb NOT NULL DEFAULT '{}'::jsonb,
    settings jsonb NOT NULL DEFAULT '{}'::jsonb,
    trial_ends_at timestamptz,
    suspended_at timestamptz,
    suspension_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    UNIQUE (slug),
    UNIQUE (custom_domain),
    UNIQUE (stripe_customer_id),
    UNIQUE (stripe_subscription_id)
);

-- 002_create_analytics.sql
CREATE TABLE analytics_queries (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    description text,
    query_text text NOT NULL,
    parameters jsonb NOT NULL DEFAULT '{}'::jsonb,
    visualization jsonb NOT NULL DEFAULT '{}'::jsonb,
    is_public boolean NOT NULL DEFAULT false,
    created_by uuid,
    last_run_at timestamptz,
    run_count bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE TABLE dashboards (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    description text,
    layout jsonb NOT NULL DEFAULT '{}'::jsonb,
    widgets jsonb NOT NULL DEFAULT '[]'::jsonb,
    filters jsonb NOT NULL DEFAULT '{}'::jsonb,
    is_default boolean NOT NULL DEFAULT false,
    is_public boolean NOT NULL DEFAULT false,
    refresh_interval_seconds integer,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE TABLE scheduled_reports (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    analytics_query_id uuid,
    dashboard_id uuid,
    schedule VARCHAR(255) NOT NULL,
    timezone VARCHAR(255) NOT NULL DEFAULT 'UTC',
    format VARCHAR(255) NOT NULL DEFAULT 'pdf',
    recipients text[] NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    last_run_at timestamptz,
    next_run_at timestamptz,
    last_status VARCHAR(255),
    last_error text,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- A five-field cron expression (minute hour day-of-month month day-of-week). CONSTRAINT scheduled_reports_schedule_check CHECK ( schedule ~ '^\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s*$' AND schedule ~ '^[0-9*/,\-\sA-Za-z?LW#]+$'),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, analytics_query_id) REFERENCES analytics_queries (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, dashboard_id) REFERENCES dashboards (tenant_id, id) ON DELETE CASCADE
);

-- 003_create_webhooks.sql
CREATE TABLE webhooks (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    description text,
    url VARCHAR(255) NOT NULL,
    secret VARCHAR(255) NOT NULL,
    event_types text[] NOT NULL DEFAULT '{*}'::text[],
    is_active boolean NOT NULL DEFAULT true,
    max_attempts integer NOT NULL DEFAULT 8,
    timeout_ms integer NOT NULL DEFAULT 15000,
    custom_headers jsonb NOT NULL DEFAULT '{}'::jsonb,
    failure_count integer NOT NULL DEFAULT 0,
    last_success_at timestamptz,
    last_failure_at timestamptz,
    disabled_at timestamptz,
    disabled_reason VARCHAR(255),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE TABLE webhook_events (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    event_type VARCHAR(255) NOT NULL,
    payload jsonb NOT NULL,
    idempotency_key VARCHAR(255),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, idempotency_key),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE TABLE webhook_deliveries (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    webhook_id uuid NOT NULL,
    event_id uuid NOT NULL,
    status VARCHAR(255) NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 8,
    next_attempt_at timestamptz,
    last_attempt_at timestamptz,
    response_status integer,
    response_body text,
    last_error text,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, webhook_id, event_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, event_id) REFERENCES webhook_events (tenant_id, id) ON DELETE CASCADE
);
CREATE TABLE webhook_logs (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    webhook_id uuid NOT NULL,
    delivery_id uuid,
    attempt integer NOT NULL,
    request_url VARCHAR(255) NOT NULL,
    request_headers jsonb NOT NULL DEFAULT '{}'::jsonb,
    request_body text,
    response_status integer,
    response_headers jsonb,
    response_body text,
    duration_ms integer,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id) ON DELETE CASCADE
);

-- 004_create_integrations.sql
CREATE TABLE integrations (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    provider VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    config jsonb NOT NULL DEFAULT '{}'::jsonb,
    credentials jsonb NOT NULL DEFAULT '{}'::jsonb,
    status VARCHAR(255) NOT NULL DEFAULT 'pending',
    last_sync_at timestamptz,
    last_error text,
    last_error_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, provider, name),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE TABLE integration_logs (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    integration_id uuid NOT NULL,
    operation VARCHAR(255) NOT NULL,
    direction VARCHAR(255) NOT NULL DEFAULT 'outbound',
    http_method VARCHAR(255),
    endpoint VARCHAR(255),
    request_payload jsonb,
    response_status integer,
    response_payload jsonb,
    status VARCHAR(255) NOT NULL,
    error_message text,
    duration_ms integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, integration_id) REFERENCES integrations (tenant_id, id) ON DELETE CASCADE
);
CREATE TABLE stripe_customers (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    stripe_customer_id VARCHAR(255) NOT NULL,
    email VARCHAR(255),
    name VARCHAR(255),
    phone VARCHAR(255),
    currency VARCHAR(255),
    balance bigint NOT NULL DEFAULT 0,
    delinquent boolean NOT NULL DEFAULT false,
    default_payment_method VARCHAR(255),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    livemode boolean NOT NULL DEFAULT false,
    stripe_created_at timestamptz,
    deleted_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, stripe_customer_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE TABLE stripe_subscriptions (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    stripe_subscription_id VARCHAR(255) NOT NULL,
    customer_id uuid NOT NULL,
    stripe_price_id VARCHAR(255),
    stripe_product_id VARCHAR(255),
    status VARCHAR(255) NOT NULL,
    quantity integer NOT NULL DEFAULT 1,
    currency VARCHAR(255),
    unit_amount bigint,
    billing_interval VARCHAR(255),
    billing_interval_count integer NOT NULL DEFAULT 1,
    current_period_start timestamptz,
    current_period_end timestamptz,
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    cancel_at timestamptz,
    canceled_at timestamptz,
    ended_at timestamptz,
    trial_start timestamptz,
    trial_end timestamptz,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    livemode boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, stripe_subscription_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, customer_id) REFERENCES stripe_customers (tenant_id, id) ON DELETE CASCADE
);
CREATE TABLE sendgrid_contacts (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    sendgrid_contact_id VARCHAR(255),
    email VARCHAR(255) NOT NULL,
    first_name VARCHAR(255),
    last_name VARCHAR(255),
    list_ids text[] NOT NULL DEFAULT '{}'::text[],
    custom_fields jsonb NOT NULL DEFAULT '{}'::jsonb,
    status VARCHAR(255) NOT NULL DEFAULT 'subscribed',
    unsubscribed_at timestamptz,
    last_synced_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email),
    UNIQUE (tenant_id, sendgrid_contact_id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

-- 005_create_usage_tracking.sql
CREATE TABLE usage_metrics (
    tenant_id uuid NOT NULL,
    metric_type VARCHAR(255) NOT NULL,
    period_start timestamptz NOT NULL,
    value_sum numeric NOT NULL,
    sample_count bigint NOT NULL,
    value_min numeric NOT NULL,
    value_max numeric NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Rows are whole UTC hours: extract(epoch) is time-zone independent. CONSTRAINT usage_metrics_period_start_check CHECK ( mod(EXTRACT(epoch FROM period_start), 3600) = 0),
    PRIMARY KEY (tenant_id, metric_type, period_start),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE TABLE user_activities (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid,
    actor_type VARCHAR(255) NOT NULL DEFAULT 'user',
    action VARCHAR(255) NOT NULL,
    resource_type VARCHAR(255),
    resource_id VARCHAR(255),
    description text,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    ip_address inet,
    user_agent text,
    session_id VARCHAR(255),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE TABLE api_usage_logs (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid,
    api_key_id uuid,
    method VARCHAR(255) NOT NULL,
    endpoint VARCHAR(255) NOT NULL,
    status_code integer NOT NULL,
    response_time_ms integer NOT NULL,
    request_size_bytes bigint NOT NULL DEFAULT 0,
    response_size_bytes bigint NOT NULL DEFAULT 0,
    ip_address inet,
    user_agent text,
    error_message text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

-- The seed's helpers: the updated_at trigger and its functions, by the names
-- the extension also uses (they must move out of the way).
CREATE FUNCTION update_updated_at_column() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END $$;
DO $$
DECLARE t text;
BEGIN
    FOR t IN SELECT table_name FROM information_schema.columns
              WHERE table_schema = 'public' AND column_name = 'updated_at' LOOP
        EXECUTE format('CREATE TRIGGER update_%1$s_updated_at BEFORE UPDATE ON %1$I
                        FOR EACH ROW EXECUTE FUNCTION update_updated_at_column()', t);
    END LOOP;
END $$;
CREATE INDEX idx_api_usage_logs_tenant_created ON api_usage_logs (tenant_id, created_at);
CREATE INDEX idx_user_activities_tenant_created ON user_activities (tenant_id, created_at);

CREATE FUNCTION cleanup_webhook_logs() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
    DELETE FROM webhook_logs WHERE created_at < now() - interval '30 days';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
CREATE FUNCTION cleanup_integration_logs() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
    DELETE FROM integration_logs WHERE created_at < now() - interval '90 days';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
CREATE FUNCTION cleanup_activity_logs() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
    DELETE FROM user_activities WHERE created_at < now() - interval '180 days';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
CREATE FUNCTION aggregate_usage_metrics(p_tenant_id uuid, p_metric_type VARCHAR, p_start timestamp, p_end timestamp)
RETURNS TABLE (total numeric, average numeric, minimum numeric, maximum numeric, samples bigint)
LANGUAGE sql AS $$
    SELECT COALESCE(sum(value_sum), 0), sum(value_sum) / NULLIF(sum(sample_count), 0),
           min(value_min), max(value_max), COALESCE(sum(sample_count), 0)::bigint
      FROM usage_metrics
     WHERE tenant_id = p_tenant_id AND metric_type = p_metric_type
       AND period_start >= p_start AND period_start < p_end
$$;
CREATE FUNCTION check_tenant_limit(p_tenant_id uuid, p_limit_type VARCHAR, p_current_value integer)
RETURNS TABLE (allowed boolean, limit_value integer)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT p_current_value <= t.max_users, t.max_users FROM tenants t WHERE t.id = p_tenant_id;
END $$;
