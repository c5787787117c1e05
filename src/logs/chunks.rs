//! Maintenance in bounded chunks (0.10.0, issue 14 item 6).
//!
//! Every lock a transaction takes stays until it ends, and a dropped partition
//! holds ~30 of them (AccessExclusive on the table, each index, its toast table
//! and index, plus object locks on its types, constraints, defaults, triggers
//! and policies: measured 31 for a `user_activities` day, 40 for a
//! `webhook_logs` day). The shared lock table has room for
//! `max_locks_per_transaction` x (`max_connections` + workers) entries, 7,808
//! with the defaults, so one transaction that drops ~250 days fails with `out of
//! shared memory` — and did so on every run, new partitions included, since the
//! same transaction created them.
//!
//! A function called by `SELECT` cannot commit. So the part of a backlog beyond
//! one chunk is handed to dynamic background workers, one chunk each, that run
//! in their own transaction and commit (releasing its locks), while the caller
//! waits for each to end and adds up what it reports (through a dynamic shared
//! memory segment). The caller keeps at most one chunk of work for its own
//! transaction, so a call that fails later still rolls back whole what it did
//! itself; what a worker committed stays done (expired partitions dropped, or
//! partitions created ahead).
//!
//! A chunk is `8 x max_locks_per_transaction` lock entries (512 by default, a
//! fifteenth of the table): divided by the objects one partition of that log has
//! (its `pg_depend` rows + 4, an overestimate), 11 days of `user_activities`.
//! Measured on 1,600 expired days (400 per log) and the defaults: see README.
//!
//! Since 0.13.0 (issue 10) a cleanup hands every expired day to a worker, not
//! only a backlog beyond one chunk, and the worker drops them one transaction a
//! day: each commit releases the parent's exclusive lock, so concurrent inserts
//! wait for one day's drop at most. One worker start serves the whole cleanup.
//!
//! A worker cannot wait for a lock the caller holds (the caller waits for the
//! worker: neither would ever go on, and the lock manager sees no cycle). So
//! chunks go to workers only when this backend holds no lock on the log, its
//! partitions or (for creation, which adds foreign keys) a stronger-than-read
//! lock on the tables it references; and each worker waits for any lock at most
//! `lock_timeout = 30s`. When no worker can be used (a lock held, no free
//! `max_worker_processes` slot, a worker that failed), the caller does one chunk
//! itself and says in a NOTICE what is left for the next call.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};

use pgrx::bgworkers::{BackgroundWorkerBuilder, BgWorkerStartTime};
use pgrx::datum::{Date, TimestampWithTimeZone};
use pgrx::prelude::*;

use crate::infra::errors::spi;
use crate::infra::gucs::PARTITION_DROP_LOCK_TIMEOUT_MS;
use crate::infra::installation;

/// Lock entries one chunk may take, in units of `max_locks_per_transaction`.
const LOCKS_PER_CHUNK: i64 = 8;
/// The most partitions one worker creates (its names must fit in `Shared`).
pub(super) const MAX_CREATED: usize = 64;
pub(super) const NAME_LEN: usize = 64;
/// A worker's backstop for any lock wait (the drops wait far less, see retention).
pub(super) const WORKER_LOCK_TIMEOUT: &std::ffi::CStr = c"30s";

/// What a worker reports, in a dynamic shared memory segment the caller made.
#[repr(C)]
pub(super) struct Shared {
    /// 1 once the worker's last transaction committed.
    pub(super) done: AtomicU32,
    /// The transactions the worker committed so far: `rows` and `dropped` count
    /// what they did, valid even when a later one failed (`done` stays 0).
    pub(super) committed: AtomicU32,
    /// 1 once the caller stopped waiting (cancelled): the worker stops too.
    pub(super) abandoned: AtomicU32,
    pub(super) created: u32,
    pub(super) rows: i64,
    pub(super) dropped: i64,
    pub(super) deleted_in_place: i64,
    pub(super) from_statistics: i64,
    pub(super) names: [[u8; NAME_LEN]; MAX_CREATED],
    pub(super) moved: [i64; MAX_CREATED],
}

