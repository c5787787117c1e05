//! Tenant isolation (version 0.7.0): the tenant context, who may act for which
//! tenant, and the row-level security policies of every tenant-scoped table.
//!
//! The context of a transaction lives in backend memory, set only by
//! `set_tenant()` and cleared when the transaction ends, so `SET` cannot forge it
//! and a pooled connection never carries it into the next transaction. The
//! session-wide context (`set_tenant(t, for_session => true)`) is the GUC
//! `marimo_erp.tenant_id`, which only superusers may `SET`: set_tenant() writes it
//! from C, and `RESET ALL` / `DISCARD ALL`, which poolers run between clients,
//! clear it. The policies read the context through `current_tenant()`, a function
//! of this library, so the library (and its GUC) is always loaded before a
//! policy is evaluated.

use std::cell::{Cell, RefCell};
use std::ffi::{CStr, CString};

use pgrx::callbacks::{register_xact_callback, PgXactCallbackEvent};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::prelude::*;
use pgrx::{PgRelation, PgSqlErrorCode, Uuid};

use crate::errors::{raise, raise_with_hint, required, spi};
use crate::extension;

static SESSION_TENANT: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

pub fn register_gucs() {
    GucRegistry::define_string_guc(
        c"marimo_erp.tenant_id",
        c"The tenant of this session, set by set_tenant(tenant, for_session => true).",
        c"Only superusers may SET it directly; set_tenant() checks the tenant exists. RESET ALL and DISCARD ALL clear it.",
        &SESSION_TENANT,
        GucContext::Suset,
        GucFlags::default(),
    );
}

thread_local! {
    /// The tenant of the current transaction, if set_tenant() set one in it.
    static TRANSACTION_TENANT: Cell<Option<Uuid>> = const { Cell::new(None) };
    /// Whether end-of-transaction callbacks that clear the per-transaction state
    /// are registered for the current transaction.
    static CLEANUP_REGISTERED: Cell<bool> = const { Cell::new(false) };
    /// (tenant, may write) as looked up once in this transaction.
    static WRITABLE: RefCell<Option<(Uuid, bool)>> = const { RefCell::new(None) };
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
    let _search_path = crate::security::PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let for_session = required(for_session, "for_session");
    // As the owner: under row-level security a caller with no tenant set sees none.
    with_owner_privileges(|| crate::usage::require_tenant(tenant));
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
    unsafe {
        pg_sys::set_config_option(
            c"marimo_erp.tenant_id".as_ptr(),
            value.as_ptr(),
            pg_sys::GucContext::PGC_SUSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SET,
            true,
            0,
            false,
        );
    }
}

/// The current tenant if it may write (its status is active), else NULL. The
/// write policies compare with it, so a suspended or cancelled tenant reads
/// but does not write. Looked up once per transaction.
#[pg_extern(stable, parallel_restricted)]
pub fn writable_tenant() -> Option<Uuid> {
    let tenant = current_tenant()?;
    tenant_may_write(tenant).then_some(tenant)
}

fn tenant_may_write(tenant: Uuid) -> bool {
    if let Some((cached, writable)) = WRITABLE.with(|w| *w.borrow()) {
        if cached == tenant {
            return writable;
        }
    }
    let writable = with_owner_privileges(|| {
        spi(Spi::get_one_with_args::<bool>(
            &format!(
                "SELECT status OPERATOR(pg_catalog.=) 'active' FROM {} WHERE id OPERATOR(pg_catalog.=) $1",
                extension::qualified("tenants")
            ),
            &[tenant.into()],
        ))
    })
    .unwrap_or(false);
    clear_at_transaction_end();
    WRITABLE.with(|w| *w.borrow_mut() = Some((tenant, writable)));
    writable
}

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

/// `search_path` pinned to `pg_catalog, pg_temp` while the value lives, restored
/// afterwards, as a function's `SET search_path` clause would. Every statement
/// the Rust code runs names its relations with their schema, but types, and
/// functions and operators in expressions, are looked up on the search_path,
/// where the caller may have put its own (a temporary `uuid` domain is found
/// before the real one). An ERROR inside ends the (sub)transaction, which
/// restores the setting itself.
/// Put one at the top of every function that runs SQL as its caller.
pub struct PinnedSearchPath(i32);

impl PinnedSearchPath {
    pub fn new() -> Self {
        let nest_level = unsafe { pg_sys::NewGUCNestLevel() };
        unsafe {
            pg_sys::set_config_option(
                c"search_path".as_ptr(),
                c"pg_catalog, pg_temp".as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_SAVE,
                true,
                0,
                false,
            );
        }
        PinnedSearchPath(nest_level)
    }
}

impl Drop for PinnedSearchPath {
    fn drop(&mut self) {
        // On an ERROR the (sub)transaction's abort restores the setting.
        if !std::thread::panicking() {
            unsafe { pg_sys::AtEOXact_GUC(true, self.0) };
        }
    }
}

