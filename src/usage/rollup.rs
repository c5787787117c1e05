//! Usage deltas (0.13.0): writers append, `roll_up_usage()` (usage.sql) moves
//! the deltas into the hourly rows of `usage_metrics`, and readers add both.
//!
//! A writer never updates a shared row, so sessions recording for one tenant
//! and hour do not wait on each other; the roll-up moves a batch in one
//! statement (deleted from `usage_deltas`, added to `usage_metrics`, committed
//! together), so a reader's snapshot finds each delta in exactly one of the two.

use std::cell::Cell;

use pgrx::prelude::*;

use crate::infra::guard::with_owner_privileges;
use crate::infra::installation;
use crate::infra::spi::write_value;

/// Deltas this backend appends between two roll-ups it runs.
const DELTAS_PER_ROLL_UP: u32 = 4096;

// One such roll-up moves at most 8192 deltas (roll_up_usage_in_passing):
// more than the deltas appended in between, so that the backends that write
// keep the table short between maintenance runs.

thread_local! {
    /// Deltas this backend appended since it last rolled up.
    static APPENDED: Cell<u32> = const { Cell::new(0) };
}

/// Whether the installed SQL has `usage_deltas` (0.13.0 and later). The library
/// can be newer than the SQL (before `ALTER EXTENSION UPDATE`, or after an
/// update back to 0.12.0): then usage is written to and read from
/// `usage_metrics` alone, as before. A catalog cache lookup, no SPI.
pub fn deltas_installed() -> bool {
    let namespace = installation::schema_oid();
    namespace != pg_sys::InvalidOid
        && unsafe { pg_sys::get_relname_relid(c"usage_deltas".as_ptr(), namespace) }
            != pg_sys::InvalidOid
}

/// Counts `appended` deltas of this backend (a `record_usage` call, an API log
/// statement) and, every `DELTAS_PER_ROLL_UP` of them, rolls a batch of deltas
/// up in the caller's transaction, through `roll_up_usage_in_passing()`
/// (usage.sql), which never fails or stalls the caller, and as the extension's
/// owner, whoever the caller is.
pub fn count_deltas_and_roll_up_now_and_then(appended: u32) {
    let due = APPENDED.with(|count| {
        let next = count.get().saturating_add(appended);
        count.set(if next >= DELTAS_PER_ROLL_UP { 0 } else { next });
        next >= DELTAS_PER_ROLL_UP
    });
    if due {
        const IN_PASSING: &str = "SELECT @extschema@.roll_up_usage_in_passing()";
        with_owner_privileges(|| write_value::<i64>(IN_PASSING, &[]));
    }
}

/// Runs `roll_up_usage(batch)` and returns how many deltas it moved, for tests.
#[cfg(any(test, feature = "pg_test"))]
pub fn roll_up(batch: i32) -> i64 {
    const ROLL_UP: &str = "SELECT @extschema@.roll_up_usage($1)";
    write_value::<i64>(ROLL_UP, &[batch.into()]).unwrap_or(0)
}

/// The measured query of `check_tenant_limit`: the rollups and the deltas, or
/// the rollups alone where the installed SQL has no deltas.
pub fn usage_this_period_query() -> &'static str {
    if deltas_installed() {
        include_str!("queries/usage_this_period.sql")
    } else {
        include_str!("queries/usage_this_period_rollups_only.sql")
    }
}

/// The sum of tenant `$1`'s metric `$2` in deltas not rolled up yet, for tests.
#[cfg(any(test, feature = "pg_test"))]
pub fn pending(tenant: pgrx::Uuid, metric_type: &str) -> i64 {
    crate::infra::spi::read_value::<i64>(
        "SELECT COALESCE(pg_catalog.sum(sample_count), 0)::bigint FROM @extschema@.usage_deltas
          WHERE tenant_id = $1 AND metric_type = $2",
        &[tenant.into(), metric_type.into()],
    )
    .unwrap_or(0)
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;
    use pgrx::Uuid;

    fn tenant() -> Uuid {
        Spi::run(
            "INSERT INTO tenants (id, slug, name)
             VALUES ('aaaaaaaa-0000-4000-8000-0000000000d1', 'pgtest-deltas', 'Deltas')",
        )
        .unwrap();
        Uuid::from_bytes([
            0xaa, 0xaa, 0xaa, 0xaa, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 0xd1,
        ])
    }

    #[pg_test]
    fn record_usage_appends_and_roll_up_moves_without_changing_totals() {
        let tenant = tenant();
        Spi::run(
            "SELECT record_usage('aaaaaaaa-0000-4000-8000-0000000000d1', 'deltas_probe', v, '2025-03-01 10:20:00+00')
               FROM pg_catalog.generate_series(1, 10) v",
        )
        .unwrap();
        assert!(super::deltas_installed());
        assert_eq!(super::pending(tenant, "deltas_probe"), 10);
        let total = || {
            Spi::get_one::<pgrx::AnyNumeric>(
                "SELECT total FROM aggregate_usage_metrics('aaaaaaaa-0000-4000-8000-0000000000d1',
                        'deltas_probe', '2025-03-01'::timestamptz, '2025-03-02'::timestamptz)",
            )
            .unwrap()
            .unwrap()
            .to_string()
        };
        assert_eq!(total(), "55");
        assert!(super::roll_up(1_000_000) >= 10);
        assert_eq!(super::pending(tenant, "deltas_probe"), 0);
        assert_eq!(total(), "55");
        let rolled = Spi::get_one::<String>(
            "SELECT value_sum || '/' || sample_count || '/' || value_min || '/' || value_max
               FROM usage_metrics WHERE metric_type = 'deltas_probe'",
        )
        .unwrap()
        .unwrap();
        assert_eq!(rolled, "55/10/1/10");
    }

    #[pg_test]
    fn deleting_the_tenant_deletes_its_deltas() {
        let tenant = tenant();
        Spi::run(
            "SELECT record_usage('aaaaaaaa-0000-4000-8000-0000000000d1', 'deltas_probe', 1, '2025-03-01 10:20:00+00')",
        )
        .unwrap();
        assert_eq!(super::pending(tenant, "deltas_probe"), 1);
        Spi::run("DELETE FROM tenants WHERE id = 'aaaaaaaa-0000-4000-8000-0000000000d1'").unwrap();
        assert_eq!(super::pending(tenant, "deltas_probe"), 0);
    }
}
