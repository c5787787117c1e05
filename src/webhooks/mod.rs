//! Webhooks: endpoints, the events to dispatch, delivery attempts and their
//! request/response logs (version 0.3.0); events fanned out to deliveries that a
//! background worker sends, signed as Standard Webhooks, with retries (0.8.0).
//!
//! - `api`: the SQL functions applications call;
//! - `signing`: Standard Webhooks signatures (pure, plus their SQL functions);
//! - `delivery`: what one attempt is and what follows it (pure, no PostgreSQL);
//! - `worker`: the background worker that claims, sends and records.

pub mod api;
pub mod delivery;
pub mod signing;
pub mod worker;

/// The scope of a webhook's secrets at rest (`infra::secrets::Owner`): the
/// current one (webhooks.secret) and rotated-out ones (webhook_secrets.secret)
/// are bound to (tenant_id, webhook id) alike, so rotating moves an envelope as is.
pub const WEBHOOK_SECRET_SCOPE: &str = "webhook";

pgrx::extension_sql_file!(
    "webhooks.sql",
    name = "webhooks",
    requires = [
        "tenants",
        "tenancy",
        set_updated_at,
        isolate_tenant_rows,
        cleanup_webhook_logs,
        create_webhook,
        rotate_webhook_secret,
        enable_webhook,
        retry_webhook_delivery,
        replay_webhook_deliveries,
        webhook_generate_secret,
        webhook_sign,
        webhook_verify
    ]
);
