//! Extra names for codes, so that search finds a code by the words other
//! tables and books use for it:
//!
//! - a crosswalk (`gl_code yb_code` per line) plus the target table gives
//!   the 医保 name of each 国临 code; it becomes an alias where it differs;
//! - an alphabetic index CSV (`level,chinese,…,code[,confidence]`) gives
//!   lead terms; rows under the confidence threshold (OCR) are ignored.
//!
//! Adding aliases changes the table's fingerprint (the search index must be
//! rebuilt).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::csv_table::read_delimited;
use super::dat::read_dat;
use super::load::{read_raw, LoadOptions, TableFormat};
use super::product::fingerprint_entries;
use super::shape::{check_code, primary};
use super::{normalize_code, CodeSystem, Terminology};
use crate::error::{Error, Location, Result};
use crate::text::{has_cjk, normalize_name};

/// What an alias source contributed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AliasReport {
    pub source: PathBuf,
    /// Rows of the source read.
    pub rows_read: usize,
    /// Aliases added to the table.
    pub aliases_added: usize,
    /// Rows whose name equals (after normalization) the code's name or an
    /// alias it already has.
    pub already_known: usize,
    /// Rows whose code is not in the table (or, for a crosswalk, whose
    /// target code is not in the target table).
    pub unresolved: usize,
    /// Index rows under the confidence threshold.
    pub low_confidence: usize,
    /// Index rows that are not lead terms with a code (sub-terms,
    /// cross-references, headings).
    pub not_used: usize,
}

impl std::fmt::Display for AliasReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} rows, {} aliases added, {} already known, {} unresolved",
            self.source.display(),
            self.rows_read,
            self.aliases_added,
            self.already_known,
            self.unresolved
        )?;
        if self.low_confidence > 0 {
            write!(
                f,
                ", {} under the confidence threshold",
                self.low_confidence
            )?;
        }
        if self.not_used > 0 {
            write!(f, ", {} not lead terms", self.not_used)?;
        }
        Ok(())
    }
}

impl Terminology {
    /// Adds aliases `(entry index, alias)`, skipping ones equal (after
    /// [`normalize_name`]) to the name or an existing alias. Returns the
    /// rebuilt table (new fingerprint) and how many were added.
    pub fn with_aliases(self, additions: Vec<(usize, String)>) -> (Terminology, usize) {
        let Terminology {
            system,
            label,
            mut entries,
            ..
        } = self;
        let mut added = 0;
        for (i, alias) in additions {
            let Some(e) = entries.get_mut(i) else {
                continue;
            };
            let alias = alias.replace(['\t', '\n', '\r'], " ").trim().to_string();
            let n = normalize_name(&alias);
            if n.is_empty()
                || normalize_name(&e.name) == n
                || e.aliases.iter().any(|a| normalize_name(a) == n)
            {
                continue;
            }
            e.aliases.push(alias);
            added += 1;
        }
        let fp = fingerprint_entries(&entries);
        (Terminology::from_entries(system, label, fp, entries), added)
    }
}

/// Adds the target table's name of each crosswalked code as an alias.
/// `crosswalk`: `source_code target_code` per line; `target`: the table the
/// target codes belong to (any format [`super::load_table`] reads).
pub fn add_aliases_from_crosswalk(
    term: Terminology,
    crosswalk: &Path,
    target: &Path,
) -> Result<(Terminology, AliasReport)> {
    let system = term.system;
    let target_rows = {
        let format = TableFormat::detect(target)?;
        if format == TableFormat::Product {
            let (t, _) = super::read_product_table(target)?;
            t.entries()
                .iter()
                .map(|e| (normalize_code(system, &e.code), e.name.clone()))
                .collect::<HashMap<_, _>>()
        } else {
            read_raw(target, system, format, &LoadOptions::default())?
                .rows
                .into_iter()
                .map(|r| (normalize_code(system, &r.code), r.name))
                .collect()
        }
    };
    let pairs = read_dat(crosswalk)?;
    let mut rep = AliasReport {
        source: crosswalk.to_path_buf(),
        ..Default::default()
    };
    let mut adds = Vec::new();
    for r in pairs.rows {
        rep.rows_read += 1;
        let (Some(i), Some(name)) = (
            term.index_of(&r.code),
            target_rows.get(&normalize_code(system, r.name.trim())),
        ) else {
            rep.unresolved += 1;
            continue;
        };
        adds.push((i, name.clone()));
    }
    let offered = adds.len();
    let (term, added) = term.with_aliases(adds);
    rep.aliases_added = added;
    rep.already_known = offered - added;
    Ok((term, rep))
}

/// Options for [`add_aliases_from_index_with`].
#[derive(Debug, Clone)]
pub struct IndexAliasOptions {
    /// Rows with a lower OCR confidence are ignored (files without a
    /// confidence column are taken as they are).
    pub min_confidence: f64,
    /// Level of the lead terms; detected when `None` (the first level
    /// where at least a fifth of the rows carry a code).
    pub lead_level: Option<u32>,
}

impl Default for IndexAliasOptions {
    fn default() -> Self {
        IndexAliasOptions {
            min_confidence: 0.9,
            lead_level: None,
        }
    }
}