/// One chunk of work.
pub enum Job<'a> {
    /// Drop (or, when busy, empty) the `limit` oldest partitions of `table`
    /// wholly older than `cutoff`, each in a transaction of its own (0.13.0).
    Drop {
        table: &'a str,
        cutoff: TimestampWithTimeZone,
        batch_size: i32,
        limit: usize,
    },
    /// Create the missing partitions of `table` for `count` days from `first_day`.
    Create {
        table: &'a str,
        first_day: Date,
        count: i32,
    },
}

/// What a cleanup removed: every row (`rows`), and of them those deleted in
/// place (their dead tuples wait for vacuum) and those of dropped partitions
/// taken from the statistics rather than read; the partitions dropped.
#[derive(Default, Clone, Copy)]
pub struct Tally {
    pub rows: i64,
    pub dropped: i32,
    pub deleted_in_place: i64,
    pub from_statistics: i64,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.rows += other.rows;
        self.dropped += other.dropped;
        self.deleted_in_place += other.deleted_in_place;
        self.from_statistics += other.from_statistics;
    }
}

/// What a chunk did: rows removed and partitions dropped, partitions created,
/// the transactions committed, and whether the worker finished its job.
/// (The worker's side is `chunk_worker`.)
#[derive(Default)]
pub struct Outcome {
    pub tally: Tally,
    pub created: Vec<(String, i64)>,
    pub transactions: i32,
    pub finished: bool,
}

/// How many partitions of `table` (a bare log name) one transaction may drop or
/// create: the chunk's lock entries over the objects its default partition has.
pub fn partitions_per_chunk(table: &str) -> usize {
    let (max_locks, per_partition) = spi(Spi::get_two_with_args::<i64, i64>(
        "SELECT pg_catalog.current_setting('max_locks_per_transaction')::bigint,
                4 + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_depend d
                      WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                        AND d.refobjid OPERATOR(pg_catalog.=) (
                            SELECT i.inhrelid FROM pg_catalog.pg_inherits i
                              JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
                             WHERE i.inhparent OPERATOR(pg_catalog.=) $1::pg_catalog.regclass
                               AND pg_catalog.pg_get_expr(c.relpartbound, c.oid) OPERATOR(pg_catalog.=) 'DEFAULT'))",
        &[installation::qualified(table).into()],
    ));
    let budget = max_locks.unwrap_or(64).max(1) * LOCKS_PER_CHUNK;
    let per_partition = per_partition.unwrap_or(40).max(1);
    ((budget / per_partition).max(1) as usize).min(MAX_CREATED)
}

/// Whether a worker may take the locks a chunk of `table` (a bare log name)
/// needs without waiting for this backend: no lock here on the log or any of
/// its partitions, none stronger than a read on a table its foreign keys name.
pub fn workers_may_run(table: &str) -> bool {
    let held = spi(Spi::get_one_with_args::<bool>(
        "WITH parent AS (SELECT $1::pg_catalog.regclass::oid AS oid),
              mine AS (SELECT l.relation, l.mode FROM pg_catalog.pg_locks l
                        WHERE l.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()
                          AND l.locktype OPERATOR(pg_catalog.=) 'relation'
                          AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d
                                             WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()))
         SELECT EXISTS (SELECT FROM mine WHERE mine.relation IN (
                            SELECT oid FROM parent
                            UNION ALL SELECT i.inhrelid FROM pg_catalog.pg_inherits i, parent
                                       WHERE i.inhparent OPERATOR(pg_catalog.=) parent.oid))
             OR EXISTS (SELECT FROM mine WHERE mine.mode NOT IN ('AccessShareLock', 'RowShareLock')
                           AND mine.relation IN (
                            SELECT c.confrelid FROM pg_catalog.pg_constraint c, parent
                             WHERE c.conrelid OPERATOR(pg_catalog.=) parent.oid
                               AND c.contype OPERATOR(pg_catalog.=) 'f'))",
        &[installation::qualified(table).into()],
    ))
    .unwrap_or(true);
    !held
}

