//! Report files: a `ReportDocument` written as csv, json, html, xlsx or pdf.
//!
//! SCAFFOLDING: the interface the report runner builds on. The body below is a
//! placeholder (JSON for every format) that the render part replaces.
#![allow(dead_code)] // SCAFFOLDING: unused until the report runner lands; remove then.
use super::document::ReportDocument;

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
    let _ = format;
    let sections: Vec<serde_json::Value> = document
        .sections
        .iter()
        .map(|s| serde_json::json!({"heading": s.heading, "columns": s.columns, "rows": s.rows}))
        .collect();
    let body = serde_json::json!({"title": document.title, "sections": sections});
    Rendered {
        content: body.to_string().into_bytes(),
        content_type: "application/json",
        extension: "json",
    }
}
