//! Integrations (version 0.4.0): provider configurations, their API call logs, and
//! local mirrors of Stripe customers and subscriptions and SendGrid contacts,
//! which applications search (`search`); outbound provider calls through a
//! durable, retried, logged queue the background worker sends (`outbound`, 0.11.0);
//! SendGrid's signed Event Webhook feeds the contacts' suppression state
//! (`sendgrid`, 0.11.0).

use pgrx::datum::Interval;
use pgrx::prelude::*;

use crate::infra::installation;
use crate::logs::registry::{FINISHED_INTEGRATION_REQUESTS, INTEGRATION_LOGS};
use crate::logs::{history, retention};

pub mod outbound;
mod search;
mod sendgrid;
mod stripe;

/// The scope of an integration's credentials at rest (`infra::secrets::Owner`):
/// bound to (tenant_id, id) of its row. Read them with
/// `secrets::reveal_json(credentials, &Owner { scope: CREDENTIALS_SCOPE, tenant, row: id })`.
pub const CREDENTIALS_SCOPE: &str = "integration";
/// The scope of the platform's own Stripe account's credentials
/// (`platform_stripe_account`), which has no tenant: bound to (id, id) of its row.
pub const PLATFORM_STRIPE_SCOPE: &str = "platform_stripe";

pgrx::extension_sql_file!(
    "integrations.sql",
    name = "integrations",
    requires = [
        "tenants",
        "tenancy",
        "tenant_search",
        set_updated_at,
        isolate_tenant_rows,
        cleanup_integration_logs,
        search_sendgrid_contacts,
        sendgrid_contacts_in_list
    ]
);

// SendGrid's Event Webhook (0.11.0): the sendgrid_events inbox and the grants
// of ingest_sendgrid_events.
pgrx::extension_sql_file!(
    "sendgrid.sql",
    name = "sendgrid_events",
    requires = ["integrations", ingest_sendgrid_events]
);

/// Deletes integration logs older than `retention` (90 days by default, as the
/// seed), then the provider requests that finished before then (0.11.0).
/// SECURITY DEFINER: operators run it without owning the log partitions it drops.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn cleanup_integration_logs(
    retention: default!(Option<Interval>, "'90 days'"),
    batch_size: default!(Option<i32>, "10000"),
) -> i64 {
    history::recorded("cleanup_integration_logs", || {
        let removed = retention::purge(&INTEGRATION_LOGS, retention, batch_size);
        // The library may be newer than the SQL (before ALTER EXTENSION UPDATE).
        if installation::installed_at_least("0.11.0") {
            removed + retention::purge(&FINISHED_INTEGRATION_REQUESTS, retention, batch_size)
        } else {
            removed
        }
    })
}
