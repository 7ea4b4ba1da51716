//! Size limits for the files icdflow reads whole.
//!
//! Record and table files come from other systems, and a broken export (or a
//! hostile file) must end in a clear error naming the file and the limit, not
//! in the server running out of memory. Each limit is far above any real
//! file of its kind:
//!
//! | what | limit | real files |
//! |---|---|---|
//! | a record file read whole (text, PDF, workbook, a JSON array through `load`) | [`MAX_RECORD_FILE_BYTES`] 256 MiB | a few MB |
//! | a code table, delta, `.po` or GNU Health XML file | [`MAX_TABLE_FILE_BYTES`] 128 MiB | ≤ 15 MB |
//! | rows of one code table | [`MAX_TABLE_ROWS`] 500 000 | ≤ 40 000 |
//! | bytes a workbook's zip unpacks to (its own directory's sizes) | [`MAX_WORKBOOK_UNPACKED_BYTES`] 512 MiB | a few MB |
//! | cells of one sheet (filled cells, and the rectangle they span) | [`MAX_SHEET_CELLS`] 5 000 000 | ≤ 1 000 000 |
//!
//! Larger record batches are read a record at a time ([`crate::record::stream`],
//! JSON Lines and JSON arrays), where only one element is bounded.

use std::io::{Read, Seek};
use std::path::Path;

use calamine::{Cell, Data, DataRef, Range, Xlsx, XlsxError};

use crate::error::{Error, Location, Result};

/// Largest record file read whole.
pub const MAX_RECORD_FILE_BYTES: u64 = 256 << 20;
/// Largest code table (and delta, `.po`, GNU Health XML) file.
pub const MAX_TABLE_FILE_BYTES: u64 = 128 << 20;
/// Most rows one code table may have.
pub const MAX_TABLE_ROWS: usize = 500_000;
/// Most bytes the parts of a workbook's zip may unpack to, by the sizes its
/// central directory declares.
pub const MAX_WORKBOOK_UNPACKED_BYTES: u64 = 512 << 20;
/// Most cells one sheet may fill, and most cells of the rectangle they span
/// (a sheet is held as that rectangle).
pub const MAX_SHEET_CELLS: u64 = 5_000_000;

fn mib(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

/// Reads a whole file of at most `limit` bytes; `what` names the kind of
/// file in the error ("record file", "code table"). The size is checked
/// before anything is read, and the read stops one byte past the limit for a
/// file that grows meanwhile (or reports no size, as a pipe does).
pub fn read_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let too_big = |size: String| {
        Error::invalid(
            Location::file(path),
            format!(
                "the file is {size}, more than the {} a {what} may have (icdflow::limits); \
                 split it, or export JSON Lines for large record batches",
                mib(limit)
            ),
        )
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len > limit {
        return Err(too_big(mib(len)));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(too_big(format!("over {}", mib(limit))));
    }
    Ok(bytes)
}

/// [`read_limited`] as text (UTF-8 required), for XML and `.po` files.
pub fn read_limited_utf8(path: &Path, limit: u64, what: &str) -> Result<String> {
    let bytes = read_limited(path, limit, what)?;
    String::from_utf8(bytes).map_err(|e| {
        Error::invalid(
            Location::file(path),
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Checks the sizes a zip workbook declares for its parts against
/// [`MAX_WORKBOOK_UNPACKED_BYTES`] (a zip bomb unpacks a small file into
/// gigabytes). Data that is no zip passes: the workbook reader says why it
/// cannot open it.
pub fn check_workbook_zip<R: Read + Seek>(reader: R) -> std::result::Result<(), String> {
    let Ok(mut zip) = zip::ZipArchive::new(reader) else {
        return Ok(());
    };
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let Ok(entry) = zip.by_index_raw(i) else {
            continue;
        };
        total = total.saturating_add(entry.size());
        if total > MAX_WORKBOOK_UNPACKED_BYTES {
            return Err(format!(
                "the workbook unpacks to more than {} (part `{}` alone is {}): \
                 refused as a zip bomb or a broken export (icdflow::limits::MAX_WORKBOOK_UNPACKED_BYTES)",
                mib(MAX_WORKBOOK_UNPACKED_BYTES),
                entry.name().unwrap_or_default(),
                mib(entry.size())
            ));
        }
    }
    Ok(())
}

/// Reads one sheet of an xlsx workbook cell by cell, refusing a sheet whose
/// filled cells, or the rectangle they span, pass [`MAX_SHEET_CELLS`] before
/// that rectangle is allocated.
pub fn xlsx_sheet<RS: Read + Seek>(
    wb: &mut Xlsx<RS>,
    name: &str,
) -> std::result::Result<Range<Data>, String> {
    let mut reader = match wb.worksheet_cells_reader(name) {
        Ok(r) => r,
        Err(XlsxError::NotAWorksheet(_)) => return Ok(Range::default()),
        Err(e) => return Err(e.to_string()),
    };
    let mut cells: Vec<Cell<Data>> = Vec::new();
    let (mut r0, mut r1, mut c0, mut c1) = (u32::MAX, 0u32, u32::MAX, 0u32);
    while let Some(cell) = reader.next_cell().map_err(|e| e.to_string())? {
        if matches!(cell.get_value(), DataRef::Empty) {
            continue;
        }
        let (r, c) = cell.get_position();
        (r0, r1, c0, c1) = (r0.min(r), r1.max(r), c0.min(c), c1.max(c));
        let span = (u64::from(r1 - r0) + 1) * (u64::from(c1 - c0) + 1);
        if cells.len() as u64 >= MAX_SHEET_CELLS || span > MAX_SHEET_CELLS {
            return Err(format!(
                "sheet `{name}` has more than {MAX_SHEET_CELLS} cells (filled cells span {} rows × {} columns \
                 by cell {}): refused (icdflow::limits::MAX_SHEET_CELLS)",
                r1 - r0 + 1,
                c1 - c0 + 1,
                cell_name(r, c)
            ));
        }
        cells.push(Cell::new((r, c), Data::from(cell.get_value().clone())));
    }
    Ok(Range::from_sparse(cells))
}

/// `A1`-style name of a 0-based (row, column).
fn cell_name(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut c = col + 1;
    while c > 0 {
        letters.push(b'A' + ((c - 1) % 26) as u8);
        c = (c - 1) / 26;
    }
    letters.reverse();
    format!("{}{}", String::from_utf8_lossy(&letters), row + 1)
}

/// Errs when a table has more than [`MAX_TABLE_ROWS`] rows.
pub fn check_table_rows(path: &Path, rows: usize) -> Result<()> {
    if rows > MAX_TABLE_ROWS {
        return Err(Error::invalid(
            Location::file(path),
            format!(
                "{rows} rows, more than the {MAX_TABLE_ROWS} a code table may have \
                 (icdflow::limits::MAX_TABLE_ROWS): is this a code table?"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_names() {
        assert_eq!(cell_name(0, 0), "A1");
        assert_eq!(cell_name(9, 25), "Z10");
        assert_eq!(cell_name(0, 26), "AA1");
        assert_eq!(cell_name(1_048_575, 16_383), "XFD1048576");
    }
}
