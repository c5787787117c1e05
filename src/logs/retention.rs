//! Retention of append-only logs, shared by every `cleanup_*` function.
//!
//! On a table partitioned by day (the logs, since 0.6.0) a cleanup first deletes
//! the expired rows of the partitions that are only partly expired (the boundary
//! day and the default partition), then drops every partition that is wholly
//! expired: dropping a day costs the same whether it holds ten rows or ten
//! million, and leaves no dead tuples behind.
//!
//! Rows are deleted in batches of `batch_size`: each batch locks only the rows it
//! deletes (`FOR UPDATE SKIP LOCKED`, so it never waits on a row another session
//! holds and never blocks concurrent inserts), and the function checks for a
//! cancel request between batches.
//!
//! Dropping a partition needs an exclusive lock on the parent table, which
//! concurrent inserts into the log hold in a weaker mode. The cleanup waits for it
//! at most `marimo_erp.partition_drop_lock_timeout` (inserts queue behind it for
//! that long at worst), then, if the lock is still not free, deletes that
//! partition's rows in batches instead, so the cleanup always completes.
//!
//! Since 0.13.0 (issue 10) the expired days are dropped by a background worker
//! (chunks.rs), one day per transaction that commits: a lock taken for a drop
//! lasts until its transaction ends, so inserts into the log wait for one day's
//! drop at most, never for the whole cleanup. Only when no worker can be used (a
//! lock of the caller's on the log, no free worker slot) does the caller drop
//! days in its own transaction, one chunk at most, as in 0.10.0.
//!
//! The rows of a dropped day are not read to be counted: `rows_without_reading`
//! takes them from the statistics (the cumulative statistics' live tuples, or
//! `pg_class.reltuples` when those were reset), which VACUUM and ANALYZE measure.
//! A day that neither has ever measured (autovacuum measures any day with more
//! than `autovacuum_analyze_threshold`, 50 rows, so it is a small one) is counted.
//!
//! Each purge notes what it did for the history of maintenance (`history`),
//! including the rows it deleted in place (the boundary day, the default
//! partition, busy days): their dead tuples stay until (auto)vacuum, and the
//! history says how many, since a function cannot VACUUM.

use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use super::chunks::{self, Tally};
use super::history;
use super::partitions::{self, Partition};
use super::registry::{LogTable, DAILY_PARTITIONED};
use crate::infra::errors::{invalid_argument, required, spi};
use crate::infra::guard::in_subtransaction;
use crate::infra::gucs::PARTITION_DROP_LOCK_TIMEOUT_MS;
use crate::infra::installation;

