//! Symbols that SQL of released versions still calls.
//!
//! A database is on its old SQL definitions between installing a newer library
//! and `ALTER EXTENSION marimo_erp UPDATE`; those definitions name C symbols of
//! this library, which must keep their old arguments. No SQL is generated for
//! them any more (`sql = false`). This module sits above the domains: it only
//! adapts old signatures onto the current functions, and nothing imports it.

use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{AnyNumeric, Uuid};

use crate::usage::record::record_usage_with_key;

/// `record_usage(uuid, text, numeric, timestamptz)` of versions 0.5.0 and before.
#[pg_extern(sql = false, volatile, parallel_unsafe)]
fn record_usage(
    tenant: Option<Uuid>,
    metric_type: Option<&str>,
    value: Option<AnyNumeric>,
    at: Option<TimestampWithTimeZone>,
) -> TimestampWithTimeZone {
    record_usage_with_key(tenant, metric_type, value, at, None)
}
