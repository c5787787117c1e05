//! Saved queries that run (0.12.0): a tenant's saved query executed under the
//! sandbox's rules, and dashboards rendered from them.
//!
//! The rules, each enforced by PostgreSQL itself rather than by reading the text:
//! - one statement, a `SELECT`, `WITH ... SELECT`, `VALUES` or `TABLE`, decided
//!   from the parse tree of PostgreSQL's own parser (`raw_parser`);
//! - `{{name}}` placeholders become real parameters (`$n`) of the declared type,
//!   never text spliced into the query;
//! - the query runs as the role `marimo_analytics` (SELECT on the tenant-scoped
//!   tables, the columns marimo_app may read, no secret), switched to as
//!   REFRESH MATERIALIZED VIEW does (a security-restricted operation: no SET
//!   ROLE, no temporary objects), with the given tenant as the transaction's
//!   tenant, so row-level security shows it that tenant's rows only;
//! - read-only (`transaction_read_only` on for the query alone, so writing
//!   functions fail) and every setting it changes rolled back afterwards;
//! - cancelled with 57014 after `marimo_erp.analytics_statement_timeout`;
//! - fetched through a cursor, at most `max_rows` (+1 to know it was cut),
//!   capped by `marimo_erp.analytics_max_rows`.
#![allow(dead_code)] // SCAFFOLDING: unused until the report runner lands; remove then.
use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use pgrx::pg_sys::panic::CaughtError;
use pgrx::pg_sys::PgTryBuilder;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode, Uuid};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::infra::errors::{self, invalid_argument, raise, required};
use crate::infra::guard::{in_subtransaction, set_config, with_owner_privileges, PinnedSearchPath};
use crate::infra::gucs::{ANALYTICS_MAX_ROWS, ANALYTICS_STATEMENT_TIMEOUT_MS};
use crate::infra::installation::{self, qualified};
use crate::tenancy::access::authorize_tenant;
use crate::tenancy::context::with_transaction_tenant;

/// The role saved queries run as (created by tenancy.sql, granted by sandbox.sql).
const SANDBOX_ROLE: &CStr = c"marimo_analytics";

// ---------------------------------------------------------------------------
// Parameter declarations (pure).

/// The types a parameter may be declared with, and the PostgreSQL type each is bound as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParameterType {
    Text,
    Integer,
    Numeric,
    Boolean,
    Date,
    Timestamptz,
    Uuid,
}

impl ParameterType {
    /// The PostgreSQL type the parameter is bound as (`integer` as bigint, so
    /// any JSON integer fits; it compares with integer columns as well).
    fn type_oid(self) -> pg_sys::Oid {
        match self {
            ParameterType::Text => pg_sys::TEXTOID,
            ParameterType::Integer => pg_sys::INT8OID,
            ParameterType::Numeric => pg_sys::NUMERICOID,
            ParameterType::Boolean => pg_sys::BOOLOID,
            ParameterType::Date => pg_sys::DATEOID,
            ParameterType::Timestamptz => pg_sys::TIMESTAMPTZOID,
            ParameterType::Uuid => pg_sys::UUIDOID,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ParameterType::Text => "text",
            ParameterType::Integer => "integer",
            ParameterType::Numeric => "numeric",
            ParameterType::Boolean => "boolean",
            ParameterType::Date => "date",
            ParameterType::Timestamptz => "timestamptz",
            ParameterType::Uuid => "uuid",
        }
    }

