//! Integrations (version 0.4.0): provider configurations, their API call logs, and
//! local mirrors of Stripe customers and subscriptions and SendGrid contacts,
//! which applications search (`search`).

use pgrx::datum::Interval;
use pgrx::prelude::*;

use crate::logs::registry::INTEGRATION_LOGS;
use crate::logs::{history, retention};

mod search;
mod stripe;

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

/// Deletes integration logs older than `retention` (90 days by default, as the seed).
/// SECURITY DEFINER: operators run it without owning the log partitions it drops.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn cleanup_integration_logs(
    retention: default!(Option<Interval>, "'90 days'"),
    batch_size: default!(Option<i32>, "10000"),
) -> i64 {
    history::recorded("cleanup_integration_logs", || {
        retention::purge(&INTEGRATION_LOGS, retention, batch_size)
    })
}
