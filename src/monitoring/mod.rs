//! Monitoring (version 0.5.0): the seed's "Table Sizes" and "Index Usage"
//! queries as views over the extension's own tables, for operators. SQL only:
//! the views find the tables through `pg_depend`, so they need no domain.

pgrx::extension_sql_file!(
    "monitoring.sql",
    name = "monitoring",
    requires = ["tenancy"]
);
