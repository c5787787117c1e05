//! The log machinery (version 0.6.0): which tables are logs and how long their
//! rows live (`registry`), their daily partitions (`partitions`), the cleanups
//! that drop expired days or delete expired rows (`retention`), and the
//! scheduled job that does both (`maintenance`).
//!
//! The domains own their log tables' definitions; this room owns what happens to
//! their rows over time, so that every log is kept the same way.

pub mod maintenance;
pub mod partitions;
pub mod registry;
pub mod retention;

pgrx::extension_sql_file!(
    "logs.sql",
    name = "logs",
    requires = ["tenancy", create_log_partitions, run_maintenance]
);
