//! `code name` text tables (`.dat`), as the 国临 and 医保 tables are
//! distributed, and delta files that change them.
//!
//! One row per line, split at the FIRST space or tab: the code has none,
//! names sometimes do (`B95.100 B 族链球菌…`). Names are kept as stored,
//! backslash escapes (`\[HIV\]`) and private-use characters included, so
//! they match what the hospital's other systems print.
//!
//! A delta file uses the same rows to add codes, and `- CODE` to delete one.

use std::path::{Path, PathBuf};

use super::decode::decode_text;
use super::raw::{clean_field, RawRow, RawTable};
use crate::error::Result;

/// Splits one line into `(code, name)`; `None` for blank and `#` lines.
fn split_line(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start_matches('\u{feff}').trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    match line.find([' ', '\t', '\u{3000}']) {
        Some(i) => {
            let sep_len = line[i..].chars().next().map_or(1, char::len_utf8);
            Some((&line[..i], &line[i + sep_len..]))
        }
        None => Some((line, "")),
    }
}

/// Parses the text of a `.dat` table.
pub fn parse_dat(text: &str) -> RawTable {
    let rows = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            split_line(l).map(|(c, n)| RawRow::new(i + 1, clean_field(c), clean_field(n)))
        })
        .collect();
    RawTable {
        rows,
        notes: Vec::new(),
    }
}

/// Reads a `.dat` table (UTF-8 or GBK).
pub fn read_dat(path: &Path) -> Result<RawTable> {
    let bytes =
        crate::limits::read_limited(path, crate::limits::MAX_TABLE_FILE_BYTES, "code table")?;
    let d = decode_text(path, &bytes)?;
    let mut t = parse_dat(&d.text);
    t.notes.push(format!("encoding {}", d.encoding));
    Ok(t)
}

/// Changes to a table: deletions and additions (an addition of a code the
/// table has replaces its name).
#[derive(Debug, Clone, Default)]
pub struct Delta {
    pub file: PathBuf,
    /// `(line, code)` of each `- CODE` line.
    pub deletes: Vec<(usize, String)>,
    pub adds: Vec<RawRow>,
}

/// Reads a delta file.
pub fn read_delta(path: &Path) -> Result<Delta> {
    let bytes =
        crate::limits::read_limited(path, crate::limits::MAX_TABLE_FILE_BYTES, "code table")?;
    let d = decode_text(path, &bytes)?;
    let mut delta = Delta {
        file: path.to_path_buf(),
        ..Default::default()
    };
    for (i, l) in d.text.lines().enumerate() {
        let t = l.trim();
        if let Some(rest) = t.strip_prefix('-').filter(|r| r.starts_with([' ', '\t'])) {
            let code = rest.split_whitespace().next().unwrap_or("");
            delta.deletes.push((i + 1, code.to_string()));
        } else if let Some((c, n)) = split_line(l) {
            delta
                .adds
                .push(RawRow::new(i + 1, clean_field(c), clean_field(n)));
        }
    }
    Ok(delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_first_space_and_keeps_escapes() {
        let t = parse_dat(
            "A00.900 霍乱\r\n\nB95.100 B 族链球菌\nA07.100 贾第虫病\\[兰伯鞭毛虫病\\]\nQ96.000 核型\u{e00f}45\nI10.x00\n",
        );
        let got: Vec<_> = t
            .rows
            .iter()
            .map(|r| (r.line, r.code.as_str(), r.name.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (1, "A00.900", "霍乱"),
                (3, "B95.100", "B 族链球菌"),
                (4, "A07.100", "贾第虫病\\[兰伯鞭毛虫病\\]"),
                (5, "Q96.000", "核型\u{e00f}45"),
                (6, "I10.x00", ""),
            ]
        );
    }
}
