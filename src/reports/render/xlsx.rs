//! Excel (xlsx, through rust_xlsxwriter): one worksheet per section, in order.
//!
//! - Sheet names come from the headings: the characters Excel forbids (`[ ] : * ? / \`)
//!   become spaces, apostrophes at either end are dropped, at most 31 characters,
//!   `Sheet <n>` for an empty name, " (2)", " (3)"... for a name already taken (Excel
//!   compares them case-insensitively; the reserved "History" counts as taken).
//! - Row 1 is the header row, in bold, frozen; then one row per result row. A JSON
//!   number is a number cell when a double holds it exactly as written (`12.50` is
//!   the number 12.5, so Excel computes with it), else (more digits than a double
//!   holds) a text cell with its exact digits; booleans
//!   are boolean cells; NULL is an empty cell; every other value is a text cell
//!   (timestamps as the result wrote them). Text longer than Excel's 32,767 characters
//!   is cut with "…".
//! - Excel holds 1,048,576 rows: at most 1,048,575 result rows per sheet. A section
//!   with more is cut there and noted as truncated.
//! - Notes are in italic: a failed widget's sheet has only `Error: ...` in A1; a
//!   truncated section's note is in column A two rows below its last row (beside the
//!   header row, after the last column, when the sheet is full).
//! - Columns beyond Excel's 16,384 are left out (a section never has so many: a
//!   PostgreSQL result has at most 1,664 columns).
use rust_xlsxwriter::{Format, Workbook, Worksheet};
use serde_json::Value;

use crate::reports::document::{cell_text, ReportDocument, Section};

/// Excel's rows per sheet, the header row included.
const EXCEL_ROWS: usize = 1_048_576;
/// Result rows a sheet holds under its header row.
pub const MOST_DATA_ROWS: usize = EXCEL_ROWS - 1;
const EXCEL_COLUMNS: usize = 16_384;
const MOST_CELL_CHARACTERS: usize = 32_767;

/// A valid sheet name for `heading` not yet in `taken` (lower case), added to it.
pub fn sheet_name(heading: &str, index: usize, taken: &mut Vec<String>) -> String {
    let cleaned: String = heading
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => ' ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    // Excel refuses a name that begins or ends with an apostrophe: trim after
    // cutting to 31 characters, where the cut may have left one at the end.
    let cut: String = cleaned.trim().chars().take(31).collect();
    let mut base = cut.trim().trim_matches('\'').trim().to_string();
    if base.is_empty() {
        base = format!("Sheet {}", index + 1);
    }
    let is_taken = |name: &str, taken: &Vec<String>| {
        let lower = name.to_lowercase();
        lower == "history" || taken.contains(&lower)
    };
    let mut name = base.clone();
    let mut n = 2;
    while is_taken(&name, taken) {
        let suffix = format!(" ({n})");
        let keep = 31 - suffix.chars().count();
        let stem: String = base.chars().take(keep).collect();
        name = format!("{}{suffix}", stem.trim_end_matches('\''));
        n += 1;
    }
    taken.push(name.to_lowercase());
    name
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MOST_CELL_CHARACTERS {
        text.to_owned()
    } else {
        let mut kept: String = text.chars().take(MOST_CELL_CHARACTERS - 1).collect();
        kept.push('…');
        kept
    }
}

/// `text` (a JSON number) as (negative, significant digits, exponent) with
/// value = 0.digits × 10^exponent, no leading or trailing zero digit; zero is ("", 0).
fn canonical(text: &str) -> Option<(bool, String, i64)> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], rest[at + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let significant = digits.trim_matches('0').to_owned();
    if significant.is_empty() {
        return Some((false, String::new(), 0));
    }
    let exponent = exponent + whole.len() as i64 - leading as i64;
    Some((negative, significant, exponent))
}

/// The double that holds `number` exactly as written (its shortest form has the same
/// decimal value: `12.50` and `0.1` do, a 20-digit integer does not), if any.
fn exact_double(number: &serde_json::Number) -> Option<f64> {
    let value = number.as_f64()?;
    if !value.is_finite() {
        return None;
    }
    let written = canonical(&number.to_string())?;
    (canonical(&format!("{value:e}"))? == written).then_some(value)
}

fn write_cell(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    value: &Value,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    match value {
        Value::Null => {}
        Value::Bool(flag) => {
            sheet.write_boolean(row, col, *flag)?;
        }
        Value::Number(number) => match exact_double(number) {
            Some(double) => {
                sheet.write_number(row, col, double)?;
            }
            None => {
                sheet.write_string(row, col, number.to_string())?;
            }
        },
        other => {
            sheet.write_string(row, col, cut(&cell_text(other)))?;
        }
    }
    Ok(())
}

/// How many of `section`'s rows a sheet of at most `most_rows` shows, and its note
/// when the row cap or the sheet cut the result short.
fn rows_and_note(section: &Section, most_rows: usize) -> (usize, Option<String>) {
    let shown = section.rows.len().min(most_rows);
    let note = if shown < section.rows.len() {
        Some(format!(
            "Truncated: the result had more rows than a worksheet holds; only the first {shown} are shown."
        ))
    } else {
        section.truncation_note()
    };
    (shown, note)
}

