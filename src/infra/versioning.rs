//! Version steps: what the upgrade and rollback scripts need from Rust.
//!
//! Going back to an older version drops the tables the newer one added. Dropping a
//! table that holds rows destroys user data, so rollback scripts call
//! `assert_no_data_loss` first: it refuses unless the DBA asked for it explicitly
//! with `SET marimo_erp.allow_data_loss = on`.

use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use super::errors::{raise_with_hint, required, spi};
use super::guard::PinnedSearchPath;
use super::gucs::ALLOW_DATA_LOSS;
use super::installation;

pgrx::extension_sql_file!(
    "versioning.sql",
    name = "versioning",
    requires = [assert_no_data_loss]
);

/// Refuses, with SQLSTATE 55000, to drop `tables` (names in the extension's
/// schema) on the way back to `target_version` while any of them holds a row,
/// unless `marimo_erp.allow_data_loss` is on.
#[pg_extern(volatile, parallel_unsafe)]
pub fn assert_no_data_loss(target_version: Option<&str>, tables: Option<Array<&str>>) {
    let _search_path = PinnedSearchPath::new();
    let target_version = required(target_version, "target_version");
    let tables = required(tables, "tables");
    if ALLOW_DATA_LOSS.get() {
        return;
    }
    for table in tables.iter().flatten() {
        let name = installation::qualified(&installation::quote_ident(table));
        let has_rows = spi(Spi::get_one::<bool>(&format!(
            "SELECT EXISTS (SELECT FROM {name})"
        )))
        .unwrap_or(false);
        if has_rows {
            raise_with_hint(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("rolling marimo_erp back to {target_version} would drop table {name}, which holds rows"),
                "Back the rows up first, then SET marimo_erp.allow_data_loss = on in this session to proceed.",
            );
        }
    }
}
