//! Format detection and the loading entry points.

use std::path::{Path, PathBuf};

use super::collect::{dedup_across, Collector};
use super::encoding::{decode_bytes, decode_head_lossy};
use super::json::{describe_error, replace_non_finite, Item};
use super::{ccl25, jointcoder, jsonl, pdf, plain, Record};
use crate::error::{Error, Location, Result};

/// The record file formats icdflow reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordFormat {
    /// JointCoder's wide spreadsheet (xlsx; legacy xls also read).
    JointCoderXlsx,
    /// CCL25-Eval Task 8 JSON array (`病案标识`, text fields, code fields).
    Ccl25Json,
    /// The project schema, one record per line (see [`super::jsonl`]).
    Jsonl,
    /// The project schema as a JSON array.
    JsonArray,
    /// One record in plain text with section headings (see [`super::plain`]).
    Text,
    /// One record in a PDF, scanned pages read by OCR (see [`super::pdf`]).
    Pdf,
}

impl RecordFormat {
    /// A short human label.
    pub fn label(self) -> &'static str {
        match self {
            RecordFormat::JointCoderXlsx => "JointCoder xlsx",
            RecordFormat::Ccl25Json => "CCL25 JSON",
            RecordFormat::Jsonl => "JSON Lines",
            RecordFormat::JsonArray => "JSON array",
            RecordFormat::Text => "text",
            RecordFormat::Pdf => "PDF",
        }
    }
}

/// What loading one file produced: the good records, one error per problem
/// (naming file, record and field), the format read and the file.
#[derive(Debug)]
pub struct LoadReport {
    pub records: Vec<Record>,
    pub errors: Vec<Error>,
    pub format: RecordFormat,
    pub path: PathBuf,
}

/// How many bytes of a file [`load`] shows [`detect_format`].
const HEAD_LEN: usize = 64 * 1024;

/// Guesses a file's format from its extension and first bytes. Content wins
/// where it is unambiguous (a `.json` file of JSON Lines is read as JSON
/// Lines); `None` means binary data that is no record format.
pub fn detect_format(path: &Path, head: &[u8]) -> Option<RecordFormat> {
    if jointcoder::has_workbook_magic(head) {
        return Some(RecordFormat::JointCoderXlsx);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if pdf::has_pdf_magic(head) || ext == "pdf" {
        return Some(RecordFormat::Pdf);
    }
    if matches!(ext.as_str(), "xlsx" | "xlsm" | "xls") {
        // Not a workbook by content, but the name says so: the loader
        // reports why it cannot be read.
        return Some(RecordFormat::JointCoderXlsx);
    }
    let text = decode_head_lossy(head);
    let t = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
    if let Some(after) = t.strip_prefix('[') {
        // `[出院诊断]` also starts a text record; JSON has `{`, `]` or a value next.
        let next = after.trim_start().chars().next();
        if matches!(next, Some('{') | Some(']') | None) || ext == "json" {
            return Some(
                if t.contains("\"病案标识\"") && !t.contains("\"sections\"") {
                    RecordFormat::Ccl25Json
                } else {
                    RecordFormat::JsonArray
                },
            );
        }
        return Some(RecordFormat::Text);
    }
    if t.starts_with('{') {
        return Some(RecordFormat::Jsonl);
    }
    match ext.as_str() {
        "json" => return Some(RecordFormat::JsonArray),
        "jsonl" | "ndjson" => return Some(RecordFormat::Jsonl),
        _ => {}
    }
    let has_bom = encoding_rs::Encoding::for_bom(head).is_some();
    if !has_bom && head.contains(&0) {
        return None;
    }
    Some(RecordFormat::Text)
}

/// Loads one file of records. Errs only when the file as a whole cannot be
/// read or parsed (missing, not a workbook, malformed JSON, no id column);
/// problems with single records go into [`LoadReport::errors`] and the other
/// records still load.
pub fn load(path: &Path) -> Result<LoadReport> {
    load_with_positions(path).map(|(report, _)| report)
}

/// Loads several files, keeping going past bad ones: every file-level error
/// and record-level error is returned, and an id seen in an earlier file is
/// reported (naming both places) and skipped.
pub fn load_many(paths: &[PathBuf]) -> (Vec<Record>, Vec<Error>) {
    let mut records = Vec::new();
    let mut positions = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match load_with_positions(path) {
            Ok((report, pos)) => {
                errors.extend(report.errors);
                positions.extend(pos.into_iter().map(|p| (path.clone(), p)));
                records.extend(report.records);
            }
            Err(e) => errors.push(e),
        }
    }
    let records = dedup_across(records, positions, &mut errors);
    (records, errors)
}

