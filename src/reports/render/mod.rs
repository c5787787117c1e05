//! Report files: a `ReportDocument` written as csv, json, html, xlsx or pdf
//! (one module per format), and the SQL function `render_analytics_result`
//! (`function`), whose grants and comment are in `../render.sql`.
//!
//! Every format shows each section as a table, header row first, every row, each
//! value as run_analytics_query gave it (`document::cell_text`: NULL empty,
//! booleans `true`/`false`, numbers and timestamps as written), a note when a
//! section was truncated by the row cap, and a failed dashboard widget's error.
//! The limits of each format are in its module and in README ("Report files").
#![allow(dead_code)] // SCAFFOLDING: unused until the report runner lands; remove then.
use super::document::ReportDocument;

mod csv;
mod function;
mod html;
mod json;
mod pdf;
mod xlsx;

pgrx::extension_sql_file!(
    "../render.sql",
    name = "report_render",
    requires = ["tenancy", render_analytics_result]
);

/// The formats `scheduled_reports.format` allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Html,
    Xlsx,
    Pdf,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "html" => Some(Format::Html),
            "xlsx" => Some(Format::Xlsx),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }
}

/// A rendered report file.
pub struct Rendered {
    pub content: Vec<u8>,
    pub content_type: &'static str,
    /// File name extension, without the dot.
    pub extension: &'static str,
}

/// `document` written in `format`.
pub fn render(format: Format, document: &ReportDocument) -> Rendered {
    match format {
        Format::Csv => Rendered {
            content: csv::render(document),
            content_type: "text/csv; charset=utf-8",
            extension: "csv",
        },
        Format::Json => Rendered {
            content: json::render(document),
            content_type: "application/json",
            extension: "json",
        },
        Format::Html => Rendered {
            content: html::render(document),
            content_type: "text/html; charset=utf-8",
            extension: "html",
        },
        Format::Xlsx => Rendered {
            content: xlsx::render(document),
            content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            extension: "xlsx",
        },
        Format::Pdf => Rendered {
            content: pdf::render(document),
            content_type: "application/pdf",
            extension: "pdf",
        },
    }
}

#[cfg(test)]
pub(crate) mod sample {
    use crate::reports::document::{ReportDocument, Section};
    use serde_json::json;

    /// A document with the awkward values every format must keep.
    pub fn document() -> ReportDocument {
        ReportDocument {
            title: "Sales <&> \"Q1\"".into(),
            generated_at: "2026-12-01T20:00:00Z".into(),
            sections: vec![
                Section {
                    heading: "Orders".into(),
                    columns: vec!["id".into(), "note".into(), "ok".into(), "at".into()],
                    rows: vec![
                        vec![
                            json!(1),
                            json!("a, \"b\"\nc\td"),
                            json!(true),
                            json!("2026-01-01T10:00:00+00:00"),
                        ],
                        vec![json!(-2.5), json!("=SUM(A1)"), json!(null), json!(null)],
                        vec![json!(3), json!("<b>&'é€✓"), json!(false), json!("")],
                    ],
                    truncated: true,
                    error: None,
                },
                Section {
                    heading: "Broken".into(),
                    columns: vec![],
                    rows: vec![],
                    truncated: false,
                    error: Some(
                        "canceling statement due to statement timeout (SQLSTATE 57014)".into(),
                    ),
                },
            ],
        }
    }
}