fn build(document: &ReportDocument) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    build_with(document, MOST_DATA_ROWS)
}

/// The workbook with at most `most_rows` result rows per sheet (MOST_DATA_ROWS; less in tests).
fn build_with(
    document: &ReportDocument,
    most_rows: usize,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let italic = Format::new().set_italic();
    let mut taken = Vec::new();
    if document.sections.is_empty() {
        let sheet = workbook.add_worksheet();
        sheet.set_name(sheet_name(&document.title, 0, &mut taken))?;
        sheet.write_string_with_format(0, 0, "No sections.", &italic)?;
    }
    for (index, section) in document.sections.iter().enumerate() {
        let sheet = workbook.add_worksheet();
        sheet.set_name(sheet_name(&section.heading, index, &mut taken))?;
        if let Some(error) = &section.error {
            sheet.write_string_with_format(0, 0, cut(&format!("Error: {error}")), &italic)?;
            continue;
        }
        let columns = section.columns.len().min(EXCEL_COLUMNS);
        for (col, name) in section.columns.iter().take(columns).enumerate() {
            sheet.write_string_with_format(0, col as u16, cut(name), &bold)?;
            let width = name.chars().count().clamp(8, 40) as f64 + 2.0;
            sheet.set_column_width(col as u16, width)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        let (shown, note) = rows_and_note(section, most_rows);
        for (r, row) in section.rows.iter().take(shown).enumerate() {
            for (col, value) in row.iter().take(columns).enumerate() {
                write_cell(sheet, (r + 1) as u32, col as u16, value)?;
            }
        }
        if let Some(note) = note {
            if shown + 3 <= EXCEL_ROWS {
                sheet.write_string_with_format((shown + 2) as u32, 0, note, &italic)?;
            } else {
                // No row left below the table: the note goes beside the header row.
                let col = columns.min(EXCEL_COLUMNS - 1) as u16;
                sheet.write_string_with_format(0, col, note, &italic)?;
            }
        }
    }
    workbook.save_to_buffer()
}

pub fn render(document: &ReportDocument) -> Vec<u8> {
    match build(document) {
        Ok(bytes) => bytes,
        // Every name and value is made valid above; a failure here is a bug.
        Err(error) => crate::infra::errors::raise(
            pgrx::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("marimo_erp: could not write the xlsx report: {error}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names() {
        let mut taken = Vec::new();
        assert_eq!(
            sheet_name("Sales [EU]: a/b?", 0, &mut taken),
            "Sales  EU   a b"
        );
        assert_eq!(sheet_name("", 1, &mut taken), "Sheet 2");
        assert_eq!(sheet_name("history", 2, &mut taken), "history (2)");
        let long = "x".repeat(40);
        assert_eq!(sheet_name(&long, 3, &mut taken), "x".repeat(31));
        assert_eq!(
            sheet_name(&long, 4, &mut taken),
            format!("{} (2)", "x".repeat(27))
        );
        assert_eq!(
            sheet_name("SALES  EU   A B", 5, &mut taken),
            "SALES  EU   A B (2)"
        );
        assert_eq!(sheet_name("'quoted'", 6, &mut taken), "quoted");
        // The 31st character an apostrophe: cut, then trimmed (Excel refuses it at the end).
        let apostrophe = format!("{}'tail", "y".repeat(30));
        assert_eq!(sheet_name(&apostrophe, 7, &mut taken), "y".repeat(30));
        for name in &taken {
            rust_xlsxwriter::Worksheet::new()
                .set_name(name.clone())
                .unwrap();
        }
    }

    #[test]
    fn exact_numbers() {
        let n = |s: &str| serde_json::from_str::<serde_json::Number>(s).unwrap();
        assert_eq!(exact_double(&n("42")), Some(42.0));
        assert_eq!(exact_double(&n("-2.5")), Some(-2.5));
        assert_eq!(exact_double(&n("12345678901234567890")), None);
        assert_eq!(exact_double(&n("12.50")), Some(12.5));
        assert_eq!(exact_double(&n("0.1")), Some(0.1));
        assert_eq!(exact_double(&n("0.10000000000000000001")), None);
        assert_eq!(exact_double(&n("1e2")), Some(100.0));
        assert_eq!(exact_double(&n("0")), Some(0.0));
        assert_eq!(exact_double(&n("9007199254740993")), None);
    }

    #[test]
    fn a_sheet_cut_at_its_row_limit_is_noted() {
        let mut doc = crate::reports::render::sample::document();
        let section = &mut doc.sections[0];
        section.truncated = false;
        assert_eq!(rows_and_note(section, 3), (3, None));
        let (shown, note) = rows_and_note(section, 2);
        assert_eq!(shown, 2);
        assert!(note
            .unwrap()
            .contains("more rows than a worksheet holds; only the first 2 are shown"));
        section.truncated = true;
        assert!(rows_and_note(section, 3)
            .1
            .unwrap()
            .contains("than the row cap; only the first 3"));
        build_with(&doc, 2).unwrap();
    }

    #[test]
    fn writes_a_workbook() {
        let bytes = build(&crate::reports::render::sample::document()).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
