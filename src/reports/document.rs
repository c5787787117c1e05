//! What a report holds before it is rendered: a title and one section per
//! query result (a saved query gives one section, a dashboard one per widget).
use serde_json::{Map, Value};

/// One table of a report: a saved query's result, or a widget's error.
#[derive(Clone, Debug, PartialEq)]
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
#[derive(Clone, Debug, PartialEq)]
pub struct ReportDocument {
    pub title: String,
    /// When the run that produced it started, in ISO 8601 UTC.
    pub generated_at: String,
    pub sections: Vec<Section>,
}

/// What a cell shows as text: a string as it is, a number as JSON writes it,
/// `true`/`false`, nothing for NULL, and an array or object as compact JSON.
pub fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        other => other.to_string(),
    }
}

impl Section {
    /// The note a truncated section carries, in every format.
    pub fn truncation_note(&self) -> Option<String> {
        self.truncated.then(|| {
            format!(
                "Truncated: the result had more rows than the row cap; only the first {} are shown.",
                self.rows.len()
            )
        })
    }

    /// A section from run_analytics_query's result object:
    /// `{"columns": [{"name", "type"}], "rows": [[...]], "row_count", "truncated", "duration_ms"}`.
    /// `Err` says what is wrong with its shape (`where_` names the place, e.g. `result`).
    pub fn from_query_result(
        heading: &str,
        result: &Value,
        where_: &str,
    ) -> Result<Section, String> {
        let object = result
            .as_object()
            .ok_or_else(|| format!("{where_} must be an object with \"columns\" and \"rows\""))?;
        let columns = object
            .get("columns")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{where_}.columns must be an array"))?;
        let columns = columns
            .iter()
            .enumerate()
            .map(|(i, column)| match column {
                // Column objects as run_analytics_query writes them; a bare name is taken too.
                Value::Object(c) => c
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{where_}.columns[{i}].name must be a string")),
                Value::String(name) => Ok(name.clone()),
                _ => Err(format!(
                    "{where_}.columns[{i}] must be an object with a \"name\""
                )),
            })
            .collect::<Result<Vec<String>, String>>()?;
        let rows = object
            .get("rows")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{where_}.rows must be an array"))?;
        let rows = rows
            .iter()
            .enumerate()
            .map(|(i, row)| match row.as_array() {
                Some(cells) if cells.len() == columns.len() => Ok(cells.clone()),
                Some(cells) => Err(format!(
                    "{where_}.rows[{i}] has {} values for {} columns",
                    cells.len(),
                    columns.len()
                )),
                None => Err(format!("{where_}.rows[{i}] must be an array")),
            })
            .collect::<Result<Vec<Vec<Value>>, String>>()?;
        let truncated = match object.get("truncated") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => return Err(format!("{where_}.truncated must be a boolean")),
        };
        Ok(Section {
            heading: heading.to_owned(),
            columns,
            rows,
            truncated,
            error: None,
        })
    }
}

/// A widget's error object `{"sqlstate", "message"}` as one line.
fn describe_error(error: &Value, where_: &str) -> Result<String, String> {
    match error {
        Value::Object(e) => {
            let message = e
                .get("message")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{where_}.message must be a string"))?;
            Ok(match e.get("sqlstate").and_then(Value::as_str) {
                Some(code) => format!("{message} (SQLSTATE {code})"),
                None => message.to_owned(),
            })
        }
        Value::String(message) => Ok(message.clone()),
        _ => Err(format!("{where_} must be an object with \"message\"")),
    }
}

fn text_of<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

impl ReportDocument {
    /// One saved query's result (run_analytics_query's object) as a report of one section
    /// headed by `title`. `Err` says what is wrong with the shape.
    pub fn from_query_result(
        title: &str,
        generated_at: &str,
        result: &Value,
    ) -> Result<ReportDocument, String> {
        Ok(ReportDocument {
            title: title.to_owned(),
            generated_at: generated_at.to_owned(),
            sections: vec![Section::from_query_result(title, result, "result")?],
        })
    }

