//! Daily partitions of the append-only logs (version 0.6.0).
//!
//! `webhook_logs`, `integration_logs`, `user_activities` and `api_usage_logs` are
//! range-partitioned by `created_at`, one partition per UTC day, so that retention
//! drops whole days instead of deleting rows one by one. The parent and its
//! default partition belong to the extension; the daily partitions are ordinary
//! tables (created here, by `run_maintenance`), so `pg_dump` writes them with
//! their rows and `pg_restore` attaches them to the parent the extension made.

use pgrx::datum::{Date, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use super::registry::DAILY_PARTITIONED;
use super::{chunks, history};
use crate::infra::errors::{invalid_argument, raise, required, spi};
use crate::infra::guard::PinnedSettings;
use crate::infra::installation;
use crate::infra::spi::run;
use crate::tenancy::rls;

/// Most days one call may create partitions for: ten years of one table.
const MAX_DAYS_PER_CALL: i32 = 3660;

/// One partition of a log table with its bounds; `None` is MINVALUE / MAXVALUE.
pub struct Partition {
    pub oid: pg_sys::Oid,
    /// Quoted, schema-qualified name, safe to splice into SQL.
    pub name: String,
    pub is_default: bool,
    pub lower: Option<TimestampWithTimeZone>,
    pub upper: Option<TimestampWithTimeZone>,
}

/// The partitions of `parent` (a quoted, qualified name), oldest first, or an
/// empty list when `parent` is not partitioned.
pub fn partitions_of(parent: &str) -> Vec<Partition> {
    // The bounds are read as text: in ISO form, so that they read back exactly.
    let _iso = PinnedSettings::timestamps_as_iso_utc();
    let query = include_str!("queries/partitions_of.sql");
    spi(Spi::connect(|client| {
        let mut partitions = Vec::new();
        for row in client.select(query, None, &[parent.into()])? {
            partitions.push(Partition {
                oid: row.get::<pg_sys::Oid>(1)?.unwrap_or(pg_sys::InvalidOid),
                name: row.get::<String>(2)?.unwrap_or_default(),
                is_default: row.get::<bool>(3)?.unwrap_or(false),
                lower: row.get::<TimestampWithTimeZone>(4)?,
                upper: row.get::<TimestampWithTimeZone>(5)?,
            });
        }
        Ok::<_, pgrx::spi::SpiError>(partitions)
    }))
}

fn require_log_table(table_name: Option<&str>) -> &'static str {
    let table_name = required(table_name, "table_name");
    DAILY_PARTITIONED
        .iter()
        .map(|log| log.table)
        .find(|table| *table == table_name)
        .unwrap_or_else(|| {
            let names: Vec<&str> = DAILY_PARTITIONED.iter().map(|log| log.table).collect();
            invalid_argument(format!(
                "argument \"table_name\" must be one of {}; got \"{table_name}\"",
                names.join(", ")
            ))
        })
}

/// Creates the daily partitions of `table_name` for every UTC day from `from_day`
/// to `to_day` (inclusive) that no partition covers yet, moving the rows the
/// default partition holds for those days into them. Returns how many it created.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
pub fn create_log_partitions(
    table_name: Option<&str>,
    from_day: Option<Date>,
    to_day: Option<Date>,
) -> i32 {
    let table = require_log_table(table_name);
    let from_day = required(from_day, "from_day");
    let to_day = required(to_day, "to_day");
    let days = spi(Spi::get_one_with_args::<i32>(
        "SELECT $2 - $1",
        &[from_day.into(), to_day.into()],
    ))
    .unwrap_or(-1);
    if days < 0 {
        invalid_argument(format!(
            "argument \"from_day\" ({from_day}) must not be after argument \"to_day\" ({to_day})"
        ));
    }
    if days >= MAX_DAYS_PER_CALL {
        invalid_argument(format!(
            "at most {MAX_DAYS_PER_CALL} days per call, got {}",
            days + 1
        ));
    }
    // Over a chunk (chunks.rs), the days are created by background workers that
    // commit chunk by chunk: ten years of days would not fit one transaction's locks.
    create_days_committed(
        table,
        from_day,
        days + 1,
        chunks::partitions_per_chunk(table),
    )
    .len() as i32
}

