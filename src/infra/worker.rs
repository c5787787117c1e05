//! What every background worker of the extension needs, whatever it serves
//! (webhook deliveries since 0.8.0, scheduled reports since 0.12.0): connecting
//! to the database named by `marimo_erp.database` without a crash loop when it
//! does not exist, waiting with a backoff, exiting at SIGTERM, and running
//! work in transactions of its own from which no ERROR escapes.
//!
//! Each worker keeps two atomics in shared memory of its own (its start count
//! must not be another's), declares them with `PgAtomic::new(c"...")`,
//! initialises them with `pgrx::pg_shmem_init!` in its `register`, and passes
//! them here as a `Link`.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use pgrx::bgworkers::BackgroundWorker;
use pgrx::pg_sys::PgTryBuilder;
use pgrx::prelude::*;
use pgrx::PgAtomic;

use super::errors::describe_caught;
use super::guard::set_config;
use super::gucs::WORKER_DATABASE;

/// A worker's way to its database: its name in the log, and its two atomics.
pub struct Link {
    /// e.g. "marimo_erp webhook worker", the prefix of its log lines.
    pub label: &'static str,
    /// Set by a start that found the database, for the next start, which then
    /// connects to it (a process connects to one database only once).
    pub found: &'static PgAtomic<AtomicBool>,
    /// Connections begun since the last one that succeeded: a start that finds
    /// it above 0 knows that the previous one died connecting.
    pub failed: &'static PgAtomic<AtomicU32>,
}

/// Registers a static background worker of the extension (from `_PG_init`,
/// while preloading): `link.label` is its name and type, `function` its entry
/// point; the postmaster starts it again `restart` after it exits with code 1.
pub fn register(link: &Link, function: &str, restart: Duration) {
    pgrx::bgworkers::BackgroundWorkerBuilder::new(link.label)
        .set_type(link.label)
        .set_library("marimo_erp")
        .set_function(function)
        .enable_spi_access()
        .set_start_time(pgrx::bgworkers::BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(restart))
        .load();
}

/// Connects the worker to `marimo_erp.database` and pins its search_path, and
/// returns the database's name. When the previous start died connecting (FATAL:
/// the database does not exist, or refuses connections), the postmaster starts
/// the worker again every second: this start then connects to no database,
/// waits until the database exists (and, after repeated failures, a while
/// longer), and hands over to the next start, which connects to it. Never
/// returns on SIGTERM or on a failure to pin the search_path (it exits).
pub fn connect(link: &Link) -> String {
    let label = link.label;
    let database = WORKER_DATABASE
        .get()
        .and_then(|d| d.to_str().ok().map(str::to_string))
        .unwrap_or_else(|| "postgres".into());
    let failed = link.failed.get().load(Ordering::Acquire);
    if failed > 0 && !link.found.get().swap(false, Ordering::AcqRel) {
        BackgroundWorker::connect_worker_to_spi(None, None);
        wait_for_database(label, &database);
        if failed > 1 {
            let wait = backoff(failed + 3);
            log!(
                "{label}: connecting to database \"{database}\" failed {failed} times in a row; trying again in {} s",
                wait.as_secs()
            );
            wait_or_exit(label, wait.as_millis() as i64);
        }
        link.found.get().store(true, Ordering::Release);
        unsafe { pg_sys::proc_exit(1) };
    }
    link.failed
        .get()
        .store(failed.saturating_add(1), Ordering::Release);
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    link.failed.get().store(0, Ordering::Release);
    // The worker is the bootstrap superuser: a search_path set on the database
    // (ALTER DATABASE ... SET search_path, which its owner may do) must not pick
    // the operators and functions its statements resolve. Set for the session.
    if let Err(error) = guarded_transaction(|| {
        set_config(
            c"search_path",
            c"pg_catalog, pg_temp",
            pg_sys::GucContext::PGC_SUSET,
            pg_sys::GucAction::GUC_ACTION_SET,
        )
    }) {
        warning!("{label}: pinning search_path failed: {error}");
        unsafe { pg_sys::proc_exit(1) };
    }
    database
}

/// How long to wait after `failed_rounds` failed rounds in a row: 200 ms,
/// doubling, at most 30 s.
pub fn backoff(failed_rounds: u32) -> Duration {
    let millis = 100u64.saturating_mul(1u64 << failed_rounds.min(20));
    Duration::from_millis(millis.min(30_000))
}