    /// The text a JSON value is given to the type's input function as, or why it
    /// does not fit: numbers for integer and numeric (or a string the input
    /// function then checks), true/false for boolean, strings for the others.
    pub fn input_text(self, value: &Value) -> Result<String, String> {
        match (self, value) {
            (ParameterType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {
                Ok(n.to_string())
            }
            (ParameterType::Numeric, Value::Number(n)) => Ok(n.to_string()),
            (ParameterType::Integer | ParameterType::Numeric, Value::String(s)) => Ok(s.clone()),
            (ParameterType::Boolean, Value::Bool(b)) => Ok(b.to_string()),
            (
                ParameterType::Text
                | ParameterType::Date
                | ParameterType::Timestamptz
                | ParameterType::Uuid,
                Value::String(s),
            ) => Ok(s.clone()),
            _ => Err(format!(
                "must be {} {}, not {}",
                if self == ParameterType::Integer {
                    "an"
                } else {
                    "a"
                },
                match self {
                    ParameterType::Integer => "integer (a JSON number or a string)",
                    ParameterType::Numeric => "number (a JSON number or a string)",
                    ParameterType::Boolean => "boolean (true or false)",
                    ParameterType::Text => "text string",
                    ParameterType::Date => "date string (YYYY-MM-DD)",
                    ParameterType::Timestamptz => "timestamp string (ISO 8601)",
                    ParameterType::Uuid => "uuid string",
                },
                json_kind(value)
            )),
        }
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One parameter as `analytics_queries.parameters` declares it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    #[serde(rename = "type")]
    pub kind: ParameterType,
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub required: bool,
    /// For the application's forms only.
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// Whether `name` may name a parameter: a letter or `_`, then letters, digits, `_`.
pub fn is_parameter_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

/// The declarations of a saved query, or why they are malformed.
pub fn parse_declarations(parameters: &Value) -> Result<BTreeMap<String, Declaration>, String> {
    let object = parameters
        .as_object()
        .ok_or_else(|| "the parameters declaration must be a JSON object".to_string())?;
    let mut declarations = BTreeMap::new();
    for (name, declaration) in object {
        if !is_parameter_name(name) {
            return Err(format!(
                "parameter \"{name}\" has a name that is not a letter or _ followed by letters, digits or _ (at most 63)"
            ));
        }
        let declaration: Declaration = serde_json::from_value(declaration.clone()).map_err(|e| {
            format!("parameter \"{name}\" is declared wrongly ({e}); expected {{\"type\": \"text|integer|numeric|boolean|date|timestamptz|uuid\", \"default\": ..., \"required\": true|false}}")
        })?;
        declarations.insert(name.clone(), declaration);
    }
    Ok(declarations)
}

/// `text` with every `{{name}}` (spaces allowed inside the braces) replaced by
/// `$n`, and the names in the order of their numbers. Braces that do not hold
/// a parameter name are left as they are (the parser then refuses them).
pub fn substitute_placeholders(text: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut names: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) if is_parameter_name(after[..end].trim()) => {
                let name = after[..end].trim().to_string();
                let number = match names.iter().position(|n| *n == name) {
                    Some(i) => i + 1,
                    None => {
                        names.push(name);
                        names.len()
                    }
                };
                out.push_str(&format!("${number}"));
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out, names)
}

/// The value each placeholder gets, in the order of `names`: the call's, else
/// the declared default, else NULL unless required. `None` is SQL NULL.
pub fn resolve_parameters(
    declarations: &BTreeMap<String, Declaration>,
    names: &[String],
    given: &Map<String, Value>,
) -> Result<Vec<(ParameterType, Option<String>)>, String> {
    for name in given.keys() {
        if !declarations.contains_key(name) {
            return Err(format!("parameter \"{name}\" is not declared by the query"));
        }
    }
    for (name, declaration) in declarations {
        if let Some(default) = &declaration.default {
            if !default.is_null() {
                declaration
                    .kind
                    .input_text(default)
                    .map_err(|e| format!("parameter \"{name}\": its default {e}"))?;
            }
        }
    }
    let mut values = Vec::with_capacity(names.len());
    for name in names {
        let declaration = declarations.get(name).ok_or_else(|| {
            format!(
                "parameter \"{name}\" is used in the query text as {{{{{name}}}}} but not declared"
            )
        })?;
        let value = given
            .get(name)
            .filter(|v| !v.is_null())
            .or(declaration.default.as_ref().filter(|v| !v.is_null()));
        let text = match value {
            Some(value) => Some(
                declaration
                    .kind
                    .input_text(value)
                    .map_err(|e| format!("parameter \"{name}\" {e}"))?,
            ),
            None if declaration.required => {
                return Err(format!("parameter \"{name}\" is required and has no value"))
            }
            None => None,
        };
        values.push((declaration.kind, text));
    }
    // A required parameter the text does not use still has to be given.
    for (name, declaration) in declarations {
        if declaration.required
            && !names.contains(name)
            && given.get(name).is_none_or(Value::is_null)
            && declaration.default.as_ref().is_none_or(Value::is_null)
        {
            return Err(format!("parameter \"{name}\" is required and has no value"));
        }
    }
    Ok(values)
}

// ---------------------------------------------------------------------------
// Result values (pure).

/// A column's value as JSON, from its text form (`None` for NULL) and type:
/// booleans as true/false; smallint, integer, bigint and oid as numbers; real
/// and double precision as numbers when finite; numeric as a number when it
/// has at most 15 significant digits (exact in a double), else as text so no
/// digit is lost; json and jsonb as themselves; timestamps and dates as ISO
/// 8601 text (`2026-03-29T01:30:00+00:00`); everything else as its text.
pub fn json_value(text: Option<&str>, type_oid: pg_sys::Oid) -> Value {
    let Some(text) = text else {
        return Value::Null;
    };
    match type_oid {
        pg_sys::BOOLOID => Value::Bool(text == "t"),
        pg_sys::INT2OID | pg_sys::INT4OID | pg_sys::INT8OID | pg_sys::OIDOID => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_string())),
        pg_sys::FLOAT4OID | pg_sys::FLOAT8OID => match text.parse::<f64>() {
            Ok(f) if f.is_finite() => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(text.to_string())),
            _ => Value::String(text.to_string()),
        },
        pg_sys::NUMERICOID => numeric_value(text),
        pg_sys::JSONOID | pg_sys::JSONBOID => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
        }
        pg_sys::TIMESTAMPTZOID | pg_sys::TIMESTAMPOID => Value::String(iso_timestamp(text)),
        _ => Value::String(text.to_string()),
    }
}

