//! The cleanups of the usage room's logs and idempotency keys.

use pgrx::datum::Interval;
use pgrx::prelude::*;

use crate::logs::registry::{API_USAGE_LOGS, USAGE_IDEMPOTENCY_KEYS, USER_ACTIVITIES};
use crate::logs::{history, retention};

/// Forgets idempotency keys older than `retention` (35 days by default): a key
/// repeated after that counts again.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn cleanup_idempotency_keys(
    retention: default!(Option<Interval>, "'35 days'"),
    batch_size: default!(Option<i32>, "10000"),
) -> i64 {
    history::recorded("cleanup_idempotency_keys", || {
        retention::purge(&USAGE_IDEMPOTENCY_KEYS, retention, batch_size)
    })
}

/// Deletes user activities older than `retention` (180 days by default, as the seed).
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn cleanup_activity_logs(
    retention: default!(Option<Interval>, "'180 days'"),
    batch_size: default!(Option<i32>, "10000"),
) -> i64 {
    history::recorded("cleanup_activity_logs", || {
        retention::purge(&USER_ACTIVITIES, retention, batch_size)
    })
}

/// Deletes API usage logs older than `retention` (90 days by default); the seed
/// had no cleanup for them, so the table only grew.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn cleanup_api_usage_logs(
    retention: default!(Option<Interval>, "'90 days'"),
    batch_size: default!(Option<i32>, "10000"),
) -> i64 {
    history::recorded("cleanup_api_usage_logs", || {
        retention::purge(&API_USAGE_LOGS, retention, batch_size)
    })
}
