//! `check_tenant_limit`: a tenant's usage against its limit of a kind.

use std::rc::Rc;

use chrono::{Datelike, Days, Months, NaiveDate, NaiveTime};
use pgrx::prelude::*;
use pgrx::{PgSqlErrorCode, Uuid};

use super::is_metric_type;
use super::limits_cache::{self, RowVersion, TenantLimits};
use crate::infra::clock;
use crate::infra::errors::{invalid_argument, raise, raise_with_hint, required};
use crate::infra::guard::PinnedSearchPath;
use crate::infra::installation;
use crate::infra::spi::{read_value, stable_rows};
use crate::tenancy::access::{authorize_tenant, Caller};
use crate::tenants::tenant_not_found;

/// What a limit type measures.
enum LimitKind {
    /// `users_count`: limited by `tenants.max_users`; users live outside the extension.
    Users,
    /// `storage_bytes`: limited by `tenants.max_storage_bytes`; measured outside the extension.
    Storage,
    /// `<table>_count`: the number of the tenant's rows in one of the extension's tables.
    Rows(&'static RowCount),
    /// `<metric>_per_month` / `<metric>_per_day`: the metric's total in the current UTC month or day.
    PerPeriod {
        metric: String,
        period: &'static str,
    },
    /// Any other key of `tenants.limits`: only the caller knows the current value.
    Custom,
}

/// A limit type counted in one of the extension's own tables, with its count.
struct RowCount {
    limit_type: &'static str,
    count: &'static str,
}

macro_rules! row_count {
    ($limit_type:literal, $table:literal) => {
        RowCount {
            limit_type: $limit_type,
            count: concat!(
                "SELECT pg_catalog.count(*) FROM @extschema@.",
                $table,
                " WHERE tenant_id = $1"
            ),
        }
    };
}

/// Limit types counted in the extension's own tables.
const ROW_COUNTS: [RowCount; 5] = [
    row_count!("webhooks_count", "webhooks"),
    row_count!("dashboards_count", "dashboards"),
    row_count!("integrations_count", "integrations"),
    row_count!("analytics_queries_count", "analytics_queries"),
    row_count!("scheduled_reports_count", "scheduled_reports"),
];

fn classify_limit(limit_type: &str, configured_for_tenant: bool) -> LimitKind {
    if limit_type == "users_count" {
        return LimitKind::Users;
    }
    if limit_type == "storage_bytes" {
        return LimitKind::Storage;
    }
    if let Some(counted) = ROW_COUNTS.iter().find(|c| c.limit_type == limit_type) {
        return LimitKind::Rows(counted);
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

/// The tenant's limits: from the backend's cache when the row version it
/// holds is the one this statement sees, else read (under the pinned
/// search_path) and kept. An application caller's tenant is its current one,
/// proved by `authorize_tenant` before this runs.
fn tenant_limits(tenant: Uuid, caller: Caller) -> Rc<TenantLimits> {
    if let Some(limits) = limits_cache::lookup(tenant, caller == Caller::Application) {
        return limits;
    }
    let _search_path = PinnedSearchPath::new();
    let (version, limits) = read_tenant_limits(tenant);
    let limits = Rc::new(limits);
    limits_cache::store(tenant, version, Rc::clone(&limits));
    limits
}

fn read_tenant_limits(tenant: Uuid) -> (RowVersion, TenantLimits) {
    let relation = tenants_relation();
    let found = stable_rows(
        include_str!("queries/tenant_limits.sql"),
        &[tenant.into()],
        |row| {
            let ctid = row.get::<pg_sys::ItemPointerData>(1)?.unwrap_or_default();
            let xmin = row.get::<pg_sys::TransactionId>(2)?.unwrap_or_default();
            let keys = row.get::<Vec<String>>(8)?.unwrap_or_default();
            let values = row.get::<Vec<Option<i64>>>(9)?.unwrap_or_default();
            let limits = TenantLimits {
                status: row.get::<String>(3)?.unwrap_or_default(),
                trial_ends_at: row
                    .get::<TimestampWithTimeZone>(4)?
                    .map(pg_sys::TimestampTz::from),
                subscription_counts: row.get::<bool>(5)?.unwrap_or(false),
                max_users: row.get::<i64>(6)?.unwrap_or(0),
                max_storage_bytes: row.get::<i64>(7)?.unwrap_or(0),
                configured: keys
                    .into_iter()
                    .zip(values)
                    .map(|(key, value)| (key, value.unwrap_or(i64::MAX)))
                    .collect(),
            };
            Ok((ctid, xmin, limits))
        },
    );
    let Some((ctid, xmin, mut limits)) = found.into_iter().next() else {
        tenant_not_found(tenant)
    };
    // Sorted as Rust compares, whatever the collation ordered them by.
    limits.configured.sort_by(|a, b| a.0.cmp(&b.0));
    (
        RowVersion {
            relation: relation.0,
            file: relation.1,
            ctid,
            xmin,
        },
        limits,
    )
}

/// The OID and file (relfilenode) of this installation's `tenants`, from the relcache.
fn tenants_relation() -> (pg_sys::Oid, pg_sys::Oid) {
    let schema = installation::schema_oid();
    let relation = unsafe { pg_sys::get_relname_relid(c"tenants".as_ptr(), schema) };
    if relation == pg_sys::InvalidOid {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            "marimo_erp: table tenants not found",
        );
    }
    let file = unsafe {
        let opened = pg_sys::table_open(relation, pg_sys::AccessShareLock as _);
        let file = (*(*opened).rd_rel).relfilenode;
        // The lock stays to the end of the transaction, as a query's does.
        pg_sys::table_close(opened, pg_sys::NoLock as _);
        file
    };
    (relation, file)
}

/// The current UTC `period` ("month" or "day") at `now()`, as [start, end).
fn current_period(period: &str) -> (TimestampWithTimeZone, TimestampWithTimeZone) {
    let now = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    let bounds = clock::to_utc(now).and_then(|now| {
        let today = now.date_naive();
        let (start, end) = if period == "month" {
            let start = today.with_day(1)?;
            (start, start.checked_add_months(Months::new(1))?)
        } else {
            (today, today.checked_add_days(Days::new(1))?)
        };
        let midnight =
            |day: NaiveDate| clock::from_utc(day.and_time(NaiveTime::MIN).and_utc()).ok();
        Some((midnight(start)?, midnight(end)?))
    });
    bounds.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
            format!("marimo_erp: the current {period} is outside the calendar"),
        )
    })
}