/// Deletes the rows of `log` older than `now() - retention` and returns how many.
pub fn purge(log: &LogTable, retention: Option<Interval>, batch_size: Option<i32>) -> i64 {
    let retention = required(retention, "retention");
    let batch_size = required(batch_size, "batch_size");
    if batch_size <= 0 {
        invalid_argument(format!(
            "argument \"batch_size\" must be positive, got {batch_size}"
        ));
    }
    let positive = spi(Spi::get_one_with_args::<bool>(
        "SELECT $1 > pg_catalog.make_interval()",
        &[retention.into()],
    ))
    .unwrap_or(false);
    if !positive {
        invalid_argument("argument \"retention\" must be a positive interval");
    }
    // A retention longer than the calendar goes back keeps everything: nothing
    // is older than -infinity, and now() - retention would be out of range.
    let cutoff = spi(Spi::get_one_with_args::<TimestampWithTimeZone>(
        "SELECT CASE WHEN $1 >= pg_catalog.now() - '4713-01-01 00:00:00+00 BC'::timestamptz
                     THEN '-infinity'::timestamptz
                     ELSE pg_catalog.now() - $1 END",
        &[retention.into()],
    ))
    .unwrap_or_else(|| invalid_argument("argument \"retention\" gives no cutoff"));

    let table = installation::qualified(log.table);
    let partitions = partitions::partitions_of(&table);
    let condition = match log.only_where {
        Some(only) => format!(
            "{} < $1 AND {}",
            log.time_column,
            only.replace("@extschema@", &installation::schema())
        ),
        None => format!("{} < $1", log.time_column),
    };
    if partitions.is_empty() {
        let removed = delete_in_batches(&table, &condition, cutoff, batch_size);
        history::note_removal(
            log.table,
            &Tally {
                rows: removed,
                deleted_in_place: removed,
                ..Tally::default()
            },
            cutoff,
        );
        return removed;
    }
    // The expired days go first, to a worker that drops them one transaction a
    // day (chunks.rs), before this transaction touches the log.
    let chunk = chunks::partitions_per_chunk(log.table);
    let expired_of =
        |partitions: &[Partition]| partitions.iter().filter(|p| is_expired(p, cutoff)).count();
    let mut partitions = partitions;
    let mut tally = Tally::default();
    let mut chunks_committed = 0;
    if expired_of(&partitions) > 0 && chunks::workers_may_run(log.table) {
        loop {
            let left = expired_of(&partitions);
            if left == 0 {
                break;
            }
            let job = chunks::Job::Drop {
                table: log.table,
                cutoff,
                batch_size,
                limit: left,
            };
            let Some(outcome) = chunks::in_worker(&job) else {
                break;
            };
            tally.add(&outcome.tally);
            chunks_committed += outcome.transactions;
            partitions = partitions::partitions_of(&table);
            if !outcome.finished || outcome.tally.dropped == 0 {
                // A failed worker, or busy partitions emptied, not dropped: no
                // progress to make now.
                break;
            }
        }
    }
    let (mut expired, others): (Vec<&Partition>, Vec<&Partition>) =
        partitions.iter().partition(|p| is_expired(p, cutoff));
    if expired.len() > chunk {
        // No worker could take the backlog: one chunk here, the rest next time.
        let left = expired.len() - chunk;
        expired.truncate(chunk);
        ereport!(
            NOTICE,
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!(
                "marimo_erp: {left} expired partitions of {table} are left for the next call: one transaction drops at most {chunk} (its share of max_locks_per_transaction)"
            ),
            if chunks::workers_may_run(log.table) {
                "No background worker could take them (max_worker_processes). Call the cleanup again."
            } else {
                "This transaction holds a lock on the log, so no background worker can drop them for it. Call the cleanup again in a transaction of its own."
            }
        );
    }
    if chunks_committed > 0 {
        history::note_chunks(chunks_committed);
    }
    // Deletes first, drops last: the drops hold the parent's exclusive lock until
    // the transaction ends, so they come just before it does.
    let deleted = others
        .iter()
        .filter(|p| p.is_default || p.lower.is_none_or(|lower| lower < cutoff))
        .map(|p| delete_in_batches(&p.name, &condition, cutoff, batch_size))
        .sum::<i64>();
    tally.add(&Tally {
        rows: deleted,
        deleted_in_place: deleted,
        ..Tally::default()
    });
    tally.add(&drop_expired(
        &table,
        &partitions,
        &expired,
        &condition,
        cutoff,
        batch_size,
    ));
    history::note_removal(log.table, &tally, cutoff);
    tally.rows
}

fn is_expired(partition: &Partition, cutoff: TimestampWithTimeZone) -> bool {
    !partition.is_default && partition.upper.is_some_and(|upper| upper <= cutoff)
}

/// The expired days a worker drops, listed once for all its transactions:
/// listing a log's partitions deparses every bound (about 50 us a partition),
/// which a listing per day would repeat for every day dropped.
pub struct ExpiredDays {
    pub parent: pg_sys::Oid,
    pub default: Option<pg_sys::Oid>,
    /// Oldest first.
    pub days: Vec<Partition>,
}

/// The `limit` oldest partitions of `table` (a bare log name) wholly older
/// than `cutoff`, with the parent and its default partition. `None` for a
/// table that is not a daily-partitioned log.
pub fn expired_days(
    table: &str,
    cutoff: TimestampWithTimeZone,
    limit: usize,
) -> Option<ExpiredDays> {
    DAILY_PARTITIONED.iter().find(|log| log.table == table)?;
    let table = installation::qualified(table);
    let partitions = partitions::partitions_of(&table);
    let default = partitions.iter().find(|p| p.is_default).map(|p| p.oid);
    let days = partitions
        .into_iter()
        .filter(|p| is_expired(p, cutoff))
        .take(limit)
        .collect();
    Some(ExpiredDays {
        parent: parent_oid(&table),
        default,
        days,
    })
}

