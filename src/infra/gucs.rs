//! Every setting of marimo_erp, registered in one place: `init` from `_PG_init`.
//!
//! Settings whose context is `Postmaster` can be registered only while
//! `shared_preload_libraries` is processed, so they are registered only then.

use std::ffi::CString;

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

/// `marimo_erp.allow_data_loss`: lets a rollback drop tables that hold rows.
pub static ALLOW_DATA_LOSS: GucSetting<bool> = GucSetting::<bool>::new(false);

/// `marimo_erp.tenant_id`: the session's tenant, written by `set_tenant(..., for_session => true)`.
pub static SESSION_TENANT: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
/// The name of `SESSION_TENANT`, for `set_config_option`.
pub const SESSION_TENANT_NAME: &std::ffi::CStr = c"marimo_erp.tenant_id";

/// `marimo_erp.partition_drop_lock_timeout`: how long a cleanup waits to drop a partition (ms).
pub static PARTITION_DROP_LOCK_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(200);

/// `marimo_erp.maintenance_history_retention`: how long `run_maintenance` keeps
/// the rows of `maintenance_runs` (minutes; 90 days by default).
pub static MAINTENANCE_HISTORY_RETENTION_MIN: GucSetting<i32> =
    GucSetting::<i32>::new(90 * 24 * 60);
/// `marimo_erp.report_run_retention`: how long `cleanup_report_runs` keeps runs
/// by default (minutes; 90 days by default).
pub static REPORT_RUN_RETENTION_MIN: GucSetting<i32> = GucSetting::<i32>::new(90 * 24 * 60);
/// `marimo_erp.report_worker_naptime`: how long the report worker sleeps between
/// rounds (ms).
pub static REPORT_WORKER_NAPTIME_MS: GucSetting<i32> = GucSetting::<i32>::new(5_000);
/// `marimo_erp.search_language`: the text search configuration of tenants without their own.
pub static SEARCH_LANGUAGE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"english"));
/// `marimo_erp.search_refresh`: on while refresh_search_vectors() rebuilds vectors.
pub static SEARCH_REFRESH: GucSetting<bool> = GucSetting::<bool>::new(false);

/// `marimo_erp.webhook_allow_private_networks`: whether webhooks may reach private addresses.
pub static WEBHOOK_ALLOW_PRIVATE_NETWORKS: GucSetting<bool> = GucSetting::<bool>::new(false);
/// `marimo_erp.database`: the database the background worker serves.
pub static WORKER_DATABASE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"postgres"));
/// `marimo_erp.webhook_senders`: the worker's sending threads.
pub static WEBHOOK_SENDERS: GucSetting<i32> = GucSetting::<i32>::new(32);
/// `marimo_erp.webhook_tenant_max_in_flight`: the most requests of one tenant
/// the worker has in flight, over all its endpoints (each also under its own
/// `webhooks.max_in_flight`, which this bounds too).
pub static WEBHOOK_TENANT_MAX_IN_FLIGHT: GucSetting<i32> = GucSetting::<i32>::new(16);
/// `marimo_erp.webhook_max_timeout`: the longest a request may take, whatever
/// `webhooks.timeout_ms` says (ms).
pub static WEBHOOK_MAX_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(30_000);
/// `marimo_erp.webhook_max_payload_bytes`: the largest payload an event may
/// have, in bytes of its JSON text (1 MiB, as Svix and Stripe).
pub static WEBHOOK_MAX_PAYLOAD_BYTES: GucSetting<i32> = GucSetting::<i32>::new(1024 * 1024);
/// The name of `WEBHOOK_MAX_PAYLOAD_BYTES`, for messages.
pub const WEBHOOK_MAX_PAYLOAD_BYTES_NAME: &str = "marimo_erp.webhook_max_payload_bytes";
/// `marimo_erp.webhook_max_in_flight_bytes`: the payload bytes the worker holds
/// in flight at most (requests it has claimed and not yet recorded).
pub static WEBHOOK_MAX_IN_FLIGHT_BYTES: GucSetting<i32> = GucSetting::<i32>::new(64 * 1024 * 1024);

/// `marimo_erp.secret_key_file`: the file of the server key that encrypts secrets at rest.
pub static SECRET_KEY_FILE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
/// `marimo_erp.previous_secret_key_file`: the key being rotated out, read only to decrypt.
pub static PREVIOUS_SECRET_KEY_FILE: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(None);

