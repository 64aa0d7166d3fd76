//! Supervision reports: the tables leaders export (CSV, XLSX) and the charts they put on slides
//! (SVG). Kept dependency-light on purpose: CSV and SVG are plain strings written here, and XLSX
//! needs only a zip writer, used in streaming mode so a large export never sits whole in memory.

use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::NaiveDate;
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipWriter};

/// One value of a report table, written the same way to CSV and to XLSX.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Number(f64),
    /// A ratio 0..1 shown as a percentage (0.875 is 87.5%); `None` is an empty cell.
    Percent(Option<f64>),
    Date(NaiveDate),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Int(n)
    }
}

impl From<NaiveDate> for Cell {
    fn from(d: NaiveDate) -> Self {
        Cell::Date(d)
    }
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

/// Written once at the start of a CSV file: without it Excel reads UTF-8 as the local code page
/// and Chinese comes out garbled.
pub const CSV_BOM: &str = "\u{feff}";

/// One CSV record (RFC 4180) ending in CRLF.
///
/// Text that a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`, tab or
/// CR) gets a leading `'`, as OWASP advises against CSV injection: petition text is written by
/// the public. Numbers are not touched, so a negative `Int` stays a number.
pub fn csv_line(cells: &[Cell]) -> String {
    let mut out = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Writing to a String cannot fail.
        let _ = match cell {
            Cell::Text(s) => {
                push_csv_text(&mut out, s);
                Ok(())
            }
            Cell::Int(n) => write!(out, "{n}"),
            Cell::Number(x) if x.is_finite() => write!(out, "{x}"),
            Cell::Percent(Some(r)) if r.is_finite() => write!(out, "{:.1}%", r * 100.0),
            Cell::Date(d) => write!(out, "{}", d.format("%Y-%m-%d")),
            Cell::Number(_) | Cell::Percent(_) | Cell::Empty => Ok(()),
        };
    }
    out.push_str("\r\n");
    out
}

/// The header record, quoted and guarded like any text.
pub fn csv_header(names: &[&str]) -> String {
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_csv_text(&mut out, name);
    }
    out.push_str("\r\n");
    out
}

fn push_csv_text(out: &mut String, s: &str) {
    let guard = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = s.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if guard {
        out.push('\'');
    }
    if quote {
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

// ---------------------------------------------------------------------------------------------
// XLSX
// ---------------------------------------------------------------------------------------------

/// Worksheet limits; past them Excel refuses the whole file rather than one sheet.
const MAX_ROWS: u32 = 1_048_576;
const MAX_COLS: usize = 16_384;
const MAX_CELL_UTF16: usize = 32_767;
/// Sheet XML gathered before it is handed to the compressor, so that rows do not each pay for a
/// trip through zip's CRC and deflate layers.
const XML_CHUNK: usize = 64 * 1024;

/// Style indexes into `cellXfs` of [`STYLES`].
const STYLE_HEADER: u8 = 1;
const STYLE_PERCENT: u8 = 2;
const STYLE_DATE: u8 = 3;

const CONTENT_TYPES: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\n",
    r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#,
    r#"<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>"#,
    r#"<Default Extension="xml" ContentType="application/xml"/>"#,
    r#"<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
    r#"<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#,
    r#"<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>"#,
    "</Types>"
);

const ROOT_RELS: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\n",
    r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    r#"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>"#,
    "</Relationships>"
);

const WORKBOOK_RELS: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\n",
    r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    r#"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>"#,
    r#"<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#,
    "</Relationships>"
);

/// The least Excel accepts (two fills, one border, a Normal style) plus what the cells use:
/// xf 1 bold for the header, xf 2 `0.0%`, xf 3 `yyyy-mm-dd` (custom formats start at id 164).
const STYLES: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
    "\n",
    r#"<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
    r#"<numFmts count="2"><numFmt numFmtId="164" formatCode="0.0%"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd"/></numFmts>"#,
    r#"<fonts count="2">"#,
    r#"<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>"#,
    r#"<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>"#,
    "</fonts>",
    r#"<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>"#,
    r#"<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"#,
    r#"<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>"#,
    r#"<cellXfs count="4">"#,
    r#"<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>"#,
    r#"<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>"#,
    r#"<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>"#,
    r#"<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>"#,
    "</cellXfs>",
    r#"<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>"#,
    "</styleSheet>"
);

