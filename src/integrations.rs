//! Integrations (version 0.4.0): provider configurations, their API call logs, and
//! local mirrors of Stripe customers and subscriptions and SendGrid contacts.

use pgrx::datum::Interval;
use pgrx::prelude::*;

use crate::retention::{self, LogTable};

pgrx::extension_sql_file!(
    "../sql/integrations.sql",
    name = "integrations",
    requires = ["webhooks", cleanup_integration_logs]
);

const INTEGRATION_LOG: LogTable = LogTable {
    table: "integration_logs",
    time_column: "created_at",
    only_where: None,
};

/// Deletes integration logs older than `retention` (90 days by default, as the seed).
/// SECURITY DEFINER: operators run it without owning the log partitions it drops.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn cleanup_integration_logs(
    retention: default!(Option<Interval>, "'90 days'"),
    batch_size: default!(Option<i32>, "10000"),
) -> i64 {
    retention::purge(&INTEGRATION_LOG, retention, batch_size)
}
