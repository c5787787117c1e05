//! JSON: `{"title", "generated_at", "sections": [{"heading", "columns", "rows",
//! "truncated", "error"}]}`, values exactly as the result held them.
use serde_json::json;

use crate::reports::document::ReportDocument;

pub fn render(document: &ReportDocument) -> Vec<u8> {
    let sections: Vec<serde_json::Value> = document
        .sections
        .iter()
        .map(|s| {
            json!({
                "heading": s.heading,
                "columns": s.columns,
                "rows": s.rows,
                "truncated": s.truncated,
                "error": s.error,
            })
        })
        .collect();
    let body = json!({
        "title": document.title,
        "generated_at": document.generated_at,
        "sections": sections,
    });
    // Serializing a Value cannot fail.
    serde_json::to_vec_pretty(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn round_trip() {
        let doc = crate::reports::render::sample::document();
        let back: Value = serde_json::from_slice(&render(&doc)).unwrap();
        assert_eq!(back["title"], doc.title.as_str());
        assert_eq!(
            back["sections"][0]["rows"][0][1],
            doc.sections[0].rows[0][1]
        );
        assert_eq!(back["sections"][0]["truncated"], true);
        assert_eq!(
            back["sections"][1]["error"],
            doc.sections[1].error.clone().unwrap().as_str()
        );
        assert_eq!(back["sections"][0]["error"], Value::Null);
    }
}
