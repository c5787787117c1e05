//! PDF (through pdf-writer): landscape A4 pages in the standard Helvetica faces
//! (regular, bold, oblique; no font embedded) with WinAnsiEncoding.
//!
//! - Text is written in WinAnsiEncoding (Windows-1252): a character outside it
//!   becomes `?`; a control character (newline, tab...) becomes a space, since a
//!   cell is one line.
//! - Page 1 starts with the title (bold, 16 pt) and "Generated at ...". Each section
//!   has its heading (bold, 12 pt), then its table: the header row in bold, the rows
//!   in 8 pt; a failed widget shows `Error: ...`, a truncated section a note, in
//!   oblique. A table continues on as many pages as needed, its header row repeated
//!   at the top of each. Every page ends with "Page n of m".
//! - The columns share the page's width: each gets the width its widest cell needs
//!   when they all fit, else the narrow ones keep theirs and the wide ones share
//!   what remains equally. A cell wider than its column is cut with "…" (so with
//!   very many columns most cells show little).
//! - Content streams are deflated (FlateDecode, flate2).
use std::io::Write;

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::reports::document::{cell_text, ReportDocument};

const PAGE_WIDTH: f32 = 841.89;
const PAGE_HEIGHT: f32 = 595.28;
const MARGIN: f32 = 36.0;
/// Rows are not drawn below this line (the page number is under it).
const BOTTOM: f32 = 42.0;
const CELL_SIZE: f32 = 8.0;
const ROW_HEIGHT: f32 = 12.0;
const PADDING: f32 = 3.0;
const ELLIPSIS: u8 = 0x85;

const REGULAR: Name = Name(b"F1");
const BOLD: Name = Name(b"F2");
const OBLIQUE: Name = Name(b"F3");

/// Helvetica's advance widths (1/1000 em, from its AFM) of WinAnsi codes 32 to 255.
#[rustfmt::skip]
const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 350,
    556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350,
    350, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500, 667,
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];

/// The characters of WinAnsi codes 0x80 to 0x9F (`None`: unused code).
const WIN_ANSI_HIGH: [Option<char>; 32] = [
    Some('€'),
    None,
    Some('‚'),
    Some('ƒ'),
    Some('„'),
    Some('…'),
    Some('†'),
    Some('‡'),
    Some('ˆ'),
    Some('‰'),
    Some('Š'),
    Some('‹'),
    Some('Œ'),
    None,
    Some('Ž'),
    None,
    None,
    Some('‘'),
    Some('’'),
    Some('“'),
    Some('”'),
    Some('•'),
    Some('–'),
    Some('—'),
    Some('˜'),
    Some('™'),
    Some('š'),
    Some('›'),
    Some('œ'),
    None,
    Some('ž'),
    Some('Ÿ'),
];

/// `text` in WinAnsiEncoding: `?` for a character it lacks, a space for a control.
pub fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c as u32 {
            0..=0x1F | 0x7F..=0x9F => b' ',
            code @ (0x20..=0x7E | 0xA0..=0xFF) => code as u8,
            _ => WIN_ANSI_HIGH
                .iter()
                .position(|&known| known == Some(c))
                .map(|i| 0x80 + i as u8)
                .unwrap_or(b'?'),
        })
        .collect()
}

/// Width in points of WinAnsi `bytes` at `size`; bold measured a quarter wider (at
/// least as wide as Helvetica-Bold's glyphs, so a bold header never overflows).
fn width(bytes: &[u8], size: f32, font: Name) -> f32 {
    let units: u32 = bytes
        .iter()
        .map(|&b| HELVETICA[(b.max(32) - 32) as usize] as u32)
        .sum();
    let factor = if font == BOLD { 1.25 } else { 1.0 };
    units as f32 * size / 1000.0 * factor
}

/// `bytes` cut with "…" to fit in `room` points.
pub fn fit(bytes: &[u8], size: f32, font: Name, room: f32) -> Vec<u8> {
    // A hundredth of a point of slack: a column as wide as its widest cell keeps it whole.
    let room = room + 0.01;
    if width(bytes, size, font) <= room {
        return bytes.to_vec();
    }
    // One pass over the prefix that fits (a few hundred bytes at most), not a
    // measure of the whole text per byte dropped: a cell of megabytes costs no
    // more than a short one.
    let room = room - width(&[ELLIPSIS], size, font);
    let mut used = 0.0;
    let mut kept = Vec::new();
    for &byte in bytes {
        let glyph = width(&[byte], size, font);
        if used + glyph > room {
            break;
        }
        used += glyph;
        kept.push(byte);
    }
    kept.push(ELLIPSIS);
    kept
}

