//! Adoption (0.9.0): a database built by the seed's five psql migrations moves
//! into the extension with every row. Its tables, renamed into another schema
//! (README, "Coming from the seed's migrations"), are copied into the
//! extension's, column by column of the same name, parents before children.
//! SQL only: one statement per table. It sits above the domains because it
//! knows every table of them; nothing imports it.

pgrx::extension_sql_file!(
    "adoption.sql",
    name = "adoption",
    requires = ["tenants", "analytics", "webhooks", "integrations", "usage"]
);
