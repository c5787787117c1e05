//! Reports (0.12.0): scheduled reports run, rendered to files and delivered.
//! Above the domains because a run uses three of them: analytics (the saved
//! query or dashboard, under the sandbox's rules, and the schedule), webhooks
//! (the `report.completed` event) and integrations (the e-mail through the
//! tenant's SendGrid integration).
//!
//! - `runs`: claiming due reports, executing a run, the SQL functions;
//! - `worker`: the report worker;
//! - `delivery`: the webhook event and the SendGrid e-mail of a run;
//! - `document`, `render`: what a report holds, and its file in each format.

pub mod delivery;
pub mod document;
pub mod render;
pub mod runs;
pub mod worker;

pgrx::extension_sql_file!(
    "reports.sql",
    name = "reports",
    requires = [
        "analytics",
        "tenants",
        "integrations_outbound",
        isolate_tenant_rows,
        run_due_reports,
        run_report_now,
        report_run_content,
        cleanup_report_runs
    ]
);
