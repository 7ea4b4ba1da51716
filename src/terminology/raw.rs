//! Rows as a source file gives them, before validation and hierarchy.

/// One `(code, name)` row of a source table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    /// 1-based line (text) or row (spreadsheet) in the source.
    pub line: usize,
    pub code: String,
    pub name: String,
    /// Other names given by the source (alias columns, English names).
    pub aliases: Vec<String>,
}

impl RawRow {
    /// A row without aliases.
    pub fn new(line: usize, code: impl Into<String>, name: impl Into<String>) -> Self {
        RawRow {
            line,
            code: code.into(),
            name: name.into(),
            aliases: Vec::new(),
        }
    }
}

/// All data rows of one source, with facts about the read.
#[derive(Debug, Clone, Default)]
pub struct RawTable {
    pub rows: Vec<RawRow>,
    /// Encoding, detected header and columns, numeric cells…
    pub notes: Vec<String>,
}

/// Makes a field safe for the one-line-per-row product format: tabs and
/// line breaks become spaces; surrounding whitespace (ASCII and U+3000) goes.
/// Everything else, backslashes and private-use characters included, is
/// kept as the source stores it.
pub(crate) fn clean_field(s: &str) -> String {
    let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if s.contains(['\t', '\n', '\r']) {
        s.replace(['\t', '\n', '\r'], " ")
    } else {
        s.to_string()
    }
}
