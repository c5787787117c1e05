"""RUNNER PLACEHOLDER: opens a report file and returns its table, header row first.

read_report(format, content) -> list of rows (lists of strings), the first
section's header row first. This minimal version reads only the render
placeholder's JSON ({"title", "sections": [{"heading", "columns", "rows"}]});
the render part's report_readers.py (csv, json, html, xlsx, pdf with real
readers) replaces it at merge.
"""

import json


def _text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_report(format, content):
    document = json.loads(bytes(content).decode("utf-8"))
    if format != "json" and document.get("sections") is None:
        raise ValueError(f"cannot read {format} with the placeholder reader")
    section = document["sections"][0]
    return [list(section["columns"])] + [[_text(v) for v in row] for row in section["rows"]]
