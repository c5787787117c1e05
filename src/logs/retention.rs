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
use pgrx::pg_sys::PgTryBuilder;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use super::history;
use super::partitions::{self, Partition};
use super::registry::LogTable;
use crate::infra::errors::{invalid_argument, required, spi};
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
    let (expired, others): (Vec<&Partition>, Vec<&Partition>) = partitions
        .iter()
        .partition(|p| !p.is_default && p.upper.is_some_and(|upper| upper <= cutoff));
    // Deletes first, drops last: the drops hold the parent's exclusive lock until
    // the transaction ends, so they come just before it does.
    let mut removed: i64 = others
        .iter()
        .filter(|p| p.is_default || p.lower.is_none_or(|lower| lower < cutoff))
        .map(|p| delete_in_batches(&p.name, &condition, cutoff, batch_size))
        .sum();
    let default = partitions.iter().find(|p| p.is_default).map(|p| p.oid);
    let parent_oid = spi(Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT $1::pg_catalog.regclass::oid",
        &[table.as_str().into()],
    ))
    .unwrap_or(pg_sys::InvalidOid);
    // Count first, holding each expired partition in SHARE mode (no row can enter
    // or leave it before the drop), so that the parent's exclusive lock, which
    // blocks every insert into the log, is held for the drops alone.
    let counted: Vec<(&Partition, i64)> =
        expired.into_iter().map(|p| (p, count_frozen(p))).collect();
    let mut dropped = 0;
    for (partition, rows) in counted {
        let (rows, was_dropped) = drop_or_delete(
            parent_oid, default, partition, rows, &condition, cutoff, batch_size,
        );
        removed += rows;
        dropped += i32::from(was_dropped);
    }
    history::note_removal(log.table, removed, dropped, cutoff);
    removed
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
    let (memory_context, resource_owner) =
        unsafe { (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner) };
    unsafe { pg_sys::BeginInternalSubTransaction(std::ptr::null()) };
    let locked = PgTryBuilder::new(|| unsafe {
        pg_sys::LockRelationOid(relation, mode);
        true
    })
    .catch_when(PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE, |_| false)
    .execute();
    unsafe {
        if locked {
            // The lock moves up to the cleanup's own transaction.
            pg_sys::ReleaseCurrentSubTransaction();
        } else {
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
        }
        pg_sys::MemoryContextSwitchTo(memory_context);
        pg_sys::CurrentResourceOwner = resource_owner;
    }
    set_lock_timeout(&previous);
    locked
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