/// Where zip writes and `take` reads. zip only hands its writer back safely at the end
/// (`get_mut` is `unsafe`), so both sides hold the same buffer. A mutex rather than a
/// `RefCell` keeps [`XlsxStream`] `Send`, so an export can run on a blocking thread.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        // A panic elsewhere cannot leave a Vec<u8> half-updated in a way that matters here.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.lock())
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A one-sheet workbook written as it goes: fixed parts first, then the sheet row by row.
/// Call [`take`](Self::take) between rows to pass on what is ready; memory stays at about
/// the deflate window plus one chunk of XML whatever the row count.
pub struct XlsxStream {
    zip: ZipWriter<StreamWriter<SharedBuf>>,
    out: SharedBuf,
    /// Sheet XML not yet handed to the compressor.
    xml: String,
    /// Rows written so far, header included; the next row's number is one more.
    rows: u32,
}

impl fmt::Debug for XlsxStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XlsxStream")
            .field("rows", &self.rows)
            .field("pending_xml", &self.xml.len())
            .finish_non_exhaustive()
    }
}

impl XlsxStream {
    /// Starts a workbook with one sheet and, unless `header` is empty, a bold, frozen header
    /// row. The sheet name is made acceptable to Excel rather than refused: `:\/?*[]` become
    /// `_`, it is cut to 31 characters, and an empty result becomes `Sheet1`.
    pub fn new(sheet_name: &str, header: &[&str]) -> io::Result<Self> {
        if header.len() > MAX_COLS {
            return Err(too_wide());
        }
        let out = SharedBuf::default();
        let mut zip = ZipWriter::new_stream(out.clone());
        let mut workbook = String::from(concat!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
            "\n",
            r#"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" "#,
            r#"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
            r#"<bookViews><workbookView/></bookViews><sheets><sheet name=""#,
        ));
        push_escaped(&mut workbook, &sheet_name_for_excel(sheet_name));
        workbook.push_str(r#"" sheetId="1" r:id="rId1"/></sheets></workbook>"#);
        for (path, body) in [
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", ROOT_RELS),
            ("xl/workbook.xml", workbook.as_str()),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/styles.xml", STYLES),
        ] {
            zip.start_file(path, entry_options())?;
            zip.write_all(body.as_bytes())?;
        }
        // Last, so that it alone is open while rows arrive.
        zip.start_file("xl/worksheets/sheet1.xml", entry_options())?;

        let mut xml = String::with_capacity(XML_CHUNK + 4096);
        xml.push_str(concat!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
            "\n",
            r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
        ));
        if !header.is_empty() {
            // The header stays in view while scrolling, and columns start as wide as it.
            xml.push_str(concat!(
                r#"<sheetViews><sheetView workbookViewId="0">"#,
                r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#,
                "</sheetView></sheetViews><cols>",
            ));
            for (i, name) in header.iter().enumerate() {
                let width = (display_columns(name) + 2).clamp(10, 60);
                let n = i + 1;
                let _ = write!(
                    xml,
                    r#"<col min="{n}" max="{n}" width="{width}" customWidth="1"/>"#
                );
            }
            xml.push_str("</cols>");
        }
        xml.push_str("<sheetData>");
        let mut stream = XlsxStream {
            zip,
            out,
            xml,
            rows: 0,
        };
        if !header.is_empty() {
            stream.rows = 1;
            stream.xml.push_str(r#"<row r="1">"#);
            for (col, name) in header.iter().enumerate() {
                push_inline_str(&mut stream.xml, col, 1, name, Some(STYLE_HEADER));
            }
            stream.xml.push_str("</row>");
        }
        Ok(stream)
    }

    /// Appends one row. Empty cells, empty text and non-finite numbers leave the cell blank.
    pub fn row(&mut self, cells: &[Cell]) -> io::Result<()> {
        if self.rows >= MAX_ROWS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a worksheet holds at most 1,048,576 rows",
            ));
        }
        if cells.len() > MAX_COLS {
            return Err(too_wide());
        }
        self.rows += 1;
        let r = self.rows;
        let _ = write!(self.xml, r#"<row r="{r}">"#);
        for (col, cell) in cells.iter().enumerate() {
            push_xlsx_cell(&mut self.xml, col, r, cell);
        }
        self.xml.push_str("</row>");
        if self.xml.len() >= XML_CHUNK {
            self.flush_xml()?;
        }
        Ok(())
    }

    /// The bytes completed so far, to send to the client now (may be empty). The compressor is
    /// not flushed for this: forcing it would cost compression for no gain in a download.
    pub fn take(&mut self) -> Vec<u8> {
        self.out.take()
    }

    /// Closes the sheet and the archive; returns the remaining bytes.
    pub fn finish(mut self) -> io::Result<Vec<u8>> {
        self.xml.push_str("</sheetData></worksheet>");
        self.flush_xml()?;
        let out = self.zip.finish()?.into_inner();
        Ok(out.take())
    }

    fn flush_xml(&mut self) -> io::Result<()> {
        self.zip.write_all(self.xml.as_bytes())?;
        self.xml.clear();
        Ok(())
    }
}

fn too_wide() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "a worksheet holds at most 16,384 columns",
    )
}

