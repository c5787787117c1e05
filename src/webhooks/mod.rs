//! Webhooks (version 0.3.0): endpoints, the events to dispatch, delivery attempts
//! and their request/response logs.

use pgrx::datum::Interval;
use pgrx::prelude::*;

use crate::retention::{self, LogTable};

pgrx::extension_sql_file!(
    "../../sql/webhooks.sql",
    name = "webhooks",
    requires = ["analytics", cleanup_webhook_logs]
);

const WEBHOOK_LOG: LogTable = LogTable {
    table: "webhook_logs",
    time_column: "created_at",
};

/// Deletes webhook logs older than `retention` (30 days by default, as the seed).
/// SECURITY DEFINER: operators run it without owning the log partitions it drops.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn cleanup_webhook_logs(
    retention: default!(Option<Interval>, "'30 days'"),
    batch_size: default!(Option<i32>, "10000"),
) -> i64 {
    retention::purge(&WEBHOOK_LOG, retention, batch_size)
}

pub mod signing;