/// Adds the alphabetic index's lead terms as aliases (confidence ≥ 0.9).
pub fn add_aliases_from_index(
    term: Terminology,
    path: &Path,
) -> Result<(Terminology, AliasReport)> {
    add_aliases_from_index_with(term, path, &IndexAliasOptions::default())
}

/// Adds the alphabetic index's lead terms as aliases.
///
/// Only lead terms are used: sub-terms (`急性` under `阿米巴病`) are not
/// names on their own. Bracketed parts are dropped (`阿-德综合征[垂体功能
/// 减退症]` → `阿-德综合征`) and cross-references (`-见…`) cut off.
pub fn add_aliases_from_index_with(
    term: Terminology,
    path: &Path,
    opts: &IndexAliasOptions,
) -> Result<(Terminology, AliasReport)> {
    let (grid, _) = read_delimited(path, b',')?;
    let Some((_, header)) = grid.first() else {
        return Err(Error::invalid(Location::file(path), "index file is empty"));
    };
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
    };
    let missing = |c: &str| {
        Error::invalid(
            Location::file(path).field(c.to_string()),
            format!("index CSV lacks a '{c}' column (needs level, chinese, code)"),
        )
    };
    let level_c = col("level").ok_or_else(|| missing("level"))?;
    let text_c = col("chinese").ok_or_else(|| missing("chinese"))?;
    let code_c = col("code").ok_or_else(|| missing("code"))?;
    let conf_c = col("confidence");
    let rows = &grid[1..];
    let cell = |r: &[String], i: usize| r.get(i).map(String::as_str).unwrap_or("").to_string();

    let lead = match opts.lead_level {
        Some(l) => l,
        None => {
            let mut per: HashMap<u32, (usize, usize)> = HashMap::new();
            for (_, r) in rows {
                if let Ok(l) = cell(r, level_c).parse::<u32>() {
                    let e = per.entry(l).or_default();
                    e.0 += 1;
                    if !cell(r, code_c).is_empty() {
                        e.1 += 1;
                    }
                }
            }
            let mut levels: Vec<_> = per.into_iter().collect();
            levels.sort();
            levels
                .iter()
                .find(|(_, (n, c))| *c > 0 && c * 5 >= *n)
                .map(|(l, _)| *l)
                .unwrap_or(1)
        }
    };

    let mut rep = AliasReport {
        source: path.to_path_buf(),
        ..Default::default()
    };
    let mut adds = Vec::new();
    for (_, r) in rows {
        rep.rows_read += 1;
        let code = cell(r, code_c);
        if cell(r, level_c).parse::<u32>().ok() != Some(lead) || code.is_empty() {
            rep.not_used += 1;
            continue;
        }
        if let Some(c) = conf_c {
            let ok = cell(r, c)
                .parse::<f64>()
                .is_ok_and(|v| v >= opts.min_confidence);
            if !ok {
                rep.low_confidence += 1;
                continue;
            }
        }
        let Some(alias) = clean_index_term(&cell(r, text_c)) else {
            rep.not_used += 1;
            continue;
        };
        match resolve_index_code(&term, &code) {
            Some(i) => adds.push((i, alias)),
            None => rep.unresolved += 1,
        }
    }
    let offered = adds.len();
    let (term, added) = term.with_aliases(adds);
    rep.aliases_added = added;
    rep.already_known = offered - added;
    Ok((term, rep))
}

/// The index's code in the table: as written, or in the 国临 spelling of a
/// WHO code (`E23.0` → `E23.000`, `I10` → `I10.x00`).
pub(crate) fn resolve_index_code(term: &Terminology, code: &str) -> Option<usize> {
    let code = code.trim().trim_end_matches(['-', '.']);
    if check_code(term.system, code).is_err() {
        return None;
    }
    let key = normalize_code(term.system, code);
    let mut candidates = vec![key.clone()];
    // a dagger pair that the table spells differently is left alone
    if term.system == CodeSystem::Icd10 && primary(&key) == key {
        match key.split_once('.') {
            Some((_, d)) if d.len() == 1 => candidates.push(format!("{key}00")),
            None if key.len() == 3 => candidates.push(format!("{key}.X00")),
            _ => {}
        }
    }
    // prefer an assignable code (`I10.x00`) to a heading (`I10`)
    let found: Vec<usize> = candidates.iter().filter_map(|c| term.index_of(c)).collect();
    found
        .iter()
        .copied()
        .find(|&i| term.entry(i).assignable)
        .or_else(|| found.first().copied())
}

/// Lead term text without bracketed parts and cross-references; `None`
/// when too little Chinese text remains.
fn clean_index_term(s: &str) -> Option<String> {
    let out = super::alphabetic::clean(s);
    (has_cjk(&out) && out.chars().count() >= 2).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_index_terms() {
        assert_eq!(
            clean_index_term("阿-德综合征[垂体功能减退症][阿乌马达-德尔卡斯蒂洛]").as_deref(),
            Some("阿-德综合征")
        );
        assert_eq!(
            clean_index_term("AESOP® 可视性自动定位内镜系统-见亚目").as_deref(),
            Some("AESOP® 可视性自动定位内镜系统")
        );
        assert_eq!(
            clean_index_term("阿米巴 -见阿米巴病").as_deref(),
            Some("阿米巴")
        );
        assert_eq!(clean_index_term("Abbe"), None);
    }
}
