//! Where the extension lives and which version of its SQL is installed. Its
//! objects are in the schema chosen at `CREATE EXTENSION`, so every statement
//! the Rust code runs is qualified with that schema, looked up once per backend
//! and per installation.
//!
//! Every hot path asks here (kept plans key on the installation, the owner's
//! privileges need its owner), so the answer is kept until a relation cache
//! invalidation arrives rather than checked in `pg_extension` on every call.
//! Dropping the extension drops its tables, and moving or re-owning it changes
//! them: each sends a relation cache invalidation, which this backend processes
//! before it next locks a relation or starts a transaction, its own at once and
//! an aborted transaction's at the abort. Until then no other session can have
//! dropped a table this transaction still holds a lock on.

use std::cell::{Cell, RefCell};

use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use super::errors::{invalid_argument, raise, spi};

/// What the Rust code needs to know of the installed extension.
#[derive(Clone)]
struct Installation {
    /// OID of the `pg_extension` row: it changes when the extension is dropped
    /// and created again, possibly in another schema or by another owner.
    oid: pg_sys::Oid,
    /// The schema, as a quoted identifier.
    schema: String,
    /// The schema's OID, for catalog lookups (PostgreSQL 15 has no
    /// get_extension_schema()).
    schema_oid: pg_sys::Oid,
    /// The role that created the extension and owns its objects.
    owner: pg_sys::Oid,
}

thread_local! {
    /// The installation found, with the invalidation generation it was found in.
    static INSTALLATION: RefCell<Option<(u64, Installation)>> = const { RefCell::new(None) };
    /// Bumped by every relation cache invalidation this backend processes.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
    static CALLBACK_REGISTERED: Cell<bool> = const { Cell::new(false) };
}

/// Called by PostgreSQL for each relation cache invalidation, possibly in the
/// middle of any statement or of an abort: it only counts, it may not fail.
#[pg_guard]
unsafe extern "C-unwind" fn relation_invalidated(_arg: pg_sys::Datum, _relation: pg_sys::Oid) {
    GENERATION.with(|generation| generation.set(generation.get().wrapping_add(1)));
}

fn watch_invalidations() {
    if !CALLBACK_REGISTERED.with(Cell::get) {
        // One of the few callback slots, taken once per backend (they cannot be given back).
        unsafe {
            pg_sys::CacheRegisterRelcacheCallback(
                Some(relation_invalidated),
                pg_sys::Datum::from(0),
            )
        };
        CALLBACK_REGISTERED.with(|registered| registered.set(true));
    }
}

/// The extension's schema as a quoted identifier, ready to prefix a relation name.
pub fn schema() -> String {
    installation().schema
}

/// The `pg_extension` OID of this database's marimo_erp: it changes when the
/// extension is dropped and created again, which is what caches key on.
pub fn id() -> pg_sys::Oid {
    installation().oid
}

/// The OID of the extension's schema.
pub fn schema_oid() -> pg_sys::Oid {
    installation().schema_oid
}

/// The role that owns the extension's objects.
pub fn owner() -> pg_sys::Oid {
    installation().owner
}

fn installation() -> Installation {
    let generation = GENERATION.with(Cell::get);
    let kept = INSTALLATION.with(|cache| {
        cache
            .borrow()
            .as_ref()
            .filter(|(found_in, _)| *found_in == generation)
            .map(|(_, installation)| installation.clone())
    });
    if let Some(installation) = kept {
        return installation;
    }
    watch_invalidations();
    // Taken before the lookup: an invalidation processed during it makes the
    // next call look again.
    let installation = look_up_installation();
    INSTALLATION.with(|cache| *cache.borrow_mut() = Some((generation, installation.clone())));
    installation
}

fn look_up_installation() -> Installation {
    let oid = unsafe { pg_sys::get_extension_oid(c"marimo_erp".as_ptr(), true) };
    if oid == pg_sys::InvalidOid {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            "extension \"marimo_erp\" is not installed in this database",
        );
    }
    // Read-only, like every lookup here: it must work on a hot standby.
    let found = spi(Spi::connect(|client| {
        client
            .select(
                "SELECT pg_catalog.quote_ident(n.nspname::pg_catalog.text), e.extowner, n.oid
                   FROM pg_catalog.pg_extension e
                   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
                  WHERE e.oid OPERATOR(pg_catalog.=) $1",
                Some(1),
                &[oid.into()],
            )?
            .first()
            .get_three::<String, pg_sys::Oid, pg_sys::Oid>()
    }));
    let (Some(schema), Some(owner), Some(schema_oid)) = found else {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            "marimo_erp: schema not found",
        );
    };
    Installation {
        oid,
        schema,
        schema_oid,
        owner,
    }
}

/// `schema.relation`, for a relation name that is a constant of this crate.
pub fn qualified(relation: &str) -> String {
    format!("{}.{}", schema(), relation)
}

/// Quotes an identifier that comes from an argument the way PostgreSQL's
/// `quote_ident` does, so that no name can end the identifier and inject SQL.
pub fn quote_ident(name: &str) -> String {
    let Ok(name) = std::ffi::CString::new(name) else {
        invalid_argument("identifier must not contain a NUL character");
    };
    // quote_identifier returns its argument or a palloc'd copy; both outlive this call.
    unsafe { std::ffi::CStr::from_ptr(pg_sys::quote_identifier(name.as_ptr())) }
        .to_string_lossy()
        .into_owned()
}

/// The installed version of the extension's SQL, as `(major, minor, patch)`, or
/// `None` when the extension is not installed in this database. The library can
/// be newer than the SQL (between installing it and `ALTER EXTENSION UPDATE`),
/// so code that needs the objects of a version asks here first. During an
/// update script this is already the version being installed.
pub fn installed_version() -> Option<(u32, u32, u32)> {
    let oid = unsafe { pg_sys::get_extension_oid(c"marimo_erp".as_ptr(), true) };
    if oid == pg_sys::InvalidOid {
        return None;
    }
    let version = spi(Spi::connect(|client| {
        client
            .select(
                "SELECT extversion FROM pg_catalog.pg_extension WHERE oid OPERATOR(pg_catalog.=) $1",
                Some(1),
                &[oid.into()],
            )?
            .first()
            .get_one::<String>()
    }))?;
    parse_version(&version)
}

/// Whether the installed SQL is at least `version` (`"0.7.0"`).
pub fn installed_at_least(version: &str) -> bool {
    match (installed_version(), parse_version(version)) {
        (Some(installed), Some(wanted)) => installed >= wanted,
        _ => false,
    }
}

fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split('.').map(|part| part.parse::<u32>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn extension_schema_is_found_and_quoted() {
        assert_eq!(super::qualified("tenants"), "public.tenants");
        assert_eq!(super::quote_ident("tenants"), "tenants");
        assert_eq!(super::quote_ident("Mixed Case"), "\"Mixed Case\"");
        assert_eq!(
            super::quote_ident("x\"; DROP TABLE t; --"),
            "\"x\"\"; DROP TABLE t; --\""
        );
    }

    #[pg_test]
    fn installed_version_is_read_and_compared() {
        assert!(super::installed_version().is_some());
        assert!(super::installed_at_least("0.1.0"));
        assert!(!super::installed_at_least("99.0.0"));
        assert_eq!(super::parse_version("0.10.2"), Some((0, 10, 2)));
        assert_eq!(super::parse_version("0.8"), None);
        assert_eq!(super::parse_version("0.8.0.1"), None);
    }
}
