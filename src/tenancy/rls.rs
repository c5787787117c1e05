//! Row-level security: the policies that confine application roles to the
//! current tenant's rows, on every tenant-scoped table and partition.

use pgrx::prelude::*;
use pgrx::PgRelation;

use crate::infra::errors::{required, spi};
use crate::infra::guard::PinnedSearchPath;
use crate::infra::installation;

/// The row-level security policies every tenant-scoped table gets: application
/// roles see the current tenant's rows and write only while it may write;
/// operators see and manage every row; saved queries (marimo_analytics) read
/// as applications do. `tenant_column` is `id` for `tenants`.
fn policies(table: &str, tenant_column: &str) -> Vec<String> {
    let current = installation::qualified("current_tenant");
    let writable = installation::qualified("writable_tenant");
    let column = installation::quote_ident(tenant_column);
    let mut policies = vec![
        format!("CREATE POLICY marimo_tenant_select ON {table} FOR SELECT TO marimo_app USING ({column} OPERATOR(pg_catalog.=) {current}())"),
        format!("CREATE POLICY marimo_tenant_insert ON {table} FOR INSERT TO marimo_app WITH CHECK ({column} OPERATOR(pg_catalog.=) {writable}())"),
        format!("CREATE POLICY marimo_tenant_update ON {table} FOR UPDATE TO marimo_app USING ({column} OPERATOR(pg_catalog.=) {writable}()) WITH CHECK ({column} OPERATOR(pg_catalog.=) {writable}())"),
        format!("CREATE POLICY marimo_tenant_delete ON {table} FOR DELETE TO marimo_app USING ({column} OPERATOR(pg_catalog.=) {writable}())"),
        format!("CREATE POLICY marimo_operator_all ON {table} FOR ALL TO marimo_admin USING (true) WITH CHECK (true)"),
    ];
    // 0.12.0: saved queries run as marimo_analytics (analytics::sandbox), which
    // reads as marimo_app does. Not for older SQL, which has no such role.
    if installation::installed_at_least("0.12.0") {
        policies.push(format!("CREATE POLICY marimo_analytics_select ON {table} FOR SELECT TO marimo_analytics USING ({column} OPERATOR(pg_catalog.=) {current}())"));
    }
    policies
}

/// Whether this database's marimo_erp has tenant isolation (0.7.0 or later):
/// the library may be newer than the installed SQL until ALTER EXTENSION UPDATE.
pub fn isolation_installed() -> bool {
    installation::installed_at_least("0.7.0")
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
    let _search_path = PinnedSearchPath::new();
    // Only the OID: an open PgRelation would make ALTER TABLE refuse the table as in use.
    let target = required(target, "target").oid();
    let name = spi(Spi::get_one_with_args::<String>(
        "SELECT $1::pg_catalog.regclass::text",
        &[target.into()],
    ))
    .unwrap_or_default();
    let tenants = spi(Spi::get_one_with_args::<pg_sys::Oid>(
        "SELECT $1::pg_catalog.regclass::oid",
        &[installation::qualified("tenants").into()],
    ));
    let is_tenants = tenants == Some(target);
    isolate(&name, if is_tenants { "id" } else { "tenant_id" })
}