/// Column widths: the natural width of each when all fit in `room`, else the narrow
/// keep theirs and the others share the rest equally.
pub fn column_widths(natural: &[f32], room: f32) -> Vec<f32> {
    if natural.iter().sum::<f32>() <= room {
        return natural.to_vec();
    }
    let mut order: Vec<usize> = (0..natural.len()).collect();
    order.sort_by(|&a, &b| natural[a].total_cmp(&natural[b]));
    let mut widths = vec![0.0; natural.len()];
    let mut left = room;
    for (done, &i) in order.iter().enumerate() {
        let share = left / (natural.len() - done) as f32;
        widths[i] = natural[i].min(share);
        left -= widths[i];
    }
    widths
}

struct Pages {
    done: Vec<Content>,
    page: Content,
    y: f32,
}

impl Pages {
    fn new() -> Pages {
        Pages {
            done: Vec::new(),
            page: Content::new(),
            y: PAGE_HEIGHT - MARGIN,
        }
    }

    fn break_page(&mut self) {
        let page = std::mem::replace(&mut self.page, Content::new());
        self.done.push(page);
        self.y = PAGE_HEIGHT - MARGIN;
    }

    /// Makes room for `height` points, on a new page if this one is full.
    fn room(&mut self, height: f32) -> bool {
        if self.y - height < BOTTOM {
            self.break_page();
            true
        } else {
            false
        }
    }

    /// `bytes` at (x, y). An empty text is still shown (nothing is seen): it marks a
    /// cell, so a row of NULLs is a row to a reader too.
    fn text(&mut self, font: Name, size: f32, x: f32, y: f32, bytes: &[u8]) {
        self.page.begin_text();
        self.page.set_font(font, size);
        self.page.set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y]);
        self.page.show(Str(bytes));
        self.page.end_text();
    }

    /// One line of text the width of the page, cut to fit, then `advance` down.
    fn line(&mut self, font: Name, size: f32, text: &str, advance: f32) {
        self.room(advance);
        let bytes = fit(&win_ansi(text), size, font, PAGE_WIDTH - 2.0 * MARGIN);
        if !bytes.is_empty() {
            self.text(font, size, MARGIN, self.y - size, &bytes);
        }
        self.y -= advance;
    }

    fn row(&mut self, font: Name, cells: &[Vec<u8>], widths: &[f32]) {
        let mut x = MARGIN;
        let baseline = self.y - ROW_HEIGHT + 3.5;
        for (cell, &w) in cells.iter().zip(widths) {
            let shown = fit(cell, CELL_SIZE, font, (w - 2.0 * PADDING).max(0.0));
            self.text(font, CELL_SIZE, x + PADDING, baseline, &shown);
            x += w;
        }
        self.y -= ROW_HEIGHT;
    }

    fn header(&mut self, cells: &[Vec<u8>], widths: &[f32]) {
        self.row(BOLD, cells, widths);
        let right = MARGIN + widths.iter().sum::<f32>();
        self.page.set_line_width(0.5);
        self.page.set_stroke_gray(0.4);
        self.page.move_to(MARGIN, self.y + 1.5);
        self.page.line_to(right, self.y + 1.5);
        self.page.stroke();
    }
}

pub fn render(document: &ReportDocument) -> Vec<u8> {
    let mut pages = Pages::new();
    pages.line(BOLD, 16.0, &document.title, 22.0);
    pages.line(
        REGULAR,
        9.0,
        &format!("Generated at {}", document.generated_at),
        20.0,
    );
    let room = PAGE_WIDTH - 2.0 * MARGIN;
    for section in &document.sections {
        // A heading never ends a page: it comes with its header row and a first row.
        pages.room(18.0 + 3.0 * ROW_HEIGHT);
        pages.line(BOLD, 12.0, &section.heading, 18.0);
        if let Some(error) = &section.error {
            pages.line(OBLIQUE, 9.0, &format!("Error: {error}"), 14.0);
            pages.y -= 10.0;
            continue;
        }
        let header: Vec<Vec<u8>> = section.columns.iter().map(|c| win_ansi(c)).collect();
        let rows: Vec<Vec<Vec<u8>>> = section
            .rows
            .iter()
            .map(|row| row.iter().map(|v| win_ansi(&cell_text(v))).collect())
            .collect();
        let natural: Vec<f32> = (0..header.len())
            .map(|c| {
                let widest = rows
                    .iter()
                    .map(|row| width(&row[c], CELL_SIZE, REGULAR))
                    .fold(width(&header[c], CELL_SIZE, BOLD), f32::max);
                widest + 2.0 * PADDING
            })
            .collect();
        let widths = column_widths(&natural, room);
        pages.header(&header, &widths);
        for row in &rows {
            if pages.room(ROW_HEIGHT) {
                pages.header(&header, &widths);
            }
            pages.row(REGULAR, row, &widths);
        }
        if let Some(note) = section.truncation_note() {
            pages.y -= 4.0;
            pages.line(OBLIQUE, CELL_SIZE, &note, ROW_HEIGHT);
        }
        pages.y -= 14.0;
    }
    pages.break_page();
    write(document, pages.done)
}

