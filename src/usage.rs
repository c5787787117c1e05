//! Usage tracking (version 0.5.0): hourly usage rollups, the limit check the
//! application calls before letting a tenant do more, activity and API logs.
//!
//! `usage_metrics` holds one row per tenant, metric and UTC hour with the sum,
//! count, minimum and maximum of what was recorded in that hour. Writers add to
//! it with `record_usage` (an upsert, so concurrent calls lose nothing); readers
//! aggregate the hourly rows, never raw events.

use pgrx::datum::{Interval, Timestamp, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::{AnyNumeric, PgSqlErrorCode, Uuid};

use crate::errors::{invalid_argument, raise, raise_with_hint, required, spi};
use crate::extension;
#[allow(unused_imports)] // named in `requires` of the usage SQL
use crate::partitions::{create_log_partitions, run_maintenance};
use crate::retention::{self, LogTable};
use crate::security;

pgrx::extension_sql_file!(
    "../sql/usage.sql",
    name = "usage",
    requires = [
        "integrations",
        record_usage_with_key,
        aggregate_usage_metrics,
        check_tenant_limit,
        cleanup_activity_logs,
        cleanup_api_usage_logs,
        cleanup_idempotency_keys,
        run_maintenance,
        create_log_partitions
    ]
);

/// Raises `P0002 no_data_found` unless `tenant` is a row of `tenants`.
pub fn require_tenant(tenant: Uuid) {
    let exists = spi(Spi::get_one_with_args::<bool>(
        &format!(
            "SELECT EXISTS (SELECT FROM {} WHERE id OPERATOR(pg_catalog.=) $1)",
            extension::qualified("tenants")
        ),
        &[tenant.into()],
    ))
    .unwrap_or(false);
    if !exists {
        raise(
            PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
            format!("tenant {tenant} does not exist"),
        );
    }
}

/// A metric type is a lowercase identifier, as the `usage_metrics` CHECK constraint says.
fn is_metric_type(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.len() <= 63
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

fn require_metric_type(metric_type: Option<&str>) -> &str {
    let metric_type = required(metric_type, "metric_type");
    if !is_metric_type(metric_type) {
        invalid_argument(format!(
            "argument \"metric_type\" must be a lowercase identifier (a-z, 0-9, _; at most 63 characters), got \"{metric_type}\""
        ));
    }
    metric_type
}

/// `record_usage(uuid, text, numeric, timestamptz)` of versions 0.5.0 and before.
/// A database is still on its old SQL definitions between installing this
/// library and `ALTER EXTENSION marimo_erp UPDATE`; they call this symbol, so it
/// must keep its old arguments. No SQL is generated for it any more.
#[pg_extern(sql = false, volatile, parallel_unsafe)]
fn record_usage(
    tenant: Option<Uuid>,
    metric_type: Option<&str>,
    value: Option<AnyNumeric>,
    at: Option<TimestampWithTimeZone>,
) -> TimestampWithTimeZone {
    record_usage_with_key(tenant, metric_type, value, at, None)
}

/// Adds `value` to the tenant's `usage_metrics` row for the UTC hour of `at`
/// (sum, count, minimum, maximum) and returns the start of that hour. With an
/// `idempotency_key`, a key the tenant has used before is counted once: the
/// repeat adds nothing and returns the hour of the first call, as Lago's
/// transaction id and OpenMeter's event id do.
#[pg_extern(name = "record_usage", volatile, parallel_unsafe)]
fn record_usage_with_key(
    tenant: Option<Uuid>,
    metric_type: Option<&str>,
    value: Option<AnyNumeric>,
    at: default!(Option<TimestampWithTimeZone>, "now()"),
    idempotency_key: default!(Option<&str>, "NULL"),
) -> TimestampWithTimeZone {
    let _search_path = crate::security::PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let metric_type = require_metric_type(metric_type);
    let value = required(value, "value");
    let at = required(at, "at");
    // NaN and Infinity are numerics too; either would poison every sum of the hour.
    let finite = !value.is_nan() && !value.to_string().ends_with("Infinity");
    if !finite || value < AnyNumeric::from(0) {
        invalid_argument(format!(
            "argument \"value\" must be a finite, non-negative number, got {value}"
        ));
    }
    if !at.is_finite() {
        invalid_argument(format!(
            "argument \"at\" must be a finite timestamp, got {at}"
        ));
    }
    if let Some(key) = idempotency_key {
        if key.is_empty() || key.len() > 255 {
            invalid_argument("argument \"idempotency_key\" must be 1 to 255 bytes long");
        }
    }
    // Application roles may not write usage_metrics themselves (they could
    // rewrite their own bill); they record through here, for their own tenant.
    let caller = security::authorize_tenant(tenant, true);
    require_tenant(tenant);
    let metrics = extension::qualified("usage_metrics");
    let hour = "pg_catalog.date_bin('1 hour', $4, '2000-01-01 00:00:00+00')";
    let upsert = format!(
        "INSERT INTO {metrics} AS m
                (tenant_id, metric_type, period_start, value_sum, sample_count, value_min, value_max)
         SELECT $1, $2, {hour}, $3, 1, $3, $3 FROM fresh
         ON CONFLICT (tenant_id, metric_type, period_start) DO UPDATE
            SET value_sum    = m.value_sum + excluded.value_sum,
                sample_count = m.sample_count + 1,
                value_min    = LEAST(m.value_min, excluded.value_min),
                value_max    = GREATEST(m.value_max, excluded.value_max)
         RETURNING period_start"
    );
    // The key and the rollup change in one statement: a concurrent call with the
    // same key waits on the key's row and then finds it taken.
    let statement = match idempotency_key {
        None => format!("WITH fresh AS (SELECT) {upsert}"),
        Some(_) => format!(
            "WITH fresh AS (
                 INSERT INTO {keys} (tenant_id, idempotency_key, metric_type, period_start)
                 VALUES ($1, $5, $2, {hour})
                 ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
                 RETURNING 1)
             {upsert}",
            keys = extension::qualified("usage_idempotency_keys")
        ),
    };
    let record = || {
        spi(Spi::connect_mut(|client| {
            let mut args = vec![tenant.into(), metric_type.into(), value.into(), at.into()];
            if let Some(key) = idempotency_key {
                args.push(key.into());
            }
            let result = client.update(&statement, None, &args)?;
            if result.is_empty() {
                return Ok(None);
            }
            result.first().get_one::<TimestampWithTimeZone>()
        }))
    };
    let recorded = match caller {
        security::Caller::Application => security::with_owner_privileges(record),
        _ => record(),
    };
    recorded.unwrap_or_else(|| {
        // A repeated key: the hour the first call recorded.
        spi(Spi::get_one_with_args::<TimestampWithTimeZone>(
            &format!(
                "SELECT period_start FROM {} WHERE tenant_id = $1 AND idempotency_key = $2",
                extension::qualified("usage_idempotency_keys")
            ),
            &[tenant.into(), idempotency_key.into()],
        ))
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "record_usage: upsert returned no row",
            )
        })
    })
}