/// Drops (or, when busy, empties) one listed expired day, in a worker's
/// transaction of its own (chunks.rs). A day that is no longer a partition of
/// the log (another cleanup dropped it since the listing) is skipped.
pub fn drop_listed_day(
    table: &str,
    listed: &ExpiredDays,
    day: &Partition,
    cutoff: TimestampWithTimeZone,
    batch_size: i32,
) -> Tally {
    let Some(log) = DAILY_PARTITIONED.iter().find(|log| log.table == table) else {
        return Tally::default();
    };
    let still_a_partition = spi(Spi::get_one_with_args::<bool>(
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_inherits i
                         WHERE i.inhrelid OPERATOR(pg_catalog.=) $1
                           AND i.inhparent OPERATOR(pg_catalog.=) $2)",
        &[day.oid.into(), listed.parent.into()],
    ))
    .unwrap_or(false);
    if !still_a_partition {
        return Tally::default();
    }
    let condition = format!("{} < $1", log.time_column);
    drop_counted(
        listed.parent,
        listed.default,
        &[day],
        &condition,
        cutoff,
        batch_size,
    )
}

fn parent_oid(table: &str) -> pg_sys::Oid {
    spi(Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT $1::pg_catalog.regclass::oid",
        &[table.into()],
    ))
    .unwrap_or(pg_sys::InvalidOid)
}

/// Drops the `expired` partitions of `table` (all of `partitions`), each
/// counted first without reading it when the statistics know it.
fn drop_expired(
    table: &str,
    partitions: &[Partition],
    expired: &[&Partition],
    condition: &str,
    cutoff: TimestampWithTimeZone,
    batch_size: i32,
) -> Tally {
    if expired.is_empty() {
        return Tally::default();
    }
    let default = partitions.iter().find(|p| p.is_default).map(|p| p.oid);
    drop_counted(
        parent_oid(table),
        default,
        expired,
        condition,
        cutoff,
        batch_size,
    )
}

/// Drops the `expired` partitions of the log `parent` (whose default
/// partition is `default`), each counted first.
fn drop_counted(
    parent_oid: pg_sys::Oid,
    default: Option<pg_sys::Oid>,
    expired: &[&Partition],
    condition: &str,
    cutoff: TimestampWithTimeZone,
    batch_size: i32,
) -> Tally {
    let mut tally = Tally::default();
    // Count first (a day the statistics do not know is read, held in SHARE mode
    // so that no row can enter or leave it before the drop), so that the
    // parent's exclusive lock, which blocks every insert into the log, is held
    // for the drops alone.
    let counted: Vec<(&Partition, i64, bool)> = expired
        .iter()
        .map(|p| match rows_without_reading(p) {
            Some(rows) => (*p, rows, true),
            None => (*p, count_frozen(p), false),
        })
        .collect();
    for (partition, rows, estimated) in counted {
        let (rows, was_dropped) = drop_or_delete(
            parent_oid, default, partition, rows, condition, cutoff, batch_size,
        );
        tally.rows += rows;
        if was_dropped {
            tally.dropped += 1;
            if estimated {
                tally.from_statistics += rows;
            }
        } else {
            tally.deleted_in_place += rows;
        }
    }
    tally
}

/// The rows of `partition` from the statistics, without reading it: the live
/// tuples of the cumulative statistics when they have seen the partition
/// measured by a VACUUM or ANALYZE (since then they follow every insert and
/// delete reported), else `pg_class.reltuples`, which that VACUUM or ANALYZE set
/// (the cumulative statistics start empty after a crash, a statistics reset or
/// in a database copied from a template), plus what this transaction inserted
/// or deleted. Exact for a day vacuumed since its last change; an estimate
/// otherwise (ANALYZE samples; other sessions report within about a second).
/// `None` for a partition never measured.
fn rows_without_reading(partition: &Partition) -> Option<i64> {
    spi(Spi::get_one_with_args::<i64>(
        "SELECT CASE
                  WHEN pg_catalog.num_nonnulls(pg_catalog.pg_stat_get_last_vacuum_time(c.oid),
                                               pg_catalog.pg_stat_get_last_autovacuum_time(c.oid),
                                               pg_catalog.pg_stat_get_last_analyze_time(c.oid),
                                               pg_catalog.pg_stat_get_last_autoanalyze_time(c.oid))
                       OPERATOR(pg_catalog.>) 0
                  THEN pg_catalog.pg_stat_get_live_tuples(c.oid)
                  WHEN c.reltuples OPERATOR(pg_catalog.>=) 0 THEN c.reltuples::bigint
                END
                OPERATOR(pg_catalog.+) pg_catalog.pg_stat_get_xact_tuples_inserted(c.oid)
                OPERATOR(pg_catalog.-) pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid)
           FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) $1",
        &[partition.oid.into()],
    ))
    .map(|rows| rows.max(0))
}

