//! Importer for the JointCoder wide spreadsheet (one record per row).
//!
//! Header row: `ID`, then text columns (`主诉`, `现病史`, …, `出院诊断`), then
//! gold pairs `出院主要诊断编码/名称`, `出院其他诊断编码N/名称N`,
//! `主要手术操作编码/名称`, `其他手术操作编码N/名称N` (N = 1, 2, …). Every
//! column that is neither the id nor gold becomes a section, in column order,
//! so a hospital export with extra text columns keeps them. The header may sit
//! below a few title rows; the first sheet with an id column is read.
//! A track's gold is `Some` when the sheet has that track's code columns
//! (empty when the row has no codes), `None` otherwise.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::LazyLock;

use calamine::{Data, Range, Reader, Xls, Xlsx};
use regex::Regex;

use super::codes::RawGold;
use super::collect::Collector;
use super::{Gold, Record, Section, Track};
use crate::error::{Error, Location, Result};

/// Header spellings accepted for the id column (case-insensitive for `ID`).
pub const ID_HEADERS: &[&str] = &["ID", "病案标识", "病案号", "住院号"];

/// How many leading rows may hold a title before the header.
const HEADER_SEARCH_ROWS: usize = 5;

static GOLD_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(出院主要诊断|主要手术操作|出院其他诊断|其他手术操作)(编码|名称)(\d*)$")
        .expect("valid gold header regex")
});

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// True when the bytes start like an xlsx (zip) or legacy xls (OLE) workbook.
pub(crate) fn has_workbook_magic(head: &[u8]) -> bool {
    head.starts_with(ZIP_MAGIC) || head.starts_with(OLE_MAGIC)
}

#[derive(Debug, Clone)]
enum Column {
    Id,
    Text(String),
    Ignore,
}

/// A gold slot's columns: (code column, name column).
type SlotCols = (Option<usize>, Option<usize>);

struct Layout {
    header_row: usize,
    columns: Vec<Column>,
    headers: Vec<String>,
    /// Per track, slots keyed by order (0 = principal, N = other N).
    gold: BTreeMap<(Track, u32), SlotCols>,
}

impl Layout {
    fn has_track(&self, track: Track) -> bool {
        self.gold.keys().any(|(t, _)| *t == track)
    }
}

/// Reads a workbook's bytes into the collector. Errs when the file as a whole
/// is unusable: not a workbook, unreadable, or no sheet with an id column.
pub(crate) fn load(path: &Path, bytes: Vec<u8>, c: &mut Collector) -> Result<()> {
    let fail = |msg: String| Error::invalid(Location::file(path), msg);
    let (sheet, range) = if bytes.starts_with(ZIP_MAGIC) {
        crate::limits::check_workbook_zip(Cursor::new(&bytes[..])).map_err(fail)?;
        let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
            .map_err(|e| fail(format!("cannot open the xlsx workbook: {e}")))?;
        find_sheet(&mut wb, crate::limits::xlsx_sheet).map_err(fail)?
    } else if bytes.starts_with(OLE_MAGIC) {
        let mut wb: Xls<_> = Xls::new(Cursor::new(bytes))
            .map_err(|e| fail(format!("cannot open the xls workbook: {e}")))?;
        find_sheet(&mut wb, |wb, name| {
            wb.worksheet_range(name).map_err(|e| e.to_string())
        })
        .map_err(fail)?
    } else {
        let what = if bytes.is_empty() {
            "the file is empty".to_owned()
        } else {
            let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02X}")).collect();
            format!("it starts with bytes {}", head.join(" "))
        };
        return Err(fail(format!(
            "not an xlsx workbook (an xlsx file is a zip archive starting with `PK`; {what})"
        )));
    };
    let layout = find_layout(&range).ok_or_else(|| {
        fail(format!(
            "sheet `{sheet}` has no ID column (expected a header cell {}); its first row reads: {}",
            ID_HEADERS.join(" / "),
            first_row_preview(&range)
        ))
    })?;
    read_rows(&range, &layout, c);
    Ok(())
}

/// The first sheet whose header has an id column; else the first sheet, so
/// that the caller reports the missing column against it. `read` reads one
/// sheet (within [`crate::limits::MAX_SHEET_CELLS`] for xlsx).
fn find_sheet<RS, R>(
    wb: &mut R,
    mut read: impl FnMut(&mut R, &str) -> std::result::Result<Range<Data>, String>,
) -> std::result::Result<(String, Range<Data>), String>
where
    RS: std::io::Read + std::io::Seek,
    R: Reader<RS>,
{
    let names = wb.sheet_names();
    let mut first: Option<(String, Range<Data>)> = None;
    let mut last_err = None;
    for name in &names {
        match read(wb, name) {
            Ok(range) => {
                if find_layout(&range).is_some() {
                    return Ok((name.clone(), range));
                }
                if first.is_none() {
                    first = Some((name.clone(), range));
                }
            }
            Err(e) => last_err = Some(format!("cannot read sheet `{name}`: {e}")),
        }
    }
    first.ok_or_else(|| last_err.unwrap_or_else(|| "the workbook has no sheets".to_owned()))
}

fn is_id_header(h: &str) -> bool {
    ID_HEADERS.iter().any(|id| h.eq_ignore_ascii_case(id))
}

