//! Reports (0.12.0): scheduled reports run, rendered to files and delivered.
//! Above the domains because a run uses three of them: analytics (the saved
//! query or dashboard, under the sandbox's rules, and the schedule), webhooks
//! (the `report.completed` event) and integrations (the e-mail through the
//! tenant's SendGrid integration).

pub mod document;
pub mod render;
