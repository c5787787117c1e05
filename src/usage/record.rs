//! `record_usage`: adds a measurement to the tenant's hourly usage, as a delta
//! (0.13.0, rollup.rs) or, where the installed SQL has no deltas, to the
//! hourly rollup row itself.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{AnyNumeric, PgSqlErrorCode, Uuid};

use super::require_metric_type;
use super::rollup::{count_deltas_and_roll_up_now_and_then, deltas_installed};
use crate::infra::errors::{check_idempotency_key, invalid_argument, raise, required};
use crate::infra::guard::PinnedSearchPath;
use crate::infra::spi::{read_value, write_value};
use crate::tenancy::access::{as_owner_for_applications, authorize_tenant, Caller};
use crate::tenants::{require_tenant, tenant_not_found};

/// The UTC hour of `$4`, as `usage_metrics.period_start` holds it.
macro_rules! hour_of_at {
    () => {
        "pg_catalog.date_bin('1 hour', $4, '2000-01-01 00:00:00+00')"
    };
}

/// Adds `$3` to tenant `$1`'s row of metric `$2` for the hour of `$4`, once per
/// row of the CTE `fresh`, and returns the hour.
macro_rules! rollup_upsert {
    () => {
        concat!(
            "INSERT INTO @extschema@.usage_metrics AS m
                    (tenant_id, metric_type, period_start, value_sum, sample_count, value_min, value_max)
             SELECT $1, $2, ",
            hour_of_at!(),
            ", $3, 1, $3, $3 FROM fresh
             ON CONFLICT (tenant_id, metric_type, period_start) DO UPDATE
                SET value_sum    = m.value_sum + excluded.value_sum,
                    sample_count = m.sample_count + 1,
                    value_min    = LEAST(m.value_min, excluded.value_min),
                    value_max    = GREATEST(m.value_max, excluded.value_max)
             RETURNING period_start"
        )
    };
}

/// `record_usage` without an idempotency key: always counts.
const RECORD: &str = concat!("WITH fresh AS (SELECT) ", rollup_upsert!());

/// `record_usage` with the idempotency key `$5`: counts only a key not seen
/// before. The key and the rollup change in one statement: a concurrent call
/// with the same key waits on the key's row and then finds it taken.
const RECORD_ONCE: &str = concat!(
    "WITH fresh AS (
         INSERT INTO @extschema@.usage_idempotency_keys (tenant_id, idempotency_key, metric_type, period_start)
         VALUES ($1, $5, $2, ",
    hour_of_at!(),
    ")
         ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
         RETURNING 1) ",
    rollup_upsert!()
);

/// `record_usage` without an idempotency key, since 0.13.0: one delta row for
/// the hour of `$4`, appended, so no two calls wait on one row. The tenant row
/// is locked as a foreign key check would lock it (a tenant deleted meanwhile
/// waits for this transaction, and its trigger then deletes the delta too), and
/// no row comes back when there is no such tenant: one statement for both.
const APPEND: &str = concat!(
    "INSERT INTO @extschema@.usage_deltas
            (tenant_id, metric_type, period_start, value_sum, sample_count, value_min, value_max)
     SELECT t.id, $2, ",
    hour_of_at!(),
    ", $3, 1, $3, $3
       FROM @extschema@.tenants AS t WHERE t.id = $1
        FOR KEY SHARE OF t
     RETURNING period_start"
);

/// `record_usage` with the idempotency key `$5`, since 0.13.0: the key and the
/// delta in one statement, the delta only for a key not seen before (the key's
/// foreign key locks the tenant row).
const APPEND_ONCE: &str = concat!(
    "WITH fresh AS (
         INSERT INTO @extschema@.usage_idempotency_keys (tenant_id, idempotency_key, metric_type, period_start)
         VALUES ($1, $5, $2, ",
    hour_of_at!(),
    ")
         ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
         RETURNING period_start)
     INSERT INTO @extschema@.usage_deltas
            (tenant_id, metric_type, period_start, value_sum, sample_count, value_min, value_max)
     SELECT $1, $2, period_start, $3, 1, $3, $3 FROM fresh
     RETURNING period_start"
);

/// Adds `value` to the tenant's usage for the UTC hour of `at` (sum, count,
/// minimum, maximum: a delta that `roll_up_usage()` adds to the hour's
/// `usage_metrics` row) and returns the start of that hour. With an
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
    if deltas_installed() && idempotency_key.is_none() {
        let appended = as_owner_for_applications(caller, || {
            let hour = write_value::<TimestampWithTimeZone>(
                APPEND,
                &[tenant.into(), metric_type.into(), value.into(), at.into()],
            );
            if hour.is_some() && caller != Caller::Other {
                count_deltas_and_roll_up_now_and_then(1);
            }
            hour
        });
        return appended.unwrap_or_else(|| tenant_not_found(tenant));
    }
    require_tenant(tenant);
    let (record, record_once) = if deltas_installed() {
        (APPEND, APPEND_ONCE)
    } else {
        (RECORD, RECORD_ONCE)
    };
    let record = || match idempotency_key {
        None => write_value::<TimestampWithTimeZone>(
            record,
            &[tenant.into(), metric_type.into(), value.into(), at.into()],
        ),
        Some(key) => write_value::<TimestampWithTimeZone>(
            record_once,
            &[
                tenant.into(),
                metric_type.into(),
                value.into(),
                at.into(),
                key.into(),
            ],
        ),
    };
    let recorded = as_owner_for_applications(caller, record);
    recorded.unwrap_or_else(|| {
        // A repeated key: the hour the first call recorded.
        read_value::<TimestampWithTimeZone>(
            "SELECT period_start FROM @extschema@.usage_idempotency_keys
              WHERE tenant_id = $1 AND idempotency_key = $2",
            &[tenant.into(), idempotency_key.into()],
        )
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                "record_usage: upsert returned no row",
            )
        })
    })
}
