//! The product's own table format: what `icdflow import` writes and what
//! every other subcommand loads quickly.
//!
//! ```text
//! # icdflow table v1 system=icd10 label=国临2.0 (gl2-diagnoses.dat)
//! code\tname\tkind\tassignable\tparent\taliases
//! IX\t循环系统疾病\tchapter\t0\t\tDiseases of the circulatory system
//! I10\t特发性(原发性)高血压\tcategory\t0\tIX\t
//! I10.x00\t特发性(原发性)高血压\tsubcategory\t1\tI10\t
//! I10.x00x032\t高血压3级\textension\t1\tI10.X00\t高血压病3级|原发性高血压3级
//! ```
//!
//! (`\t` stands for one tab character.)
//!
//! - Line 1: `# icdflow table v1`, then `system=icd10|icd9cm3`, then
//!   `label=` with the rest of the line as the label.
//! - Line 2: the column header, exactly as above.
//! - Then one row per node, tab-separated, UTF-8, `\n` line ends:
//!   `code` as the source spells it; `name`; `kind` (`chapter`, `block`,
//!   `category`, `subcategory`, `code`, `extension`, `morphology`);
//!   `assignable` `1`/`0`; `parent` the parent's normalized key (see
//!   [`normalize_code`]) or empty; `aliases` joined
//!   with `|`.
//! - Fields never hold tabs or line breaks (the importer turns them into
//!   spaces); a `|` inside an alias is written as the full-width `｜`.
//!   Nothing else is escaped: backslashes in names are data.
//! - Lines starting with `#` after the header are comments.
//!
//! The table's fingerprint is the SHA-256 of its data rows in this exact
//! serialization, so the same content gives the same fingerprint whether
//! it was loaded from a source table or from the product file.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::report::{ImportReport, SkipReason, SkippedRow};
use super::{normalize_code, CodeEntry, CodeKind, CodeSystem, Terminology};
use crate::error::{Error, Location, Result};

/// First characters of every product table.
pub const MAGIC: &str = "# icdflow table v1";
/// The column header line.
pub const COLUMNS: &str = "code\tname\tkind\tassignable\tparent\taliases";

/// `icd10` / `icd9cm3`: the spelling used in headers, config and flags.
pub fn system_tag(system: CodeSystem) -> &'static str {
    match system {
        CodeSystem::Icd10 => "icd10",
        CodeSystem::Icd9Cm3 => "icd9cm3",
    }
}

/// Parses [`system_tag`] spellings (and a few common variants).
pub fn parse_system(s: &str) -> Option<CodeSystem> {
    match s
        .trim()
        .to_ascii_lowercase()
        .replace(['-', '_'], "")
        .as_str()
    {
        "icd10" | "diag" | "diagnosis" | "diagnoses" => Some(CodeSystem::Icd10),
        "icd9cm3" | "icd9" | "icd9cm" | "proc" | "procedure" | "procedures" => {
            Some(CodeSystem::Icd9Cm3)
        }
        _ => None,
    }
}

fn kind_tag(k: CodeKind) -> &'static str {
    match k {
        CodeKind::Chapter => "chapter",
        CodeKind::Block => "block",
        CodeKind::Category => "category",
        CodeKind::Subcategory => "subcategory",
        CodeKind::Code => "code",
        CodeKind::Extension => "extension",
        CodeKind::Morphology => "morphology",
    }
}

fn parse_kind(s: &str) -> Option<CodeKind> {
    Some(match s {
        "chapter" => CodeKind::Chapter,
        "block" => CodeKind::Block,
        "category" => CodeKind::Category,
        "subcategory" => CodeKind::Subcategory,
        "code" => CodeKind::Code,
        "extension" => CodeKind::Extension,
        "morphology" => CodeKind::Morphology,
        _ => return None,
    })
}

fn field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['\t', '\n', '\r']) {
        s.replace(['\t', '\n', '\r'], " ").into()
    } else {
        s.into()
    }
}