/// `marimo_erp.analytics_statement_timeout`: how long a saved query may run
/// in run_analytics_query() before it is cancelled with 57014 (ms; 30 s by default).
pub static ANALYTICS_STATEMENT_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(30_000);
/// `marimo_erp.analytics_max_rows`: the most rows run_analytics_query() returns,
/// whatever its max_rows argument asks.
pub static ANALYTICS_MAX_ROWS: GucSetting<i32> = GucSetting::<i32>::new(100_000);

/// Registers every setting; `preloading` when called under `shared_preload_libraries`.
pub fn init(preloading: bool) {
    init_analytics();
    GucRegistry::define_bool_guc(
        c"marimo_erp.allow_data_loss",
        c"Lets ALTER EXTENSION marimo_erp UPDATE TO an older version drop tables that hold rows.",
        c"Rollback scripts refuse to drop a non-empty table unless this is on. Set it only in the session doing the rollback.",
        &ALLOW_DATA_LOSS,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"marimo_erp.partition_drop_lock_timeout",
        c"How long a cleanup waits for the lock it needs to drop an expired partition (ms).",
        c"Past it, the cleanup deletes that partition's rows in batches instead. Inserts into the log queue behind the waiting cleanup for at most this long.",
        &PARTITION_DROP_LOCK_TIMEOUT_MS,
        1,
        60_000,
        GucContext::Userset,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"marimo_erp.maintenance_history_retention",
        c"How long run_maintenance() keeps the rows of maintenance_runs, the history of maintenance and cleanups.",
        c"Each run_maintenance() deletes the history rows that started longer ago than this (90 days by default; e.g. '30d', '12h').",
        &MAINTENANCE_HISTORY_RETENTION_MIN,
        60,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_MIN,
    );
    GucRegistry::define_int_guc(
        c"marimo_erp.report_run_retention",
        c"How long cleanup_report_runs() (and so run_maintenance()) keeps report runs and their files by default.",
        c"Runs created longer ago than this are deleted (90 days by default; e.g. '30d'). A retention passed to cleanup_report_runs() wins.",
        &REPORT_RUN_RETENTION_MIN,
        60,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_MIN,
    );
    GucRegistry::define_int_guc(
        c"marimo_erp.report_worker_naptime",
        c"How long the report worker sleeps between rounds of due reports (ms).",
        c"A report is started at most this long after it is due; 5 s by default.",
        &REPORT_WORKER_NAPTIME_MS,
        100,
        3_600_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_string_guc(
        SESSION_TENANT_NAME,
        c"The tenant of this session, set by set_tenant(tenant, for_session => true).",
        c"Only superusers may SET it directly; set_tenant() checks the tenant exists. RESET ALL and DISCARD ALL clear it.",
        &SESSION_TENANT,
        GucContext::Suset,
        GucFlags::default(),
    );
    // Read in SQL (search_language()), which checks the value where it is used.
    GucRegistry::define_string_guc(
        c"marimo_erp.search_language",
        c"The text search configuration of tenants whose settings name no search_language.",
        c"Documents and queries must be parsed alike: set it for the server or the database, not per session, and run refresh_search_vectors() after changing it.",
        &SEARCH_LANGUAGE,
        GucContext::Suset,
        GucFlags::default(),
    );
    // Set by refresh_search_vectors() (SECURITY DEFINER) for its own statements:
    // the rows it rebuilds keep their updated_at. Superusers only, so that no
    // application can keep updated_at from moving.
    GucRegistry::define_bool_guc(
        c"marimo_erp.search_refresh",
        c"Internal: on while refresh_search_vectors() rebuilds search vectors.",
        c"Rows rebuilt while it is on keep their updated_at.",
        &SEARCH_REFRESH,
        GucContext::Suset,
        GucFlags::NO_SHOW_ALL,
    );
    GucRegistry::define_bool_guc(
        c"marimo_erp.webhook_allow_private_networks",
        c"Lets webhooks reach loopback, private, link-local and metadata addresses.",
        c"Off by default: such requests are refused before connecting. Turn it on only for tests or trusted networks.",
        &WEBHOOK_ALLOW_PRIVATE_NETWORKS,
        GucContext::Sighup,
        GucFlags::default(),
    );
    // Server-wide (postgresql.conf or ALTER SYSTEM, then a reload): every
    // backend and the worker must use the same key, and no session may point
    // the server at a file of its choosing.
    GucRegistry::define_string_guc(
        c"marimo_erp.secret_key_file",
        c"File holding the server key (64 hex digits) that encrypts secrets at rest.",
        c"Owned by the server's user, mode 0600, outside the data directory. Empty: secrets are stored in clear.",
        &SECRET_KEY_FILE,
        GucContext::Sighup,
        GucFlags::SUPERUSER_ONLY,
    );
    GucRegistry::define_string_guc(
        c"marimo_erp.previous_secret_key_file",
        c"File holding the previous server key, read only to decrypt while rotating with rotate_secret_key().",
        c"Same rules as marimo_erp.secret_key_file; empty once every secret is under the current key.",
        &PREVIOUS_SECRET_KEY_FILE,
        GucContext::Sighup,
        GucFlags::SUPERUSER_ONLY,
    );
    init_webhook_limits();
    if preloading {
        init_startup_settings();
    }
}

/// What one tenant may take of the delivery worker (issue 14): its requests in
/// flight, their time, their size. The worker reads them each round (reload);
/// the payload cap is checked where events are stored, in every backend.
/// The limits of saved queries run by run_analytics_query() (0.12.0): settings
/// of the operator, so an application cannot raise them for itself.
fn init_analytics() {
    GucRegistry::define_int_guc(
        c"marimo_erp.analytics_statement_timeout",
        c"How long a saved query may run in run_analytics_query() before it is cancelled.",
        c"A timer of its own, armed for the query alone (statement_timeout does not restart inside a function); any outer statement_timeout keeps running. The query is cancelled with SQLSTATE 57014. 30 s by default.",
        &ANALYTICS_STATEMENT_TIMEOUT_MS,
        1,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"marimo_erp.analytics_max_rows",
        c"The most rows run_analytics_query() returns, whatever its max_rows argument asks.",
        c"Results with more rows are cut there and marked truncated. 100000 by default.",
        &ANALYTICS_MAX_ROWS,
        1,
        i32::MAX - 1,
        GucContext::Suset,
        GucFlags::default(),
    );
}

fn init_webhook_limits() {
    GucRegistry::define_int_guc(
        c"marimo_erp.webhook_tenant_max_in_flight",
        c"How many requests of one tenant the delivery worker has in flight at most, over all its endpoints.",
        c"Each endpoint also stays under its own webhooks.max_in_flight. Keep it well below marimo_erp.webhook_senders, so that one tenant's slow or hanging receivers leave threads for the others.",
        &WEBHOOK_TENANT_MAX_IN_FLIGHT,
        1,
        512,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"marimo_erp.webhook_max_timeout",
        c"The longest a webhook request may take, whatever webhooks.timeout_ms says (ms).",
        c"A receiver that never answers holds its thread and its tenant's slot at most this long.",
        &WEBHOOK_MAX_TIMEOUT_MS,
        100,
        120_000,
        GucContext::Sighup,
        GucFlags::UNIT_MS,
    );
    // Read in SQL too, by the webhook_events trigger: plain bytes, no unit, so
    // that current_setting() gives a number.
    GucRegistry::define_int_guc(
        c"marimo_erp.webhook_max_payload_bytes",
        c"The largest payload a webhook event may have, in bytes of its JSON text.",
        c"emit_webhook_event() and inserts into webhook_events refuse larger payloads with SQLSTATE 54000. 1 MiB by default, as Svix and Stripe.",
        &WEBHOOK_MAX_PAYLOAD_BYTES,
        1024,
        1024 * 1024 * 1024 - 1,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"marimo_erp.webhook_max_in_flight_bytes",
        c"How many payload bytes the delivery worker holds in flight at most.",
        c"The worker claims deliveries only while the payloads of those in flight stay under this (one at a time when a single payload is larger). Keep it at least marimo_erp.webhook_tenant_max_in_flight times marimo_erp.webhook_max_payload_bytes.",
        &WEBHOOK_MAX_IN_FLIGHT_BYTES,
        1024 * 1024,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_BYTE,
    );
}

/// The background worker's settings that only a server start changes.
fn init_startup_settings() {
    GucRegistry::define_string_guc(
        c"marimo_erp.database",
        c"The database whose webhooks the delivery worker sends.",
        c"Read when the worker starts; the worker waits until the database and the extension exist.",
        &WORKER_DATABASE,
        GucContext::Postmaster,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"marimo_erp.webhook_senders",
        c"How many requests the delivery worker has in flight at most.",
        c"Threads of the worker that only send HTTP; the worker's main thread alone uses the database.",
        &WEBHOOK_SENDERS,
        1,
        512,
        GucContext::Postmaster,
        GucFlags::default(),
    );
}
