//! What an import did: rows read, rows loaded, and every row it skipped
//! with the reason, so a coder can fix the hospital's table.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::CodeSystem;

/// Why a row of a source table was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkipReason {
    /// The code (in any spelling) was already loaded from `first_line`;
    /// the first row wins. `same_name` tells a harmless repeat from a
    /// conflicting one.
    Duplicate { first_line: usize, same_name: bool },
    /// Not a code of this system: junk, or two codes run together without
    /// a separator (`C22.101M81600/3`).
    MalformedCode,
    /// A well-formed code of the other system (a procedure code in a
    /// diagnosis table, or the reverse).
    OtherSystem,
    /// The code has no name.
    BlankName,
    /// The row has a name but no code.
    BlankCode,
    /// Removed by a delta file (`- CODE` at `line` of `file`).
    Deleted { file: PathBuf, line: usize },
    /// Marked inactive by the source (gnuhealth `active=False`).
    Inactive,
}

impl SkipReason {
    /// Short stable label used for counts.
    pub fn label(&self) -> &'static str {
        match self {
            SkipReason::Duplicate { .. } => "duplicate code",
            SkipReason::MalformedCode => "malformed code",
            SkipReason::OtherSystem => "code of the other system",
            SkipReason::BlankName => "blank name",
            SkipReason::BlankCode => "blank code",
            SkipReason::Deleted { .. } => "deleted by delta",
            SkipReason::Inactive => "inactive",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Duplicate {
                first_line,
                same_name: true,
            } => write!(f, "duplicate of line {first_line} (same name)"),
            SkipReason::Duplicate {
                first_line,
                same_name: false,
            } => write!(
                f,
                "duplicate of line {first_line} with a different name (first kept)"
            ),
            SkipReason::Deleted { file, line } => {
                write!(f, "deleted by {} line {line}", file.display())
            }
            other => f.write_str(other.label()),
        }
    }
}

/// One row that was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRow {
    /// 1-based line of a text table, or 1-based row of a spreadsheet.
    pub line: usize,
    /// The file the row came from when it is not the report's `source`
    /// (a delta file's additions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    pub code: String,
    pub name: String,
    pub reason: SkipReason,
}

/// The outcome of loading one table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// The file read.
    pub source: PathBuf,
    /// Detected (or forced) format, e.g. `dat`, `csv`, `xlsx`, `product`.
    pub format: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<CodeSystem>,
    /// Data rows seen (blank lines and the header not counted).
    pub rows_read: usize,
    /// Rows that became table entries (delta additions included).
    pub rows_loaded: usize,
    /// Chapter, block, category and subcategory nodes added above the rows.
    pub synthetic_nodes: usize,
    /// Names carried by more than one code (kept: they are legitimate, but
    /// a name lookup must choose).
    pub duplicate_names: usize,
    /// Every skipped row, in file order.
    pub skipped: Vec<SkippedRow>,
    /// Facts about the read: encoding, detected columns, delta changes.
    pub notes: Vec<String>,
}

impl ImportReport {
    /// A report for `source` with nothing read yet.
    pub fn new(source: impl Into<PathBuf>, format: impl Into<String>) -> Self {
        ImportReport {
            source: source.into(),
            format: format.into(),
            ..Default::default()
        }
    }

    /// Number of skipped rows per reason label, sorted by label.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for s in &self.skipped {
            *m.entry(s.reason.label()).or_insert(0) += 1;
        }
        m
    }

    /// Skipped rows with a given reason label.
    pub fn skipped_with(&self, label: &str) -> usize {
        self.skipped
            .iter()
            .filter(|s| s.reason.label() == label)
            .count()
    }

    /// Writes the skipped rows, at most `limit` of them (`None`: all).
    pub fn write_skipped(&self, out: &mut impl fmt::Write, limit: Option<usize>) -> fmt::Result {
        let n = limit.unwrap_or(usize::MAX);
        for s in self.skipped.iter().take(n) {
            let file = s
                .file
                .as_ref()
                .map(|f| format!("{}:", f.display()))
                .unwrap_or_default();
            writeln!(
                out,
                "  {file}{:>6}  {:<20} {:<24} {}",
                s.line,
                s.code,
                crate::text::truncate_chars(&s.name, 24),
                s.reason
            )?;
        }
        if self.skipped.len() > n {
            writeln!(out, "  … {} more (use --show-all)", self.skipped.len() - n)?;
        }
        Ok(())
    }
}

impl fmt::Display for ImportReport {
    /// One-paragraph summary: counts only, no row list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {} rows read, {} loaded, {} skipped",
            self.source.display(),
            self.format,
            self.rows_read,
            self.rows_loaded,
            self.skipped.len()
        )?;
        let counts = self.counts();
        if !counts.is_empty() {
            let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        if self.synthetic_nodes > 0 {
            write!(f, "; {} ancestor nodes added", self.synthetic_nodes)?;
        }
        if self.duplicate_names > 0 {
            write!(
                f,
                "; {} names shared by several codes",
                self.duplicate_names
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_reasons() {
        let mut r = ImportReport::new("t.dat", "dat");
        r.rows_read = 3;
        r.rows_loaded = 1;
        r.skipped.push(SkippedRow {
            line: 2,
            file: None,
            code: "C22.101M81600/3".into(),
            name: "胆管癌".into(),
            reason: SkipReason::MalformedCode,
        });
        r.skipped.push(SkippedRow {
            line: 3,
            file: None,
            code: "A00.000".into(),
            name: "霍乱".into(),
            reason: SkipReason::Duplicate {
                first_line: 1,
                same_name: true,
            },
        });
        let s = r.to_string();
        assert!(s.contains("3 rows read, 1 loaded, 2 skipped"), "{s}");
        assert!(
            s.contains("1 malformed code") && s.contains("1 duplicate code"),
            "{s}"
        );
        let mut list = String::new();
        r.write_skipped(&mut list, Some(1)).unwrap();
        assert!(
            list.contains("C22.101M81600/3") && list.contains("1 more"),
            "{list}"
        );
    }
}