/// Measures the tenant's current usage where the extension holds the data.
fn measure_usage(tenant: Uuid, limit_type: &str, kind: &LimitKind) -> i64 {
    let _search_path = PinnedSearchPath::new();
    let measured = match kind {
        LimitKind::Rows(counted) => read_value::<i64>(counted.count, &[tenant.into()]),
        LimitKind::PerPeriod { metric, period } => {
            let (start, end) = current_period(period);
            read_value::<i64>(
                super::rollup::usage_this_period_query(),
                &[
                    tenant.into(),
                    metric.as_str().into(),
                    start.into(),
                    end.into(),
                ],
            )
        }
        LimitKind::Users | LimitKind::Storage | LimitKind::Custom => raise_with_hint(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("argument \"current_value\" is required for limit type \"{limit_type}\""),
            "marimo_erp does not hold this data; pass the tenant's current value.",
        ),
    };
    measured.unwrap_or(0)
}

/// Checks a tenant's usage against its limit of `limit_type`. `allowed` is
/// `current_value <= limit_value`; a suspended or cancelled tenant, or one whose
/// trial is over without an active subscription, is never allowed. Without
/// `current_value` the usage is measured where the extension holds the data.
/// Declared in usage.sql, returning the named type `tenant_limit_check` that a
/// driver can register (the tuple below is its columns, in order).
// pgrx reads the row type from the inline tuple, so it cannot be a type alias.
#[allow(clippy::type_complexity)]
// parallel_restricted: a parallel worker would not see the transaction's tenant.
#[pg_extern(sql = false, stable, parallel_restricted)]
fn check_tenant_limit(
    tenant: Option<Uuid>,
    limit_type: Option<&str>,
    current_value: Option<i64>,
) -> TableIterator<'static, (bool, String, i64, Option<i64>, Option<i64>, Option<String>)> {
    let tenant = required(tenant, "tenant");
    let limit_type = required(limit_type, "limit_type");
    if let Some(value) = current_value {
        if value < 0 {
            invalid_argument(format!(
                "argument \"current_value\" must not be negative, got {value}"
            ));
        }
    }
    let caller = authorize_tenant(tenant, false);
    let limits = tenant_limits(tenant, caller);
    let configured = limits.configured(limit_type);
    let kind = classify_limit(limit_type, configured.is_some());
    let limit_value = match kind {
        LimitKind::Users => Some(limits.max_users),
        LimitKind::Storage => Some(limits.max_storage_bytes),
        _ => configured,
    };
    let current = current_value.unwrap_or_else(|| measure_usage(tenant, limit_type, &kind));
    let remaining = limit_value.map(|limit| (limit - current).max(0));
    let refusal = match limits.status.as_str() {
        "suspended" => Some("tenant is suspended".to_string()),
        "cancelled" => Some("tenant is cancelled".to_string()),
        _ if limits.trial_over_without_subscription() => {
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

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

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
            LimitKind::Rows(RowCount {
                limit_type: "webhooks_count",
                count: "SELECT pg_catalog.count(*) FROM @extschema@.webhooks WHERE tenant_id = $1"
            })
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

    fn limit_of(tenant: &str, limit_type: &str) -> Option<i64> {
        Spi::get_one::<i64>(&format!(
            "SELECT limit_value FROM check_tenant_limit('{tenant}', '{limit_type}', 1)"
        ))
        .unwrap()
    }

    /// The cache follows the transaction's own changes, statement by statement,
    /// and a change undone (the row deleted) is not answered from it.
    #[pg_test]
    fn cached_limits_follow_each_statement() {
        let tenant = "e0000000-0000-4000-8000-000000000001";
        Spi::run(&format!(
            "INSERT INTO tenants (id, slug, name, max_users, limits)
             VALUES ('{tenant}', 'cache-test', 'Cache test', 10, '{{\"seats\": 4, \"b\": 1e30}}')"
        ))
        .unwrap();
        assert_eq!(limit_of(tenant, "users_count"), Some(10));
        assert_eq!(limit_of(tenant, "users_count"), Some(10));
        assert_eq!(limit_of(tenant, "seats"), Some(4));
        assert_eq!(limit_of(tenant, "b"), Some(i64::MAX));
        Spi::run(&format!(
            "UPDATE tenants SET max_users = 3, limits = '{{\"seats\": 2}}' WHERE id = '{tenant}'"
        ))
        .unwrap();
        assert_eq!(limit_of(tenant, "users_count"), Some(3));
        assert_eq!(limit_of(tenant, "seats"), Some(2));
        Spi::run(&format!("DELETE FROM tenants WHERE id = '{tenant}'")).unwrap();
        let gone = Spi::get_one::<i64>(&format!(
            "SELECT count(*) FROM tenants WHERE id = '{tenant}'"
        ));
        assert_eq!(gone.unwrap(), Some(0));
    }

    #[pg_test(error = "tenant e0000000-0000-4000-8000-000000000002 does not exist")]
    fn a_deleted_tenant_is_not_answered_from_the_cache() {
        let tenant = "e0000000-0000-4000-8000-000000000002";
        Spi::run(&format!(
            "INSERT INTO tenants (id, slug, name) VALUES ('{tenant}', 'cache-gone', 'Cache gone')"
        ))
        .unwrap();
        assert_eq!(limit_of(tenant, "users_count"), Some(5));
        Spi::run(&format!("DELETE FROM tenants WHERE id = '{tenant}'")).unwrap();
        limit_of(tenant, "users_count");
    }

    /// The bounds computed in Rust are the UTC day and month SQL computes from
    /// now(), whatever the session's time zone.
    #[pg_test]
    fn current_period_is_the_utc_day_and_month_of_now() {
        Spi::run("SET LOCAL TimeZone = 'Pacific/Kiritimati'").unwrap();
        for period in ["day", "month"] {
            let expected = Spi::get_two_with_args::<TimestampWithTimeZone, TimestampWithTimeZone>(
                "SELECT date_trunc($1, now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
                        (date_trunc($1, now() AT TIME ZONE 'UTC') + ('1 ' || $1)::interval) AT TIME ZONE 'UTC'",
                &[period.into()],
            )
            .unwrap();
            let (start, end) = current_period(period);
            assert_eq!((Some(start), Some(end)), expected, "{period}");
        }
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
