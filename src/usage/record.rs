//! `record_usage`: adds a measurement to the tenant's hourly rollup.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{AnyNumeric, PgSqlErrorCode, Uuid};

use super::require_metric_type;
use crate::infra::errors::{check_idempotency_key, invalid_argument, raise, required, spi};
use crate::infra::guard::PinnedSearchPath;
use crate::infra::installation;
use crate::tenancy::access::{as_owner_for_applications, authorize_tenant};
use crate::tenants::require_tenant;

/// Adds `value` to the tenant's `usage_metrics` row for the UTC hour of `at`
/// (sum, count, minimum, maximum) and returns the start of that hour. With an
/// `idempotency_key`, a key the tenant has used before is counted once: the
/// repeat adds nothing and returns the hour of the first call, as Lago's
/// transaction id and OpenMeter's event id do.
#[pg_extern(name = "record_usage", volatile, parallel_unsafe)]
pub fn record_usage_with_key(
    tenant: Option<Uuid>,
    metric_type: Option<&str>,
    value: Option<AnyNumeric>,
    at: default!(Option<TimestampWithTimeZone>, "now()"),
    idempotency_key: default!(Option<&str>, "NULL"),
) -> TimestampWithTimeZone {
    let _search_path = PinnedSearchPath::new();
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
    check_idempotency_key(idempotency_key);
    // Application roles may not write usage_metrics themselves (they could
    // rewrite their own bill); they record through here, for their own tenant.
    let caller = authorize_tenant(tenant, true);
    require_tenant(tenant);
    let metrics = installation::qualified("usage_metrics");
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
            keys = installation::qualified("usage_idempotency_keys")
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
    let recorded = as_owner_for_applications(caller, record);
    recorded.unwrap_or_else(|| {
        // A repeated key: the hour the first call recorded.
        spi(Spi::get_one_with_args::<TimestampWithTimeZone>(
            &format!(
                "SELECT period_start FROM {} WHERE tenant_id = $1 AND idempotency_key = $2",
                installation::qualified("usage_idempotency_keys")
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
