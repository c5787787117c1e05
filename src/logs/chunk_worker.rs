//! The background worker that runs one chunk of maintenance (see `chunks`):
//! started by `chunks::in_worker`, it does its one job and reports through the
//! caller's shared memory once each of its transactions committed: partitions
//! created in one transaction, expired days dropped one transaction a day.

use std::sync::atomic::Ordering;

use pgrx::bgworkers::{BackgroundWorker, SignalWakeFlags};
use pgrx::datum::{Date, TimestampWithTimeZone};
use pgrx::prelude::*;

use super::chunks::{Shared, MAX_CREATED, NAME_LEN, WORKER_LOCK_TIMEOUT};
use super::partitions;
use super::registry::DAILY_PARTITIONED;
use super::retention;
use crate::infra::guard::{set_config, with_owner_privileges};

/// The worker: attaches the caller's segment, connects, runs its one job, and
/// reports what each of its transactions did once it has committed.
#[pg_guard]
#[unsafe(no_mangle)]
pub extern "C-unwind" fn marimo_erp_maintenance_chunk_main(arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let segment = unsafe { pg_sys::dsm_attach(arg.value() as pg_sys::dsm_handle) };
    if segment.is_null() {
        // The caller is gone (cancelled): nobody waits for this chunk.
        return;
    }
    let shared = unsafe { pg_sys::dsm_segment_address(segment) as *mut Shared };
    let extra: Vec<String> = BackgroundWorker::get_extra()
        .split(' ')
        .map(str::to_string)
        .collect();
    let number = |i: usize| extra.get(i).and_then(|v| v.parse::<i64>().ok());
    let (Some(database), Some(drop_timeout)) = (number(0), number(1)) else {
        return;
    };
    let kind = extra.get(2).cloned().unwrap_or_default();
    let Some(table) = extra
        .get(3)
        .and_then(|t| DAILY_PARTITIONED.iter().find(|log| log.table == t.as_str()))
        .map(|log| log.table)
    else {
        return;
    };
    let (a, b, c) = (number(4), number(5), number(6));
    // Connected as the bootstrap superuser (no login check, which PostgreSQL 16
    // applies to a named role), the job runs as the extension's owner, as the
    // SECURITY DEFINER caller does.
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(pg_sys::Oid::from(database as u32)), None);
    let shared = unsafe { &mut *shared };
    match (kind.as_str(), a, b, c) {
        ("D", Some(cutoff), Some(batch_size), Some(limit)) => {
            if let Ok(cutoff) = TimestampWithTimeZone::try_from(cutoff) {
                drop_day_by_day(
                    shared,
                    table,
                    cutoff,
                    batch_size as i32,
                    limit,
                    drop_timeout,
                );
            }
        }
        ("C", Some(first_day), Some(count), None) => {
            let first_day = unsafe { Date::from_pg_epoch_days(first_day as i32) };
            let count = (count as i32).min(MAX_CREATED as i32);
            let created = BackgroundWorker::transaction(move || {
                with_settings(drop_timeout);
                with_owner_privileges(|| partitions::create_days(table, first_day, count))
            });
            // Here the transaction has committed.
            for (i, (name, moved)) in created.iter().take(MAX_CREATED).enumerate() {
                let bytes = name.as_bytes();
                let len = bytes.len().min(NAME_LEN - 1);
                shared.names[i][..len].copy_from_slice(&bytes[..len]);
                shared.moved[i] = *moved;
            }
            shared.created = created.len().min(MAX_CREATED) as u32;
            shared.committed.store(1, Ordering::Release);
            shared.done.store(1, Ordering::Release);
        }
        _ => {}
    }
    unsafe { pg_sys::dsm_detach(segment) };
}

/// Drops the `limit` oldest expired partitions of `table`, each in a transaction
/// of its own (0.13.0): the parent's exclusive lock, which blocks every insert
/// into the log, is held for one day's drop at a time. The days are listed once,
/// in a first transaction. Reports after each commit, so that the caller counts
/// what was committed even if a later day fails.
fn drop_day_by_day(
    shared: &mut Shared,
    table: &'static str,
    cutoff: TimestampWithTimeZone,
    batch_size: i32,
    limit: i64,
    drop_timeout: i64,
) {
    let limit = usize::try_from(limit).unwrap_or(0);
    let listed = BackgroundWorker::transaction(move || {
        with_settings(drop_timeout);
        with_owner_privileges(|| retention::expired_days(table, cutoff, limit))
    });
    let Some(listed) = listed else {
        return;
    };
    for day in &listed.days {
        if shared.abandoned.load(Ordering::Acquire) == 1 || BackgroundWorker::sigterm_received() {
            // The caller was cancelled, or the server shuts down: stop between days.
            break;
        }
        let listed = &listed;
        let day = BackgroundWorker::transaction(move || {
            with_settings(drop_timeout);
            with_owner_privileges(|| {
                retention::drop_listed_day(table, listed, day, cutoff, batch_size)
            })
        });
        // Here the day's transaction has committed.
        shared.rows += day.rows;
        shared.dropped += i64::from(day.dropped);
        shared.deleted_in_place += day.deleted_in_place;
        shared.from_statistics += day.from_statistics;
        shared.committed.fetch_add(1, Ordering::Release);
    }
    shared.done.store(1, Ordering::Release);
}

/// The worker's settings, set in each of its transactions: a pinned
/// search_path, its lock wait backstop, and the caller's drop lock timeout.
fn with_settings(drop_timeout: i64) {
    let session = pg_sys::GucAction::GUC_ACTION_SET;
    let context = pg_sys::GucContext::PGC_USERSET;
    set_config(c"search_path", c"pg_catalog, pg_temp", context, session);
    set_config(c"lock_timeout", WORKER_LOCK_TIMEOUT, context, session);
    let drop_timeout = std::ffi::CString::new(drop_timeout.to_string()).unwrap_or_default();
    set_config(
        c"marimo_erp.partition_drop_lock_timeout",
        &drop_timeout,
        context,
        session,
    );
}
