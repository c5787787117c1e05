//! marimo_erp: the Marimo ERP database as one PostgreSQL extension.
//!
//! The modules are layers, and a module imports only from the layers below it
//! (`scripts/check-layers` enforces this in `make test`):
//!
//! 1. `infra`: errors, the installation, execution guards, SPI, settings;
//!    it knows no table of the extension;
//! 2. `tenants`: the tenants table and the one check that a tenant exists;
//! 3. `tenancy`: the tenant context, who may act for which tenant, row-level security;
//! 4. `logs`: the registry of log tables, their daily partitions, retention, maintenance;
//! 5. the domains `analytics`, `webhooks`, `integrations`, `usage`, `monitoring`,
//!    which never import each other and meet only through tables and SQL;
//! 6. `compat`: symbols that SQL of released versions still calls; `adoption`:
//!    copying a database the seed's migrations built into the extension;
//!    `keyring`: secrets at rest across the domains that hold them (webhooks,
//!    integrations): the triggers that encrypt them, key rotation, their state;
//!    above the domains because it touches tables of several of them;
//!    `reports`: scheduled reports run, rendered and delivered, above the
//!    domains because a run uses analytics, webhooks and integrations.
//!
//! Each room's SQL (tables, comments, grants, policies) is a `.sql` file beside
//! its Rust, pulled into the generated install script with `extension_sql_file!`;
//! `requires` states what each file uses, so pgrx orders them. `sql/` holds the
//! shipped version scripts only: the frozen base of 0.1.0 and the hand-written
//! update and rollback scripts, whose checksums `sql/RELEASED.sha256` freezes.

use pgrx::prelude::*;

mod infra;

mod tenants;

mod tenancy;

mod logs;

mod analytics;
mod integrations;
mod monitoring;
mod usage;
mod webhooks;

mod adoption;
mod compat;
mod keyring;
mod reports;

::pgrx::pg_module_magic!(name, version);

// Runs after every other SQL of the install script.
pgrx::extension_sql_file!("finalize.sql", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    let preloading = unsafe { pg_sys::process_shared_preload_libraries_in_progress };
    infra::gucs::init(preloading);
    tenancy::side_channels::install_hooks();
    if preloading {
        // Provider requests ride on the webhook worker (0.11.0), through infra::http's queues.
        integrations::outbound::register();
        webhooks::worker::register_worker();
        // Scheduled reports (0.12.0) run in a worker of their own, so that a long
        // report never holds up webhook deliveries.
        reports::worker::register_worker();
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
