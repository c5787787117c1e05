//! HTML: a complete UTF-8 document, the title as `<h1>`, each section as an
//! `<h2>` and one `<table>` with a `<thead>` (the header row) and a `<tbody>`;
//! notes (truncation, a widget's error) as paragraphs. Every text is escaped
//! (`& < > " '`); cells keep newlines and tabs (`white-space: pre-wrap`).
use crate::reports::document::{cell_text, ReportDocument};

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // NUL cannot appear in a jsonb string; other controls are kept as they are.
            c => out.push(c),
        }
    }
    out
}

pub fn render(document: &ReportDocument) -> Vec<u8> {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape(&document.title)));
    out.push_str(concat!(
        "<style>body{font-family:sans-serif}table{border-collapse:collapse;margin-bottom:1.5em}",
        "th,td{border:1px solid #999;padding:2px 6px;text-align:left;vertical-align:top;white-space:pre-wrap}",
        "th{background:#eee}.note{font-style:italic}.error{color:#a00}</style>\n</head>\n<body>\n"
    ));
    out.push_str(&format!("<h1>{}</h1>\n", escape(&document.title)));
    out.push_str(&format!(
        "<p class=\"generated\">Generated at {}</p>\n",
        escape(&document.generated_at)
    ));
    for section in &document.sections {
        out.push_str(&format!(
            "<section>\n<h2>{}</h2>\n",
            escape(&section.heading)
        ));
        if let Some(error) = &section.error {
            out.push_str(&format!(
                "<p class=\"error\">Error: {}</p>\n",
                escape(error)
            ));
        } else {
            out.push_str("<table>\n<thead>\n<tr>");
            for column in &section.columns {
                out.push_str(&format!("<th>{}</th>", escape(column)));
            }
            out.push_str("</tr>\n</thead>\n<tbody>\n");
            for row in &section.rows {
                out.push_str("<tr>");
                for value in row {
                    out.push_str(&format!("<td>{}</td>", escape(&cell_text(value))));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
            if let Some(note) = section.truncation_note() {
                out.push_str(&format!("<p class=\"note\">{}</p>\n", escape(&note)));
            }
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_tables() {
        let doc = crate::reports::render::sample::document();
        let html = String::from_utf8(render(&doc)).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>Sales &lt;&amp;&gt; &quot;Q1&quot;</title>"));
        assert!(html.contains("<td>&lt;b&gt;&amp;&#39;é€✓</td>"));
        assert!(html.contains("<thead>\n<tr><th>id</th><th>note</th><th>ok</th><th>at</th></tr>"));
        assert!(html.contains("<p class=\"error\">Error: canceling"));
        assert_eq!(html.matches("<table>").count(), 1);
        assert!(!html.contains("<b>"));
    }
}