/// The widths `aggregate_usage_metrics` can group by, all in UTC.
const BUCKETS: [&str; 4] = ["hour", "day", "week", "month"];

/// Aggregates a tenant's metric over `[from, to)`, both read as UTC. Without a
/// bucket: one row for the whole range (samples 0 when there is no data).
/// With `hour`, `day`, `week` (ISO, from Monday) or `month`: one row per bucket
/// that has data, in time order. Resolution is the hour of `usage_metrics`.
// pgrx reads the column names from the inline tuple, so it cannot be a type alias.
#[allow(clippy::type_complexity)]
// parallel_restricted: a parallel worker would not see the transaction's tenant.
#[pg_extern(stable, parallel_restricted)]
fn aggregate_usage_metrics(
    tenant: Option<Uuid>,
    metric_type: Option<&str>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    bucket: default!(Option<&str>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(bucket_start, TimestampWithTimeZone),
        name!(metric_type, String),
        name!(total, AnyNumeric),
        name!(average, Option<AnyNumeric>),
        name!(minimum, Option<AnyNumeric>),
        name!(maximum, Option<AnyNumeric>),
        name!(samples, i64),
    ),
> {
    let _search_path = crate::security::PinnedSearchPath::new();
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
    security::authorize_tenant(tenant, false);
    require_tenant(tenant);

    let metrics = extension::qualified("usage_metrics");
    let range = "tenant_id = $1 AND metric_type = $2
                 AND period_start >= ($3 AT TIME ZONE 'UTC') AND period_start < ($4 AT TIME ZONE 'UTC')";
    let measures = "pg_catalog.sum(value_sum) / NULLIF(pg_catalog.sum(sample_count), 0),
                    pg_catalog.min(value_min), pg_catalog.max(value_max),
                    COALESCE(pg_catalog.sum(sample_count), 0)::bigint";
    let query = match bucket {
        None => format!(
            "SELECT ($3 AT TIME ZONE 'UTC'), $2, COALESCE(pg_catalog.sum(value_sum), 0), {measures}
               FROM {metrics} WHERE {range}"
        ),
        Some(_) => format!(
            "SELECT pg_catalog.date_trunc($5, period_start, 'UTC') AS bucket_start, $2,
                    pg_catalog.sum(value_sum), {measures}
               FROM {metrics} WHERE {range}
              GROUP BY bucket_start ORDER BY bucket_start"
        ),
    };
    let rows = spi(Spi::connect(|client| {
        let table = client.select(
            &query,
            None,
            &[
                tenant.into(),
                metric_type.into(),
                from.into(),
                to.into(),
                bucket.unwrap_or("hour").into(),
            ],
        )?;
        let mut rows = Vec::with_capacity(table.len());
        for row in table {
            rows.push((
                row.get::<TimestampWithTimeZone>(1)?
                    .expect("bucket_start is never NULL"),
                row.get::<String>(2)?.expect("metric_type is never NULL"),
                row.get::<AnyNumeric>(3)?.expect("total is never NULL"),
                row.get::<AnyNumeric>(4)?,
                row.get::<AnyNumeric>(5)?,
                row.get::<AnyNumeric>(6)?,
                row.get::<i64>(7)?.expect("samples is never NULL"),
            ));
        }
        Ok::<_, pgrx::spi::SpiError>(rows)
    }));
    TableIterator::new(rows)
}

/// What a limit type measures.
enum LimitKind {
    /// `users_count`: limited by `tenants.max_users`; users live outside the extension.
    Users,
    /// `storage_bytes`: limited by `tenants.max_storage_bytes`; measured outside the extension.
    Storage,
    /// `<table>_count`: the number of the tenant's rows in one of the extension's tables.
    Rows(&'static str),
    /// `<metric>_per_month` / `<metric>_per_day`: the metric's total in the current UTC month or day.
    PerPeriod {
        metric: String,
        period: &'static str,
    },
    /// Any other key of `tenants.limits`: only the caller knows the current value.
    Custom,
}

/// Limit types counted in the extension's own tables.
const ROW_COUNTS: [(&str, &str); 5] = [
    ("webhooks_count", "webhooks"),
    ("dashboards_count", "dashboards"),
    ("integrations_count", "integrations"),
    ("analytics_queries_count", "analytics_queries"),
    ("scheduled_reports_count", "scheduled_reports"),
];

fn classify_limit(limit_type: &str, configured_for_tenant: bool) -> LimitKind {
    if limit_type == "users_count" {
        return LimitKind::Users;
    }
    if limit_type == "storage_bytes" {
        return LimitKind::Storage;
    }
    if let Some((_, table)) = ROW_COUNTS.iter().find(|(name, _)| *name == limit_type) {
        return LimitKind::Rows(table);
    }
    for (suffix, period) in [("_per_month", "month"), ("_per_day", "day")] {
        if let Some(metric) = limit_type.strip_suffix(suffix) {
            if is_metric_type(metric) {
                return LimitKind::PerPeriod {
                    metric: metric.to_string(),
                    period,
                };
            }
        }
    }
    if configured_for_tenant {
        return LimitKind::Custom;
    }
    raise_with_hint(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("argument \"limit_type\" is unknown: \"{limit_type}\""),
        "Use users_count, storage_bytes, webhooks_count, dashboards_count, integrations_count, \
         analytics_queries_count, scheduled_reports_count, <metric>_per_month, <metric>_per_day, \
         or a key of the tenant's limits.",
    )
}

/// The tenant's state as far as limits are concerned.
struct TenantLimits {
    status: String,
    trial_over_without_subscription: bool,
    max_users: i64,
    max_storage_bytes: i64,
    configured: Option<i64>,
    has_configured: bool,
}

fn load_tenant_limits(tenant: Uuid, limit_type: &str) -> TenantLimits {
    let query = format!(
        "SELECT status, trial_ends_at IS NOT NULL AND trial_ends_at < pg_catalog.now()
                       AND subscription_status NOT IN ('active', 'past_due'),
                max_users::bigint, max_storage_bytes,
                -- The CHECK constraint allows 5.0 and 1e20; clamp to bigint, i.e. no practical limit.
                CASE WHEN limits ->> $2 IS NOT NULL
                     THEN LEAST((limits ->> $2)::numeric, 9223372036854775807)::bigint END,
                limits ? $2
           FROM {} WHERE id = $1",
        extension::qualified("tenants")
    );
    let found = spi(Spi::connect(|client| {
        let table = client.select(&query, Some(1), &[tenant.into(), limit_type.into()])?;
        let mut found = None;
        for row in table {
            found = Some(TenantLimits {
                status: row.get::<String>(1)?.unwrap_or_default(),
                trial_over_without_subscription: row.get::<bool>(2)?.unwrap_or(false),
                max_users: row.get::<i64>(3)?.unwrap_or(0),
                max_storage_bytes: row.get::<i64>(4)?.unwrap_or(0),
                configured: row.get::<i64>(5)?,
                has_configured: row.get::<bool>(6)?.unwrap_or(false),
            });
        }
        Ok::<_, pgrx::spi::SpiError>(found)
    }));
    found.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
            format!("tenant {tenant} does not exist"),
        )
    })
}