fn numeric_value(text: &str) -> Value {
    let digits: String = text
        .chars()
        .take_while(|c| *c != 'e' && *c != 'E')
        .filter(char::is_ascii_digit)
        .collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-');
    if plain && significant <= 15 {
        if let Ok(f) = text.parse::<f64>() {
            if let Some(number) = serde_json::Number::from_f64(f) {
                // Whole numbers as integers (1, not 1.0).
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    return Value::from(f as i64);
                }
                return Value::Number(number);
            }
        }
    }
    Value::String(text.to_string())
}

/// `2026-03-29 01:30:00.5+01` (DateStyle ISO) as `2026-03-29T01:30:00.5+01:00`;
/// infinity and BC timestamps as PostgreSQL prints them.
pub fn iso_timestamp(text: &str) -> String {
    let bytes = text.as_bytes();
    if bytes.len() < 19 || bytes[10] != b' ' || text.ends_with(" BC") {
        return text.to_string();
    }
    let mut out = format!("{}T{}", &text[..10], &text[11..]);
    // A zone offset of hours only (+01) gets its minutes (+01:00).
    let tail = &out[19..];
    if let Some(sign) = tail.rfind(['+', '-']) {
        let zone = &tail[sign + 1..];
        if zone.len() == 2 && zone.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(":00");
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The statement check, from PostgreSQL's parser.

/// Refuses (42601) anything but one SELECT / WITH ... SELECT / VALUES / TABLE
/// statement, without INTO, FOR UPDATE/SHARE or a data-modifying WITH.
fn check_statement(sql: &str, query: Uuid) {
    let text = CString::new(sql)
        .unwrap_or_else(|_| invalid_argument(format!("saved query {query} holds a NUL byte")));
    let refusal = PgTryBuilder::new(AssertUnwindSafe(|| unsafe {
        let list = pg_sys::raw_parser(text.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT);
        statement_refusal(list)
    }))
    .catch_others(|error| match error {
        CaughtError::PostgresError(ref report) | CaughtError::ErrorReport(ref report) => {
            Some(format!("is not valid SQL: {}", report.message()))
        }
        other => other.rethrow(),
    })
    .execute();
    if let Some(why) = refusal {
        errors::raise_with_hint(
            PgSqlErrorCode::ERRCODE_SYNTAX_ERROR,
            format!("saved query {query} {why}"),
            "A saved query is one SELECT, WITH ... SELECT, VALUES or TABLE statement.",
        );
    }
}

unsafe fn statement_refusal(list: *mut pg_sys::List) -> Option<String> {
    let count = if list.is_null() { 0 } else { (*list).length };
    if count != 1 {
        return Some(format!(
            "must be exactly one statement, not {count} (statements joined by ;)"
        ));
    }
    let raw = (*(*list).elements).ptr_value as *mut pg_sys::RawStmt;
    let stmt = (*raw).stmt;
    if stmt.is_null() || (*stmt).type_ != pg_sys::NodeTag::T_SelectStmt {
        return Some("is not a SELECT, WITH ... SELECT, VALUES or TABLE statement".to_string());
    }
    let select = stmt as *mut pg_sys::SelectStmt;
    if !(*select).intoClause.is_null() {
        return Some("uses SELECT INTO, which creates a table".to_string());
    }
    if !(*select).lockingClause.is_null() {
        return Some("locks rows (FOR UPDATE / FOR SHARE)".to_string());
    }
    let with = (*select).withClause;
    if !with.is_null() && !(*with).ctes.is_null() {
        let ctes = (*with).ctes;
        for i in 0..(*ctes).length {
            let cte = (*(*ctes).elements.add(i as usize)).ptr_value as *mut pg_sys::CommonTableExpr;
            let inner = (*cte).ctequery;
            if inner.is_null() || (*inner).type_ != pg_sys::NodeTag::T_SelectStmt {
                return Some(
                    "has a data-modifying WITH (INSERT, UPDATE, DELETE or MERGE)".to_string(),
                );
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Running.

// timeout.h, which pgrx does not bind. TimeoutId STATEMENT_TIMEOUT is 3 on 13-18.
extern "C" {
    fn enable_timeout_after(id: i32, delay_ms: i32);
    fn enable_timeout_at(id: i32, fin_time: i64);
    fn disable_timeout(id: i32, keep_indicator: bool);
    fn get_timeout_active(id: i32) -> bool;
    fn get_timeout_finish_time(id: i32) -> i64;
}
const STATEMENT_TIMEOUT: i32 = 3;

/// The caller's statement timer, re-armed as it was when the query ends.
struct OuterTimeout(Option<i64>, bool);

impl OuterTimeout {
    /// Arms the statement timer for `ms` (or the outer timer's end, if sooner).
    fn arm(ms: i32) -> Self {
        unsafe {
            let outer = get_timeout_active(STATEMENT_TIMEOUT)
                .then(|| get_timeout_finish_time(STATEMENT_TIMEOUT));
            let mine = pg_sys::GetCurrentTimestamp() + i64::from(ms) * 1000;
            let ours = match outer {
                Some(fin) if fin <= mine => false,
                _ => {
                    enable_timeout_after(STATEMENT_TIMEOUT, ms);
                    true
                }
            };
            OuterTimeout(outer, ours)
        }
    }

    /// Whether the armed timer is the query's own (else the caller's comes first).
    fn is_ours(&self) -> bool {
        self.1
    }

    fn restore(&self) {
        unsafe {
            match self.0 {
                Some(fin) => enable_timeout_at(STATEMENT_TIMEOUT, fin),
                None => disable_timeout(STATEMENT_TIMEOUT, false),
            }
        }
    }
}

/// Runs `sql` (already checked) with `arguments` as `marimo_analytics`, for
/// `tenant`, read-only, timed out and capped: (columns, rows, truncated).
fn run_sandboxed(
    tenant: Uuid,
    query: Uuid,
    sql: &str,
    names: &[String],
    arguments: &[(ParameterType, Option<String>)],
    limit: i64,
) -> (Vec<Value>, Vec<Value>, bool) {
    let role = unsafe { pg_sys::get_role_oid(SANDBOX_ROLE.as_ptr(), false) };
    let timeout_ms = ANALYTICS_STATEMENT_TIMEOUT_MS.get();
    let schema = CString::new(format!(
        "{}, pg_catalog, pg_temp",
        installation::schema() // already a quoted identifier
    ))
    .unwrap_or_default();
    // Every setting changed from here on, by us or by the query, is rolled back
    // at the end (as REFRESH MATERIALIZED VIEW does); an ERROR rolls them back too.
    let nest_level = unsafe { pg_sys::NewGUCNestLevel() };
    // transaction_read_only cannot be saved at a nest level (GUC_NO_RESET):
    // set as SET LOCAL would, which the rollback of the level undoes as well.
    set_config(
        c"transaction_read_only",
        c"on",
        pg_sys::GucContext::PGC_SUSET,
        pg_sys::GucAction::GUC_ACTION_LOCAL,
    );
    for (name, value) in [
        (c"DateStyle", c"ISO, YMD"),
        (c"search_path", schema.as_c_str()),
    ] {
        set_config(
            name,
            value,
            pg_sys::GucContext::PGC_SUSET,
            pg_sys::GucAction::GUC_ACTION_SAVE,
        );
    }
    // Parameters read under the pinned DateStyle, as the caller (22023 naming them).
    let mut types: Vec<pg_sys::Oid> = Vec::with_capacity(arguments.len());
    let mut values: Vec<pg_sys::Datum> = Vec::with_capacity(arguments.len());
    let mut nulls: Vec<std::ffi::c_char> = Vec::with_capacity(arguments.len());
    for (i, (kind, text)) in arguments.iter().enumerate() {
        types.push(kind.type_oid());
        match text {
            Some(text) => {
                values.push(input_value(*kind, text, &names[i]));
                nulls.push(b' ' as std::ffi::c_char);
            }
            None => {
                values.push(pg_sys::Datum::from(0));
                nulls.push(b'n' as std::ffi::c_char);
            }
        }
    }
    let sql = CString::new(sql).unwrap_or_default();
    let (mut user, mut context) = (pg_sys::InvalidOid, 0);
    unsafe { pg_sys::GetUserIdAndSecContext(&mut user, &mut context) };
    let timer = std::cell::Cell::new(None::<OuterTimeout>);
    // Whether the statement timer that may fire is this query's (not the caller's, sooner).
    let timed_out = std::cell::Cell::new(false);
    let restore = || {
        unsafe { pg_sys::SetUserIdAndSecContext(user, context) };
        if let Some(timer) = timer.take() {
            timer.restore();
        }
    };
    let restore_on_error = AssertUnwindSafe((&restore, &timed_out));
    let result = with_transaction_tenant(tenant, || {
        PgTryBuilder::new(AssertUnwindSafe(|| {
            errors::spi(Spi::connect(|_client| unsafe {
                pg_sys::SetUserIdAndSecContext(
                    role,
                    context
                        | (pg_sys::SECURITY_LOCAL_USERID_CHANGE
                            | pg_sys::SECURITY_RESTRICTED_OPERATION) as i32,
                );
                let armed = OuterTimeout::arm(timeout_ms);
                timed_out.set(armed.is_ours());
                timer.set(Some(armed));
                let portal = pg_sys::SPI_cursor_open_with_args(
                    std::ptr::null(),
                    sql.as_ptr(),
                    types.len() as i32,
                    types.as_mut_ptr(),
                    values.as_mut_ptr(),
                    nulls.as_ptr(),
                    true,
                    0,
                );
                pg_sys::SPI_cursor_fetch(portal, true, (limit + 1) as std::ffi::c_long);
                let fetched = collect_rows();
                pg_sys::SPI_cursor_close(portal);
                Ok::<_, pgrx::spi::SpiError>(fetched)
            }))
        }))
        .catch_others(move |error| {
            let whole = &restore_on_error;
            let ours = whole.0 .1.get();
            (whole.0 .0)();
            match &error {
                CaughtError::PostgresError(report) | CaughtError::ErrorReport(report)
                    if ours && report.sql_error_code() == PgSqlErrorCode::ERRCODE_QUERY_CANCELED =>
                {
                    raise(
                        PgSqlErrorCode::ERRCODE_QUERY_CANCELED,
                        format!("saved query {query} was cancelled after marimo_erp.analytics_statement_timeout ({timeout_ms} ms)"),
                    )
                }
                _ => error.rethrow(),
            }
        })
        .execute()
    });
    restore();
    unsafe { pg_sys::AtEOXact_GUC(false, nest_level) };
    let (columns, mut rows) = result;
    let truncated = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    (columns, rows, truncated)
}

/// A parameter's datum from its text, by the type's input function; 22023
/// naming the parameter when the text does not fit.
fn input_value(kind: ParameterType, text: &str, name: &str) -> pg_sys::Datum {
    let ctext = CString::new(text).unwrap_or_else(|_| {
        invalid_argument(format!("parameter \"{name}\" holds a NUL character"))
    });
    PgTryBuilder::new(AssertUnwindSafe(|| unsafe {
        let (mut input, mut ioparam) = (pg_sys::InvalidOid, pg_sys::InvalidOid);
        pg_sys::getTypeInputInfo(kind.type_oid(), &mut input, &mut ioparam);
        pg_sys::OidInputFunctionCall(input, ctext.as_ptr() as *mut _, ioparam, -1)
    }))
    .catch_others(|error| match error {
        CaughtError::PostgresError(ref report) | CaughtError::ErrorReport(ref report) => {
            invalid_argument(format!(
                "parameter \"{name}\" is not a valid {}: {}",
                kind.name(),
                report.message()
            ))
        }
        other => other.rethrow(),
    })
    .execute()
}

/// The columns and rows of SPI_tuptable, as JSON.
unsafe fn collect_rows() -> (Vec<Value>, Vec<Value>) {
    let table = pg_sys::SPI_tuptable;
    if table.is_null() {
        return (Vec::new(), Vec::new());
    }
    let desc = (*table).tupdesc;
    let natts = (*desc).natts;
    let mut columns = Vec::with_capacity(natts as usize);
    let mut types = Vec::with_capacity(natts as usize);
    for i in 1..=natts {
        let name = CStr::from_ptr(pg_sys::SPI_fname(desc, i))
            .to_string_lossy()
            .into_owned();
        let oid = pg_sys::SPI_gettypeid(desc, i);
        let type_name = CStr::from_ptr(pg_sys::format_type_be(oid))
            .to_string_lossy()
            .into_owned();
        types.push(oid);
        columns.push(json!({"name": name, "type": type_name}));
    }
    let count = pg_sys::SPI_processed as usize;
    let mut rows = Vec::with_capacity(count);
    for r in 0..count {
        let tuple = *(*table).vals.add(r);
        let mut row = Vec::with_capacity(natts as usize);
        for (i, oid) in types.iter().enumerate() {
            let value = pg_sys::SPI_getvalue(tuple, desc, i as i32 + 1);
            let text = (!value.is_null()).then(|| CStr::from_ptr(value).to_string_lossy());
            row.push(json_value(text.as_deref(), *oid));
        }
        rows.push(Value::Array(row));
    }
    (columns, rows)
}

/// The saved query's text and declarations, as the owner (P0002 naming it when missing).
fn load_query(tenant: Uuid, query: Uuid) -> (String, Value) {
    let sql = format!(
        "SELECT q.query_text, q.parameters FROM {} AS q
          WHERE q.tenant_id OPERATOR(pg_catalog.=) $1 AND q.id OPERATOR(pg_catalog.=) $2",
        qualified("analytics_queries")
    );
    let row = with_owner_privileges(|| {
        errors::spi(Spi::connect(|client| {
            let table = client.select(&sql, Some(1), &[tenant.into(), query.into()])?;
            if table.is_empty() {
                return Ok(None);
            }
            let row = table.first();
            Ok::<_, pgrx::spi::SpiError>(Some((
                row.get::<String>(1)?.unwrap_or_default(),
                row.get::<JsonB>(2)?
                    .map(|j| j.0)
                    .unwrap_or_else(|| json!({})),
            )))
        }))
    });
    row.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
            format!("saved query {query} of tenant {tenant} does not exist"),
        )
    })
}

/// Runs `query` of `tenant` with `parameters` (an object) and at most `max_rows`
/// rows, and returns run_analytics_query's result object:
/// `{"columns": [{"name", "type"}], "rows": [[...]], "row_count", "truncated", "duration_ms"}`.
/// Raises an ERROR with a fitting SQLSTATE when the query cannot run. The caller
/// must be allowed to act for `tenant` (an application only for its current one).
pub fn run_saved_query(
    tenant: pgrx::Uuid,
    query: pgrx::Uuid,
    parameters: &Value,
    max_rows: i32,
) -> Value {
    let _search_path = PinnedSearchPath::new();
    authorize_tenant(tenant, false);
    if max_rows < 1 {
        invalid_argument(format!(
            "argument \"max_rows\" must be at least 1, not {max_rows}"
        ));
    }
    let given = parameters.as_object().unwrap_or_else(|| {
        invalid_argument(format!(
            "argument \"parameters\" must be a JSON object, not {}",
            json_kind(parameters)
        ))
    });
    let limit = i64::from(max_rows.min(ANALYTICS_MAX_ROWS.get()));
    let (text, declared) = load_query(tenant, query);
    let declarations = parse_declarations(&declared)
        .unwrap_or_else(|e| invalid_argument(format!("saved query {query}: {e}")));
    let (sql, names) = substitute_placeholders(&text);
    let arguments = resolve_parameters(&declarations, &names, given)
        .unwrap_or_else(|e| invalid_argument(format!("saved query {query}: {e}")));
    check_statement(&sql, query);
    let started = Instant::now();
    let (columns, rows, truncated) = run_sandboxed(tenant, query, &sql, &names, &arguments, limit);
    let duration_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
    // Counted as the owner; not in a read-only transaction (a standby, BEGIN READ ONLY).
    if !unsafe { pg_sys::XactReadOnly } {
        let bump = format!(
            "UPDATE {} AS q SET run_count = q.run_count OPERATOR(pg_catalog.+) 1, last_run_at = pg_catalog.now()
              WHERE q.tenant_id OPERATOR(pg_catalog.=) $1 AND q.id OPERATOR(pg_catalog.=) $2",
            qualified("analytics_queries")
        );
        with_owner_privileges(|| {
            errors::spi(Spi::connect_mut(|client| {
                client.update(&bump, None, &[tenant.into(), query.into()])?;
                Ok::<_, pgrx::spi::SpiError>(())
            }))
        });
    }
    json!({
        "columns": columns,
        "row_count": rows.len(),
        "rows": rows,
        "truncated": truncated,
        "duration_ms": duration_ms,
    })
}

/// What a widget's query is given: the filters whose names the query declares,
/// then, by the widget's `parameters` (`{"query parameter": "filter name"}`),
/// the named filters under the query's names. Filters of no parameter are left out.
pub fn widget_parameters(
    filters: &Map<String, Value>,
    mapping: Option<&Value>,
    declared: &BTreeMap<String, Declaration>,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (name, value) in filters {
        if declared.contains_key(name) {
            out.insert(name.clone(), value.clone());
        }
    }
    match mapping {
        None | Some(Value::Null) => {}
        Some(Value::Object(mapping)) => {
            for (parameter, filter) in mapping {
                let filter = filter.as_str().ok_or_else(|| {
                    format!("widget parameter \"{parameter}\" must name a filter (a string)")
                })?;
                if let Some(value) = filters.get(filter) {
                    out.insert(parameter.clone(), value.clone());
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "widget \"parameters\" must be an object mapping query parameters to filter names, not {}",
                json_kind(other)
            ))
        }
    }
    Ok(out)
}

fn caught_error(error: &CaughtError) -> Value {
    let report = match error {
        CaughtError::PostgresError(report)
        | CaughtError::ErrorReport(report)
        | CaughtError::RustPanic {
            ereport: report, ..
        } => report,
    };
    json!({"sqlstate": errors::sqlstate(report.sql_error_code()), "message": report.message()})
}

/// Every widget of `dashboard` that names a saved query, run with `filters`
/// mapped to its parameters: `{"dashboard": {"id", "name"}, "widgets": [{"id",
/// "title", "query_id", "result"} or {"id", "title", "query_id", "error":
/// {"sqlstate", "message"}}]}`. A widget's failure does not fail the others.
/// The dashboard's own `filters`, overridden by the call's, are the filters.
pub fn render_saved_dashboard(tenant: pgrx::Uuid, dashboard: pgrx::Uuid, filters: &Value) -> Value {
    let _search_path = PinnedSearchPath::new();
    authorize_tenant(tenant, false);
    let call_filters = filters.as_object().cloned().unwrap_or_else(|| {
        invalid_argument(format!(
            "argument \"filters\" must be a JSON object, not {}",
            json_kind(filters)
        ))
    });
    let sql = format!(
        "SELECT d.name, d.widgets, d.filters FROM {} AS d
          WHERE d.tenant_id OPERATOR(pg_catalog.=) $1 AND d.id OPERATOR(pg_catalog.=) $2",
        qualified("dashboards")
    );
    let found = with_owner_privileges(|| {
        errors::spi(Spi::connect(|client| {
            let table = client.select(&sql, Some(1), &[tenant.into(), dashboard.into()])?;
            if table.is_empty() {
                return Ok(None);
            }
            let row = table.first();
            Ok::<_, pgrx::spi::SpiError>(Some((
                row.get::<String>(1)?.unwrap_or_default(),
                row.get::<JsonB>(2)?
                    .map(|j| j.0)
                    .unwrap_or_else(|| json!([])),
                row.get::<JsonB>(3)?
                    .map(|j| j.0)
                    .unwrap_or_else(|| json!({})),
            )))
        }))
    });
    let (name, widgets, own_filters) = found.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
            format!("dashboard {dashboard} of tenant {tenant} does not exist"),
        )
    });
    let mut merged = own_filters.as_object().cloned().unwrap_or_default();
    merged.extend(call_filters);
    let mut results = Vec::new();
    for widget in widgets.as_array().map(Vec::as_slice).unwrap_or_default() {
        let Some(query) = widget.get("query") else {
            continue;
        };
        let mut entry = json!({
            "id": widget.get("id").cloned().unwrap_or(Value::Null),
            "title": widget.get("title").cloned().unwrap_or(Value::Null),
            "query_id": query.clone(),
        });
        let outcome = in_subtransaction(|| {
            let id = query.as_str().and_then(uuid_from_str).unwrap_or_else(|| {
                invalid_argument(format!(
                    "widget's \"query\" {query} is not a saved query's uuid"
                ))
            });
            let (_, declared) = load_query(tenant, id);
            let declarations = parse_declarations(&declared)
                .unwrap_or_else(|e| invalid_argument(format!("saved query {id}: {e}")));
            let parameters = widget_parameters(&merged, widget.get("parameters"), &declarations)
                .unwrap_or_else(|e| invalid_argument(e));
            run_saved_query(tenant, id, &Value::Object(parameters), 1000)
        });
        match outcome {
            Ok(result) => entry["result"] = result,
            Err(error) => entry["error"] = caught_error(&error),
        }
        results.push(entry);
    }
    json!({"dashboard": {"id": dashboard.to_string(), "name": name}, "widgets": results})
}

