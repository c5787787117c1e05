//! Tenants (version 0.1.0): the `tenants` table, the `updated_at` trigger every
//! table shares, and the one check that a tenant exists.

use pgrx::prelude::*;
use pgrx::{PgSqlErrorCode, Uuid};

use crate::infra::errors::raise;
use crate::infra::spi::read_value;

// The tenants table is granted to the roles and put under row-level security
// here, beside its definition: both come from the tenancy room's SQL.
pgrx::extension_sql_file!(
    "tenants.sql",
    name = "tenants",
    requires = ["tenancy", set_updated_at, isolate_tenant_rows]
);

// What every searchable table of the domains shares (0.9.0): the tenant's
// search language, the search document with e-mail parts, the trigger that
// keeps search_vector, and the refresh when a tenant's language changes.
pgrx::extension_sql_file!("search.sql", name = "tenant_search", requires = ["tenants"]);

/// Raises `P0002 no_data_found` naming `tenant`: the one "tenant does not exist" error.
pub fn tenant_not_found(tenant: Uuid) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
        format!("tenant {tenant} does not exist"),
    )
}

/// Raises `P0002 no_data_found` unless `tenant` is a row of `tenants`.
pub fn require_tenant(tenant: Uuid) {
    const TENANT_EXISTS: &str =
        "SELECT EXISTS (SELECT FROM @extschema@.tenants WHERE id OPERATOR(pg_catalog.=) $1)";
    if !read_value::<bool>(TENANT_EXISTS, &[tenant.into()]).unwrap_or(false) {
        tenant_not_found(tenant);
    }
}

/// `BEFORE UPDATE` trigger: stamps `updated_at` with the transaction timestamp,
/// the same instant `now()` returns, so every row touched by one transaction agrees.
#[pg_trigger]
fn set_updated_at<'a>(
    trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, impl WhoAllocated>>, pgrx::heap_tuple::PgHeapTupleError> {
    use pgrx::trigger_support::{PgTriggerLevel, PgTriggerOperation, PgTriggerWhen};
    // Anywhere else it would do nothing (AFTER) or overwrite what a caller inserted.
    let misused = !matches!(trigger.when(), Ok(PgTriggerWhen::Before))
        || !matches!(trigger.level(), PgTriggerLevel::Row)
        || !matches!(trigger.op(), Ok(PgTriggerOperation::Update));
    let new = trigger.new().filter(|_| !misused).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
            "set_updated_at() must be a row-level BEFORE UPDATE trigger",
        )
    });
    let mut new = new.into_owned();
    if let Err(error) = new.set_by_name("updated_at", pgrx::datum::datetime_support::now()) {
        raise(
            PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
            format!("set_updated_at() needs a timestamptz column \"updated_at\": {error}"),
        );
    }
    Ok(Some(new))
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn update_stamps_updated_at_with_the_transaction_time() {
        Spi::run(
            "INSERT INTO tenants (id, slug, name, updated_at)
             VALUES ('aaaaaaaa-0000-4000-8000-000000000001', 'pgtest-stamp', 'Stamp', '2001-01-01')",
        )
        .unwrap();
        Spi::run("UPDATE tenants SET name = 'Stamped' WHERE slug = 'pgtest-stamp'").unwrap();
        let stamped = Spi::get_one::<bool>(
            "SELECT updated_at = now() FROM tenants WHERE slug = 'pgtest-stamp'",
        );
        assert_eq!(stamped, Ok(Some(true)));
    }
}