/// Measures the tenant's current usage where the extension holds the data.
fn measure_usage(tenant: Uuid, limit_type: &str, kind: &LimitKind) -> i64 {
    let (query, args): (String, Vec<pgrx::datum::DatumWithOid>) = match kind {
        LimitKind::Rows(table) => (
            format!(
                "SELECT pg_catalog.count(*) FROM {} WHERE tenant_id = $1",
                extension::qualified(table)
            ),
            vec![tenant.into()],
        ),
        LimitKind::PerPeriod { metric, period } => (
            format!(
                // The window is the UTC day or month, whatever the session's time zone:
                // the arithmetic is on timestamp (without time zone) values read as UTC.
                "SELECT LEAST(COALESCE(pg_catalog.ceil(pg_catalog.sum(value_sum)), 0),
                              9223372036854775807)::bigint
                   FROM {}, LATERAL (SELECT pg_catalog.date_trunc($3, pg_catalog.now() AT TIME ZONE 'UTC') AS start) w
                  WHERE tenant_id = $1 AND metric_type = $2
                    AND period_start >= (w.start AT TIME ZONE 'UTC')
                    AND period_start < ((w.start + ('1 ' || $3)::interval) AT TIME ZONE 'UTC')",
                extension::qualified("usage_metrics")
            ),
            vec![tenant.into(), metric.as_str().into(), (*period).into()],
        ),
        LimitKind::Users | LimitKind::Storage | LimitKind::Custom => raise_with_hint(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("argument \"current_value\" is required for limit type \"{limit_type}\""),
            "marimo_erp does not hold this data; pass the tenant's current value.",
        ),
    };
    spi(Spi::get_one_with_args::<i64>(&query, &args)).unwrap_or(0)
}

