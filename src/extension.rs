//! Where the extension lives. Its objects are in the schema chosen at
//! `CREATE EXTENSION`, so every statement the Rust code runs is qualified with
//! that schema, looked up once per backend and per installation.

use std::cell::RefCell;

use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use crate::errors::{raise, spi};

thread_local! {
    /// (OID of the `pg_extension` row, quoted schema name). The OID changes when the
    /// extension is dropped and created again, possibly in another schema.
    static SCHEMA: RefCell<Option<(pg_sys::Oid, String)>> = const { RefCell::new(None) };
}

/// The extension's schema as a quoted identifier, ready to prefix a relation name.
pub fn schema() -> String {
    let oid = unsafe { pg_sys::get_extension_oid(c"marimo_erp".as_ptr(), true) };
    if oid == pg_sys::InvalidOid {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            "extension \"marimo_erp\" is not installed in this database",
        );
    }
    SCHEMA.with(|cache| {
        if let Some((cached_oid, name)) = cache.borrow().as_ref() {
            if *cached_oid == oid {
                return name.clone();
            }
        }
        let name = spi(Spi::get_one_with_args::<String>(
            "SELECT pg_catalog.quote_ident(n.nspname::text) \
               FROM pg_catalog.pg_extension e \
               JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace \
              WHERE e.oid = $1",
            &[oid.into()],
        ))
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
                "marimo_erp: schema not found",
            )
        });
        *cache.borrow_mut() = Some((oid, name.clone()));
        name
    })
}

/// `schema.relation`, for a relation name that is a constant of this crate.
pub fn qualified(relation: &str) -> String {
    format!("{}.{}", schema(), relation)
}

/// Quotes an identifier that comes from an argument the way PostgreSQL's
/// `quote_ident` does, so that no name can end the identifier and inject SQL.
pub fn quote_ident(name: &str) -> String {
    let Ok(name) = std::ffi::CString::new(name) else {
        crate::errors::invalid_argument("identifier must not contain a NUL character");
    };
    // quote_identifier returns its argument or a palloc'd copy; both outlive this call.
    unsafe { std::ffi::CStr::from_ptr(pg_sys::quote_identifier(name.as_ptr())) }
        .to_string_lossy()
        .into_owned()
}
