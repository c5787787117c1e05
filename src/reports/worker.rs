//! The report worker (0.12.0): "marimo_erp report worker", a background worker
//! of its own (started when `shared_preload_libraries` includes `marimo_erp`),
//! so that a long report never stalls webhook deliveries. It connects to
//! `marimo_erp.database` as the webhook worker does (`infra::worker`), and every
//! `marimo_erp.report_worker_naptime` it
//! 1. fails the runs a crash left pending (`runs::fail_interrupted`);
//! 2. claims one due report and commits (the run's row and the report's next
//!    `next_run_at` together);
//! 3. executes that run in a transaction of its own;
//!
//! and repeats 2-3 while reports are due. Any error is logged and the worker
//! waits longer before its next round (backoff); it never exits on what the
//! data holds.

use std::sync::atomic::{AtomicBool, AtomicU32};
use std::time::Duration;

use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::prelude::*;
use pgrx::PgAtomic;

use super::runs;
use crate::infra::gucs::REPORT_WORKER_NAPTIME_MS;
use crate::infra::worker::{self, backoff, guarded_transaction, nap};

const LABEL: &str = "marimo_erp report worker";

static DATABASE_FOUND: PgAtomic<AtomicBool> =
    unsafe { PgAtomic::new(c"marimo_erp_report_worker_database_found") };
static CONNECTS_FAILED: PgAtomic<AtomicU32> =
    unsafe { PgAtomic::new(c"marimo_erp_report_worker_connects_failed") };

static LINK: worker::Link = worker::Link {
    label: LABEL,
    found: &DATABASE_FOUND,
    failed: &CONNECTS_FAILED,
};

/// Called from `_PG_init` while `shared_preload_libraries` is being processed.
pub fn register_worker() {
    pgrx::pg_shmem_init!(DATABASE_FOUND);
    pgrx::pg_shmem_init!(CONNECTS_FAILED);
    worker::register(
        &LINK,
        "marimo_erp_report_worker_main",
        Duration::from_secs(5),
    );
}

/// The most runs one round executes before it sleeps and reads signals again.
const ROUND_RUNS: usize = 100;

#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn marimo_erp_report_worker_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = worker::connect(&LINK);
    log!("{LABEL} serving database \"{database}\"");
    let mut failed_rounds: u32 = 0;
    loop {
        let wait = if failed_rounds > 0 {
            backoff(failed_rounds + 3).as_millis() as i64
        } else {
            REPORT_WORKER_NAPTIME_MS.get().max(100) as i64
        };
        if nap(wait) {
            break;
        }
        match round() {
            Ok(true) => break,
            Ok(false) => failed_rounds = 0,
            Err(error) => {
                failed_rounds = failed_rounds.saturating_add(1);
                warning!(
                    "{LABEL}: a round failed ({failed_rounds} in a row), trying again in {} ms: {error}",
                    backoff(failed_rounds + 3).as_millis()
                );
            }
        }
    }
    log!("{LABEL} stopping");
    // Exit code 1: terminated outside a shutdown (pg_terminate_backend), the
    // postmaster starts the worker again; during a shutdown it restarts nothing.
    unsafe { pg_sys::proc_exit(1) };
}

/// One round (see the module's comment); returns whether SIGTERM came during it.
fn round() -> Result<bool, String> {
    let ready = guarded_transaction(runs::ready)?;
    if !ready {
        return Ok(false);
    }
    let lost = guarded_transaction(runs::fail_interrupted)?;
    if lost > 0 {
        log!("{LABEL}: failed {lost} runs left pending by an interrupted run");
    }
    for _ in 0..ROUND_RUNS {
        if BackgroundWorker::sigterm_received() {
            return Ok(true);
        }
        let claimed = guarded_transaction(|| runs::claim_due(1))?;
        if claimed.is_empty() {
            break;
        }
        for run in claimed {
            if let Err(error) = guarded_transaction(|| runs::execute(run)) {
                warning!(
                    "{LABEL}: run {} (tenant {}) failed: {error}",
                    run.run,
                    run.tenant
                );
                if let Err(error) = guarded_transaction(|| runs::fail(run, &error)) {
                    warning!(
                        "{LABEL}: recording the failure of run {} failed, a later round fails it: {error}",
                        run.run
                    );
                }
            }
        }
    }
    Ok(false)
}
