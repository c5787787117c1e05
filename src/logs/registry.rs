//! The one registry of the tables whose old rows the extension removes: the
//! four logs partitioned by UTC day, and the tables of the domains whose
//! finished rows expire. The cleanups, `run_maintenance` and
//! `create_log_partitions` all read it, so a log is described once.

/// A table with retention: the column that says how old a row is, which rows
/// may go at all (`@extschema@` is replaced), and the SQL function that cleans it.
pub struct LogTable {
    pub table: &'static str,
    pub time_column: &'static str,
    pub only_where: Option<&'static str>,
    pub cleanup: &'static str,
}

/// A table whose rows all expire by `created_at`, cleaned by `cleanup`.
const fn by_age(table: &'static str, cleanup: &'static str) -> LogTable {
    LogTable {
        table,
        time_column: "created_at",
        only_where: None,
        cleanup,
    }
}

pub const WEBHOOK_LOGS: LogTable = by_age("webhook_logs", "cleanup_webhook_logs");
pub const INTEGRATION_LOGS: LogTable = by_age("integration_logs", "cleanup_integration_logs");
pub const USER_ACTIVITIES: LogTable = by_age("user_activities", "cleanup_activity_logs");
pub const API_USAGE_LOGS: LogTable = by_age("api_usage_logs", "cleanup_api_usage_logs");
/// Idempotency keys of record_usage: a key repeated after its retention counts again.
pub const USAGE_IDEMPOTENCY_KEYS: LogTable =
    by_age("usage_idempotency_keys", "cleanup_idempotency_keys");

/// The Stripe event inbox (0.11.0): the mirrors keep their own order keys, so
/// an event re-delivered after its row is gone is still not applied twice.
pub const STRIPE_EVENTS: LogTable = LogTable {
    table: "stripe_events",
    time_column: "received_at",
    only_where: None,
    cleanup: "cleanup_stripe_events",
};

/// Runs of scheduled reports (0.12.0), with their files.
pub const REPORT_RUNS: LogTable = by_age("report_runs", "cleanup_report_runs");

/// Deliveries that are over: delivered, failed (kept for replay until now) or cancelled.
pub const FINISHED_WEBHOOK_DELIVERIES: LogTable = LogTable {
    table: "webhook_deliveries",
    time_column: "updated_at",
    only_where: Some("status IN ('succeeded', 'failed', 'cancelled')"),
    cleanup: "cleanup_webhook_logs",
};

/// Provider requests that are over (0.11.0): succeeded or failed for good.
pub const FINISHED_INTEGRATION_REQUESTS: LogTable = LogTable {
    table: "integration_requests",
    time_column: "completed_at",
    only_where: Some("status IN ('succeeded', 'failed')"),
    cleanup: "cleanup_integration_logs",
};

/// Events no delivery refers to any more.
pub const SPENT_WEBHOOK_EVENTS: LogTable = LogTable {
    table: "webhook_events",
    time_column: "created_at",
    only_where: Some(
        "NOT EXISTS (SELECT FROM @extschema@.webhook_deliveries d
                      WHERE d.tenant_id = webhook_events.tenant_id AND d.event_id = webhook_events.id)",
    ),
    cleanup: "cleanup_webhook_logs",
};

/// The history of maintenance, pruned by `run_maintenance` itself after
/// `marimo_erp.maintenance_history_retention`.
pub const MAINTENANCE_RUNS: LogTable = LogTable {
    table: "maintenance_runs",
    time_column: "started_at",
    only_where: None,
    cleanup: "run_maintenance",
};

/// The logs partitioned by UTC day on `created_at`.
pub const DAILY_PARTITIONED: [&LogTable; 4] = [
    &WEBHOOK_LOGS,
    &INTEGRATION_LOGS,
    &USER_ACTIVITIES,
    &API_USAGE_LOGS,
];

/// What `run_maintenance` cleans, each through its cleanup function so that the
/// function's declared default retention applies (a cleanup the installed
/// version does not have yet is skipped).
pub const MAINTAINED: [&LogTable; 6] = [
    &WEBHOOK_LOGS,
    &INTEGRATION_LOGS,
    &USER_ACTIVITIES,
    &API_USAGE_LOGS,
    &USAGE_IDEMPOTENCY_KEYS,
    &REPORT_RUNS,
];
