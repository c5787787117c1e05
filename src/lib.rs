//! marimo_erp: the Marimo ERP database as one PostgreSQL extension.
//!
//! Each domain of the ERP is one module here with its SQL beside it under `sql/`:
//! `tenants`, `analytics`, `webhooks`, `integrations` and `usage`. The SQL files are
//! pulled into the generated install script with `extension_sql_file!`, in the
//! order the seed migrations ran them (001 to 005).
//!
//! Versions 0.1.0 to 0.5.0 are the five seed migrations; the hand-written upgrade
//! and rollback scripts between them live in `sql/marimo_erp--X--Y.sql`.

use pgrx::prelude::*;

mod errors;
mod extension;
mod partitions;
mod retention;
mod security;
mod versioning;

mod analytics;
mod integrations;
mod tenants;
mod usage;
mod webhooks;

::pgrx::pg_module_magic!(name, version);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    versioning::register_gucs();
    retention::register_gucs();
    security::register_gucs();
    webhooks::worker::register_gucs();
    if unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        webhooks::worker::register_worker();
    }
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    // The in-process tests live next to the code they test (see each module's
    // `tests` submodule); this module only has to exist for the pgrx harness.
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["timezone = 'UTC'"]
    }
}
