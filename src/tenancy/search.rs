//! What the domains' search functions share: whose rows a search reads, in which
//! language, and how it reads them.
//!
//! Under forced row-level security an application's own query can never use a
//! GIN index: `@@` and `@>` are not leakproof, so the planner applies the
//! policy's tenant qual first and the search qual only as a filter. The search
//! functions therefore read as the extension's owner, with the tenant as an
//! explicit qual beside the search one (so the GIN index serves it), after
//! authorizing the caller as `access` does for every function: an application
//! reads only the current tenant, an operator any tenant it names.

use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::spi::{SpiHeapTupleData, SpiResult};
use pgrx::{PgSqlErrorCode, Uuid};

use super::access::{as_owner_for_applications, authorize_tenant, Caller};
use super::context::current_tenant;
use crate::infra::errors::{invalid_argument, raise_with_hint, required, spi};
use crate::infra::guard::with_owner_privileges;
use crate::infra::spi::{read_value, with_schema};
use crate::tenants::require_tenant;

/// The most rows one call returns.
pub const MOST_ROWS: i32 = 10_000;

/// A search of one tenant's rows, authorized.
pub struct Scope {
    pub tenant: Uuid,
    caller: Caller,
}

/// The tenant a search reads: `tenant`, else the current tenant. An application
/// may name only the current one (42501); with neither, nothing is read (22004),
/// never every tenant's rows.
pub fn scope(tenant: Option<Uuid>) -> Scope {
    let Some(tenant) = tenant.or_else(current_tenant) else {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "no tenant is set and argument \"tenant\" is NULL",
            "Call set_tenant() first, in the same transaction, or pass the tenant.",
        );
    };
    let caller = authorize_tenant(tenant, false);
    with_owner_privileges(|| require_tenant(tenant));
    Scope { tenant, caller }
}

/// A text argument that must be there: `22004` when NULL, `22023` when blank or
/// longer than `most` characters.
pub fn text_argument<'a>(value: Option<&'a str>, argument: &str, most: usize) -> &'a str {
    let value = required(value, argument);
    if value.trim().is_empty() || value.chars().count() > most {
        invalid_argument(format!(
            "argument \"{argument}\" must be 1 to {most} characters long and not blank"
        ));
    }
    value
}

/// `max_rows`: 1 to `MOST_ROWS`.
pub fn max_rows_argument(max_rows: Option<i32>) -> i64 {
    let max_rows = required(max_rows, "max_rows");
    if !(1..=MOST_ROWS).contains(&max_rows) {
        invalid_argument(format!(
            "argument \"max_rows\" must be between 1 and {MOST_ROWS}, not {max_rows}"
        ));
    }
    i64::from(max_rows)
}

impl Scope {
    /// The OID of the text search configuration of the tenant's documents, which
    /// its queries must be parsed with too.
    pub fn language(&self) -> pg_sys::Oid {
        const LANGUAGE: &str = "SELECT @extschema@.search_language($1)::pg_catalog.oid";
        with_owner_privileges(|| read_value::<pg_sys::Oid>(LANGUAGE, &[self.tenant.into()]))
            .unwrap_or(pg_sys::InvalidOid)
    }

    /// Every row of `statement` (`@extschema@` for the schema), read as the owner
    /// for an application, as itself for an operator. Planned for these values
    /// on each call, not kept: the planner then sees the query's lexemes and
    /// chooses the index as it should.
    pub fn rows<R>(
        &self,
        statement: &str,
        args: &[DatumWithOid<'_>],
        mut read: impl FnMut(&SpiHeapTupleData<'_>) -> SpiResult<R>,
    ) -> Vec<R> {
        let statement = with_schema(statement);
        as_owner_for_applications(self.caller, || {
            spi(Spi::connect(|client| {
                let mut rows = Vec::new();
                for row in client.select(&statement, None, args)? {
                    rows.push(read(&row)?);
                }
                Ok(rows)
            }))
        })
    }
}