/// Runs `job` in a dynamic background worker, in transactions of its own that
/// commit, and waits for it. `None` when no worker committed anything (no free
/// worker slot, or the worker failed before its first commit); a worker that
/// failed later reports what it committed before (`finished` false).
pub fn in_worker(job: &Job) -> Option<Outcome> {
    let extra = encode(job);
    let segment = unsafe { pg_sys::dsm_create(std::mem::size_of::<Shared>(), 0) };
    if segment.is_null() {
        return None;
    }
    let shared = unsafe {
        let shared = pg_sys::dsm_segment_address(segment) as *mut Shared;
        std::ptr::write_bytes(shared, 0, 1);
        shared
    };
    let handle = unsafe { pg_sys::dsm_segment_handle(segment) };
    let started = BackgroundWorkerBuilder::new("marimo_erp maintenance chunk")
        .set_type("marimo_erp maintenance")
        .set_library("marimo_erp")
        .set_function("marimo_erp_maintenance_chunk_main")
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(None)
        .set_argument(Some(pg_sys::Datum::from(handle as usize)))
        .set_extra(&extra)
        .set_notify_pid(unsafe { pg_sys::MyProcPid })
        .load_dynamic();
    let outcome = match started {
        // WaitForBackgroundWorkerShutdown answers a cancel request: the caller's
        // statement ends, and the worker, told so, stops after the day it is
        // dropping, which it commits or rolls back whole.
        Ok(worker) => {
            let address = shared as usize;
            let waited = PgTryBuilder::new(AssertUnwindSafe(|| worker.wait_for_shutdown()))
                .catch_others(|error| {
                    let shared = address as *const Shared;
                    unsafe { (*shared).abandoned.store(1, Ordering::Release) };
                    error.rethrow()
                })
                .execute();
            match waited {
                Ok(()) => read(unsafe { &*shared }),
                Err(_) => None,
            }
        }
        Err(_) => None,
    };
    unsafe { pg_sys::dsm_detach(segment) };
    outcome
}

fn read(shared: &Shared) -> Option<Outcome> {
    let finished = shared.done.load(Ordering::Acquire) == 1;
    let transactions = shared.committed.load(Ordering::Acquire);
    if !finished && transactions == 0 {
        return None;
    }
    let created = (0..(shared.created as usize).min(MAX_CREATED))
        .map(|i| {
            let name = &shared.names[i];
            let end = name.iter().position(|b| *b == 0).unwrap_or(NAME_LEN);
            (
                String::from_utf8_lossy(&name[..end]).into_owned(),
                shared.moved[i],
            )
        })
        .collect();
    Some(Outcome {
        tally: Tally {
            rows: shared.rows,
            dropped: shared.dropped as i32,
            deleted_in_place: shared.deleted_in_place,
            from_statistics: shared.from_statistics,
        },
        created,
        transactions: transactions as i32,
        finished,
    })
}

/// A job as the worker's `bgw_extra` text (at most 127 bytes): the database,
/// the caller's `marimo_erp.partition_drop_lock_timeout`, then the job.
fn encode(job: &Job) -> String {
    let head = format!(
        "{} {}",
        u32::from(unsafe { pg_sys::MyDatabaseId }),
        PARTITION_DROP_LOCK_TIMEOUT_MS.get()
    );
    match job {
        Job::Drop {
            table,
            cutoff,
            batch_size,
            limit,
        } => format!(
            "{head} D {table} {} {batch_size} {limit}",
            cutoff.into_inner()
        ),
        Job::Create {
            table,
            first_day,
            count,
        } => format!("{head} C {table} {} {count}", first_day.to_pg_epoch_days()),
    }
}
