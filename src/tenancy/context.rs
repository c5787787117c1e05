//! The tenant context: which tenant the current transaction or session acts for.

use std::cell::{Cell, RefCell};
use std::ffi::CString;

use pgrx::callbacks::{register_xact_callback, PgXactCallbackEvent};
use pgrx::pg_sys::PgTryBuilder;
use pgrx::prelude::*;
use pgrx::Uuid;

use crate::infra::errors::required;
use crate::infra::guard::{set_config, with_owner_privileges, PinnedSearchPath};
use crate::infra::gucs::{SESSION_TENANT, SESSION_TENANT_NAME};
use crate::infra::spi::read_value;
use crate::tenants::require_tenant;

thread_local! {
    /// The tenant of the current transaction, if set_tenant() set one in it.
    static TRANSACTION_TENANT: Cell<Option<Uuid>> = const { Cell::new(None) };
    /// Whether end-of-transaction callbacks that clear the per-transaction state
    /// are registered for the current transaction.
    static CLEANUP_REGISTERED: Cell<bool> = const { Cell::new(false) };
    /// (tenant, may write) as looked up once in this transaction.
    static WRITABLE: RefCell<Option<(Uuid, bool)>> = const { RefCell::new(None) };
    /// What set_tenant() checks first (side_channels installs it when the library loads).
    static BEFORE_SET_TENANT: Cell<Option<fn()>> = const { Cell::new(None) };
}

/// Makes set_tenant() call `check` before it sets a tenant; `check` refuses by raising.
pub fn check_before_set_tenant(check: fn()) {
    BEFORE_SET_TENANT.with(|c| c.set(Some(check)));
}

fn clear_transaction_state() {
    TRANSACTION_TENANT.with(|t| t.set(None));
    WRITABLE.with(|w| *w.borrow_mut() = None);
    CLEANUP_REGISTERED.with(|r| r.set(false));
}

/// Registers, once per transaction, the callbacks that forget its tenant context.
fn clear_at_transaction_end() {
    if CLEANUP_REGISTERED.with(|r| r.replace(true)) {
        return;
    }
    // PREPARE TRANSACTION ends the transaction on this connection too.
    register_xact_callback(PgXactCallbackEvent::Commit, clear_transaction_state);
    register_xact_callback(PgXactCallbackEvent::Abort, clear_transaction_state);
    register_xact_callback(PgXactCallbackEvent::Prepare, clear_transaction_state);
}

/// Sets the tenant for the current transaction, or with `for_session` for the
/// session, after checking that it exists. Returns it.
#[pg_extern(volatile, parallel_unsafe)]
fn set_tenant(tenant: Option<Uuid>, for_session: default!(Option<bool>, "false")) -> Uuid {
    let _search_path = PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let for_session = required(for_session, "for_session");
    if let Some(check) = BEFORE_SET_TENANT.with(|c| c.get()) {
        check();
    }
    // As the owner: under row-level security a caller with no tenant set sees none.
    with_owner_privileges(|| require_tenant(tenant));
    WRITABLE.with(|w| *w.borrow_mut() = None);
    if for_session {
        TRANSACTION_TENANT.with(|t| t.set(None));
        set_session_tenant(&tenant.to_string());
    } else {
        clear_at_transaction_end();
        TRANSACTION_TENANT.with(|t| t.set(Some(tenant)));
    }
    tenant
}

/// Runs `work` with `tenant` as the transaction's tenant (what current_tenant()
/// and the policies see) and then restores the context before it, also when
/// `work` raises (the error goes on). For analytics' sandbox (0.12.0), whose
/// query runs as a role that may not call set_tenant() or reset_tenant().
pub fn with_transaction_tenant<R>(tenant: Uuid, work: impl FnOnce() -> R) -> R {
    clear_at_transaction_end();
    let previous = TRANSACTION_TENANT.with(|t| t.replace(Some(tenant)));
    let previous_writable = WRITABLE.with(|w| w.borrow_mut().take());
    PgTryBuilder::new(std::panic::AssertUnwindSafe(work))
        .finally(move || {
            TRANSACTION_TENANT.with(|t| t.set(previous));
            WRITABLE.with(|w| *w.borrow_mut() = previous_writable);
        })
        .execute()
}

/// The current tenant: the transaction's, else the session's, else NULL.
#[pg_extern(stable, parallel_restricted)]
pub fn current_tenant() -> Option<Uuid> {
    if let Some(tenant) = TRANSACTION_TENANT.with(|t| t.get()) {
        return Some(tenant);
    }
    let session = SESSION_TENANT.get()?;
    // The GUC holds what set_tenant() wrote or what a superuser SET; a malformed
    // value means no tenant rather than an error in every policy check. Parsed
    // here, not in SQL: a query would run with the caller's search_path.
    parse_uuid(session.to_str().ok()?)
}

/// A UUID in its canonical text form (hyphens optional), or None.
fn parse_uuid(text: &str) -> Option<Uuid> {
    let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        bytes[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(Uuid::from_bytes(bytes))
}

/// Clears the tenant of the transaction and of the session.
#[pg_extern(volatile, parallel_unsafe)]
fn reset_tenant() {
    TRANSACTION_TENANT.with(|t| t.set(None));
    WRITABLE.with(|w| *w.borrow_mut() = None);
    set_session_tenant("");
}

fn set_session_tenant(value: &str) {
    let value = CString::new(value).unwrap_or_default();
    // From C with PGC_SUSET: set_tenant() may set what the caller may not SET.
    set_config(
        SESSION_TENANT_NAME,
        &value,
        pg_sys::GucContext::PGC_SUSET,
        pg_sys::GucAction::GUC_ACTION_SET,
    );
}

/// The current tenant if it may write (its status is active), else NULL. The
/// write policies compare with it, so a suspended or cancelled tenant reads
/// but does not write. Looked up once per transaction.
#[pg_extern(stable, parallel_restricted)]
pub fn writable_tenant() -> Option<Uuid> {
    let tenant = current_tenant()?;
    tenant_may_write(tenant).then_some(tenant)
}

pub fn tenant_may_write(tenant: Uuid) -> bool {
    if let Some((cached, writable)) = WRITABLE.with(|w| *w.borrow()) {
        if cached == tenant {
            return writable;
        }
    }
    const TENANT_IS_ACTIVE: &str =
        "SELECT status OPERATOR(pg_catalog.=) 'active' FROM @extschema@.tenants
                                     WHERE id OPERATOR(pg_catalog.=) $1";
    let writable = with_owner_privileges(|| read_value::<bool>(TENANT_IS_ACTIVE, &[tenant.into()]))
        .unwrap_or(false);
    clear_at_transaction_end();
    WRITABLE.with(|w| *w.borrow_mut() = Some((tenant, writable)));
    writable
}
