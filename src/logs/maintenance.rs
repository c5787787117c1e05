//! `run_maintenance`: the one job to schedule. It creates the coming days'
//! partitions of every log and runs every cleanup with its default retention,
//! then prunes the history of maintenance, and records the run in it.

use pgrx::datum::{Date, Interval};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use super::history;
use super::partitions::create_days_committed;
use super::registry::{DAILY_PARTITIONED, MAINTAINED, MAINTENANCE_RUNS};
use super::retention;
use crate::infra::errors::{invalid_argument, raise, required, spi};
use crate::infra::installation;

/// Creates the daily partitions of every log table from yesterday to `premake`
/// ahead, then runs every cleanup with its default retention. Returns one row per
/// thing done. Schedule it (pg_cron, cron) at least daily.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
pub fn run_maintenance(
    premake: default!(Option<Interval>, "'7 days'"),
) -> TableIterator<
    'static,
    (
        name!(action, String),
        name!(relation, String),
        name!(rows, i64),
    ),
> {
    let premake = required(premake, "premake");
    let run = history::begin();
    let days_ahead = spi(Spi::get_one_with_args::<i32>(
        "SELECT CASE WHEN $1 < pg_catalog.make_interval() OR $1 > pg_catalog.make_interval(days => 366) THEN -1
                     ELSE pg_catalog.ceil(EXTRACT(epoch FROM $1) / 86400)::integer END",
        &[premake.into()],
    ))
    .unwrap_or(-1);
    if days_ahead < 0 {
        invalid_argument("argument \"premake\" must be between 0 and 366 days");
    }
    let today = spi(Spi::get_one::<Date>(
        "SELECT (pg_catalog.now() AT TIME ZONE 'UTC')::date",
    ))
    .unwrap_or_else(|| raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, "today is NULL"));
    let mut done = Vec::new();
    // From yesterday, so that rows of the day just past have their partition too.
    let yesterday = spi(Spi::get_one_with_args::<Date>(
        "SELECT $1 - 1",
        &[today.into()],
    ))
    .unwrap_or(today);
    let mut created = Vec::new();
    // Created first, each log's days in a chunk of their own that a background
    // worker commits (chunks.rs): a cleanup that fails, or a backlog, cannot stop
    // them, and this transaction holds no lock on the logs for the cleanups'
    // workers to wait on.
    for log in DAILY_PARTITIONED {
        for (name, moved) in create_days_committed(log.table, yesterday, days_ahead + 2, 0) {
            done.push(("created partition".to_string(), name.clone(), moved));
            created.push((name, moved));
        }
    }
    // The cleanups run through SQL so that their declared default retentions apply.
    for log in MAINTAINED {
        // The library may be newer than the installed SQL (before ALTER
        // EXTENSION UPDATE): a cleanup it does not have yet is skipped.
        let exists = spi(Spi::get_one_with_args::<bool>(
            "SELECT pg_catalog.to_regproc($1) IS NOT NULL",
            &[installation::qualified(log.cleanup).into()],
        ))
        .unwrap_or(false);
        if !exists {
            continue;
        }
        let removed = spi(Spi::get_one::<i64>(&format!(
            "SELECT {}()",
            installation::qualified(log.cleanup)
        )))
        .unwrap_or(0);
        done.push((
            "removed expired rows".to_string(),
            log.table.to_string(),
            removed,
        ));
    }
    // Pending usage deltas into the hourly rollups (0.13.0), batch by batch,
    // after the cleanups: the rows the roll-up updates stay locked until this
    // transaction commits, and the writers' own roll-ups in passing would wait
    // on them (at most their lock_timeout) while the cleanups' workers drop
    // days. Through SQL: usage is a room above this one.
    let roll_up = installation::qualified("roll_up_usage");
    let has_roll_up = spi(Spi::get_one_with_args::<bool>(
        "SELECT pg_catalog.to_regprocedure($1) IS NOT NULL",
        &[format!("{roll_up}(integer)").into()],
    ))
    .unwrap_or(false);
    if has_roll_up {
        let mut moved = 0;
        loop {
            let batch = spi(Spi::get_one::<i64>(&format!("SELECT {roll_up}(100000)"))).unwrap_or(0);
            moved += batch;
            if batch < 100_000 {
                break;
            }
        }
        done.push((
            "rolled up usage deltas".to_string(),
            "usage_deltas".to_string(),
            moved,
        ));
    }
    // The history itself does not grow forever.
    if history::installed() {
        let pruned = retention::purge(&MAINTENANCE_RUNS, Some(history::retention()), Some(10_000));
        done.push((
            "removed expired rows".to_string(),
            MAINTENANCE_RUNS.table.to_string(),
            pruned,
        ));
    }
    run.finish(
        "run_maintenance",
        &created,
        &format!("{{\"premake_days\": {days_ahead}}}"),
    );
    TableIterator::new(done)
}