    /// A dashboard (render_dashboard's object: `{"dashboard": {"id", "name"}, "widgets": [{"id",
    /// "title", "query_id", "result"} or {..., "error": {"sqlstate", "message"}}]}`) as a report
    /// of one section per widget, in order; a failed widget is a section with its error. A
    /// widget's heading is its title, else "Widget <id>", else "Widget <n>" (from 1).
    pub fn from_dashboard(
        title: &str,
        generated_at: &str,
        dashboard: &Value,
    ) -> Result<ReportDocument, String> {
        let widgets = dashboard
            .get("widgets")
            .and_then(Value::as_array)
            .ok_or_else(|| "result.widgets must be an array".to_owned())?;
        let mut sections = Vec::with_capacity(widgets.len());
        for (i, widget) in widgets.iter().enumerate() {
            let where_ = format!("result.widgets[{i}]");
            let object = widget
                .as_object()
                .ok_or_else(|| format!("{where_} must be an object"))?;
            let heading = text_of(object, "title")
                .map(str::to_owned)
                .or_else(|| text_of(object, "id").map(|id| format!("Widget {id}")))
                .unwrap_or_else(|| format!("Widget {}", i + 1));
            let section = match (object.get("result"), object.get("error")) {
                (_, Some(error)) if !error.is_null() => Section {
                    heading,
                    columns: Vec::new(),
                    rows: Vec::new(),
                    truncated: false,
                    error: Some(describe_error(error, &format!("{where_}.error"))?),
                },
                (Some(result), _) => {
                    Section::from_query_result(&heading, result, &format!("{where_}.result"))?
                }
                _ => return Err(format!("{where_} must have a \"result\" or an \"error\"")),
            };
            sections.push(section);
        }
        Ok(ReportDocument {
            title: title.to_owned(),
            generated_at: generated_at.to_owned(),
            sections,
        })
    }

    /// Either shape: a dashboard when `value` has `widgets`, else a query result.
    pub fn from_result(
        title: &str,
        generated_at: &str,
        value: &Value,
    ) -> Result<ReportDocument, String> {
        if value.get("widgets").is_some() {
            ReportDocument::from_dashboard(title, generated_at, value)
        } else {
            ReportDocument::from_query_result(title, generated_at, value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn query_result() {
        let result = json!({"columns": [{"name": "a", "type": "int4"}, {"name": "b", "type": "text"}],
                            "rows": [[1, "x"], [null, "y"]], "row_count": 2, "truncated": true,
                            "duration_ms": 1.5});
        let doc = ReportDocument::from_query_result("T", "2026-01-01T00:00:00Z", &result).unwrap();
        assert_eq!(doc.sections.len(), 1);
        let s = &doc.sections[0];
        assert_eq!(s.heading, "T");
        assert_eq!(s.columns, vec!["a", "b"]);
        assert_eq!(s.rows[1][0], Value::Null);
        assert!(s.truncated);
        assert!(s.truncation_note().unwrap().contains("first 2"));
    }

    #[test]
    fn bad_shapes() {
        let e = |v: Value| ReportDocument::from_result("T", "", &v).unwrap_err();
        assert!(e(json!([])).contains("result must be an object"));
        assert!(e(json!({"rows": []})).contains("result.columns"));
        assert!(e(json!({"columns": [{"name": "a"}], "rows": [[1, 2]]}))
            .contains("rows[0] has 2 values"));
        assert!(
            e(json!({"columns": [{"name": "a"}], "rows": [], "truncated": 1}))
                .contains("truncated")
        );
        assert!(e(json!({"widgets": [{"id": "w"}]})).contains("widgets[0] must have"));
        assert!(e(json!({"widgets": [{"result": {"columns": 1}}]}))
            .contains("widgets[0].result.columns"));
    }

    #[test]
    fn dashboard() {
        let value = json!({"dashboard": {"id": "d", "name": "D"}, "widgets": [
            {"id": "w1", "title": "Sales", "query_id": "q", "result": {"columns": [{"name": "n"}], "rows": [[1]]}},
            {"id": "w2", "query_id": "q", "error": {"sqlstate": "57014", "message": "canceled"}},
            {"query_id": "q", "result": {"columns": [], "rows": []}}]});
        let doc = ReportDocument::from_dashboard("Dash", "", &value).unwrap();
        let headings: Vec<_> = doc.sections.iter().map(|s| s.heading.as_str()).collect();
        assert_eq!(headings, ["Sales", "Widget w2", "Widget 3"]);
        assert_eq!(
            doc.sections[1].error.as_deref(),
            Some("canceled (SQLSTATE 57014)")
        );
    }

    #[test]
    fn cells() {
        assert_eq!(cell_text(&json!(null)), "");
        assert_eq!(cell_text(&json!(true)), "true");
        assert_eq!(cell_text(&json!(-1.25)), "-1.25");
        assert_eq!(cell_text(&json!("a,b")), "a,b");
        assert_eq!(cell_text(&json!({"k": [1]})), "{\"k\":[1]}");
    }

    #[test]
    fn numbers_keep_their_digits() {
        // serde_json's arbitrary_precision: a numeric from a jsonb is not rounded through f64.
        let row: Value =
            serde_json::from_str("[12.50, 12345678901234567890.123456789, -0.1, 0]").unwrap();
        let texts: Vec<String> = row.as_array().unwrap().iter().map(cell_text).collect();
        assert_eq!(
            texts,
            ["12.50", "12345678901234567890.123456789", "-0.1", "0"]
        );
    }
}