fn uuid_from_str(text: &str) -> Option<Uuid> {
    let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 || text.len() != 36 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        bytes[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(Uuid::from_bytes(bytes))
}

// ---------------------------------------------------------------------------
// The SQL functions.

/// Runs a saved query of `tenant` under the sandbox's rules (see the module).
#[pg_extern(volatile, parallel_unsafe)]
fn run_analytics_query(
    tenant: Option<Uuid>,
    query: Option<Uuid>,
    parameters: default!(Option<JsonB>, "'{}'"),
    max_rows: default!(Option<i32>, "1000"),
) -> JsonB {
    let tenant = required(tenant, "tenant");
    let query = required(query, "query");
    let parameters = required(parameters, "parameters").0;
    let max_rows = required(max_rows, "max_rows");
    JsonB(run_saved_query(tenant, query, &parameters, max_rows))
}

/// Every saved-query widget of a dashboard of `tenant`, each result or error.
#[pg_extern(volatile, parallel_unsafe)]
fn render_dashboard(
    tenant: Option<Uuid>,
    dashboard: Option<Uuid>,
    filters: default!(Option<JsonB>, "'{}'"),
) -> JsonB {
    let tenant = required(tenant, "tenant");
    let dashboard = required(dashboard, "dashboard");
    let filters = required(filters, "filters").0;
    JsonB(render_saved_dashboard(tenant, dashboard, &filters))
}

pgrx::extension_sql_file!(
    "sandbox.sql",
    name = "analytics_sandbox",
    requires = [
        "analytics",
        "tenancy",
        "tenants",
        "webhooks",
        "integrations",
        "usage",
        "logs",
        "integrations_outbound",
        "stripe",
        "sendgrid_events",
        "keyring",
        "monitoring",
        run_analytics_query,
        render_dashboard
    ]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered_parameters() {
        let (sql, names) =
            substitute_placeholders("SELECT {{a}}, {{ b }}, {{a}}, '{{not a name}}', {{");
        assert_eq!(sql, "SELECT $1, $2, $1, '{{not a name}}', {{");
        assert_eq!(names, vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn declarations_are_strict() {
        assert!(parse_declarations(&json!({"x": {"type": "integer", "default": 3}})).is_ok());
        assert!(parse_declarations(&json!({"x": {"type": "bigint"}})).is_err());
        assert!(parse_declarations(&json!({"x": {"type": "text", "colour": 1}})).is_err());
        assert!(parse_declarations(&json!({"currency": "EUR"})).is_err());
        assert!(parse_declarations(&json!({"bad name": {"type": "text"}})).is_err());
        assert!(parse_declarations(&json!([])).is_err());
    }

    #[test]
    fn parameters_resolve_or_name_the_problem() {
        let declared = parse_declarations(&json!({
            "n": {"type": "integer", "default": 5},
            "s": {"type": "text", "required": true},
            "d": {"type": "date"}
        }))
        .unwrap();
        let names = vec!["n".to_string(), "s".to_string(), "d".to_string()];
        let given = json!({"s": "x"});
        let values = resolve_parameters(&declared, &names, given.as_object().unwrap()).unwrap();
        assert_eq!(values[0], (ParameterType::Integer, Some("5".into())));
        assert_eq!(values[2], (ParameterType::Date, None));
        let err = |given: Value| {
            resolve_parameters(&declared, &names, given.as_object().unwrap()).unwrap_err()
        };
        assert!(err(json!({})).contains("\"s\""));
        assert!(err(json!({"s": "x", "zz": 1})).contains("\"zz\""));
        assert!(err(json!({"s": "x", "n": 1.5})).contains("\"n\""));
        assert!(err(json!({"s": 3})).contains("\"s\""));
        let undeclared = resolve_parameters(
            &declared,
            &["q".to_string()],
            json!({"s": "x"}).as_object().unwrap(),
        );
        assert!(undeclared.unwrap_err().contains("\"q\""));
    }

    #[test]
    fn values_map_to_json() {
        assert_eq!(json_value(Some("t"), pg_sys::BOOLOID), json!(true));
        assert_eq!(json_value(Some("42"), pg_sys::INT8OID), json!(42));
        assert_eq!(json_value(Some("1.50"), pg_sys::NUMERICOID), json!(1.5));
        assert_eq!(json_value(Some("12"), pg_sys::NUMERICOID), json!(12));
        assert_eq!(
            json_value(Some("12345678901234567.1"), pg_sys::NUMERICOID),
            json!("12345678901234567.1")
        );
        assert_eq!(json_value(Some("NaN"), pg_sys::NUMERICOID), json!("NaN"));
        assert_eq!(
            json_value(Some("Infinity"), pg_sys::FLOAT8OID),
            json!("Infinity")
        );
        assert_eq!(json_value(None, pg_sys::TEXTOID), Value::Null);
        assert_eq!(
            json_value(Some("{\"a\": 1}"), pg_sys::JSONBOID),
            json!({"a": 1})
        );
        assert_eq!(
            json_value(Some("2026-03-29 01:30:00.5+01"), pg_sys::TIMESTAMPTZOID),
            json!("2026-03-29T01:30:00.5+01:00")
        );
        assert_eq!(
            json_value(Some("2026-03-29 01:30:00+05:30"), pg_sys::TIMESTAMPTZOID),
            json!("2026-03-29T01:30:00+05:30")
        );
        assert_eq!(
            json_value(Some("2026-03-29 01:30:00"), pg_sys::TIMESTAMPOID),
            json!("2026-03-29T01:30:00")
        );
        assert_eq!(
            json_value(Some("infinity"), pg_sys::TIMESTAMPTZOID),
            json!("infinity")
        );
    }

    #[test]
    fn widgets_take_filters_by_name_or_mapping() {
        let declared =
            parse_declarations(&json!({"since": {"type": "date"}, "n": {"type": "integer"}}))
                .unwrap();
        let filters = json!({"since": "2026-01-01", "region": "eu", "limit": 3});
        let filters = filters.as_object().unwrap();
        let plain = widget_parameters(filters, None, &declared).unwrap();
        assert_eq!(Value::Object(plain), json!({"since": "2026-01-01"}));
        let mapped = widget_parameters(filters, Some(&json!({"n": "limit"})), &declared).unwrap();
        assert_eq!(
            Value::Object(mapped),
            json!({"since": "2026-01-01", "n": 3})
        );
        assert!(widget_parameters(filters, Some(&json!([1])), &declared).is_err());
    }
}
