//! Loading any code table: the product format, `code name` .dat, CSV, TSV
//! or a spreadsheet, validated, de-duplicated and placed in a hierarchy.
//!
//! Decisions a coder should know:
//! - The first row of a code wins; later rows with the same code in any
//!   spelling are reported as duplicates. Names shared by several codes
//!   are kept (the 国临 table has such pairs) and counted in the report.
//! - Two codes run together (`C22.101M81600/3`, `B37.600I39.8`) are
//!   rejected as malformed: guessing the split would invent a code.
//! - ICD-O morphology codes (`M80000/3`) in a diagnosis table are kept,
//!   with kind `morphology` and not assignable: they can be looked up, but
//!   the diagnosis track never outputs them (they belong in the pathology
//!   field of the front page, not in the diagnosis list).
//! - Assignability: in national and hospital tables (国临, 医保, 北京临床版)
//!   every row is a valid code, parents included (`I20.800` and
//!   `I20.800x007` are both assignable). In WHO/US-style tables (only
//!   `A00`/`A00.0`/`00.01` shapes, such as the registry tables) a row with
//!   children is a heading and not assignable. `Assignability::Auto` tells
//!   the two apart by the codes' shapes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ancestors::AncestorNames;
use super::columns::rows_from_grid;
use super::dat::{read_dat, read_delta};
use super::hierarchy::{build, AssignRule, ValidRow};
use super::product::{fingerprint_entries, is_product, read_product_table, system_tag};
use super::raw::{RawRow, RawTable};
use super::report::{ImportReport, SkipReason, SkippedRow};
use super::shape::{check_code, clean_code, primary, ShapeError};
use super::{csv_table, normalize_code, xlsx_table, CodeSystem, Terminology};
use crate::error::{Error, Location, Result};

/// File formats a table can come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    /// The product's own TSV (see [`super::product`]).
    Product,
    /// `code name` per line.
    Dat,
    Csv,
    Tsv,
    /// xlsx, xlsm, xls or ods.
    Xlsx,
}

impl TableFormat {
    /// Lowercase name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            TableFormat::Product => "product",
            TableFormat::Dat => "dat",
            TableFormat::Csv => "csv",
            TableFormat::Tsv => "tsv",
            TableFormat::Xlsx => "xlsx",
        }
    }

    /// Detects the format from the file's first bytes and its extension.
    pub fn detect(path: &Path) -> Result<TableFormat> {
        use std::io::Read;
        let mut head = [0u8; 4096];
        let n = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut head))
            .map_err(|e| Error::io(path, e))?;
        let head = &head[..n];
        if is_product(head) {
            return Ok(TableFormat::Product);
        }
        // zip (xlsx, ods) and OLE (xls) containers
        if head.starts_with(b"PK\x03\x04") || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
            return Ok(TableFormat::Xlsx);
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        Ok(match ext.as_str() {
            "dat" => TableFormat::Dat,
            "csv" => TableFormat::Csv,
            "tsv" | "tab" => TableFormat::Tsv,
            "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => TableFormat::Xlsx,
            // .txt and unknown names: tab-separated exports (Excel's
            // "Unicode text" included) or `code name` lines
            _ => {
                let text = String::from_utf8_lossy(head);
                let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                if first.contains('\t') {
                    TableFormat::Tsv
                } else if first.contains(',') && !first.contains(' ') {
                    TableFormat::Csv
                } else {
                    TableFormat::Dat
                }
            }
        })
    }
}

/// Columns to read from a CSV/TSV/xlsx table: header names or 1-based
/// numbers. Unset columns are detected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    pub code: Option<String>,
    pub name: Option<String>,
    /// Columns whose cells (split at `|` or `;`) are extra names.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// Which rows may be assigned (see the module notes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Assignability {
    /// `leaves` for WHO/US-style tables, `all` otherwise.
    #[default]
    Auto,
    /// Every row (national and hospital tables).
    All,
    /// Rows without children.
    Leaves,
}

