//! What a report holds before it is rendered: a title and one section per
//! query result (a saved query gives one section, a dashboard one per widget).
#![allow(dead_code)] // SCAFFOLDING: unused until the report runner lands; remove then.
use serde_json::Value;

/// One table of a report: a saved query's result, or a widget's error.
pub struct Section {
    pub heading: String,
    pub columns: Vec<String>,
    /// Each row holds one JSON value per column, as run_analytics_query returns them.
    pub rows: Vec<Vec<Value>>,
    /// Whether the row cap cut the result short.
    pub truncated: bool,
    /// Why the section has no rows (a dashboard widget that failed).
    pub error: Option<String>,
}

/// A report ready to render.
pub struct ReportDocument {
    pub title: String,
    /// When the run that produced it started, in ISO 8601 UTC.
    pub generated_at: String,
    pub sections: Vec<Section>,
}
