//! Retention of append-only logs, shared by every `cleanup_*` function.
//!
//! Rows are deleted in batches of `batch_size`: each batch locks only the rows it
//! deletes (`FOR UPDATE SKIP LOCKED`, so it never waits on a row another session
//! holds and never blocks concurrent inserts), and the function checks for a
//! cancel request between batches, so `pg_cancel_backend` stops a long cleanup
//! promptly instead of after the whole table.

use pgrx::datum::Interval;
use pgrx::prelude::*;

use crate::errors::{invalid_argument, required, spi};
use crate::extension;

/// A log table and the column that says how old a row is.
pub struct LogTable {
    pub table: &'static str,
    pub time_column: &'static str,
}

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
    let cutoff = spi(
        Spi::get_one_with_args::<pgrx::datum::TimestampWithTimeZone>(
            "SELECT CASE WHEN $1 >= pg_catalog.now() - '4713-01-01 00:00:00+00 BC'::timestamptz
                         THEN '-infinity'::timestamptz
                         ELSE pg_catalog.now() - $1 END",
            &[retention.into()],
        ),
    );

    let table = extension::qualified(log.table);
    let batch = format!(
        "DELETE FROM {table} WHERE ctid = ANY (ARRAY(
             SELECT ctid FROM {table} WHERE {column} < $1 LIMIT $2 FOR UPDATE SKIP LOCKED))",
        column = log.time_column
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