/// How to load a table. `Default` detects everything.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Force a format instead of detecting it.
    pub format: Option<TableFormat>,
    pub columns: ColumnSpec,
    /// Spreadsheet sheet by name or 1-based number (default: the first).
    pub sheet: Option<String>,
    pub assignability: Assignability,
    /// Label for the loaded table (default: the file name).
    pub label: Option<String>,
    /// Delta files applied in order (`- CODE` deletes, `CODE name` adds).
    pub deltas: Vec<PathBuf>,
    /// Names for chapters, blocks and categories the table lacks.
    pub ancestors: AncestorNames,
}

/// Loads a table with detected format and columns.
pub fn load_table(path: &Path, system: CodeSystem) -> Result<(Terminology, ImportReport)> {
    load_table_with(path, system, &LoadOptions::default())
}

/// Loads a table with options.
pub fn load_table_with(
    path: &Path,
    system: CodeSystem,
    opts: &LoadOptions,
) -> Result<(Terminology, ImportReport)> {
    let format = match opts.format {
        Some(f) => f,
        None => TableFormat::detect(path)?,
    };
    if format == TableFormat::Product {
        if !opts.deltas.is_empty() {
            return Err(Error::invalid(
                Location::file(path),
                "delta files apply to source tables (.dat/.csv/.xlsx), not to a product table",
            ));
        }
        let (t, r) = read_product_table(path)?;
        if t.system != system {
            return Err(Error::invalid(
                Location::file(path),
                format!(
                    "this is an {} table, but an {} table was expected",
                    system_tag(t.system),
                    system_tag(system)
                ),
            ));
        }
        return Ok((t, r));
    }
    let raw = read_raw(path, system, format, opts)?;
    crate::limits::check_table_rows(path, raw.rows.len())?;
    let mut report = ImportReport::new(path, format.name());
    report.system = Some(system);
    report.notes = raw.notes.clone();
    let label = opts.label.clone().unwrap_or_else(|| {
        path.file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let term = build_table(system, label, raw.rows, opts, &mut report)?;
    Ok((term, report))
}

/// Reads the rows of a source table without validating them.
pub fn read_raw(
    path: &Path,
    system: CodeSystem,
    format: TableFormat,
    opts: &LoadOptions,
) -> Result<RawTable> {
    match format {
        TableFormat::Dat => read_dat(path),
        TableFormat::Csv | TableFormat::Tsv => {
            let delim = if format == TableFormat::Csv {
                b','
            } else {
                b'\t'
            };
            let (grid, enc) = csv_table::read_delimited(path, delim)?;
            let mut t = rows_from_grid(path, grid, &opts.columns, system)?;
            t.notes.insert(0, format!("encoding {enc}"));
            Ok(t)
        }
        TableFormat::Xlsx => {
            let (grid, sheet, numeric) =
                xlsx_table::read_sheet(path, opts.sheet.as_deref(), system)?;
            let mut t = rows_from_grid(path, grid, &opts.columns, system)?;
            t.notes.insert(0, format!("sheet '{sheet}'"));
            if numeric > 0 {
                t.notes.push(format!(
                    "{numeric} numeric cells read as text (a code typed as a number may have lost trailing zeros)"
                ));
            }
            Ok(t)
        }
        TableFormat::Product => Err(Error::invalid(
            Location::file(path),
            "a product table has no raw rows; load it with load_table",
        )),
    }
}

/// Validates raw rows, applies deltas, builds the hierarchy.
pub(crate) fn build_table(
    system: CodeSystem,
    label: String,
    rows: Vec<RawRow>,
    opts: &LoadOptions,
    report: &mut ImportReport,
) -> Result<Terminology> {
    report.rows_read += rows.len();
    let mut valid = validate(system, rows, None, report);
    for d in &opts.deltas {
        apply_delta(system, d, &mut valid, report)?;
    }
    if valid.is_empty() {
        return Err(nothing_loaded(report));
    }
    report.rows_loaded = valid.len();
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (_, r) in &valid {
        *names.entry(r.name.as_str()).or_insert(0) += 1;
    }
    report.duplicate_names = names.values().filter(|&&n| n > 1).count();

    let rule = match opts.assignability {
        Assignability::All => AssignRule::AllRows,
        Assignability::Leaves => AssignRule::Leaves,
        Assignability::Auto if who_style(system, valid.iter().map(|(_, r)| &r.code)) => {
            report
                .notes
                .push("WHO/US-style codes: rows with children are not assignable".into());
            AssignRule::Leaves
        }
        Assignability::Auto => AssignRule::AllRows,
    };
    let built = build(
        system,
        valid.into_iter().map(|(_, r)| r).collect(),
        &opts.ancestors,
        rule,
    );
    report.synthetic_nodes = built.synthetic;
    let fingerprint = fingerprint_entries(&built.entries);
    Ok(Terminology::from_entries(
        system,
        label,
        fingerprint,
        built.entries,
    ))
}

fn nothing_loaded(report: &ImportReport) -> Error {
    let first: Vec<String> = report
        .skipped
        .iter()
        .take(3)
        .map(|s| format!("line {} '{}': {}", s.line, s.code, s.reason))
        .collect();
    let mut msg = format!("no valid rows ({} read", report.rows_read);
    if !report.skipped.is_empty() {
        let counts: Vec<String> = report
            .counts()
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        msg.push_str(&format!(
            ", {}; e.g. {}",
            counts.join(", "),
            first.join("; ")
        ));
    }
    msg.push_str("): check the file, --system and the code/name columns");
    Error::invalid(Location::file(&report.source), msg)
}

/// True when no code has the national shapes (three decimals, extensions):
/// a WHO ICD-10 or US ICD-9-CM list whose headings are rows.
fn who_style<'a>(system: CodeSystem, codes: impl Iterator<Item = &'a String>) -> bool {
    let mut any = false;
    for c in codes {
        any = true;
        let up = clean_code(c).to_uppercase();
        let p = match system {
            CodeSystem::Icd10 => primary(&normalize_code(system, &up)).to_string(),
            CodeSystem::Icd9Cm3 => up,
        };
        let dec = p.split_once('.').map_or("", |(_, d)| d);
        if dec.len() > 2 || p.contains('X') {
            return false;
        }
    }
    any
}

/// Checks shapes, blanks and duplicates. `file` marks rows that come from
/// another file than the report's source (delta additions).
fn validate(
    system: CodeSystem,
    rows: Vec<RawRow>,
    file: Option<&Path>,
    report: &mut ImportReport,
) -> Vec<(usize, ValidRow)> {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    let mut out: Vec<(usize, ValidRow)> = Vec::with_capacity(rows.len());
    for r in rows {
        let code = clean_code(&r.code);
        let mut skip = |reason| {
            report.skipped.push(SkippedRow {
                line: r.line,
                file: file.map(Path::to_path_buf),
                code: r.code.clone(),
                name: r.name.clone(),
                reason,
            })
        };
        if code.is_empty() && r.name.is_empty() {
            continue;
        }
        match check_code(system, &code) {
            Ok(()) => {}
            Err(ShapeError::Blank) => {
                skip(SkipReason::BlankCode);
                continue;
            }
            Err(ShapeError::Malformed) => {
                skip(SkipReason::MalformedCode);
                continue;
            }
            Err(ShapeError::OtherSystem) => {
                skip(SkipReason::OtherSystem);
                continue;
            }
        }
        if r.name.is_empty() {
            skip(SkipReason::BlankName);
            continue;
        }
        let key = normalize_code(system, &code);
        if let Some(&i) = seen.get(&key) {
            let (first_line, first) = &out[i];
            skip(SkipReason::Duplicate {
                first_line: *first_line,
                same_name: first.name == r.name,
            });
            continue;
        }
        seen.insert(key.clone(), out.len());
        let aliases = dedup_aliases(&r.name, r.aliases);
        out.push((
            r.line,
            ValidRow {
                code,
                key,
                name: r.name,
                aliases,
            },
        ));
    }
    out
}

fn dedup_aliases(name: &str, aliases: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(aliases.len());
    for a in aliases {
        if a != name && !a.is_empty() && !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// Applies one delta file to validated rows.
fn apply_delta(
    system: CodeSystem,
    path: &Path,
    rows: &mut Vec<(usize, ValidRow)>,
    report: &mut ImportReport,
) -> Result<()> {
    let delta = read_delta(path)?;
    let name = path.display();
    let mut deleted = 0;
    for (line, code) in &delta.deletes {
        let key = normalize_code(system, code);
        match rows.iter().position(|(_, r)| r.key == key) {
            Some(i) => {
                let (l, r) = rows.remove(i);
                report.skipped.push(SkippedRow {
                    line: l,
                    file: None,
                    code: r.code,
                    name: r.name,
                    reason: SkipReason::Deleted {
                        file: path.to_path_buf(),
                        line: *line,
                    },
                });
                deleted += 1;
            }
            None => report.notes.push(format!(
                "{name} line {line}: deletes {code}, which the table lacks"
            )),
        }
    }
    let mut added = 0;
    let mut renamed = 0;
    for (line, r) in validate(system, delta.adds, Some(path), report) {
        match rows.iter().position(|(_, x)| x.key == r.key) {
            Some(i) => {
                rows[i].1.name = r.name;
                renamed += 1;
            }
            None => {
                // keep a sorted table sorted: insert before the first larger key
                let at = rows
                    .iter()
                    .position(|(_, x)| x.key > r.key)
                    .unwrap_or(rows.len());
                rows.insert(at, (line, r));
                added += 1;
            }
        }
    }
    report.notes.push(format!(
        "delta {name}: {deleted} deleted, {added} added, {renamed} renamed"
    ));
    Ok(())
}

/// Guesses whether a table holds diagnoses or procedures from its codes.
pub fn detect_system(path: &Path, opts: &LoadOptions) -> Result<CodeSystem> {
    let format = match opts.format {
        Some(f) => f,
        None => TableFormat::detect(path)?,
    };
    if format == TableFormat::Product {
        return Ok(read_product_table(path)?.0.system);
    }
    let count = |system| -> usize {
        read_raw(path, system, format, opts)
            .map(|t| {
                t.rows
                    .iter()
                    .take(2000)
                    .filter(|r| check_code(system, &r.code).is_ok())
                    .count()
            })
            .unwrap_or(0)
    };
    let (d, p) = (count(CodeSystem::Icd10), count(CodeSystem::Icd9Cm3));
    if d == 0 && p == 0 {
        // surface the real reading error, if any
        read_raw(path, CodeSystem::Icd10, format, opts)?;
        return Err(Error::invalid(
            Location::file(path),
            "no ICD-10 or ICD-9-CM-3 codes found; pass --system and the code column",
        ));
    }
    Ok(if p > d {
        CodeSystem::Icd9Cm3
    } else {
        CodeSystem::Icd10
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_sniffing() {
        let dir = tempfile::tempdir().unwrap();
        let f = |name: &str, body: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, body).unwrap();
            TableFormat::detect(&p).unwrap()
        };
        assert_eq!(f("a.txt", b"A00.900 x\n"), TableFormat::Dat);
        assert_eq!(f("b.txt", b"code\tname\nA00.900\tx\n"), TableFormat::Tsv);
        assert_eq!(f("c", b"code,name\n"), TableFormat::Csv);
        assert_eq!(
            f("d.tsv", b"# icdflow table v1 system=icd10\n"),
            TableFormat::Product
        );
        assert_eq!(f("e.bin", b"PK\x03\x04rest"), TableFormat::Xlsx);
    }

    #[test]
    fn who_style_detection() {
        let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert!(who_style(CodeSystem::Icd10, s(&["A00", "A00.0"]).iter()));
        assert!(!who_style(CodeSystem::Icd10, s(&["A00", "A00.000"]).iter()));
        assert!(!who_style(CodeSystem::Icd10, s(&["I10.x00"]).iter()));
        assert!(who_style(CodeSystem::Icd9Cm3, s(&["36.0", "36.07"]).iter()));
        assert!(!who_style(CodeSystem::Icd9Cm3, s(&["36.0700"]).iter()));
    }
}
