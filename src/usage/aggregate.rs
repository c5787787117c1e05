//! `aggregate_usage_metrics`: a tenant's metric over a time range, from the rollups.

use pgrx::datum::{Timestamp, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::{AnyNumeric, PgSqlErrorCode, Uuid};

use super::require_metric_type;
use super::rollup::deltas_installed;
use crate::infra::errors::{invalid_argument, raise_with_hint, required};
use crate::infra::guard::PinnedSearchPath;
use crate::infra::spi::stable_rows;
use crate::tenancy::access::authorize_tenant;
use crate::tenants::require_tenant;

/// The widths `aggregate_usage_metrics` can group by, all in UTC.
const BUCKETS: [&str; 4] = ["hour", "day", "week", "month"];

/// The rollup rows of tenant `$1`'s metric `$2` in `[$3, $4)`, two
/// `timestamptz` bounds: the `timestamp` signature turns its bounds into UTC
/// instants before it runs, so both signatures share one kept plan. Where the
/// installed SQL has no `usage_deltas` (before 0.13.0): the rollups alone.
macro_rules! rollups_in_range {
    () => {
        " FROM @extschema@.usage_metrics
           WHERE tenant_id = $1 AND metric_type = $2
             AND period_start >= $3 AND period_start < $4"
    };
}

/// The same rows and the deltas not rolled up yet (0.13.0), read under one
/// snapshot: `roll_up_usage()` moves a delta from one table to the other in
/// one transaction, so every committed call counts, and counts once.
macro_rules! rows_in_range {
    () => {
        " FROM (SELECT period_start, value_sum, sample_count, value_min, value_max
                  FROM @extschema@.usage_metrics
                 WHERE tenant_id = $1 AND metric_type = $2
                   AND period_start >= $3 AND period_start < $4
                UNION ALL
                SELECT period_start, value_sum, sample_count, value_min, value_max
                  FROM @extschema@.usage_deltas
                 WHERE tenant_id = $1 AND metric_type = $2
                   AND period_start >= $3 AND period_start < $4) AS u"
    };
}

/// Average, minimum, maximum and samples of the rows aggregated.
macro_rules! measures {
    () => {
        "pg_catalog.sum(value_sum) / NULLIF(pg_catalog.sum(sample_count), 0),
         pg_catalog.min(value_min), pg_catalog.max(value_max),
         COALESCE(pg_catalog.sum(sample_count), 0)::bigint"
    };
}

/// One row over the whole range, even without data.
const OVER_THE_RANGE: &str = concat!(
    "SELECT $3, $2, COALESCE(pg_catalog.sum(value_sum), 0), ",
    measures!(),
    rows_in_range!()
);

/// One row per bucket `$5` (hour, day, week, month) that has data, in time order.
const BY_BUCKET: &str = concat!(
    "SELECT pg_catalog.date_trunc($5, period_start, 'UTC') AS bucket_start, $2, pg_catalog.sum(value_sum), ",
    measures!(),
    rows_in_range!(),
    " GROUP BY bucket_start ORDER BY bucket_start"
);

/// `OVER_THE_RANGE` before 0.13.0.
const OVER_THE_RANGE_ROLLUPS_ONLY: &str = concat!(
    "SELECT $3, $2, COALESCE(pg_catalog.sum(value_sum), 0), ",
    measures!(),
    rollups_in_range!()
);

/// `BY_BUCKET` before 0.13.0.
const BY_BUCKET_ROLLUPS_ONLY: &str = concat!(
    "SELECT pg_catalog.date_trunc($5, period_start, 'UTC') AS bucket_start, $2, pg_catalog.sum(value_sum), ",
    measures!(),
    rollups_in_range!(),
    " GROUP BY bucket_start ORDER BY bucket_start"
);

/// One row of `aggregate_usage_metrics`, the SQL type `usage_aggregate`. (The
/// `#[pg_extern]` signatures spell it out: pgrx reads the tuple inline.)
type UsageAggregate = (
    TimestampWithTimeZone,
    String,
    AnyNumeric,
    Option<AnyNumeric>,
    Option<AnyNumeric>,
    Option<AnyNumeric>,
    i64,
);