/// The rows of `partition`, read, which stays locked in SHARE mode until the
/// end of the transaction, so the count is still true when it is dropped.
fn count_frozen(partition: &Partition) -> i64 {
    unsafe { pg_sys::LockRelationOid(partition.oid, pg_sys::ShareLock as pg_sys::LOCKMODE) };
    spi(Spi::get_one::<i64>(&format!(
        "SELECT pg_catalog.count(*) FROM {}",
        partition.name
    )))
    .unwrap_or(0)
}

/// Drops a wholly expired partition, or, when its locks are not free within the
/// timeout, deletes its rows in batches. Returns the number of rows removed and
/// whether it was dropped.
fn drop_or_delete(
    parent: pg_sys::Oid,
    default: Option<pg_sys::Oid>,
    partition: &Partition,
    rows: i64,
    condition: &str,
    cutoff: TimestampWithTimeZone,
    batch_size: i32,
) -> (i64, bool) {
    let locked = [Some(parent), default, Some(partition.oid)]
        .into_iter()
        .flatten()
        .all(lock_exclusively_within_timeout);
    if !locked {
        ereport!(
            NOTICE,
            PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE,
            format!(
                "marimo_erp: {} is busy; deleting its expired rows instead of dropping it",
                partition.name
            )
        );
        return (
            delete_in_batches(&partition.name, condition, cutoff, batch_size),
            false,
        );
    }
    spi(Spi::run(&format!("DROP TABLE {}", partition.name)));
    (rows, true)
}

/// Takes an ACCESS EXCLUSIVE lock on `relation`, waiting at most
/// `marimo_erp.partition_drop_lock_timeout`. The wait runs in a subtransaction so
/// that a timeout only abandons the wait, not the cleanup's transaction.
fn lock_exclusively_within_timeout(relation: pg_sys::Oid) -> bool {
    let mode = pg_sys::AccessExclusiveLock as pg_sys::LOCKMODE;
    if unsafe { pg_sys::ConditionalLockRelationOid(relation, mode) } {
        return true;
    }
    let previous = spi(Spi::get_one::<String>(
        "SELECT pg_catalog.current_setting('lock_timeout')",
    ))
    .unwrap_or_default();
    set_lock_timeout(&format!("{}ms", PARTITION_DROP_LOCK_TIMEOUT_MS.get()));
    // Once taken, the lock moves up to the cleanup's own transaction.
    let waited = in_subtransaction(|| unsafe { pg_sys::LockRelationOid(relation, mode) });
    set_lock_timeout(&previous);
    let Err(error) = waited else {
        return true;
    };
    match *error {
        CaughtError::PostgresError(ref report)
            if report.sql_error_code() == PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE =>
        {
            false
        }
        other => other.rethrow(),
    }
}

fn set_lock_timeout(value: &str) {
    spi(Spi::run_with_args(
        "SELECT pg_catalog.set_config('lock_timeout', $1, true)",
        &[value.into()],
    ));
}

/// Deletes the rows of `table` (a quoted, qualified name) that meet `condition`
/// (`$1` is the cutoff), `batch_size` at a time, checking for a cancel request
/// between batches.
fn delete_in_batches(
    table: &str,
    condition: &str,
    cutoff: TimestampWithTimeZone,
    batch_size: i32,
) -> i64 {
    let batch = format!(
        "DELETE FROM {table} WHERE ctid = ANY (ARRAY(
             SELECT ctid FROM {table} WHERE {condition} LIMIT $2 FOR UPDATE SKIP LOCKED))"
    );
    let mut removed: i64 = 0;
    loop {
        pgrx::check_for_interrupts!();
        let deleted = spi(Spi::connect_mut(|client| {
            client
                .update(&batch, None, &[cutoff.into(), batch_size.into()])
                .map(|status| status.len() as i64)
        }));
        removed += deleted;
        if deleted < i64::from(batch_size) {
            return removed;
        }
    }
}
