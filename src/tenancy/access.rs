//! Who is calling, and whether it may act for a tenant.

use std::ffi::CStr;

use pgrx::prelude::*;
use pgrx::{PgSqlErrorCode, Uuid};

use super::context::{current_tenant, tenant_may_write};
use crate::infra::errors::{raise, raise_with_hint};

/// Who is calling, as far as tenants are concerned.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Superuser, BYPASSRLS, or a member of marimo_admin: acts for any tenant.
    Operator,
    /// A member of marimo_app: acts only for the current tenant.
    Application,
    /// Anyone else: bound only by its own privileges on the tables.
    Other,
}

fn role_oid(name: &CStr) -> pg_sys::Oid {
    unsafe { pg_sys::get_role_oid(name.as_ptr(), true) }
}

pub fn caller() -> Caller {
    let user = unsafe { pg_sys::GetUserId() };
    let has_privileges_of = |role: pg_sys::Oid| {
        role != pg_sys::InvalidOid && unsafe { pg_sys::has_privs_of_role(user, role) }
    };
    if unsafe { pg_sys::superuser_arg(user) || pg_sys::has_bypassrls_privilege(user) }
        || has_privileges_of(role_oid(c"marimo_admin"))
    {
        Caller::Operator
    } else if has_privileges_of(role_oid(c"marimo_app")) {
        Caller::Application
    } else {
        Caller::Other
    }
}

/// Refuses (42501) an application caller acting for a tenant other than the
/// current one, or writing for a tenant that may not write.
pub fn authorize_tenant(tenant: Uuid, writes: bool) -> Caller {
    let caller = caller();
    if caller != Caller::Application {
        return caller;
    }
    if current_tenant() != Some(tenant) {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("tenant {tenant} is not the current tenant"),
            "Call set_tenant() with the tenant first, in the same transaction.",
        );
    }
    if writes && !tenant_may_write(tenant) {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("tenant {tenant} is not active, so it cannot write"),
        );
    }
    caller
}

/// Runs `work` as the extension's owner for an application caller, who may not
/// touch what `work` reads or writes itself (secrets, usage rollups); as the
/// caller for anyone else, whose own privileges then apply.
pub fn as_owner_for_applications<R>(caller: Caller, work: impl FnOnce() -> R) -> R {
    match caller {
        Caller::Application => crate::infra::guard::with_owner_privileges(work),
        _ => work(),
    }
}
