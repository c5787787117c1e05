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
//! Each purge notes what it did for the history of maintenance (`history`).

use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::pg_sys::panic::CaughtError;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use super::chunks;
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
        history::note_removal(log.table, removed, 0, cutoff);
        return removed;
    }
    // A backlog beyond one transaction's lock budget (chunks.rs) goes first, to
    // workers that commit chunk by chunk, before this transaction touches the log.
    let chunk = chunks::partitions_per_chunk(log.table);
    let expired_of =
        |partitions: &[Partition]| partitions.iter().filter(|p| is_expired(p, cutoff)).count();
    let mut partitions = partitions;
    let mut removed: i64 = 0;
    let mut dropped: i32 = 0;
    let mut chunks_committed = 0;
    if expired_of(&partitions) > chunk && chunks::workers_may_run(log.table) {
        while expired_of(&partitions) > chunk {
            let job = chunks::Job::Drop {
                table: log.table,
                cutoff,
                batch_size,
                limit: chunk,
            };
            let Some(outcome) = chunks::in_worker(&job) else {
                break;
            };
            removed += outcome.rows;
            dropped += outcome.dropped;
            chunks_committed += 1;
            partitions = partitions::partitions_of(&table);
            if outcome.dropped == 0 {
                // Busy partitions were emptied, not dropped: no progress to make now.
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
    removed += others
        .iter()
        .filter(|p| p.is_default || p.lower.is_none_or(|lower| lower < cutoff))
        .map(|p| delete_in_batches(&p.name, &condition, cutoff, batch_size))
        .sum::<i64>();
    let (rows, dropped_here) = drop_expired(
        &table,
        &partitions,
        &expired,
        &condition,
        cutoff,
        batch_size,
    );
    removed += rows;
    dropped += dropped_here;
    history::note_removal(log.table, removed, dropped, cutoff);
    removed
}

fn is_expired(partition: &Partition, cutoff: TimestampWithTimeZone) -> bool {
    !partition.is_default && partition.upper.is_some_and(|upper| upper <= cutoff)
}

/// Drops (or, when busy, empties) the `limit` oldest partitions of `table` (a
/// bare log name) wholly older than `cutoff`: one chunk, run by a worker
/// (chunks.rs). Returns the rows removed and the partitions dropped.
pub fn drop_oldest_expired(
    table: &str,
    cutoff: TimestampWithTimeZone,
    batch_size: i32,
    limit: usize,
) -> (i64, i32) {
    let Some(log) = DAILY_PARTITIONED.iter().find(|log| log.table == table) else {
        return (0, 0);
    };
    let table = installation::qualified(log.table);
    let condition = format!("{} < $1", log.time_column);
    let partitions = partitions::partitions_of(&table);
    let expired: Vec<&Partition> = partitions
        .iter()
        .filter(|p| is_expired(p, cutoff))
        .take(limit)
        .collect();
    drop_expired(
        &table,
        &partitions,
        &expired,
        &condition,
        cutoff,
        batch_size,
    )
}

/// Drops the `expired` partitions of `table` (all of `partitions`), each
/// counted first. Returns the rows removed and the partitions dropped.
fn drop_expired(
    table: &str,
    partitions: &[Partition],
    expired: &[&Partition],
    condition: &str,
    cutoff: TimestampWithTimeZone,
    batch_size: i32,
) -> (i64, i32) {
    if expired.is_empty() {
        return (0, 0);
    }
    let default = partitions.iter().find(|p| p.is_default).map(|p| p.oid);
    let parent_oid = spi(Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT $1::pg_catalog.regclass::oid",
        &[table.into()],
    ))
    .unwrap_or(pg_sys::InvalidOid);
    // Count first, holding each expired partition in SHARE mode (no row can enter
    // or leave it before the drop), so that the parent's exclusive lock, which
    // blocks every insert into the log, is held for the drops alone.
    let counted: Vec<(&Partition, i64)> = expired.iter().map(|p| (*p, count_frozen(p))).collect();
    let mut removed = 0;
    let mut dropped = 0;
    for (partition, rows) in counted {
        let (rows, was_dropped) = drop_or_delete(
            parent_oid, default, partition, rows, condition, cutoff, batch_size,
        );
        removed += rows;
        dropped += i32::from(was_dropped);
    }
    (removed, dropped)
}

/// The rows of `partition`, which stays locked in SHARE mode until the end of
/// the transaction, so the count is still true when it is dropped.
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