/// Waits, connected to no database, until `database` exists: says so once in
/// the log, then checks again after 1 s, 2 s, ... at most every 60 s. Exits at
/// SIGTERM.
fn wait_for_database(label: &str, database: &str) {
    let Ok(name) = std::ffi::CString::new(database) else {
        warning!("{label}: marimo_erp.database holds a NUL byte; the worker stays idle");
        loop {
            wait_or_exit(label, 60_000);
        }
    };
    let mut delay_ms: i64 = 1000;
    let mut said = false;
    loop {
        let exists = guarded_transaction(|| database_exists(&name));
        match exists {
            Ok(true) => {
                if said {
                    log!("{label}: database \"{database}\" exists now; connecting");
                }
                return;
            }
            Ok(false) if !said => {
                log!(
                    "{label}: database \"{database}\" (marimo_erp.database) does not exist; waiting for it"
                );
                said = true;
            }
            Ok(false) => {}
            Err(error) => {
                warning!("{label}: looking for database \"{database}\" failed: {error}")
            }
        }
        wait_or_exit(label, delay_ms);
        delay_ms = (delay_ms * 2).min(60_000);
    }
}

/// Whether `name` is in pg_database, read with a heap scan: connected to no
/// database, the shared catalogs' indexes may not be usable yet (as the
/// autovacuum launcher does).
fn database_exists(name: &std::ffi::CStr) -> bool {
    let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
    let mut found = false;
    unsafe {
        let relation = pg_sys::table_open(pg_sys::DatabaseRelationId, lock);
        let scan = pg_sys::table_beginscan_catalog(relation, 0, std::ptr::null_mut());
        loop {
            let tuple = pg_sys::heap_getnext(scan, pg_sys::ScanDirection::ForwardScanDirection);
            if tuple.is_null() {
                break;
            }
            let header = (*tuple).t_data;
            let form = (header as *const u8).add((*header).t_hoff as usize)
                as *const pg_sys::FormData_pg_database;
            if std::ffi::CStr::from_ptr((*form).datname.data.as_ptr()) == name {
                found = true;
                break;
            }
        }
        pg_sys::table_endscan(scan);
        pg_sys::table_close(relation, lock);
    }
    found
}

/// Sleeps up to `timeout_ms` (a signal or the latch wakes it) and reloads the
/// configuration at SIGHUP; returns whether SIGTERM was received.
pub fn nap(timeout_ms: i64) -> bool {
    unsafe {
        pg_sys::WaitLatch(
            pg_sys::MyLatch,
            (pg_sys::WL_LATCH_SET | pg_sys::WL_TIMEOUT | pg_sys::WL_EXIT_ON_PM_DEATH) as i32,
            timeout_ms,
            pg_sys::PG_WAIT_EXTENSION,
        );
        pg_sys::ResetLatch(pg_sys::MyLatch);
    }
    pgrx::check_for_interrupts!();
    if BackgroundWorker::sighup_received() {
        unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
    }
    BackgroundWorker::sigterm_received()
}

/// `nap`, exiting at SIGTERM (while waiting for the database, before it serves).
pub fn wait_or_exit(label: &str, timeout_ms: i64) {
    if nap(timeout_ms) {
        log!("{label} stopping");
        unsafe { pg_sys::proc_exit(0) };
    }
}

/// Runs `work` in a transaction of its own and commits it; an ERROR in it (or in
/// the commit) rolls the transaction back and comes back as `Err`, so that no
/// row can end the worker.
pub fn guarded_transaction<R>(work: impl FnOnce() -> R) -> Result<R, String> {
    unsafe {
        pg_sys::SetCurrentStatementStartTimestamp();
        pg_sys::StartTransactionCommand();
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
    }
    let result = PgTryBuilder::new(AssertUnwindSafe(move || {
        let value = work();
        unsafe {
            pg_sys::PopActiveSnapshot();
            pg_sys::CommitTransactionCommand();
        }
        Ok(value)
    }))
    .catch_others(|error| Err(describe_caught(&error)))
    .execute();
    if result.is_err() {
        unsafe { pg_sys::AbortCurrentTransaction() };
    }
    result
}
