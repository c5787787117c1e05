//! Usage tracking (version 0.5.0): hourly usage rollups, the limit check the
//! application calls before letting a tenant do more, activity and API logs.
//!
//! `usage_metrics` holds one row per tenant, metric and UTC hour with the sum,
//! count, minimum and maximum of what was recorded in that hour. Since 0.13.0
//! writers (`record_usage`, the API log trigger) append deltas that
//! `roll_up_usage()` moves into it (rollup.rs); readers aggregate the hourly
//! rows and the pending deltas, never raw events.

use crate::infra::errors::{invalid_argument, required};

pub mod aggregate;
mod api_rollup;
pub mod cleanup;
pub mod limits;
mod limits_cache;
pub mod record;
pub mod rollup;

pgrx::extension_sql_file!(
    "usage.sql",
    name = "usage",
    requires = [
        "tenants",
        "tenancy",
        set_updated_at,
        isolate_tenant_rows,
        record_usage_with_key,
        rollup_api_usage,
        cleanup_activity_logs,
        cleanup_api_usage_logs,
        cleanup_idempotency_keys
    ]
);

/// A metric type is a lowercase identifier, as the `usage_metrics` CHECK constraint says.
pub fn is_metric_type(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.len() <= 63
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

pub fn require_metric_type(metric_type: Option<&str>) -> &str {
    let metric_type = required(metric_type, "metric_type");
    if !is_metric_type(metric_type) {
        invalid_argument(format!(
            "argument \"metric_type\" must be a lowercase identifier (a-z, 0-9, _; at most 63 characters), got \"{metric_type}\""
        ));
    }
    metric_type
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use super::*;
    use pgrx::prelude::*;

    #[pg_test]
    fn metric_types_are_lowercase_identifiers() {
        assert!(is_metric_type("api_calls"));
        assert!(is_metric_type("a"));
        assert!(is_metric_type(&"x".repeat(63)));
        assert!(!is_metric_type(&"x".repeat(64)));
        assert!(!is_metric_type(""));
        assert!(!is_metric_type("1api"));
        assert!(!is_metric_type("API_calls"));
        assert!(!is_metric_type("api calls"));
        assert!(!is_metric_type("api_calls'; DROP TABLE tenants; --"));
    }
}
