//! The history of maintenance (version 0.9.0): one row of `maintenance_runs`
//! per `run_maintenance()` call and per cleanup call, saying when it ran, for how
//! long, as whom, and what it did.
//!
//! A run is opened with `begin` and written by `Run::finish` in the same
//! transaction, so a run that fails leaves no row (its work is rolled back too).
//! `retention::purge` notes every table it cleans (`note_removal`); a run reports
//! the notes taken since it began, so `run_maintenance()` reports the tables of
//! the cleanups it called, each of which also writes its own row, linked to the
//! maintenance run by `maintenance_run`.
//!
//! The open runs are a stack in this backend: a run is popped when its `Run` is
//! dropped, which also happens when an error unwinds through it, so an aborted
//! run never stays open. The history is pruned by `run_maintenance()` after
//! `marimo_erp.maintenance_history_retention` (90 days by default).

use std::cell::RefCell;

use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use super::chunks::Tally;
use crate::infra::errors::{raise, spi};
use crate::infra::gucs::MAINTENANCE_HISTORY_RETENTION_MIN;
use crate::infra::installation;

/// What one `purge` of one table did.
struct Removal {
    table: String,
    tally: Tally,
    cutoff: TimestampWithTimeZone,
}

thread_local! {
    /// The ids of the runs open in this backend, innermost last.
    static OPEN: RefCell<Vec<pgrx::Uuid>> = const { RefCell::new(Vec::new()) };
    /// The removals noted since the outermost open run began.
    static REMOVALS: RefCell<Vec<Removal>> = const { RefCell::new(Vec::new()) };
    /// The chunks that background workers committed for the open runs (chunks.rs).
    static CHUNKS: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

/// Notes that background workers committed `count` chunks of a cleanup or of
/// partition creation for the runs open now (reported as `chunks_committed`).
pub fn note_chunks(count: i32) {
    if OPEN.with(|open| open.borrow().is_empty()) {
        return;
    }
    CHUNKS.with(|chunks| chunks.set(chunks.get() + count));
}

/// Notes what a cleanup did to one table, for the runs open now.
pub fn note_removal(table: &str, tally: &Tally, cutoff: TimestampWithTimeZone) {
    if OPEN.with(|open| open.borrow().is_empty()) {
        return;
    }
    REMOVALS.with(|removals| {
        removals.borrow_mut().push(Removal {
            table: table.to_string(),
            tally: *tally,
            cutoff,
        })
    });
}

/// A run of maintenance or of a cleanup, open until `finish` or an error.
pub struct Run {
    /// `None` when the installed SQL has no `maintenance_runs` yet (older than
    /// 0.9.0, between installing the library and `ALTER EXTENSION UPDATE`).
    id: Option<pgrx::Uuid>,
    within: Option<pgrx::Uuid>,
    started_at: Option<TimestampWithTimeZone>,
    first_removal: usize,
    first_chunk: i32,
}

/// Opens a run: its id, its start (the clock, not the transaction's start).
pub fn begin() -> Run {
    if !installed() {
        return Run {
            id: None,
            within: None,
            started_at: None,
            first_removal: 0,
            first_chunk: 0,
        };
    }
    let (id, started_at) = spi(Spi::get_two::<pgrx::Uuid, TimestampWithTimeZone>(
        "SELECT pg_catalog.gen_random_uuid(), pg_catalog.clock_timestamp()",
    ));
    let id = id.unwrap_or_else(|| pgrx::Uuid::from_bytes([0; 16]));
    let within = OPEN.with(|open| {
        let mut open = open.borrow_mut();
        let within = open.last().copied();
        open.push(id);
        within
    });
    let first_removal = REMOVALS.with(|removals| {
        let mut removals = removals.borrow_mut();
        if within.is_none() {
            removals.clear();
        }
        removals.len()
    });
    let first_chunk = CHUNKS.with(|chunks| {
        if within.is_none() {
            chunks.set(0);
        }
        chunks.get()
    });
    Run {
        id: Some(id),
        within,
        started_at,
        first_removal,
        first_chunk,
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.id.is_some() {
            OPEN.with(|open| open.borrow_mut().pop());
        }
    }
}

impl Run {
    /// Writes the run's row: `task` (the SQL function), the removals noted since
    /// it began, the partitions it created (name, rows moved into it), and
    /// `details`, a JSON object of anything else (merged into `details`).
    pub fn finish(self, task: &str, created: &[(String, i64)], details: &str) {
        let Some(id) = self.id else {
            return;
        };
        let (tables, rows, dropped, cutoffs, in_place, from_statistics) =
            REMOVALS.with(|removals| {
                let removals = removals.borrow();
                let mine = &removals[self.first_removal.min(removals.len())..];
                (
                    mine.iter().map(|r| r.table.clone()).collect::<Vec<_>>(),
                    mine.iter().map(|r| r.tally.rows).collect::<Vec<_>>(),
                    mine.iter().map(|r| r.tally.dropped).collect::<Vec<_>>(),
                    mine.iter().map(|r| r.cutoff).collect::<Vec<_>>(),
                    mine.iter()
                        .map(|r| r.tally.deleted_in_place)
                        .collect::<Vec<_>>(),
                    mine.iter()
                        .map(|r| r.tally.from_statistics)
                        .collect::<Vec<_>>(),
                )
            });
        // Chunks committed by background workers (chunks.rs), when there were any.
        let chunks = CHUNKS.with(|chunks| chunks.get()) - self.first_chunk;
        let names: Vec<String> = created.iter().map(|(name, _)| name.clone()).collect();
        let moved: Vec<i64> = created.iter().map(|(_, moved)| *moved).collect();
        let outer_user = unsafe { pg_sys::GetOuterUserId() };
        let statement = format!(
            "INSERT INTO {} (id, task, started_at, finished_at, rows_removed, partitions_created,
                             partitions_dropped, run_by, maintenance_run, details)
             SELECT $1, $2, $3, pg_catalog.clock_timestamp(),
                    (SELECT COALESCE(pg_catalog.sum(r), 0)::bigint FROM pg_catalog.unnest($6::bigint[]) r),
                    pg_catalog.cardinality($10::text[]),
                    (SELECT COALESCE(pg_catalog.sum(d), 0)::integer FROM pg_catalog.unnest($7::integer[]) d),
                    pg_catalog.pg_get_userbyid($4), $5,
                    pg_catalog.jsonb_build_object(
                        'tables', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                              'table', t.name, 'rows_removed', t.rows,
                                              'partitions_dropped', t.dropped, 'older_than', t.cutoff,
                                              'dead_rows_left', t.in_place, 'rows_from_statistics', t.estimated)
                                              ORDER BY t.n), '[]'::jsonb)
                                     FROM ROWS FROM (pg_catalog.unnest($9::text[]), pg_catalog.unnest($6::bigint[]),
                                                    pg_catalog.unnest($7::integer[]), pg_catalog.unnest($8::timestamptz[]),
                                                    pg_catalog.unnest($14::bigint[]), pg_catalog.unnest($15::bigint[]))
                                          WITH ORDINALITY AS t(name, rows, dropped, cutoff, in_place, estimated, n)),
                        'partitions_created', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                                              'partition', p.name, 'rows_moved', p.moved) ORDER BY p.n), '[]'::jsonb)
                                     FROM ROWS FROM (pg_catalog.unnest($10::text[]), pg_catalog.unnest($11::bigint[]))
                                          WITH ORDINALITY AS p(name, moved, n)))
                    OPERATOR(pg_catalog.||) $12::jsonb
                    OPERATOR(pg_catalog.||) CASE WHEN $13 OPERATOR(pg_catalog.>) 0
                         THEN pg_catalog.jsonb_build_object('chunks_committed', $13) ELSE '{{}}'::jsonb END",
            installation::qualified("maintenance_runs")
        );
        spi(Spi::run_with_args(
            &statement,
            &[
                id.into(),
                task.into(),
                self.started_at.into(),
                outer_user.into(),
                self.within.into(),
                rows.into(),
                dropped.into(),
                cutoffs.into(),
                tables.into(),
                names.into(),
                moved.into(),
                details.into(),
                chunks.into(),
                in_place.into(),
                from_statistics.into(),
            ],
        ));
    }
}

/// Runs a cleanup and records it as `task`; returns what the cleanup returns.
pub fn recorded(task: &str, cleanup: impl FnOnce() -> i64) -> i64 {
    let run = begin();
    let removed = cleanup();
    run.finish(task, &[], "{}");
    removed
}

/// Whether the installed SQL has the history table.
pub fn installed() -> bool {
    installation::installed_at_least("0.9.0")
}

/// How long the history is kept: `marimo_erp.maintenance_history_retention`.
pub fn retention() -> Interval {
    spi(Spi::get_one_with_args::<Interval>(
        "SELECT pg_catalog.make_interval(mins => $1)",
        &[MAINTENANCE_HISTORY_RETENTION_MIN.get().into()],
    ))
    .unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "the history's retention is NULL",
        )
    })
}
