"""Report files (0.12.0): render_analytics_result(result, format, title) in every
format, each file opened with a real reader (report_readers: Python's csv and
json, html.parser, openpyxl, pypdf) and compared cell by cell.

A throwaway cluster of its own (54420 `reports-render`, no preload: the
function reads no table and needs no worker). The results are built directly as
run_analytics_query writes them (awkward values on purpose) and from real
SELECT output (to_jsonb of the columns of a query).
"""

import csv
import io
import json
from decimal import Decimal

import psycopg
import pytest
from psycopg.types.json import Jsonb

import report_readers
from report_readers import FORMATS, expected_cell, read_notes, read_report
import test_delivery

APP_ROLE = "report_files_app"


@pytest.fixture(scope="module")
def db():
    cluster = test_delivery._cluster_fixture("reports-render", 54420, "report_files", [
        "marimo_erp.database = 'report_files'",
    ])
    try:
        cluster.db.rows(f"DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN IN ROLE marimo_app;"
                        " EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        yield cluster.db
    finally:
        cluster.stop()


def app_connection(db):
    return psycopg.connect(host=db.cluster.dir, port=db.cluster.port, user=APP_ROLE,
                           dbname=db.dbname, autocommit=True)


def render(db, result, fmt, title="Report"):
    """render_analytics_result of result (JSON text, or a dict) as bytes."""
    text = result if isinstance(result, str) else json.dumps(result)
    return bytes(db.value("SELECT render_analytics_result(%s::jsonb, %s, %s)", (text, fmt, title)))


def parse(text):
    """JSON text with its numbers exact (Decimal)."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def as_stored(db, text):
    """The result as the jsonb holds it (numbers as numeric writes them: 1e2 is 100)."""
    return parse(db.value("SELECT %s::jsonb::text", (text,)))


def expected_table(fmt, columns, rows):
    return [[expected_cell(fmt, c) for c in columns]] + [[expected_cell(fmt, v) for v in row] for row in rows]


# Awkward values: commas, quotes, newlines, tabs, unicode, HTML specials, formula
# starts, NULL, booleans, timestamps as given, exact numerics.
AWKWARD = """{
 "columns": [{"name": "id", "type": "integer"}, {"name": "label, \\"quoted\\"", "type": "text"},
             {"name": "ok", "type": "boolean"}, {"name": "at", "type": "timestamptz"},
             {"name": "amount", "type": "numeric"}, {"name": "nothing", "type": "text"}],
 "rows": [
  [1, "plain", true, "2026-03-29T01:30:00+00:00", 12.50, null],
  [2, "comma, \\"quote\\" and\\nnewline\\ttab", false, "2026-10-25 02:30:00+01", -0.1, "x"],
  [3, "<b>&amp; 'single' \\"double\\"</b>", null, null, 12345678901234567890.123456789, ""],
  [-4, "=SUM(A1:A9)", true, "1999-12-31T23:59:59.999999Z", 0, "+1"],
  [5, "-5", false, "2026-02-29", -5, "@cmd"],
  [6, "é€✓ 日本語 \\u00e9", true, "", 1e2, "\\tlead tab"]
 ],
 "row_count": 6, "truncated": false, "duration_ms": 3.2
}"""


@pytest.mark.parametrize("fmt", FORMATS)
def test_query_result_every_cell(db, fmt):
    result = as_stored(db, AWKWARD)
    content = render(db, AWKWARD, fmt, "Awkward <&> report")
    sections = read_report(fmt, content)
    columns = [c["name"] for c in result["columns"]]
    assert sections == [expected_table(fmt, columns, result["rows"])]
    assert read_notes(fmt, content) == [None]


def test_csv_is_rfc_4180(db):
    """Byte for byte what Python's csv writer makes with CRLF: quoting, doubled quotes, the guard."""
    result = as_stored(db, AWKWARD)
    content = render(db, AWKWARD, "csv", "Awkward")
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Awkward"])
    writer.writerow([c["name"] for c in result["columns"]])
    for row in result["rows"]:
        writer.writerow([expected_cell("csv", v) for v in row])
    assert content.decode("utf-8") == out.getvalue()
    assert b"'=SUM(A1:A9)" in content and b"'@cmd" in content and b"'-5" in content
    assert b"\r\n-4," in content  # the number -4 is not guarded


def test_from_select_output(db):
    """A result built from a real query's rows (to_jsonb of each column), in every format."""
    query = """
        WITH t(n, label, at, ok, amount, day) AS (VALUES
            (1, 'a,b', timestamptz '2026-03-29 01:30:00+00', true, 12.50::numeric, date '2024-02-29'),
            (2, E'line\\nbreak "q"', timestamptz '2026-10-25 00:30:00+00', false, -0.001, NULL),
            (3, '<tag> & ''x''', NULL, NULL, 100000000000000000000.5, date '2026-12-01'))
        SELECT jsonb_build_object(
            'columns', jsonb_build_array(
                jsonb_build_object('name', 'n', 'type', 'integer'),
                jsonb_build_object('name', 'label', 'type', 'text'),
                jsonb_build_object('name', 'at', 'type', 'timestamptz'),
                jsonb_build_object('name', 'ok', 'type', 'boolean'),
                jsonb_build_object('name', 'amount', 'type', 'numeric'),
                jsonb_build_object('name', 'day', 'type', 'date')),
            'rows', (SELECT jsonb_agg(jsonb_build_array(to_jsonb(n), to_jsonb(label), to_jsonb(at),
                                                        to_jsonb(ok), to_jsonb(amount), to_jsonb(day))
                                      ORDER BY n) FROM t),
            'row_count', 3, 'truncated', false, 'duration_ms', 1)::text
    """
    text = db.value(query)
    result = parse(text)
    assert str(result["rows"][0][4]) == "12.50"  # the jsonb keeps numeric's digits
    for fmt in FORMATS:
        content = db.value("SELECT render_analytics_result((" + query + ")::jsonb, %s)", (fmt,))
        sections = read_report(fmt, bytes(content))
        assert sections == [expected_table(fmt, ["n", "label", "at", "ok", "amount", "day"], result["rows"])], fmt


DASHBOARD = {
    "dashboard": {"id": "00000000-0000-0000-0000-000000000001", "name": "Ops"},
    "widgets": [
        {"id": "w1", "title": "Orders per day", "query_id": "q1",
         "result": {"columns": [{"name": "day", "type": "date"}, {"name": "orders", "type": "bigint"}],
                    "rows": [["2026-12-01", 10], ["2026-12-02", 0]],
                    "row_count": 2, "truncated": True, "duration_ms": 1}},
        {"id": "w2", "title": "Slow one", "query_id": "q2",
         "error": {"sqlstate": "57014", "message": "canceling statement due to statement timeout"}},
        {"id": "w3", "title": "Orders per day", "query_id": "q3",
         "result": {"columns": [{"name": "only", "type": "text"}], "rows": [[None], ["x"]],
                    "row_count": 2, "truncated": False, "duration_ms": 1}},
    ],
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_dashboard_one_table_per_widget(db, fmt):
    content = render(db, DASHBOARD, fmt, "Ops dashboard")
    sections = read_report(fmt, content)
    assert sections == [
        [["day", "orders"], ["2026-12-01", "10"], ["2026-12-02", "0"]],
        [["Error: canceling statement due to statement timeout (SQLSTATE 57014)"]],
        [["only"], [""], ["x"]],
    ]
    notes = read_notes(fmt, content)
    assert notes[0] is not None and notes[1] is None and notes[2] is None
    if fmt != "json":
        assert notes[0].startswith("Truncated") and "first 2" in notes[0]


def test_xlsx_sheets_and_types(db):
    import openpyxl

    content = render(db, DASHBOARD, "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(content))
    # Unique valid names: the second "Orders per day" is renamed.
    assert book.sheetnames == ["Orders per day", "Slow one", "Orders per day (2)"]
    sheet = book["Orders per day"]
    assert sheet["A1"].font.b and sheet["B1"].font.b
    assert sheet["B2"].value == 10 and isinstance(sheet["B2"].value, int)
    assert sheet["A4"].value is None and sheet["A5"].value.startswith("Truncated")
    awkward = openpyxl.load_workbook(io.BytesIO(render(db, AWKWARD, "xlsx", "a/b:c*d?[e]\\f" + "x" * 40)))
    name = awkward.sheetnames[0]
    assert len(name) <= 31 and not any(c in name for c in "[]:*?/\\")
    sheet = awkward.worksheets[0]
    assert sheet["E2"].value == 12.5 and sheet["C2"].value is True
    assert sheet["E4"].value == "12345678901234567890.123456789"  # more digits than a double: text


def test_pdf_pages_header_and_page_numbers(db):
    import pypdf

    rows = [[i, f"row {i}", "x" * 400 if i == 7 else "short"] for i in range(1, 121)]
    result = {"columns": [{"name": "n"}, {"name": "label"}, {"name": "long"}], "rows": rows,
              "row_count": 120, "truncated": False, "duration_ms": 1}
    content = render(db, result, "pdf", "Long report")
    reader = pypdf.PdfReader(io.BytesIO(content))
    pages = len(reader.pages)
    assert pages >= 3
    box = reader.pages[0].mediabox
    assert float(box.width) > float(box.height)  # landscape
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"Page {number} of {pages}" in text
        assert "label" in text  # the header row on every page
        fonts = page["/Resources"]["/Font"]
        for font in fonts.values():
            font = font.get_object()
            assert font["/Encoding"] == "/WinAnsiEncoding" and "/FontDescriptor" not in font
    assert "Long report" in reader.pages[0].extract_text()
    table = read_report("pdf", content)[0]
    assert table[0] == ["n", "label", "long"]
    assert len(table) == 121
    for i, row in enumerate(table[1:], start=1):
        assert row[:2] == [str(i), f"row {i}"]
        if i == 7:
            assert row[2].endswith("…") and row[2][:-1] == "x" * (len(row[2]) - 1) and len(row[2]) < 400
        else:
            assert row[2] == "short"


def test_application_role_may_render(db):
    with app_connection(db) as conn:
        content = conn.execute("SELECT render_analytics_result(%s::jsonb, 'csv', 't')",
                               (json.dumps(DASHBOARD),)).fetchone()[0]
    assert read_report("csv", bytes(content))[0][0] == ["day", "orders"]


@pytest.mark.parametrize("args, sqlstate, word", [
    (("{}", "csv", "t"), "22023", "result"),
    (('{"columns": [{"name": "a"}], "rows": [[1, 2]]}', "csv", "t"), "22023", "result"),
    (('{"widgets": [{"id": "w"}]}', "csv", "t"), "22023", "result"),
    (('[]', "json", "t"), "22023", "result"),
    (('{"columns": [], "rows": []}', "docx", "t"), "22023", "format"),
    ((None, "csv", "t"), "22004", "result"),
    (('{"columns": [], "rows": []}', None, "t"), "22004", "format"),
    (('{"columns": [], "rows": []}', "csv", None), "22004", "title"),
])
def test_bad_arguments(db, args, sqlstate, word):
    with pytest.raises(psycopg.Error) as caught:
        db.value("SELECT render_analytics_result(%s::jsonb, %s, %s)", args)
    assert caught.value.sqlstate == sqlstate
    assert f'"{word}"' in str(caught.value)


def test_truncated_note_in_every_format(db):
    result = {"columns": [{"name": "n"}], "rows": [[1], [2]], "row_count": 2, "truncated": True,
              "duration_ms": 1}
    for fmt in FORMATS:
        content = render(db, result, fmt)
        assert read_report(fmt, content) == [[["n"], ["1"], ["2"]]], fmt
        note = read_notes(fmt, content)[0]
        assert note is not None, fmt
        if fmt == "json":
            assert json.loads(content)["sections"][0]["truncated"] is True
        else:
            assert "Truncated" in note and "first 2" in note, (fmt, note)


def test_content_is_what_each_format_says(db):
    result = {"columns": [{"name": "n"}], "rows": [[1]], "row_count": 1, "truncated": False, "duration_ms": 1}
    assert render(db, result, "pdf").startswith(b"%PDF-")
    assert render(db, result, "xlsx").startswith(b"PK")
    html = render(db, result, "html").decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html and "<thead>" in html
    doc = json.loads(render(db, result, "json", "Title"))
    assert doc["title"] == "Title" and doc["generated_at"].endswith("Z")
    assert report_readers.CONTENT_TYPES["xlsx"].startswith("application/vnd.openxmlformats")
