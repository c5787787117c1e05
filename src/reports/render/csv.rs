//! CSV (RFC 4180: CRLF line ends, fields quoted when they hold `,` `"` CR or LF,
//! quotes doubled; UTF-8 without a byte order mark).
//!
//! Layout, the same for one query and for a dashboard: each section is a block of
//! records, and blocks are separated by one empty line:
//! 1. a heading record: the section's heading, then, when there is one, a second
//!    field with its note (`Truncated: ...` or `Error: ...`);
//! 2. the header record (the column names), unless the section failed;
//! 3. one record per row.
//!
//! A record that would be an empty line (one column, empty value) is written as
//! `""`, so an empty line always separates sections.
//!
//! Spreadsheet formula injection (OWASP, "CSV Injection"): a text field (a heading,
//! a column name, a string value) that starts with `=`, `+`, `-`, `@`, a tab or a
//! carriage return gets a leading `'`, so a spreadsheet shows it as text instead
//! of running it. JSON numbers are written as they are (`-5` stays a number).
use serde_json::Value;

use crate::reports::document::{cell_text, ReportDocument};

/// A text field with the formula guard.
fn guarded(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

fn value_field(value: &Value) -> String {
    match value {
        Value::String(text) => guarded(text),
        other => cell_text(other),
    }
}

fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

fn push_record(out: &mut String, fields: &[String]) {
    if fields.len() == 1 && fields[0].is_empty() {
        out.push_str("\"\"");
    }
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, field);
    }
    out.push_str("\r\n");
}

pub fn render(document: &ReportDocument) -> Vec<u8> {
    let mut out = String::new();
    for (i, section) in document.sections.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        let mut heading = vec![guarded(&section.heading)];
        if let Some(error) = &section.error {
            heading.push(guarded(&format!("Error: {error}")));
        } else if let Some(note) = section.truncation_note() {
            heading.push(note);
        }
        push_record(&mut out, &heading);
        if section.error.is_none() {
            let header: Vec<String> = section.columns.iter().map(|c| guarded(c)).collect();
            push_record(&mut out, &header);
            for row in &section.rows {
                let fields: Vec<String> = row.iter().map(value_field).collect();
                push_record(&mut out, &fields);
            }
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_quoting_and_guard() {
        let doc = crate::reports::render::sample::document();
        let text = String::from_utf8(render(&doc)).unwrap();
        let expected = concat!(
            "Orders,Truncated: the result had more rows than the row cap; only the first 3 are shown.\r\n",
            "id,note,ok,at\r\n",
            "1,\"a, \"\"b\"\"\nc\td\",true,2026-01-01T10:00:00+00:00\r\n",
            "-2.5,'=SUM(A1),,\r\n",
            "3,<b>&'é€✓,false,\r\n",
            "\r\n",
            "Broken,Error: canceling statement due to statement timeout (SQLSTATE 57014)\r\n",
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn one_empty_column_is_not_an_empty_line() {
        let mut out = String::new();
        push_record(&mut out, &[String::new()]);
        assert_eq!(out, "\"\"\r\n");
        assert_eq!(guarded("\tx"), "'\tx");
        assert_eq!(guarded("+1"), "'+1");
        assert_eq!(guarded("a=b"), "a=b");
    }
}