/// Checks a tenant's usage against its limit of `limit_type`. `allowed` is
/// `current_value <= limit_value`; a suspended or cancelled tenant, or one whose
/// trial is over without an active subscription, is never allowed. Without
/// `current_value` the usage is measured where the extension holds the data.
// pgrx reads the column names from the inline tuple, so it cannot be a type alias.
#[allow(clippy::type_complexity)]
// parallel_restricted: a parallel worker would not see the transaction's tenant.
#[pg_extern(stable, parallel_restricted)]
fn check_tenant_limit(
    tenant: Option<Uuid>,
    limit_type: Option<&str>,
    current_value: default!(Option<i64>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(allowed, bool),
        name!(limit_type, String),
        name!(current_value, i64),
        name!(limit_value, Option<i64>),
        name!(remaining, Option<i64>),
        name!(reason, Option<String>),
    ),
> {
    let _search_path = crate::security::PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let limit_type = required(limit_type, "limit_type");
    if let Some(value) = current_value {
        if value < 0 {
            invalid_argument(format!(
                "argument \"current_value\" must not be negative, got {value}"
            ));
        }
    }
    security::authorize_tenant(tenant, false);
    let limits = load_tenant_limits(tenant, limit_type);
    let kind = classify_limit(limit_type, limits.has_configured);
    let limit_value = match kind {
        LimitKind::Users => Some(limits.max_users),
        LimitKind::Storage => Some(limits.max_storage_bytes),
        _ => limits.configured,
    };
    let current = current_value.unwrap_or_else(|| measure_usage(tenant, limit_type, &kind));
    let remaining = limit_value.map(|limit| (limit - current).max(0));
    let refusal = match limits.status.as_str() {
        "suspended" => Some("tenant is suspended".to_string()),
        "cancelled" => Some("tenant is cancelled".to_string()),
        _ if limits.trial_over_without_subscription => {
            Some("trial has ended and the tenant has no active subscription".to_string())
        }
        _ => match limit_value {
            Some(limit) if current > limit => Some(format!(
                "{limit_type} {current} exceeds the limit of {limit}"
            )),
            _ => None,
        },
    };
    TableIterator::once((
        refusal.is_none(),
        limit_type.to_string(),
        current,
        limit_value,
        remaining,
        refusal,
    ))
}

const IDEMPOTENCY_KEYS: LogTable = LogTable {
    table: "usage_idempotency_keys",
    time_column: "created_at",
    only_where: None,
};

/// Forgets idempotency keys older than `retention` (35 days by default): a key
/// repeated after that counts again.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn cleanup_idempotency_keys(
    retention: default!(Option<Interval>, "'35 days'"),
    batch_size: default!(Option<i32>, "10000"),
) -> i64 {
    retention::purge(&IDEMPOTENCY_KEYS, retention, batch_size)
}

