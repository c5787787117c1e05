//! PostgreSQL's times as chrono's: `timestamptz` counts microseconds from
//! 2000-01-01 00:00 UTC, chrono from 1970-01-01.

use chrono::{DateTime, Utc};
use pgrx::datum::TimestampWithTimeZone;
use pgrx::pg_sys;

/// Seconds from the Unix epoch to PostgreSQL's.
const POSTGRES_EPOCH_UNIX_SECONDS: i64 = 946_684_800;

/// A finite PostgreSQL time as chrono's, `None` outside chrono's calendar.
pub fn to_utc(micros: pg_sys::TimestampTz) -> Option<DateTime<Utc>> {
    micros
        .checked_add(POSTGRES_EPOCH_UNIX_SECONDS * 1_000_000)
        .and_then(DateTime::<Utc>::from_timestamp_micros)
}

/// A chrono time as PostgreSQL's, to the microsecond; `Err` outside
/// PostgreSQL's range.
pub fn from_utc(at: DateTime<Utc>) -> Result<TimestampWithTimeZone, String> {
    let micros = at
        .timestamp_micros()
        .checked_sub(POSTGRES_EPOCH_UNIX_SECONDS * 1_000_000)
        .ok_or("the time is outside PostgreSQL's range")?;
    TimestampWithTimeZone::try_from(micros).map_err(|e| e.to_string())
}
