//! Analytics (version 0.2.0): saved queries, dashboards and scheduled reports.
//! Plain tables; the application runs the saved queries, the extension keeps them
//! tenant-scoped, searchable (`search`) and counted by `check_tenant_limit`.

pub mod sandbox;
pub mod schedule;
mod search;

pgrx::extension_sql_file!(
    "analytics.sql",
    name = "analytics",
    requires = [
        "tenants",
        "tenancy",
        "tenant_search",
        set_updated_at,
        isolate_tenant_rows,
        search_analytics_queries,
        search_dashboards
    ]
);