/// Appends one entry as a product-format row (with the line end).
pub fn push_entry_line(out: &mut String, e: &CodeEntry) {
    let aliases: Vec<String> = e
        .aliases
        .iter()
        .map(|a| field(a).replace('|', "｜"))
        .collect();
    let _ = writeln!(
        out,
        "{}\t{}\t{}\t{}\t{}\t{}",
        field(&e.code),
        field(&e.name),
        kind_tag(e.kind),
        if e.assignable { 1 } else { 0 },
        field(e.parent.as_deref().unwrap_or("")),
        aliases.join("|")
    );
}

/// Hex SHA-256 of the entries in product-format serialization.
pub fn fingerprint_entries(entries: &[CodeEntry]) -> String {
    let mut h = Sha256::new();
    let mut line = String::with_capacity(256);
    for e in entries {
        line.clear();
        push_entry_line(&mut line, e);
        h.update(line.as_bytes());
    }
    h.finalize()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Writes a table in the product format (creating parent directories).
/// The file is written next to the target and renamed into place, so a
/// running session never reads half a table.
pub fn write_product_table(term: &Terminology, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut out = String::with_capacity(term.len() * 64);
    let label = term.label.replace(['\n', '\r'], " ");
    let _ = writeln!(
        out,
        "{MAGIC} system={} label={label}",
        system_tag(term.system)
    );
    out.push_str(COLUMNS);
    out.push('\n');
    for e in term.entries() {
        push_entry_line(&mut out, e);
    }
    let tmp = path.with_extension("tsv.partial");
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(out.as_bytes())
        .map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// True when the bytes start like a product table.
pub fn is_product(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    head.starts_with(MAGIC.as_bytes())
}

/// System and label from the first line.
fn parse_header(path: &Path, line: &str) -> Result<(CodeSystem, String)> {
    let bad = |msg: String| Error::invalid(Location::file(path).record("line 1"), msg);
    let rest = line
        .trim_start_matches('\u{feff}')
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad(format!("not an icdflow table (expected '{MAGIC}')")))?;
    let (head, label) = match rest.find(" label=") {
        Some(i) => (&rest[..i], rest[i + 7..].trim().to_string()),
        None => (rest, String::new()),
    };
    let mut system = None;
    for tok in head.split_whitespace() {
        if let Some(v) = tok.strip_prefix("system=") {
            system = Some(parse_system(v).ok_or_else(|| bad(format!("unknown system '{v}'")))?);
        }
    }
    let system = system.ok_or_else(|| bad("header lacks system=icd10|icd9cm3".into()))?;
    Ok((system, label))
}

/// Reads a product table. Rows with a blank code or name, an unknown kind
/// or a repeated code are skipped and reported; the structure is trusted.
pub fn read_product_table(path: &Path) -> Result<(Terminology, ImportReport)> {
    let bytes =
        crate::limits::read_limited(path, crate::limits::MAX_TABLE_FILE_BYTES, "code table")?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        Error::invalid(
            Location::file(path),
            format!("product table is not UTF-8: {e}"),
        )
    })?;
    let mut lines = text.lines().enumerate();
    let (system, mut label) = parse_header(path, lines.next().map_or("", |(_, l)| l))?;
    match lines.next() {
        Some((_, l)) if l.trim_end() == COLUMNS => {}
        _ => {
            return Err(Error::invalid(
                Location::file(path).record("line 2"),
                format!(
                    "expected the column header '{}'",
                    COLUMNS.replace('\t', "<TAB>")
                ),
            ))
        }
    }
    if label.is_empty() {
        label = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    crate::limits::check_table_rows(path, text.lines().count().saturating_sub(2))?;
    let mut report = ImportReport::new(path, "product");
    report.system = Some(system);
    let mut entries = Vec::with_capacity(text.len() / 48);
    let mut first_line: std::collections::HashMap<String, (usize, usize)> =
        std::collections::HashMap::with_capacity(text.len() / 48);
    for (i, line) in lines {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        report.rows_read += 1;
        let no = i + 1;
        let f: Vec<&str> = line.split('\t').collect();
        let get = |k: usize| f.get(k).copied().unwrap_or("").trim();
        let (code, name) = (get(0), get(1));
        let skip = |reason| SkippedRow {
            line: no,
            file: None,
            code: code.to_string(),
            name: name.to_string(),
            reason,
        };
        if code.is_empty() {
            report.skipped.push(skip(SkipReason::BlankCode));
            continue;
        }
        if name.is_empty() {
            report.skipped.push(skip(SkipReason::BlankName));
            continue;
        }
        let Some(kind) = parse_kind(get(2)) else {
            return Err(Error::invalid(
                Location::file(path)
                    .record(format!("line {no}"))
                    .field("kind"),
                format!("unknown kind '{}'", get(2)),
            ));
        };
        let assignable = match get(3) {
            "1" | "true" => true,
            "0" | "false" | "" => false,
            other => {
                return Err(Error::invalid(
                    Location::file(path)
                        .record(format!("line {no}"))
                        .field("assignable"),
                    format!("expected 1 or 0, found '{other}'"),
                ))
            }
        };
        let key = normalize_code(system, code);
        if let Some(&(first, idx)) = first_line.get(&key) {
            let same_name = entries.get(idx).is_some_and(|e: &CodeEntry| e.name == name);
            report.skipped.push(skip(SkipReason::Duplicate {
                first_line: first,
                same_name,
            }));
            continue;
        }
        first_line.insert(key, (no, entries.len()));
        let parent = Some(get(4)).filter(|p| !p.is_empty()).map(str::to_string);
        let aliases = get(5)
            .split('|')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
        entries.push(CodeEntry {
            code: code.to_string(),
            name: name.to_string(),
            kind,
            aliases,
            assignable,
            parent,
        });
    }
    if entries.is_empty() {
        return Err(Error::invalid(
            Location::file(path),
            "product table has no rows",
        ));
    }
    report.rows_loaded = entries.len();
    report.synthetic_nodes = entries
        .iter()
        .filter(|e| !e.assignable && matches!(e.kind, CodeKind::Chapter | CodeKind::Block))
        .count();
    let fingerprint = fingerprint_entries(&entries);
    Ok((
        Terminology::from_entries(system, label, fingerprint, entries),
        report,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_everything() {
        let entries = vec![
            CodeEntry {
                code: "IX".into(),
                name: "循环系统疾病".into(),
                kind: CodeKind::Chapter,
                aliases: vec!["Diseases of the circulatory system".into()],
                assignable: false,
                parent: None,
            },
            CodeEntry {
                code: "A07.100".into(),
                name: "贾第虫病\\[兰伯鞭毛虫病\\]".into(),
                kind: CodeKind::Subcategory,
                aliases: vec!["a|b".into(), "c".into()],
                assignable: true,
                parent: Some("A07".into()),
            },
        ];
        let fp = fingerprint_entries(&entries);
        let t = Terminology::from_entries(CodeSystem::Icd10, "测试 label=x", fp.clone(), entries);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/t.tsv");
        write_product_table(&t, &p).unwrap();
        let (back, rep) = read_product_table(&p).unwrap();
        assert_eq!(back.label, "测试 label=x");
        assert_eq!(back.len(), 2);
        assert_eq!(rep.rows_loaded, 2);
        let e = back.get("A07.100").unwrap();
        assert_eq!(e.name, "贾第虫病\\[兰伯鞭毛虫病\\]");
        assert_eq!(e.aliases, ["a｜b", "c"]);
        // the fingerprint is that of the serialized rows: unchanged
        assert_eq!(fp, back.fingerprint);
    }

    #[test]
    fn header_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.tsv");
        std::fs::write(&p, format!("{MAGIC} system=icd11\n")).unwrap();
        let e = read_product_table(&p).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("icd11"), "{e}");
        std::fs::write(&p, format!("{MAGIC} system=icd10\ncode\tname\nA00\tx\n")).unwrap();
        let e = read_product_table(&p).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        std::fs::write(
            &p,
            format!("{MAGIC} system=icd10\n{COLUMNS}\nA00\t霍乱\tcategori\t1\t\t\n"),
        )
        .unwrap();
        let e = read_product_table(&p).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("kind"), "{e}");
    }
}