/// Aggregates a tenant's metric over `[from, to)`, two instants: what every
/// driver sends for its aware time type. Without a bucket: one row for the
/// whole range (samples 0 when there is no data). With `hour`, `day`, `week`
/// (ISO, from Monday) or `month`: one row per UTC bucket that has data, in time
/// order. Resolution is the hour of `usage_metrics`. Declared in usage.sql,
/// returning the named type `usage_aggregate`.
// pgrx reads the row type from the inline tuple, so it cannot be the alias.
#[allow(clippy::type_complexity)]
// parallel_restricted: a parallel worker would not see the transaction's tenant.
#[pg_extern(sql = false, stable, parallel_restricted)]
fn aggregate_usage_metrics_tz(
    tenant: Option<Uuid>,
    metric_type: Option<&str>,
    from: Option<TimestampWithTimeZone>,
    to: Option<TimestampWithTimeZone>,
    bucket: Option<&str>,
) -> TableIterator<
    'static,
    (
        TimestampWithTimeZone,
        String,
        AnyNumeric,
        Option<AnyNumeric>,
        Option<AnyNumeric>,
        Option<AnyNumeric>,
        i64,
    ),
> {
    TableIterator::new(aggregate(tenant, metric_type, from, to, bucket))
}

/// The seed's signature: `timestamp` bounds, read as UTC (as `'2024-01-01'::TIMESTAMP`
/// has always meant here), whatever the session's time zone. Its C symbol is
/// the one every version since 0.5.0 declares for this signature.
#[allow(clippy::type_complexity)]
#[pg_extern(sql = false, stable, parallel_restricted)]
fn aggregate_usage_metrics(
    tenant: Option<Uuid>,
    metric_type: Option<&str>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    bucket: Option<&str>,
) -> TableIterator<
    'static,
    (
        TimestampWithTimeZone,
        String,
        AnyNumeric,
        Option<AnyNumeric>,
        Option<AnyNumeric>,
        Option<AnyNumeric>,
        i64,
    ),
> {
    TableIterator::new(aggregate(
        tenant,
        metric_type,
        from.map(as_utc),
        to.map(as_utc),
        bucket,
    ))
}

/// The instant a `timestamp` names when read as UTC: the same microseconds
/// since 2000-01-01 (pgrx's `From` would read it in the session's time zone).
fn as_utc(local: Timestamp) -> TimestampWithTimeZone {
    TimestampWithTimeZone::try_from(pgrx::pg_sys::Timestamp::from(local))
        .expect("timestamp and timestamptz share one range")
}

fn aggregate(
    tenant: Option<Uuid>,
    metric_type: Option<&str>,
    from: Option<TimestampWithTimeZone>,
    to: Option<TimestampWithTimeZone>,
    bucket: Option<&str>,
) -> Vec<UsageAggregate> {
    let _search_path = PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let metric_type = require_metric_type(metric_type);
    let from = required(from, "from");
    let to = required(to, "to");
    if from >= to {
        invalid_argument(format!(
            "argument \"from\" ({from}) must be earlier than argument \"to\" ({to})"
        ));
    }
    if let Some(bucket) = bucket {
        if !BUCKETS.contains(&bucket) {
            raise_with_hint(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("argument \"bucket\" must be hour, day, week or month, got \"{bucket}\""),
                "Pass NULL for one row over the whole range.",
            );
        }
    }
    authorize_tenant(tenant, false);
    require_tenant(tenant);

    let query = match (bucket, deltas_installed()) {
        (None, true) => OVER_THE_RANGE,
        (Some(_), true) => BY_BUCKET,
        (None, false) => OVER_THE_RANGE_ROLLUPS_ONLY,
        (Some(_), false) => BY_BUCKET_ROLLUPS_ONLY,
    };
    stable_rows(
        query,
        &[
            tenant.into(),
            metric_type.into(),
            from.into(),
            to.into(),
            bucket.unwrap_or("hour").into(),
        ],
        |row| {
            Ok((
                row.get::<TimestampWithTimeZone>(1)?
                    .expect("bucket_start is never NULL"),
                row.get::<String>(2)?.expect("metric_type is never NULL"),
                row.get::<AnyNumeric>(3)?.expect("total is never NULL"),
                row.get::<AnyNumeric>(4)?,
                row.get::<AnyNumeric>(5)?,
                row.get::<AnyNumeric>(6)?,
                row.get::<i64>(7)?.expect("samples is never NULL"),
            ))
        },
    )
}