fn find_layout(range: &Range<Data>) -> Option<Layout> {
    let (row_idx, header) = range
        .rows()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .find(|(_, row)| row.iter().any(|d| is_id_header(cell_text(d).trim())))?;
    let headers: Vec<String> = header.iter().map(|d| header_text(&cell_text(d))).collect();
    let mut columns = Vec::with_capacity(headers.len());
    let mut gold: BTreeMap<(Track, u32), SlotCols> = BTreeMap::new();
    let mut have_id = false;
    for (col, h) in headers.iter().enumerate() {
        let column = if h.is_empty() {
            Column::Ignore
        } else if is_id_header(h) && !have_id {
            have_id = true;
            Column::Id
        } else if let Some(caps) = GOLD_HEADER.captures(h) {
            let (track, other) = match &caps[1] {
                "出院主要诊断" => (Track::Diagnosis, false),
                "出院其他诊断" => (Track::Diagnosis, true),
                "主要手术操作" => (Track::Procedure, false),
                _ => (Track::Procedure, true),
            };
            let n: Option<u32> = caps[3].parse().ok();
            match (other, n) {
                (false, None) | (true, Some(1..)) => {
                    let slot = gold.entry((track, n.unwrap_or(0))).or_default();
                    if &caps[2] == "编码" {
                        slot.0.get_or_insert(col);
                    } else {
                        slot.1.get_or_insert(col);
                    }
                    Column::Ignore
                }
                // e.g. `出院主要诊断编码2` or `其他手术操作编码`: not gold, keep as text.
                _ => Column::Text(h.clone()),
            }
        } else {
            Column::Text(h.clone())
        };
        columns.push(column);
    }
    Some(Layout {
        header_row: row_idx,
        columns,
        headers,
        gold,
    })
}

/// Header cells: trimmed, inner spaces removed (`出院其他诊断编码 1`).
fn header_text(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn read_rows(range: &Range<Data>, layout: &Layout, c: &mut Collector) {
    let first_sheet_row = range.start().map_or(0, |(r, _)| r as usize);
    let empty = Data::Empty;
    for (i, row) in range.rows().enumerate().skip(layout.header_row + 1) {
        if row.iter().all(|d| cell_text(d).trim().is_empty()) {
            continue;
        }
        let position = format!("row {}", first_sheet_row + i + 1);
        let cell = |col: usize| row.get(col).unwrap_or(&empty);

        let mut record = Record::new(String::new());
        let mut bad_cells = Vec::new();
        for (col, column) in layout.columns.iter().enumerate() {
            if let Data::Error(e) = cell(col) {
                bad_cells.push((layout.headers[col].clone(), e.to_string()));
                continue;
            }
            match column {
                Column::Id => record.id = cell_text(cell(col)),
                Column::Text(name) => record.sections.push(Section {
                    name: name.clone(),
                    text: cell_text(cell(col)),
                }),
                Column::Ignore => {}
            }
        }
        let label = match record.id.trim() {
            "" => position.clone(),
            id => id.to_owned(),
        };
        for (field, err) in bad_cells {
            c.error(
                &label,
                Some(&field),
                format!("cell holds the spreadsheet error {err}; treated as empty"),
            );
        }

        let slot = |(code_col, name_col): &SlotCols| RawGold {
            code_field: code_col.map_or_else(String::new, |c| layout.headers[c].clone()),
            code: code_col.map_or_else(String::new, |c| cell_text(cell(c))),
            name_field: name_col.map(|c| layout.headers[c].clone()),
            name: name_col.map_or_else(String::new, |c| cell_text(cell(c))),
        };
        let mut gold = Gold::default();
        for track in Track::ALL {
            if !layout.has_track(track) {
                continue;
            }
            let principal = layout.gold.get(&(track, 0)).map(slot);
            let others = layout
                .gold
                .range((track, 1)..=(track, u32::MAX))
                .map(|(_, cols)| slot(cols))
                .collect();
            let list = c.gold_track(&label, track, principal, others);
            match track {
                Track::Diagnosis => gold.diagnoses = list,
                Track::Procedure => gold.procedures = list,
            }
        }
        record.gold = gold;
        c.push(record, position);
    }
}

/// A cell as text. Whole numbers print without a fraction, because ids and
/// codes typed into Excel become floats (`1` is stored as `1.0`).
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => format_number(*f),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => excel_serial_to_text(dt.as_f64(), dt.is_datetime()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
    }
}

fn format_number(f: f64) -> String {
    // 2^53: beyond it an f64 no longer holds every integer exactly.
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Excel serial date (1900 system) as `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`.
fn excel_serial_to_text(serial: f64, is_datetime: bool) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).and_then(|d| d.and_hms_opt(0, 0, 0));
    let ms = (serial * 86_400_000.0).round();
    let dt = base.and_then(|b| {
        if !is_datetime || !ms.is_finite() || ms.abs() > 1e15 {
            return None;
        }
        b.checked_add_signed(chrono::TimeDelta::milliseconds(ms as i64))
    });
    match dt {
        Some(dt) if serial.fract() == 0.0 => dt.format("%Y-%m-%d").to_string(),
        Some(dt) => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => format_number(serial),
    }
}

fn first_row_preview(range: &Range<Data>) -> String {
    let cells: Vec<String> = range
        .rows()
        .next()
        .map(|row| {
            row.iter()
                .map(cell_text)
                .filter(|s| !s.trim().is_empty())
                .take(8)
                .collect()
        })
        .unwrap_or_default();
    if cells.is_empty() {
        "(empty)".to_owned()
    } else {
        cells.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_floats_print_as_integers() {
        assert_eq!(format_number(1.0), "1");
        assert_eq!(format_number(10001147574.0), "10001147574");
        assert_eq!(format_number(36.07), "36.07");
    }

    #[test]
    fn excel_dates_become_iso() {
        assert_eq!(excel_serial_to_text(45460.0, true), "2024-06-17");
        assert_eq!(excel_serial_to_text(45460.5, true), "2024-06-17 12:00:00");
    }
}
