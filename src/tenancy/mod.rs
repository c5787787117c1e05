//! Tenancy (version 0.7.0): the tenant context (`context`), who may act for which
//! tenant (`access`), the row-level security policies of every tenant-scoped
//! table (`rls`), `enable_tenancy` for the application's own tables, and what
//! the domains' search functions share (`search`).
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

pub mod access;
pub mod context;
pub mod enable_tenancy;
pub mod rls;
pub mod search;
pub mod side_channels;

// The roles and the privileges of the tenancy functions. Every domain's SQL
// requires it: the tables are granted to the roles where they are defined.
pgrx::extension_sql_file!(
    "tenancy.sql",
    name = "tenancy",
    requires = [
        "versioning",
        set_tenant,
        current_tenant,
        reset_tenant,
        writable_tenant,
        isolate_tenant_rows
    ]
);
