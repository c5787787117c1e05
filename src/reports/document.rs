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

// RUNNER PLACEHOLDER: minimal constructors so the runner builds and is tested on
// the branch runner; the render part's versions replace these at merge.
impl ReportDocument {
    /// A saved query's result (run_analytics_query's object) as one section.
    pub fn from_query_result(title: &str, generated_at: &str, result: &Value) -> ReportDocument {
        ReportDocument {
            title: title.to_string(),
            generated_at: generated_at.to_string(),
            sections: vec![section(title, result)],
        }
    }

    /// A rendered dashboard (render_dashboard's object): one section per widget.
    pub fn from_dashboard(title: &str, generated_at: &str, dashboard: &Value) -> ReportDocument {
        let sections = dashboard["widgets"]
            .as_array()
            .map(|widgets| {
                widgets
                    .iter()
                    .map(|w| {
                        let heading = w["title"].as_str().unwrap_or("widget");
                        match w.get("error") {
                            Some(error) => Section {
                                heading: heading.to_string(),
                                columns: Vec::new(),
                                rows: Vec::new(),
                                truncated: false,
                                error: Some(
                                    error["message"].as_str().unwrap_or("failed").to_string(),
                                ),
                            },
                            None => section(heading, &w["result"]),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        ReportDocument {
            title: title.to_string(),
            generated_at: generated_at.to_string(),
            sections,
        }
    }
}

// RUNNER PLACEHOLDER (see above).
fn section(heading: &str, result: &Value) -> Section {
    Section {
        heading: heading.to_string(),
        columns: result["columns"]
            .as_array()
            .map(|c| {
                c.iter()
                    .map(|c| c["name"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default(),
        rows: result["rows"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| r.as_array().cloned().unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default(),
        truncated: result["truncated"].as_bool().unwrap_or(false),
        error: None,
    }
}
