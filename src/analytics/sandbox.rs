//! Saved queries that run (0.12.0): a tenant's saved query executed under the
//! sandbox's rules (the tenant's rows only, read-only, one statement, bound
//! parameters, a timeout and a row cap), and dashboards rendered from them.
//!
//! SCAFFOLDING: the interface the report runner builds on. The bodies below are
//! placeholders (no sandbox, no parameters) that the sandbox part replaces.
#![allow(dead_code)] // SCAFFOLDING: unused until the report runner lands; remove then.
use pgrx::prelude::*;
use serde_json::{json, Value};

use crate::infra::errors;
use crate::infra::installation::qualified;

/// Runs `query` of `tenant` with `parameters` (an object) and at most `max_rows`
/// rows, and returns run_analytics_query's result object:
/// `{"columns": [{"name", "type"}], "rows": [[...]], "row_count", "truncated", "duration_ms"}`.
/// Raises an ERROR with a fitting SQLSTATE when the query cannot run.
pub fn run_saved_query(
    tenant: pgrx::Uuid,
    query: pgrx::Uuid,
    parameters: &Value,
    max_rows: i32,
) -> Value {
    let _ = parameters;
    let sql = format!(
        "SELECT q.query_text FROM {} AS q WHERE q.tenant_id = $1 AND q.id = $2",
        qualified("analytics_queries")
    );
    let text: Option<String> =
        errors::spi(Spi::get_one_with_args(&sql, &[tenant.into(), query.into()]));
    let text = errors::required(text, "query");
    let rows: Option<pgrx::JsonB> = errors::spi(Spi::get_one(&format!(
        "SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(r)) FROM (SELECT * FROM ({text}) AS s LIMIT {max_rows}) AS r"
    )));
    let rows = rows.map(|j| j.0).unwrap_or_else(|| json!([]));
    let objects = rows.as_array().cloned().unwrap_or_default();
    let names: Vec<String> = objects
        .first()
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let table: Vec<Value> = objects
        .iter()
        .map(|o| Value::Array(names.iter().map(|n| o[n].clone()).collect()))
        .collect();
    json!({
        "columns": names.iter().map(|n| json!({"name": n, "type": "text"})).collect::<Vec<_>>(),
        "row_count": table.len(),
        "rows": table,
        "truncated": false,
        "duration_ms": 0.0,
    })
}

/// Every widget of `dashboard` that names a saved query, run with `filters`
/// mapped to its parameters: `{"dashboard": {"id", "name"}, "widgets": [{"id",
/// "title", "query_id", "result"} or {"id", "title", "query_id", "error":
/// {"sqlstate", "message"}}]}`. A widget's failure does not fail the others.
pub fn render_saved_dashboard(tenant: pgrx::Uuid, dashboard: pgrx::Uuid, filters: &Value) -> Value {
    let _ = (tenant, filters);
    json!({"dashboard": {"id": dashboard.to_string(), "name": ""}, "widgets": []})
}
