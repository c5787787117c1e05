//! Report schedules (0.12.0): five-field cron schedules read in a report's IANA
//! time zone, and the next time a report is due.
//!
//! SCAFFOLDING: the interface the report runner builds on. The body below is a
//! placeholder (every minute, UTC) that the schedule part replaces.
#![allow(dead_code)] // SCAFFOLDING: unused until the report runner lands; remove then.
use pgrx::prelude::*;

/// The first time strictly after `after` that `schedule` (five cron fields)
/// names in `timezone`, or why there is none (`22023` for the caller to raise:
/// a malformed or impossible schedule, an unknown time zone).
pub fn next_run(
    schedule: &str,
    timezone: &str,
    after: TimestampWithTimeZone,
) -> Result<TimestampWithTimeZone, String> {
    let _ = (schedule, timezone);
    let micros: i64 = after.into_inner();
    let minute = 60_000_000;
    let next = (micros.div_euclid(minute) + 1) * minute;
    TimestampWithTimeZone::try_from(pg_sys::TimestampTz::from(next)).map_err(|e| e.to_string())
}
