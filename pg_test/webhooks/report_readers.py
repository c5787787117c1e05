"""Report files (0.12.0) read back with real readers: Python's csv and json,
html.parser, openpyxl and pypdf. Shared by test_report_files.py and the report
runner's tests, so both check the files the same way.

read_report(format, content) -> sections, each a list of rows, each a list of
cells (str), header row first. A failed dashboard widget's section is one row of
one cell, "Error: <message>". read_notes(format, content) gives each section's
truncation note (or None). expected_cell(format, value) is what a JSON value of a
result looks like in a file of that format (the formula guard of csv, WinAnsi
of pdf), so a test can compare every cell.
"""

import csv
import io
import json
from decimal import Decimal
from html.parser import HTMLParser

FORMATS = ("csv", "json", "html", "xlsx", "pdf")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def json_text(value):
    """A result value as every format writes it: NULL empty, true/false, numbers as JSON."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):  # a number parsed exactly (json.loads(parse_float=Decimal))
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(value)


def win_ansi(text):
    """What pdf shows of text: a control becomes a space, a character outside Windows-1252 '?'."""
    out = []
    for ch in text:
        code = ord(ch)
        if code < 0x20 or 0x7F <= code <= 0x9F:
            out.append(" ")
            continue
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            out.append("?")
    return "".join(out)


def expected_cell(fmt, value):
    """The cell of a result value (parse the result with parse_float=Decimal, parse_int=Decimal
    to keep numbers exact) in a file of fmt."""
    if fmt == "xlsx" and isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
        # A number cell when a double holds the value exactly as written, else its digits as text.
        double = float(value)
        if Decimal(repr(double)) == Decimal(value):
            return str(int(double)) if double.is_integer() and abs(double) < 2**53 else repr(double)
        return json_text(value)
    text = json_text(value)
    if fmt == "csv" and isinstance(value, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    if fmt == "pdf":
        shown = win_ansi(text)
        return "" if shown.strip() == "" else shown
    return text


# -- csv ----------------------------------------------------------------------

def _csv_blocks(content):
    text = content.decode("utf-8")
    assert not text.startswith("\ufeff"), "no byte order mark"
    records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    blocks, block = [], []
    for record in records:
        if record == []:
            blocks.append(block)
            block = []
        else:
            block.append(record)
    blocks.append(block)
    return blocks


def _read_csv(content):
    sections, notes = [], []
    for block in _csv_blocks(content):
        heading, rows = block[0], block[1:]
        note = heading[1] if len(heading) > 1 else None
        if note is not None and note.startswith("Error: "):
            sections.append([[note]])
            notes.append(None)
        else:
            sections.append(rows)
            notes.append(note)
    return sections, notes


# -- json ---------------------------------------------------------------------

class _Number(str):
    """A JSON number with a fraction or exponent, kept as the file wrote it."""


def _read_json(content):
    document = json.loads(content.decode("utf-8"), parse_float=_Number)
    assert set(document) == {"title", "generated_at", "sections"}, document.keys()
    sections, notes = [], []
    for section in document["sections"]:
        assert set(section) == {"heading", "columns", "rows", "truncated", "error"}, section.keys()
        if section["error"] is not None:
            sections.append([["Error: " + section["error"]]])
            notes.append(None)
            continue
        rows = [list(section["columns"])]
        for row in section["rows"]:
            assert len(row) == len(section["columns"])
            rows.append([str(v) if isinstance(v, _Number) else json_text(v) for v in row])
        sections.append(rows)
        notes.append("truncated" if section["truncated"] else None)
    return sections, notes


# -- html ---------------------------------------------------------------------

class _TableParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections, self.notes = [], []
        self.stack, self.text, self.row, self.in_table = [], None, None, False
        self.p_class = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append([])
            self.notes.append(None)
        elif tag == "table":
            self.in_table = True
        elif tag == "tr" and self.in_table:
            self.row = []
        elif tag in ("th", "td") and self.row is not None:
            self.text = []
        elif tag == "p" and self.sections:
            self.p_class, self.text = attrs.get("class"), []

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self.text is not None and self.row is not None:
            self.row.append("".join(self.text))
            self.text = None
        elif tag == "tr" and self.row is not None:
            self.sections[-1].append(self.row)
            self.row = None
        elif tag == "table":
            self.in_table = False
        elif tag == "p" and self.p_class is not None:
            text = "".join(self.text)
            if self.p_class == "error":
                self.sections[-1].append([text])
            elif self.p_class == "note":
                self.notes[-1] = text
            self.p_class, self.text = None, None

    def handle_data(self, data):
        if self.text is not None:
            self.text.append(data)


def _read_html(content):
    text = content.decode("utf-8")
    assert text.startswith("<!DOCTYPE html>"), text[:40]
    parser = _TableParser()
    parser.feed(text)
    parser.close()
    return parser.sections, parser.notes


# -- xlsx ---------------------------------------------------------------------

def _xlsx_text(value):
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return json.dumps(value)  # shortest form, as JSON wrote it
    return str(value)


def _read_xlsx(content):
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(content))
    sections, notes = [], []
    for sheet in workbook.worksheets:
        rows = [list(r) for r in sheet.iter_rows()]
        note = None
        if rows and rows[0] and rows[0][0].font.i:
            sections.append([[rows[0][0].value]])
            notes.append(None)
            continue
        if len(rows) >= 3 and rows[-1][0].font.i and rows[-1][0].value is not None:
            note = rows[-1][0].value
            assert all(c.value is None for c in rows[-2]), "a blank row above the note"
            rows = rows[:-2]
        header = rows[0] if rows else []
        assert all(c.font.b for c in header if c.value is not None), "bold header row"
        width = len([c for c in header if c.value is not None])
        table = [[_xlsx_text(c.value) for c in row[:width]] + [""] * (width - len(row[:width])) for row in rows]
        sections.append(table)
        notes.append(note)
    return sections, notes


# -- pdf ----------------------------------------------------------------------

def pdf_spans(content):
    """Every text the pages show: (page, x, y, font, size, text), in drawing order.

    pypdf parses the file and each page's content stream; a text's font is the
    page's font resource named by Tf, and its bytes are decoded by that font's
    /Encoding (WinAnsiEncoding is Windows-1252), as a viewer does."""
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(content))
    spans = []
    for number, page in enumerate(reader.pages, start=1):
        fonts = page["/Resources"]["/Font"]
        state = {"font": None, "size": None, "encoding": None}

        def visit(op, args, cm, tm, number=number, fonts=fonts, state=state):
            if op == b"Tf":
                font = fonts[args[0]].get_object()
                state.update(font=str(font["/BaseFont"]), size=float(args[1]),
                             encoding=str(font.get("/Encoding")))
            elif op == b"Tj":
                assert state["encoding"] == "/WinAnsiEncoding", state
                raw = args[0].original_bytes if hasattr(args[0], "original_bytes") else bytes(args[0])
                text = raw.decode("cp1252")
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                spans.append((number, round(x, 2), round(y, 2), state["font"],
                              round(state["size"] * tm[0] * cm[0], 2), text))

        page.extract_text(visitor_operand_before=visit)
    return spans


def _read_pdf(content):
    """Headings bold 12 pt, header rows bold 8 pt, cells 8 pt, notes oblique; a row is
    the cells of one baseline of one page, each placed in the column whose header
    starts at its x. A header row repeated on a later page must equal the first."""
    sections, notes = [], []
    header_x = None  # where each column starts, from the section's first header row
    current = None  # [(page, y, kind), kind, cells]

    def flush():
        nonlocal current
        if current is None:
            return
        _key, kind, cells = current
        if kind == "header":
            assert cells == sections[-1][0], f"repeated header {cells} differs from {sections[-1][0]}"
        else:
            sections[-1].append(cells)
        current = None

    for page, x, y, font, size, text in pdf_spans(content):
        if y < 36:  # "Page n of m", under the bottom margin
            continue
        if font == "/Helvetica-Bold" and size == 12:
            flush()
            sections.append([])
            notes.append(None)
            header_x = None
        elif font == "/Helvetica-Oblique" and size == 9:
            flush()
            sections[-1].append([text])
        elif font == "/Helvetica-Oblique" and size == 8:
            flush()
            notes[-1] = text
        elif font in ("/Helvetica-Bold", "/Helvetica") and size == 8 and sections:
            kind = "header" if font == "/Helvetica-Bold" else "row"
            if current is None or current[0] != (page, y, kind):
                flush()
                if kind == "header" and header_x is None:
                    header_x = []
                    current = [(page, y, kind), "first", []]
                else:
                    current = [(page, y, kind), kind, [""] * len(header_x)]
            if current[1] == "first":
                header_x.append(x)
                current[2].append(text)
            else:
                column = min(range(len(header_x)), key=lambda i: abs(header_x[i] - x))
                assert abs(header_x[column] - x) < 0.5, (text, x, header_x)
                current[2][column] += text
    flush()
    return sections, notes


READERS = {"csv": _read_csv, "json": _read_json, "html": _read_html, "xlsx": _read_xlsx, "pdf": _read_pdf}


def read_report(fmt, content):
    """The tables of a report file: sections, rows, cells (str), header row first."""
    return READERS[fmt](content)[0]


def read_notes(fmt, content):
    """Each section's truncation note (json: "truncated"), or None."""
    return READERS[fmt](content)[1]
