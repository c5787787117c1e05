//! `render_analytics_result(result jsonb, format text, title text DEFAULT 'Report')`:
//! a run_analytics_query or render_dashboard result written as a report file,
//! for operators and applications. It reads no table: what it renders is what
//! the caller passes (grants and comment in `../render.sql`).
use pgrx::prelude::*;
use pgrx::JsonB;

use super::{render, Format};
use crate::infra::errors;
use crate::reports::document::ReportDocument;

/// The transaction's start in ISO 8601 UTC, to the second.
fn transaction_start() -> String {
    // Microseconds since 2000-01-01 00:00:00 UTC, PostgreSQL's epoch.
    let micros = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    let unix = micros.div_euclid(1_000_000) + 946_684_800;
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The report file of `result` (either shape) in `format`, headed by `title`.
// stable: the file says when the transaction started; parallel_safe: no table, no state.
#[pg_extern(stable, parallel_safe)]
fn render_analytics_result(
    result: Option<JsonB>,
    format: Option<&str>,
    title: default!(Option<&str>, "'Report'"),
) -> Vec<u8> {
    let result = errors::required(result, "result");
    let format_name = errors::required(format, "format");
    let title = errors::required(title, "title");
    let Some(format) = Format::parse(format_name) else {
        errors::invalid_argument(format!(
            "argument \"format\" must be one of csv, json, html, xlsx, pdf, not \"{}\"",
            format_name.chars().take(40).collect::<String>()
        ))
    };
    if title.chars().count() > 1000 {
        errors::invalid_argument("argument \"title\" must be at most 1000 characters long");
    }
    let document = match ReportDocument::from_result(title, &transaction_start(), &result.0) {
        Ok(document) => document,
        Err(problem) => errors::invalid_argument(format!(
            "argument \"result\" must be a result of run_analytics_query or render_dashboard: {problem}"
        )),
    };
    render(format, &document).content
}