/// Runs `work` as the extension's owner with `search_path` pinned, as a
/// SECURITY DEFINER function would, but only for the statements that need it.
/// The caller's search_path cannot reach them. An ERROR inside ends the
/// (sub)transaction, which restores the user and the setting.
pub fn with_owner_privileges<R>(work: impl FnOnce() -> R) -> R {
    let owner = extension::owner();
    let (mut user, mut context) = (pg_sys::InvalidOid, 0);
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
        pg_sys::SetUserIdAndSecContext(
            owner,
            context
                | (pg_sys::SECURITY_LOCAL_USERID_CHANGE | pg_sys::SECURITY_RESTRICTED_OPERATION)
                    as i32,
        );
    }
    let result = {
        let _pinned = PinnedSearchPath::new();
        work()
    };
    unsafe { pg_sys::SetUserIdAndSecContext(user, context) };
    result
}

/// The row-level security policies every tenant-scoped table gets: application
/// roles see the current tenant's rows and write only while it may write;
/// operators see and manage every row. `tenant_column` is `id` for `tenants`.
fn policies(table: &str, tenant_column: &str) -> Vec<String> {
    let current = extension::qualified("current_tenant");
    let writable = extension::qualified("writable_tenant");
    let column = extension::quote_ident(tenant_column);
    vec![
        format!("CREATE POLICY marimo_tenant_select ON {table} FOR SELECT TO marimo_app USING ({column} OPERATOR(pg_catalog.=) {current}())"),
        format!("CREATE POLICY marimo_tenant_insert ON {table} FOR INSERT TO marimo_app WITH CHECK ({column} OPERATOR(pg_catalog.=) {writable}())"),
        format!("CREATE POLICY marimo_tenant_update ON {table} FOR UPDATE TO marimo_app USING ({column} OPERATOR(pg_catalog.=) {writable}()) WITH CHECK ({column} OPERATOR(pg_catalog.=) {writable}())"),
        format!("CREATE POLICY marimo_tenant_delete ON {table} FOR DELETE TO marimo_app USING ({column} OPERATOR(pg_catalog.=) {writable}())"),
        format!("CREATE POLICY marimo_operator_all ON {table} FOR ALL TO marimo_admin USING (true) WITH CHECK (true)"),
    ]
}

/// Whether this database's marimo_erp has tenant isolation (0.7.0 or later):
/// the library may be newer than the installed SQL until ALTER EXTENSION UPDATE.
pub fn isolation_installed() -> bool {
    role_oid(c"marimo_app") != pg_sys::InvalidOid
        && spi(Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_extension e
                              ON e.extnamespace OPERATOR(pg_catalog.=) p.pronamespace
                             WHERE e.extname OPERATOR(pg_catalog.=) 'marimo_erp'
                               AND p.proname OPERATOR(pg_catalog.=) $1)",
            &["writable_tenant".into()],
        ))
        .unwrap_or(false)
}

/// Enables and forces row-level security on `target` (quoted, qualified) and
/// creates the tenant policies it lacks. Returns whether it changed anything.
pub fn isolate(target: &str, tenant_column: &str) -> bool {
    let (enabled, existing) = spi(Spi::connect(|client| {
        let row = client
            .select(
                "SELECT c.relrowsecurity AND c.relforcerowsecurity,
                        ARRAY(SELECT p.polname::text FROM pg_catalog.pg_policy p WHERE p.polrelid OPERATOR(pg_catalog.=) c.oid)
                   FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
                Some(1),
                &[target.into()],
            )?
            .first();
        Ok::<_, pgrx::spi::SpiError>((
            row.get::<bool>(1)?.unwrap_or(false),
            row.get::<Vec<String>>(2)?.unwrap_or_default(),
        ))
    }));
    let mut changed = false;
    if !enabled {
        spi(Spi::run(&format!(
            "ALTER TABLE {target} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY"
        )));
        changed = true;
    }
    for policy in policies(target, tenant_column) {
        let name = policy.split_whitespace().nth(2).unwrap_or_default();
        if !existing.iter().any(|p| p == name) {
            spi(Spi::run(&policy));
            changed = true;
        }
    }
    changed
}

/// Puts `target` under tenant isolation: row-level security enabled and forced,
/// with the policies of every marimo_erp table (keyed by `tenant_id`, or `id`
/// for `tenants`). Idempotent; returns whether it changed anything.
#[pg_extern(volatile, parallel_unsafe)]
fn isolate_tenant_rows(target: Option<PgRelation>) -> bool {
    let _search_path = crate::security::PinnedSearchPath::new();
    // Only the OID: an open PgRelation would make ALTER TABLE refuse the table as in use.
    let target = required(target, "target").oid();
    let name = spi(Spi::get_one_with_args::<String>(
        "SELECT $1::pg_catalog.regclass::text",
        &[target.into()],
    ))
    .unwrap_or_default();
    let tenants = spi(Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT $1::pg_catalog.regclass::oid",
        &[extension::qualified("tenants").into()],
    ));
    let is_tenants = tenants == Some(target);
    isolate(&name, if is_tenants { "id" } else { "tenant_id" })
}

pgrx::extension_sql_file!(
    "../sql/security.sql",
    name = "security",
    requires = [
        "usage",
        set_tenant,
        current_tenant,
        reset_tenant,
        writable_tenant,
        isolate_tenant_rows
    ]
);