fn load_with_positions(path: &Path) -> Result<(LoadReport, Vec<String>)> {
    let bytes =
        crate::limits::read_limited(path, crate::limits::MAX_RECORD_FILE_BYTES, "record file")?;
    let head = &bytes[..bytes.len().min(HEAD_LEN)];
    let fail = |msg: String| Error::invalid(Location::file(path), msg);
    let Some(mut format) = detect_format(path, head) else {
        return Err(fail(
            "unrecognised record format: binary data that is neither an xlsx workbook nor text"
                .to_owned(),
        ));
    };

    let c = match format {
        RecordFormat::JointCoderXlsx => {
            let mut c = Collector::new(path, "ID");
            // The zip/XML parsers are third-party code fed untrusted bytes; a
            // bug there must cost one file, not the coder's session.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                jointcoder::load(path, bytes, &mut c)
            }));
            match outcome {
                Ok(result) => result?,
                Err(_) => {
                    return Err(fail(
                        "the spreadsheet reader failed on this file (corrupt workbook?)".to_owned(),
                    ))
                }
            }
            c
        }
        RecordFormat::Text => {
            let text = decode_bytes(&bytes).map_err(fail)?.text;
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut c = Collector::new(path, "ID");
            c.push(plain::parse_text(&text, &stem), "file".to_owned());
            c
        }
        RecordFormat::Pdf => {
            let mut c = Collector::new(path, "ID");
            c.push(pdf::load_pdf(path)?, "file".to_owned());
            c
        }
        RecordFormat::Jsonl => {
            let decoded = decode_bytes(&bytes).map_err(fail)?.text;
            let text = replace_non_finite(&decoded);
            let mut c = Collector::new(path, jsonl::ID_FIELD);
            // A pretty-printed single record spans lines; try it whole first.
            let multi_line = text.trim().lines().nth(1).is_some();
            match serde_json::from_str::<Item>(&text) {
                Ok(item @ Item::Object(_)) if multi_line => {
                    jsonl::push_item(item, "object".to_owned(), &mut c)
                }
                _ => jsonl::load_lines(&text, &mut c),
            }
            c
        }
        RecordFormat::Ccl25Json | RecordFormat::JsonArray => {
            let decoded = decode_bytes(&bytes).map_err(fail)?.text;
            let text = replace_non_finite(&decoded);
            let items: Vec<Item> = serde_json::from_str(&text).map_err(|e| {
                fail(format!(
                    "{} (expected a JSON array of record objects)",
                    describe_error(&e)
                ))
            })?;
            // The first object decides what the file is called; each element
            // is still routed by its own fields.
            if let Some(first) = items.iter().find(|i| matches!(i, Item::Object(_))) {
                if first.has("sections") {
                    format = RecordFormat::JsonArray;
                } else if first.has(ccl25::ID_FIELD) {
                    format = RecordFormat::Ccl25Json;
                }
            }
            let id_field = match format {
                RecordFormat::Ccl25Json => ccl25::ID_FIELD,
                _ => jsonl::ID_FIELD,
            };
            let mut c = Collector::new(path, id_field);
            for (i, item) in items.into_iter().enumerate() {
                jsonl::push_item(item, format!("item {}", i + 1), &mut c);
            }
            c
        }
    };
    Ok((
        LoadReport {
            records: c.records,
            errors: c.errors,
            format,
            path: path.to_path_buf(),
        },
        c.positions,
    ))
}
