//! CSV and TSV files → a grid of trimmed cells with their line numbers.

use std::path::Path;

use super::decode::decode_text;
use crate::error::{Error, Location, Result};

/// Cells of one record and the line it starts on.
pub(crate) type GridRow = (usize, Vec<String>);

/// Reads a delimited file. CSV honours quotes; TSV does not (names carry
/// quote characters, and TSV exports rarely quote).
pub(crate) fn read_delimited(path: &Path, delimiter: u8) -> Result<(Vec<GridRow>, String)> {
    let bytes =
        crate::limits::read_limited(path, crate::limits::MAX_TABLE_FILE_BYTES, "code table")?;
    let d = decode_text(path, &bytes)?;
    let grid = parse_delimited(path, &d.text, delimiter)?;
    Ok((grid, d.encoding.to_string()))
}

pub(crate) fn parse_delimited(path: &Path, text: &str, delimiter: u8) -> Result<Vec<GridRow>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .quoting(delimiter != b'\t')
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    // the reader's own line count skips blank lines: count from byte offsets
    let bytes = text.as_bytes();
    let (mut line, mut counted) = (1usize, 0usize);
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line().to_string());
            let mut loc = Location::file(path);
            if let Some(l) = line {
                loc = loc.record(format!("line {l}"));
            }
            Error::invalid(loc, format!("unreadable CSV: {e}"))
        })?;
        let mut at = rec
            .position()
            .map_or(counted, |p| p.byte() as usize)
            .min(bytes.len());
        // a record's position includes the blank lines before it
        while at < bytes.len() && matches!(bytes[at], b'\n' | b'\r') {
            at += 1;
        }
        if at > counted {
            line += bytes[counted..at].iter().filter(|&&b| b == b'\n').count();
            counted = at;
        }
        let cells: Vec<String> = rec.iter().map(|c| c.trim().to_string()).collect();
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        out.push((line, cells));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_commas_and_lines() {
        let g = parse_delimited(
            Path::new("t.csv"),
            "code,name\n\nA15.000x010,\"继发性肺结核(初治,单耐药)\"\n",
            b',',
        )
        .unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[1].0, 3);
        assert_eq!(g[1].1[1], "继发性肺结核(初治,单耐药)");
    }
}