/// How many of the `count` UTC days from `first_day` no partition of `table`
/// (a bare log name) covers yet.
pub fn missing_days(table: &str, first_day: Date, count: i32) -> i64 {
    let partitions = partitions_of(&installation::qualified(table));
    let bounds: Vec<&Partition> = partitions.iter().filter(|p| !p.is_default).collect();
    let lowers: Vec<Option<TimestampWithTimeZone>> = bounds.iter().map(|p| p.lower).collect();
    let uppers: Vec<Option<TimestampWithTimeZone>> = bounds.iter().map(|p| p.upper).collect();
    spi(Spi::get_one_with_args::<i64>(
        "SELECT pg_catalog.count(*)
           FROM pg_catalog.generate_series(0, $2 - 1) o,
                LATERAL (SELECT ($1 OPERATOR(pg_catalog.+) o)::timestamp AT TIME ZONE 'UTC' AS lower,
                                ($1 OPERATOR(pg_catalog.+) o OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE 'UTC' AS upper) d
          WHERE NOT EXISTS (SELECT FROM ROWS FROM (pg_catalog.unnest($3::timestamptz[]), pg_catalog.unnest($4::timestamptz[])) b(l, u)
                             WHERE (b.l IS NULL OR b.l OPERATOR(pg_catalog.<) d.upper)
                               AND (b.u IS NULL OR b.u OPERATOR(pg_catalog.>) d.lower))",
        &[first_day.into(), count.into(), lowers.into(), uppers.into()],
    ))
    .unwrap_or(0)
}

/// Creates the partitions of `table` for `count` UTC days from `first_day` that
/// no partition covers yet, like `create_days`; when more than `in_caller` are
/// missing and no lock here is in the way, background workers create them chunk
/// by chunk, each chunk committed (and kept if this transaction rolls back).
pub fn create_days_committed(
    table: &str,
    first_day: Date,
    count: i32,
    in_caller: usize,
) -> Vec<(String, i64)> {
    let missing = missing_days(table, first_day, count);
    if missing == 0 {
        return Vec::new();
    }
    if missing as usize <= in_caller || !chunks::workers_may_run(table) {
        return create_days(table, first_day, count);
    }
    let chunk = chunks::partitions_per_chunk(table) as i32;
    let day =
        |offset: i32| unsafe { Date::from_pg_epoch_days(first_day.to_pg_epoch_days() + offset) };
    let mut created = Vec::new();
    let mut offset = 0;
    let mut committed = 0;
    while offset < count {
        let days = chunk.min(count - offset);
        let job = chunks::Job::Create {
            table,
            first_day: day(offset),
            count: days,
        };
        let Some(outcome) = chunks::in_worker(&job) else {
            break;
        };
        created.extend(outcome.created);
        committed += 1;
        offset += days;
    }
    history::note_chunks(committed);
    if offset < count {
        // No worker could take the rest: this transaction creates it.
        created.extend(create_days(table, day(offset), count - offset));
    }
    created
}

/// Creates the partitions of `table` for `count` UTC days from `first_day` that
/// no partition covers yet. Returns each created partition's name and the rows
/// moved into it from the default partition.
pub fn create_days(table: &str, first_day: Date, count: i32) -> Vec<(String, i64)> {
    (0..count)
        .filter_map(|offset| {
            let day = spi(Spi::get_one_with_args::<Date>(
                "SELECT $1 + $2",
                &[first_day.into(), offset.into()],
            ))
            .unwrap_or_else(|| {
                raise(
                    PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                    "date arithmetic returned NULL",
                )
            });
            create_day_partition(table, day)
        })
        .collect()
}

/// Creates the partition of `table` for the UTC day `day`, unless a partition
/// already covers any of it. Returns its name and the number of rows moved out
/// of the default partition into it, or `None` when nothing was created.
pub fn create_day_partition(table: &str, day: Date) -> Option<(String, i64)> {
    // The bounds go into ATTACH PARTITION as text, and the comment names the day.
    let _iso = PinnedSettings::timestamps_as_iso_utc();
    let parent = installation::qualified(table);
    let (lower, upper, name) = spi(Spi::get_three_with_args::<
        TimestampWithTimeZone,
        TimestampWithTimeZone,
        String,
    >(
        "SELECT $1::timestamp AT TIME ZONE 'UTC', ($1 + 1)::timestamp AT TIME ZONE 'UTC',
                $2 || '_p' || pg_catalog.to_char($1, 'YYYYMMDD')",
        &[day.into(), table.into()],
    ));
    let (lower, upper, name) = (lower?, upper?, name?);
    let partitions = partitions_of(&parent);
    let overlaps = partitions.iter().any(|p| {
        !p.is_default && p.lower.is_none_or(|l| l < upper) && p.upper.is_none_or(|u| u > lower)
    });
    if overlaps {
        return None;
    }
    let partition = installation::qualified(&installation::quote_ident(&name));
    let bounds = spi(Spi::get_one_with_args::<String>(
        "SELECT pg_catalog.format('FOR VALUES FROM (%L) TO (%L)', $1, $2)",
        &[lower.into(), upper.into()],
    ))
    .unwrap_or_default();
    let Some(template) = partitions.iter().find(|p| p.is_default) else {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            format!("{parent} has no default partition to model its daily partitions on"),
        );
    };
    // The default partition is the template: primary key, indexes, CHECKs, defaults
    // and column comments; ATTACH adds the parent's foreign keys.
    run(&format!(
        "CREATE TABLE {partition} (LIKE {} INCLUDING ALL)",
        template.name
    ));
    let moved = if count_rows_between(&template.name, lower, upper) > 0 {
        // Attaching a range the default partition holds rows of would fail: move them first.
        spi(Spi::connect_mut(|client| {
            client
                .update(
                    &format!(
                        "WITH moved AS (DELETE FROM {} WHERE created_at >= $1 AND created_at < $2 RETURNING *)
                         INSERT INTO {partition} SELECT * FROM moved",
                        template.name
                    ),
                    None,
                    &[lower.into(), upper.into()],
                )
                .map(|status| status.len() as i64)
        }))
    } else {
        0
    };
    run(&format!(
        "ALTER TABLE {parent} ATTACH PARTITION {partition} {bounds}"
    ));
    let comment = spi(Spi::get_one_with_args::<String>(
        "SELECT pg_catalog.format('COMMENT ON TABLE %s IS %L', $1, $2)",
        &[
            partition.as_str().into(),
            format!("Partition of {table} for the UTC day {day}.").into(),
        ],
    ))
    .unwrap_or_default();
    run(&comment);
    if rls::isolation_installed() {
        // Reached directly, a partition must isolate tenants as its parent does.
        rls::isolate(&partition, "tenant_id");
    }
    Some((name, moved))
}

fn count_rows_between(
    table: &str,
    lower: TimestampWithTimeZone,
    upper: TimestampWithTimeZone,
) -> i64 {
    spi(Spi::get_one_with_args::<i64>(
        &format!(
            "SELECT pg_catalog.count(*) FROM {table} WHERE created_at >= $1 AND created_at < $2"
        ),
        &[lower.into(), upper.into()],
    ))
    .unwrap_or(0)
}