const ACTIVITY_LOG: LogTable = LogTable {
    table: "user_activities",
    time_column: "created_at",
    only_where: None,
};
const API_USAGE_LOG: LogTable = LogTable {
    table: "api_usage_logs",
    time_column: "created_at",
    only_where: None,
};

/// Deletes user activities older than `retention` (180 days by default, as the seed).
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn cleanup_activity_logs(
    retention: default!(Option<Interval>, "'180 days'"),
    batch_size: default!(Option<i32>, "10000"),
) -> i64 {
    retention::purge(&ACTIVITY_LOG, retention, batch_size)
}

/// Deletes API usage logs older than `retention` (90 days by default); the seed
/// had no cleanup for them, so the table only grew.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn cleanup_api_usage_logs(
    retention: default!(Option<Interval>, "'90 days'"),
    batch_size: default!(Option<i32>, "10000"),
) -> i64 {
    retention::purge(&API_USAGE_LOG, retention, batch_size)
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    #[pg_test]
    fn metric_types_are_lowercase_identifiers() {
        assert!(is_metric_type("api_calls"));
        assert!(is_metric_type("a"));
        assert!(is_metric_type(&"x".repeat(63)));
        assert!(!is_metric_type(&"x".repeat(64)));
        assert!(!is_metric_type(""));
        assert!(!is_metric_type("1api"));
        assert!(!is_metric_type("API_calls"));
        assert!(!is_metric_type("api calls"));
        assert!(!is_metric_type("api_calls'; DROP TABLE tenants; --"));
    }

    #[pg_test]
    fn limit_types_classify_by_name() {
        assert!(matches!(
            classify_limit("users_count", false),
            LimitKind::Users
        ));
        assert!(matches!(
            classify_limit("storage_bytes", false),
            LimitKind::Storage
        ));
        assert!(matches!(
            classify_limit("webhooks_count", false),
            LimitKind::Rows("webhooks")
        ));
        assert!(matches!(
            classify_limit("api_calls_per_month", false),
            LimitKind::PerPeriod { ref metric, period: "month" } if metric == "api_calls"
        ));
        assert!(matches!(
            classify_limit("emails_sent_per_day", false),
            LimitKind::PerPeriod { ref metric, period: "day" } if metric == "emails_sent"
        ));
        assert!(matches!(classify_limit("seats", true), LimitKind::Custom));
    }

    #[pg_test(error = "argument \"limit_type\" is unknown: \"seats\"")]
    fn unknown_limit_type_is_an_error() {
        classify_limit("seats", false);
    }

    #[pg_test(error = "argument \"limit_type\" is unknown: \"Bad Metric_per_month\"")]
    fn per_period_limit_needs_a_metric_type() {
        classify_limit("Bad Metric_per_month", false);
    }
}
