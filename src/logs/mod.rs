//! The log machinery (version 0.6.0): which tables are logs and how long their
//! rows live (`registry`), their daily partitions (`partitions`), the cleanups
//! that drop expired days or delete expired rows (`retention`), and the
//! scheduled job that does both (`maintenance`), and the history of both
//! (`history`, the table `maintenance_runs`, since 0.9.0).
//!
//! The domains own their log tables' definitions; this room owns what happens to
//! their rows over time, so that every log is kept the same way.

pub mod chunk_worker;
pub mod chunks;
pub mod history;
pub mod maintenance;
pub mod partitions;
pub mod registry;
pub mod retention;

pgrx::extension_sql_file!(
    "logs.sql",
    name = "logs",
    requires = ["tenancy", create_log_partitions, run_maintenance]
);