/// Deflate through flate2 (the default level stays below the levels that switch to zopfli,
/// which buffers whole entries). Sizes are not known up front, so zip's streaming mode writes
/// them in a data descriptor after each entry; Excel and LibreOffice read that.
fn entry_options() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

/// Excel rejects a workbook whose sheet name is longer than 31 characters, contains `:\/?*[]`,
/// starts or ends with `'`, or is `History`.
fn sheet_name_for_excel(name: &str) -> String {
    let mut out = String::new();
    let mut units = 0;
    for c in name.chars() {
        let c = match c {
            ':' | '\\' | '/' | '?' | '*' | '[' | ']' => '_',
            c if c.is_control() || !xml_allows(c) => continue,
            c => c,
        };
        units += c.len_utf16();
        if units > 31 {
            break;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches('\'');
    if trimmed.trim().is_empty() || trimmed.eq_ignore_ascii_case("history") {
        "Sheet1".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn push_xlsx_cell(xml: &mut String, col: usize, row: u32, cell: &Cell) {
    match cell {
        Cell::Text(s) if !s.is_empty() => push_inline_str(xml, col, row, s, None),
        // Excel keeps 53 bits of an integer; past that the digits are kept as text, not rounded.
        Cell::Int(n) if n.unsigned_abs() <= 1 << 53 => {
            push_value(xml, col, row, None, &n.to_string());
        }
        Cell::Int(n) => push_inline_str(xml, col, row, &n.to_string(), None),
        Cell::Number(x) if x.is_finite() => push_value(xml, col, row, None, &xlsx_number(*x)),
        Cell::Percent(Some(x)) if x.is_finite() => {
            push_value(xml, col, row, Some(STYLE_PERCENT), &xlsx_number(*x));
        }
        Cell::Date(d) => match excel_serial(*d) {
            Some(serial) => push_value(xml, col, row, Some(STYLE_DATE), &serial.to_string()),
            None => push_inline_str(xml, col, row, &d.format("%Y-%m-%d").to_string(), None),
        },
        Cell::Text(_) | Cell::Number(_) | Cell::Percent(_) | Cell::Empty => {}
    }
}

fn push_cell_open(xml: &mut String, col: usize, row: u32, style: Option<u8>) {
    xml.push_str(r#"<c r=""#);
    push_column_name(xml, col);
    let _ = write!(xml, "{row}\"");
    if let Some(s) = style {
        let _ = write!(xml, r#" s="{s}""#);
    }
}

fn push_value(xml: &mut String, col: usize, row: u32, style: Option<u8>, value: &str) {
    push_cell_open(xml, col, row, style);
    xml.push_str("><v>");
    xml.push_str(value);
    xml.push_str("</v></c>");
}

/// Inline strings rather than a shared-string table, which would have to be held until the end.
/// They are never formulas, so the CSV injection guard is not needed here.
fn push_inline_str(xml: &mut String, col: usize, row: u32, text: &str, style: Option<u8>) {
    let text = truncate_utf16(text, MAX_CELL_UTF16);
    push_cell_open(xml, col, row, style);
    xml.push_str(r#" t="inlineStr"><is><t"#);
    if text.starts_with(char::is_whitespace) || text.ends_with(char::is_whitespace) {
        xml.push_str(r#" xml:space="preserve""#);
    }
    xml.push('>');
    push_escaped_xlsx(xml, text);
    xml.push_str("</t></is></c>");
}

/// Column letters: 0 is A, 25 is Z, 26 is AA.
fn push_column_name(out: &mut String, col: usize) {
    let mut n = col + 1;
    let mut letters = [0u8; 3];
    let mut len = 0;
    while n > 0 && len < letters.len() {
        let rem = (n - 1) % 26;
        letters[len] = b'A' + rem as u8;
        len += 1;
        n = (n - 1) / 26;
    }
    for &b in letters[..len].iter().rev() {
        out.push(char::from(b));
    }
}

/// Shortest round-trip decimal, switching to exponent form where plain digits would run long.
fn xlsx_number(x: f64) -> String {
    let a = x.abs();
    if a != 0.0 && !(1e-6..1e16).contains(&a) {
        format!("{x:E}")
    } else {
        format!("{x}")
    }
}

/// Days in Excel's 1900 date system, `None` outside 1900-01-01..=9999-12-31. Excel counts a
/// 29 February 1900 that never was (kept from Lotus 1-2-3), so dates before March are one less.
fn excel_serial(d: NaiveDate) -> Option<i64> {
    let days = (d - NaiveDate::from_ymd_opt(1899, 12, 30)?).num_days();
    match days {
        61..=2_958_465 => Some(days),
        2..=60 => Some(days - 1),
        _ => None,
    }
}

fn truncate_utf16(s: &str, max: usize) -> &str {
    let mut units = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > max {
            return &s[..i];
        }
    }
    s
}

/// Like [`push_escaped`], and also guards text that looks like Excel's own `_xHHHH_` escape,
/// which Excel would otherwise decode (`_x0041_` would show as `A`).
fn push_escaped_xlsx(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(i) = rest.find("_x") {
        let tail = &rest.as_bytes()[i + 2..];
        let looks_escaped =
            tail.len() >= 5 && tail[..4].iter().all(u8::is_ascii_hexdigit) && tail[4] == b'_';
        push_escaped(out, &rest[..i]);
        if looks_escaped {
            out.push_str("_x005F_");
        } else {
            out.push('_');
        }
        rest = &rest[i + 1..];
    }
    push_escaped(out, rest);
}

// ---------------------------------------------------------------------------------------------
// XML text
// ---------------------------------------------------------------------------------------------

/// Characters XML 1.0 can carry at all (Rust strings hold no surrogates).
fn xml_allows(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Escapes for element content and double-quoted attributes; drops what XML 1.0 forbids,
/// since no escape can carry it.
fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if xml_allows(c) => out.push(c),
            _ => {}
        }
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

/// Columns a string takes in a fixed-width view: two for CJK and other wide characters.
fn display_columns(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(
        u32::from(c),
        0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD
    )
}

// ---------------------------------------------------------------------------------------------
// SVG charts
// ---------------------------------------------------------------------------------------------

/// CJK fonts first: a Latin-only font would fall back glyph by glyph and look ragged on slides.
const FONT: &str = "'Noto Sans CJK SC','Microsoft YaHei',sans-serif";
const WIDTH: f64 = 960.0;
const PAD: f64 = 24.0;
const INK: &str = "#262626";
const MUTED: &str = "#8c8c8c";

/// The supervision flag a unit carries, which decides its bar's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarColour {
    Red,
    Yellow,
    Black,
    Neutral,
}

impl BarColour {
    fn hex(self) -> &'static str {
        match self {
            BarColour::Red => "#d4380d",
            BarColour::Yellow => "#faad14",
            BarColour::Black => "#262626",
            BarColour::Neutral => "#1677ff",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub colour: BarColour,
    pub note: Option<String>,
}

/// Horizontal bar chart, one bar per unit in the given order, value printed at the bar end
/// (with `unit`, e.g. "分"), note (e.g. "红旗") after it; width 960, height grows with the
/// number of bars. Bars start at zero: a negative or non-finite value draws no bar, though its
/// value is still printed.
pub fn bar_chart_svg(title: &str, bars: &[Bar], unit: &str) -> String {
    const ROW: f64 = 36.0;
    const BAR: f64 = 22.0;
    const SIZE: f64 = 14.0;
    let top = 60.0;

    let label_w = bars
        .iter()
        .map(|b| text_width(&b.label, SIZE))
        .fold(48.0, f64::max)
        .min(280.0);
    let annotations: Vec<String> = bars
        .iter()
        .map(|b| format!("{}{}", format_value(b.value), unit))
        .collect();
    let annotation_w = bars
        .iter()
        .zip(&annotations)
        .map(|(b, a)| {
            let note = b.note.as_deref().map_or(0.0, |n| 8.0 + text_width(n, SIZE));
            text_width(a, SIZE) + note
        })
        .fold(80.0, f64::max)
        .min(320.0)
        + 12.0;
    let bar_x = PAD + label_w + 12.0;
    let bar_span = WIDTH - PAD - annotation_w - bar_x;
    let max = bars
        .iter()
        .map(|b| b.value)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };

    let height = if bars.is_empty() {
        top + 60.0
    } else {
        top + ROW * bars.len() as f64 + PAD
    };
    let mut svg = svg_open(title, height);
    if bars.is_empty() {
        push_no_data(&mut svg, top + 30.0);
    }
    for (i, (bar, annotation)) in bars.iter().zip(&annotations).enumerate() {
        let y = top + ROW * i as f64;
        let baseline = y + BAR / 2.0 + 5.0;
        let w = if bar.value.is_finite() {
            bar.value.max(0.0) / max * bar_span
        } else {
            0.0
        };
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{baseline:.1}" text-anchor="end" font-size="{SIZE}" fill="{INK}">{}</text>"#,
            PAD + label_w,
            escape(&fit(&bar.label, label_w, SIZE)),
        );
        let _ = write!(
            svg,
            r#"<rect x="{bar_x:.1}" y="{y:.1}" width="{w:.1}" height="{BAR}" rx="2" fill="{}"/>"#,
            bar.colour.hex(),
        );
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{baseline:.1}" font-size="{SIZE}" fill="{INK}">{}"#,
            bar_x + w + 8.0,
            escape(annotation),
        );
        if let Some(note) = &bar.note {
            let colour = match bar.colour {
                BarColour::Neutral => "#595959",
                c => c.hex(),
            };
            let _ = write!(
                svg,
                r#"<tspan dx="8" fill="{colour}" font-weight="bold">{}</tspan>"#,
                escape(note),
            );
        }
        svg.push_str("</text>");
    }
    if !bars.is_empty() {
        // The zero line, drawn last so bars do not cover it.
        let _ = write!(
            svg,
            r##"<line x1="{bar_x:.1}" y1="{:.1}" x2="{bar_x:.1}" y2="{:.1}" stroke="#bfbfbf"/>"##,
            top - 6.0,
            top + ROW * bars.len() as f64 - ROW + BAR + 6.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<Option<f64>>,
}

/// Distinct on a projector and for the common colour-vision deficiencies when taken with the
/// dash pattern used past the first round.
const PALETTE: [&str; 8] = [
    "#1677ff", "#d4380d", "#389e0d", "#faad14", "#722ed1", "#13c2c2", "#eb2f96", "#595959",
];

/// Line chart of ratios 0..1 shown as percentages, one line per series (distinct colours, a
/// legend), gaps where a point is None, x labels (e.g. "2026-01") under the axis, gridlines at
/// 0/25/50/75/100%. Points are matched to `x_labels` by position; extra points are ignored,
/// values outside 0..1 are drawn at the nearest edge and non-finite ones as gaps.
pub fn line_chart_svg(title: &str, x_labels: &[String], series: &[Series]) -> String {
    const HEIGHT: f64 = 540.0;
    const SIZE: f64 = 12.0;
    let mut svg = svg_open(title, HEIGHT);

    // Legend under the title, wrapping onto more lines as needed.
    let (mut lx, mut ly) = (PAD, 64.0);
    for (i, s) in series.iter().enumerate() {
        let item_w = 24.0 + 6.0 + text_width(&s.name, SIZE) + 20.0;
        if lx + item_w > WIDTH - PAD && lx > PAD {
            lx = PAD;
            ly += 22.0;
        }
        let (colour, dash) = series_style(i);
        let _ = write!(
            svg,
            r#"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2.5"{dash}/>"#,
            ly - 4.0,
            lx + 24.0,
            ly - 4.0,
        );
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{ly:.1}" font-size="{SIZE}" fill="{INK}">{}</text>"#,
            lx + 30.0,
            escape(&s.name),
        );
        lx += item_w;
    }

    let left = PAD + 40.0;
    let right = WIDTH - PAD - 8.0;
    let top = if series.is_empty() { 64.0 } else { ly + 24.0 };
    let bottom = HEIGHT - 48.0;
    let plot_h = bottom - top;
    let y_of = |v: f64| bottom - v.clamp(0.0, 1.0) * plot_h;

    for k in 0..=4 {
        let y = y_of(f64::from(k) / 4.0);
        let stroke = if k == 0 { "#bfbfbf" } else { "#e8e8e8" };
        let _ = write!(
            svg,
            r#"<line x1="{left:.1}" y1="{y:.1}" x2="{right:.1}" y2="{y:.1}" stroke="{stroke}"/>"#,
        );
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="{SIZE}" fill="{MUTED}">{}%</text>"#,
            left - 8.0,
            y + 4.0,
            k * 25,
        );
    }

    let n = x_labels.len();
    if n == 0 || series.is_empty() {
        push_no_data(&mut svg, top + plot_h / 2.0);
        svg.push_str("</svg>");
        return svg;
    }
    // Inset so the first and last markers do not sit on the plot edge.
    let (inner_left, inner_right) = (left + 16.0, right - 16.0);
    let spacing = if n > 1 {
        (inner_right - inner_left) / (n - 1) as f64
    } else {
        inner_right - inner_left
    };
    let x_of = |i: usize| {
        if n > 1 {
            inner_left + spacing * i as f64
        } else {
            (inner_left + inner_right) / 2.0
        }
    };

    // Every step-th label, so that long runs of months do not overprint each other.
    let widest = x_labels
        .iter()
        .map(|l| text_width(l, SIZE))
        .fold(0.0, f64::max)
        + 8.0;
    let step = ((widest / spacing).ceil() as usize).max(1);
    for (i, label) in x_labels.iter().enumerate() {
        let x = x_of(i);
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="{bottom:.1}" x2="{x:.1}" y2="{:.1}" stroke="#bfbfbf"/>"##,
            bottom + 4.0,
        );
        if i % step == 0 {
            let _ = write!(
                svg,
                r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="{SIZE}" fill="{MUTED}">{}</text>"#,
                bottom + 20.0,
                escape(label),
            );
        }
    }

    for (i, s) in series.iter().enumerate() {
        let (colour, dash) = series_style(i);
        svg.push_str("<g>");
        let mut run: Vec<(f64, f64)> = Vec::new();
        let points = s.points.iter().take(n).enumerate();
        // A trailing gap closes the last run.
        for (j, p) in points.map(|(j, p)| (j, *p)).chain([(n, None)]) {
            match p {
                Some(v) if v.is_finite() => run.push((x_of(j), y_of(v))),
                _ => {
                    if run.len() > 1 {
                        svg.push_str(r#"<polyline fill="none" stroke=""#);
                        svg.push_str(colour);
                        let _ = write!(
                            svg,
                            r#"" stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"{dash} points=""#,
                        );
                        for (k, (x, y)) in run.iter().enumerate() {
                            if k > 0 {
                                svg.push(' ');
                            }
                            let _ = write!(svg, "{x:.1},{y:.1}");
                        }
                        svg.push_str(r#""/>"#);
                    }
                    // Markers too, so that a point with gaps on both sides still shows.
                    for (x, y) in run.drain(..) {
                        let _ = write!(
                            svg,
                            r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{colour}"/>"#,
                        );
                    }
                }
            }
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

/// Past the palette, lines repeat its colours dashed.
fn series_style(i: usize) -> (&'static str, &'static str) {
    let colour = PALETTE[i % PALETTE.len()];
    let dash = if (i / PALETTE.len()) % 2 == 1 {
        r#" stroke-dasharray="6 4""#
    } else {
        ""
    };
    (colour, dash)
}

fn svg_open(title: &str, height: f64) -> String {
    let mut svg = String::with_capacity(4096);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="{FONT}" role="img">"#,
    );
    let title = escape(title);
    // `<title>` names the chart for screen readers; the text element shows it on the slide.
    let _ = write!(
        svg,
        r#"<title>{title}</title><text x="{PAD}" y="36" font-size="20" font-weight="bold" fill="{INK}">{title}</text>"#,
    );
    svg
}

fn push_no_data(svg: &mut String, y: f64) {
    let _ = write!(
        svg,
        r#"<text x="{}" y="{y:.1}" text-anchor="middle" font-size="16" fill="{MUTED}">暂无数据</text>"#,
        WIDTH / 2.0,
    );
}

/// A score as shown on a slide: at most one decimal, none when whole.
fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return "—".to_owned();
    }
    // Adding 0.0 turns -0.0 into 0.0, so a small negative rounds to "0", not "-0".
    let r = (v * 10.0).round() / 10.0 + 0.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// Rough width of text: SVG has no measuring, and this only has to keep labels from colliding.
fn text_width(s: &str, size: f64) -> f64 {
    s.chars()
        .map(|c| if is_wide(c) { 1.0 } else { 0.6 })
        .sum::<f64>()
        * size
}

/// Cuts text to fit `max` with an ellipsis, so a long unit name cannot run off the slide.
fn fit(s: &str, max: f64, size: f64) -> String {
    if text_width(s, size) <= max {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut w = size; // room for the ellipsis
    for c in s.chars() {
        w += if is_wide(c) { size } else { 0.6 * size };
        if w > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::{Cursor, Read};

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn csv_quotes_per_rfc_4180() {
        let line = csv_line(&[
            Cell::Text("a,b".into()),
            Cell::Text("say \"hi\"".into()),
            Cell::Text("two\nlines".into()),
            Cell::Text("平安".into()),
            Cell::Int(-5),
            Cell::Number(1.5),
            Cell::Number(f64::NAN),
            Cell::Percent(Some(0.875)),
            Cell::Percent(None),
            Cell::Date(date(2026, 1, 15)),
            Cell::Empty,
        ]);
        assert_eq!(
            line,
            "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",平安,-5,1.5,,87.5%,,2026-01-15,\r\n"
        );
        assert_eq!(csv_header(&["单位", "办结率"]), "单位,办结率\r\n");
        assert_eq!(CSV_BOM.as_bytes(), [0xef, 0xbb, 0xbf]);
    }

    #[test]
    fn csv_guards_against_formula_injection() {
        let cases = [
            ("=1+1", "'=1+1"),
            ("+86 138", "'+86 138"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
            ),
            ("a=b", "a=b"),
        ];
        for (input, want) in cases {
            assert_eq!(csv_line(&[Cell::Text(input.into())]), format!("{want}\r\n"));
        }
        assert_eq!(csv_header(&["=cmd"]), "'=cmd\r\n");
    }

    #[test]
    fn excel_dates_and_columns() {
        assert_eq!(excel_serial(date(1900, 1, 1)), Some(1));
        assert_eq!(excel_serial(date(1900, 2, 28)), Some(59));
        assert_eq!(excel_serial(date(1900, 3, 1)), Some(61));
        assert_eq!(excel_serial(date(2026, 1, 15)), Some(46037));
        assert_eq!(excel_serial(date(1899, 12, 31)), None);
        let names: Vec<String> = [0, 25, 26, 701, 702, 16_383]
            .iter()
            .map(|&c| {
                let mut s = String::new();
                push_column_name(&mut s, c);
                s
            })
            .collect();
        assert_eq!(names, ["A", "Z", "AA", "ZZ", "AAA", "XFD"]);
    }

    #[test]
    fn sheet_names_are_made_acceptable() {
        assert_eq!(sheet_name_for_excel("督办/汇总:[全县]"), "督办_汇总__全县_");
        assert_eq!(sheet_name_for_excel("'"), "Sheet1");
        assert_eq!(sheet_name_for_excel("History"), "Sheet1");
        let long = "一".repeat(40);
        assert_eq!(sheet_name_for_excel(&long).chars().count(), 31);
    }

    #[test]
    fn xlsx_text_is_escaped() {
        let mut xml = String::new();
        push_xlsx_cell(&mut xml, 0, 2, &Cell::Text(" <a&b>\u{1}_x0041_ ".into()));
        assert_eq!(
            xml,
            r#"<c r="A2" t="inlineStr"><is><t xml:space="preserve"> &lt;a&amp;b&gt;_x005F_x0041_ </t></is></c>"#
        );
        let mut xml = String::new();
        push_xlsx_cell(&mut xml, 1, 3, &Cell::Percent(Some(0.5)));
        push_xlsx_cell(&mut xml, 2, 3, &Cell::Date(date(2026, 1, 15)));
        push_xlsx_cell(&mut xml, 3, 3, &Cell::Number(f64::INFINITY));
        push_xlsx_cell(&mut xml, 4, 3, &Cell::Number(1e300));
        assert_eq!(
            xml,
            r#"<c r="B3" s="2"><v>0.5</v></c><c r="C3" s="3"><v>46037</v></c><c r="E3"><v>1E300</v></c>"#
        );
    }

    #[test]
    fn xlsx_streams_and_reads_back() {
        fn assert_send<T: Send>() {}
        assert_send::<XlsxStream>();

        const ROWS: u32 = 20_000;
        let mut xlsx = XlsxStream::new(
            "2026年一季度督办",
            &["单位", "件数", "办结率", "日期", "得分"],
        )
        .unwrap();
        let mut all = Vec::new();
        let (mut chunks, mut largest) = (0, 0);
        for i in 0..ROWS {
            xlsx.row(&[
                Cell::Text(format!("青山镇第{i}网格 <{}>", i % 97)),
                Cell::Int(i64::from(i) * 7919 % 100_003),
                Cell::Percent(Some(f64::from(i % 1000) / 1000.0)),
                Cell::Date(date(2026, 1, 1) + chrono::Days::new(u64::from(i % 365))),
                Cell::Number(f64::from(i) / 7.0),
            ])
            .unwrap();
            let bytes = xlsx.take();
            if !bytes.is_empty() {
                chunks += 1;
                largest = largest.max(bytes.len());
                all.extend_from_slice(&bytes);
            }
        }
        let streamed = all.len();
        let rest = xlsx.finish().unwrap();
        largest = largest.max(rest.len());
        all.extend_from_slice(&rest);
        assert!(chunks > 5, "only {chunks} chunks before finish");
        assert!(
            streamed > all.len() / 2,
            "{streamed} of {} streamed",
            all.len()
        );
        assert!(
            largest * 8 < all.len(),
            "largest chunk {largest} of {}",
            all.len()
        );

        let mut archive = zip::ZipArchive::new(Cursor::new(all)).unwrap();
        let names: Vec<String> = archive
            .file_names()
            .map(|n| n.unwrap().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "[Content_Types].xml",
                "_rels/.rels",
                "xl/workbook.xml",
                "xl/_rels/workbook.xml.rels",
                "xl/styles.xml",
                "xl/worksheets/sheet1.xml",
            ]
        );
        let mut workbook = String::new();
        archive
            .by_name("xl/workbook.xml")
            .unwrap()
            .read_to_string(&mut workbook)
            .unwrap();
        assert!(workbook.contains(r#"<sheet name="2026年一季度督办" sheetId="1" r:id="rId1"/>"#));
        let mut sheet = String::new();
        archive
            .by_name("xl/worksheets/sheet1.xml")
            .unwrap()
            .read_to_string(&mut sheet)
            .unwrap();
        assert!(sheet.contains(r#"<c r="A1" s="1" t="inlineStr"><is><t>单位</t></is></c>"#));
        assert!(sheet.contains("<t>青山镇第12345网格 &lt;26&gt;</t>"));
        assert!(sheet.contains(r#"<c r="B2"><v>0</v></c><c r="C2" s="2"><v>0</v></c>"#));
        assert!(sheet.contains(r#"<c r="B3"><v>7919</v></c>"#));
        assert!(sheet.contains(r#"<c r="D2" s="3"><v>46023</v></c>"#));
        assert_eq!(sheet.matches("<row ").count(), ROWS as usize + 1);
        assert!(sheet.contains(&format!(r#"<row r="{}">"#, ROWS + 1)));
        assert!(sheet.ends_with("</sheetData></worksheet>"));
    }

    #[test]
    fn xlsx_refuses_too_many_columns() {
        let wide = vec![Cell::Int(1); MAX_COLS + 1];
        let mut xlsx = XlsxStream::new("", &[]).unwrap();
        assert_eq!(
            xlsx.row(&wide).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        xlsx.row(&[Cell::Int(1)]).unwrap();
        let bytes = [xlsx.take(), xlsx.finish().unwrap()].concat();
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut sheet = String::new();
        archive
            .by_name("xl/worksheets/sheet1.xml")
            .unwrap()
            .read_to_string(&mut sheet)
            .unwrap();
        assert!(sheet.contains(r#"<sheetData><row r="1"><c r="A1"><v>1</v></c></row>"#));
    }

    fn bar(label: &str, value: f64, colour: BarColour, note: Option<&str>) -> Bar {
        Bar {
            label: label.into(),
            value,
            colour,
            note: note.map(Into::into),
        }
    }

    #[test]
    fn bar_chart_has_one_rect_per_bar_and_escapes() {
        let bars = [
            bar("青山镇", 92.5, BarColour::Red, Some("红旗")),
            bar("<A&B \"街道\">", 71.0, BarColour::Yellow, None),
            bar("白水乡", 40.0, BarColour::Black, Some("黑旗")),
            bar("县信访局", 80.0, BarColour::Neutral, None),
        ];
        let svg = bar_chart_svg("一季度 <考核> & \"排名\"", &bars, "分");
        assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg""#));
        assert!(svg.contains(r#"viewBox="0 0 960 "#));
        assert!(svg.contains(r#"font-family="'Noto Sans CJK SC','Microsoft YaHei',sans-serif""#));
        assert!(svg.contains("<title>一季度 &lt;考核&gt; &amp; &quot;排名&quot;</title>"));
        assert!(svg.contains("&lt;A&amp;B &quot;街道&quot;&gt;"));
        assert!(!svg.contains("<A&B"));
        let fills: Vec<&str> = svg
            .split("<rect")
            .skip(1)
            .map(|r| {
                r.split("fill=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(fills, ["#d4380d", "#faad14", "#262626", "#1677ff"]);
        assert!(svg.contains("92.5分<tspan"));
        assert!(svg.contains(">红旗</tspan>"));
        assert!(svg.contains(">71分</text>"));
        assert!(svg.ends_with("</svg>"));

        let taller = bar_chart_svg("t", &[bars[0].clone(), bars[1].clone()], "分");
        let short = bar_chart_svg("t", &bars[..1], "分");
        assert!(taller.len() > short.len());
        assert!(bar_chart_svg("t", &[], "分").contains("暂无数据"));
    }

    #[test]
    fn line_chart_splits_at_gaps() {
        let labels: Vec<String> = (1..=6).map(|m| format!("2026-{m:02}")).collect();
        let series = [
            Series {
                name: "办结率".into(),
                points: vec![
                    Some(0.8),
                    Some(0.9),
                    None,
                    Some(0.85),
                    Some(0.95),
                    Some(1.0),
                ],
            },
            Series {
                name: "满意率 <&>".into(),
                points: vec![Some(0.5), None, Some(0.6), None, None, None],
            },
        ];
        let svg = line_chart_svg("月度 & 趋势", &labels, &series);
        assert!(svg.contains("<title>月度 &amp; 趋势</title>"));
        assert!(svg.contains("满意率 &lt;&amp;&gt;"));
        // First series: two runs around its gap. Second: isolated points, no line at all.
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 7);
        assert_eq!(svg.matches(r##"stroke="#1677ff""##).count(), 3); // legend + two runs
        assert!(svg.contains(r##"stroke="#d4380d""##));
        for pct in ["0%", "25%", "50%", "75%", "100%"] {
            assert!(svg.contains(&format!(">{pct}</text>")), "{pct}");
        }
        assert!(svg.contains(">2026-01</text>"));
        assert!(svg.contains(">2026-06</text>"));
        let first = svg.split("<polyline").nth(1).unwrap();
        let points = first
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(points.split(' ').count(), 2);
        assert!(line_chart_svg("t", &[], &series).contains("暂无数据"));
    }
}