/// `data` in zlib format, for a FlateDecode stream.
fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

fn write(document: &ReportDocument, contents: Vec<Content>) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let fonts = [Ref::new(3), Ref::new(4), Ref::new(5)];
    let info = Ref::new(6);
    let count = contents.len();
    let page_ids: Vec<Ref> = (0..count).map(|i| Ref::new(7 + 2 * i as i32)).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(count as i32);
    pdf.document_info(info)
        .title(TextStr(&document.title))
        .producer(TextStr("marimo_erp"));
    for (name, (id, face)) in [REGULAR, BOLD, OBLIQUE].into_iter().zip(fonts.iter().zip([
        "Helvetica",
        "Helvetica-Bold",
        "Helvetica-Oblique",
    ])) {
        let _ = name;
        pdf.type1_font(*id)
            .base_font(Name(face.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    for (i, mut content) in contents.into_iter().enumerate() {
        let id = page_ids[i];
        let content_id = Ref::new(id.get() + 1);
        let footer = win_ansi(&format!("Page {} of {}", i + 1, count));
        let x = (PAGE_WIDTH - width(&footer, 8.0, REGULAR)) / 2.0;
        content.begin_text();
        content.set_font(REGULAR, 8.0);
        content.set_text_matrix([1.0, 0.0, 0.0, 1.0, x, 22.0]);
        content.show(Str(&footer));
        content.end_text();
        let mut page = pdf.page(id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
        page.parent(tree);
        page.contents(content_id);
        page.resources()
            .fonts()
            .pair(REGULAR, fonts[0])
            .pair(BOLD, fonts[1])
            .pair(OBLIQUE, fonts[2]);
        page.finish();
        pdf.stream(content_id, &deflate(&content.finish()))
            .filter(Filter::FlateDecode);
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file with every FlateDecode stream inflated in place, as text.
    fn inflated(bytes: &[u8]) -> String {
        use std::io::Read;
        let mut out = String::new();
        let mut rest = bytes;
        while let Some(at) = rest.windows(10).position(|w| w == b">>\nstream\n") {
            out.push_str(&String::from_utf8_lossy(&rest[..at]));
            rest = &rest[at + 10..];
            let end = rest.windows(10).position(|w| w == b"\nendstream").unwrap();
            let mut plain = String::new();
            flate2::read::ZlibDecoder::new(&rest[..end])
                .read_to_string(&mut plain)
                .ok();
            out.push_str(&plain);
            rest = &rest[end..];
        }
        out.push_str(&String::from_utf8_lossy(rest));
        out
    }

    #[test]
    fn encoding() {
        assert_eq!(win_ansi("a\nb\tc"), b"a b c");
        assert_eq!(win_ansi("é€✓…"), vec![0xE9, 0x80, b'?', 0x85]);
        assert_eq!(win_ansi("日本"), b"??");
    }

    #[test]
    fn fitting() {
        assert_eq!(fit(b"abc", 8.0, REGULAR, 100.0), b"abc");
        let cut = fit(&[b'x'; 200], 8.0, REGULAR, 50.0);
        assert_eq!(*cut.last().unwrap(), ELLIPSIS);
        assert!(width(&cut, 8.0, REGULAR) <= 50.0);
        // A cell of megabytes is cut in one pass (it once took a measure per byte dropped).
        let huge = fit(&vec![b'x'; 4_000_000], 8.0, REGULAR, 50.0);
        assert_eq!(huge, cut);
        assert_eq!(column_widths(&[10.0, 20.0], 100.0), vec![10.0, 20.0]);
        assert_eq!(
            column_widths(&[10.0, 500.0, 500.0], 110.0),
            vec![10.0, 50.0, 50.0]
        );
    }

    #[test]
    fn pages_repeat_the_header() {
        let mut doc = crate::reports::render::sample::document();
        let row = doc.sections[0].rows[0].clone();
        doc.sections[0].rows = vec![row; 100];
        let bytes = render(&doc);
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(String::from_utf8_lossy(&bytes).contains("/FlateDecode"));
        let text = inflated(&bytes);
        assert!(text.contains("(Page 1 of 3)"));
        assert!(text.contains("(Page 3 of 3)"));
        // The header row once per page of the table.
        assert_eq!(text.matches("(note) Tj").count(), 3);
        assert!(text.contains("/BaseFont /Helvetica-Bold"));
        assert!(text.contains("/WinAnsiEncoding"));
        assert!(!text.contains("FontFile"));
    }
}
