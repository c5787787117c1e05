//! Monitoring (version 0.5.0; partitions, maintenance history and webhook
//! backlog since 0.9.0): the seed's "Table Sizes" and "Index Usage" queries as
//! views over the extension's own tables, for operators, and the views of the
//! logs' partitions, of `maintenance_runs` and of the webhook backlog. SQL only:
//! the views find the tables through `pg_depend` and `pg_partition_tree`, and
//! read the other rooms' tables, so they need no domain's Rust.

pgrx::extension_sql_file!(
    "monitoring.sql",
    name = "monitoring",
    requires = ["tenancy", "tenants", "logs", "webhooks"]
);
