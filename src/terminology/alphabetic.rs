//! The alphabetic index (ICD-10 Volume 3, the ICD-9-CM-3 index): the
//! coder's way into the classification — a lead term, its subterms, "见…"
//! (see) and "另见…" (see also) cross-references, and a code at the end,
//! checked in the tabular list afterwards.
//!
//! The product reads an index the user imports (`icdflow import --index
//! FILE`): a CSV with the columns `level, chinese, code` and optionally
//! `english, confidence` (the OCR confidence of the row), `page` or
//! `image_page`, and the neoplasm table's `malignant_primary,
//! malignant_secondary, in_situ, benign, uncertain_or_unspecified`. Levels
//! above the lead terms (letters, pinyin headings) are dropped; the lead
//! level is the first level where a fifth of the rows carry a code. The
//! import is stored as a TSV in the data dir ([`default_path`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::aliases::resolve_index_code;
use super::{CodeSystem, Terminology};
use crate::error::{Error, Location, Result};
use crate::search::initials;

/// Rows under this OCR confidence are marked as doubtful.
pub const LOW_CONFIDENCE: f32 = 0.9;

/// Names of the neoplasm table's code columns, in the order stored.
pub const NEOPLASM_COLUMNS: [(&str, &str); 5] = [
    ("malignant_primary", "恶性原发"),
    ("malignant_secondary", "恶性继发"),
    ("in_situ", "原位"),
    ("benign", "良性"),
    ("uncertain_or_unspecified", "动态未定"),
];

/// First line of a stored index.
const MAGIC: &str = "# icdflow alphabetic index v1";

/// Where the imported index of a system is kept.
pub fn default_path(data_dir: &Path, system: CodeSystem) -> PathBuf {
    data_dir.join("alphabetic").join(match system {
        CodeSystem::Icd10 => "icd10.tsv",
        CodeSystem::Icd9Cm3 => "icd9cm3.tsv",
    })
}

/// A cross-reference of an index row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrossRef {
    /// `另见` (see also: the row may still have a code) rather than `见`.
    pub also: bool,
    /// The target as printed (`肿瘤，结缔组织，恶性`).
    pub target: String,
}

/// One row of the index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexEntry {
    /// 0 for a lead term, 1 for its subterms, …
    pub depth: u8,
    /// The Chinese text as printed (brackets and cross-references kept).
    pub text: String,
    pub english: String,
    /// The code as printed (`I20.9`, `A52.1+ H58.0*`), maybe empty.
    pub code: String,
    /// OCR confidence of the row, when the source has one.
    pub confidence: Option<f32>,
    /// Page of the printed index.
    pub page: Option<u32>,
    /// The neoplasm table's codes (see [`NEOPLASM_COLUMNS`]), all empty
    /// for other rows.
    pub neoplasm: [String; 5],
    /// The row this one is a subterm of.
    pub parent: Option<u32>,
    /// One past the row's last descendant.
    pub end: u32,
}

impl IndexEntry {
    /// True when the OCR confidence is under [`LOW_CONFIDENCE`].
    pub fn doubtful(&self) -> bool {
        self.confidence.is_some_and(|c| c < LOW_CONFIDENCE)
    }

    /// The row's cross-reference, if it has one.
    pub fn cross_ref(&self) -> Option<CrossRef> {
        cross_ref(&self.text)
    }

    /// The row's names: its text without brackets and cross-reference,
    /// split at commas (`梗死，梗塞` names two).
    pub fn names(&self) -> Vec<String> {
        names(&self.text)
    }

    /// The neoplasm codes present, with their column's Chinese label.
    pub fn neoplasm_codes(&self) -> Vec<(&'static str, &str)> {
        NEOPLASM_COLUMNS
            .iter()
            .zip(&self.neoplasm)
            .filter(|(_, c)| !c.is_empty())
            .map(|((_, zh), c)| (*zh, c.as_str()))
            .collect()
    }
}

static XREF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:[-－—–]\s*|[(（]\s*)(另见|见)\s*([^)）]*)")
        .expect("valid cross-reference regex")
});

/// The cross-reference in an index text: `-见X`, `- 见 X`, `(另见X)`,
/// `-另见X`. `见于` (seen in) is no cross-reference.
pub fn cross_ref(text: &str) -> Option<CrossRef> {
    let c = XREF.captures_iter(text).find(|c| !c[2].starts_with('于'))?;
    let target = c[2].trim().trim_end_matches(['。', '.']).trim().to_owned();
    (!target.is_empty()).then(|| CrossRef {
        also: &c[1] == "另见",
        target,
    })
}

/// An index text without bracketed parts and cross-reference.
pub fn clean(text: &str) -> String {
    let cut = match XREF.find_iter(text).find(|m| !m.as_str().contains("见于")) {
        Some(m) => &text[..m.start()],
        None => text,
    };
    let mut out = String::with_capacity(cut.len());
    let mut depth = 0i32;
    for c in cut.chars() {
        match c {
            '[' | '［' | '(' | '（' | '【' => depth += 1,
            ']' | '］' | ')' | '）' | '】' => depth = (depth - 1).max(0),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.trim_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '，' | ',' | '、'))
        .to_string()
}

fn key(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The names of an index text (see [`IndexEntry::names`]), as match keys.
fn names(text: &str) -> Vec<String> {
    let c = clean(text);
    let mut v: Vec<String> = c
        .split(['，', ','])
        .map(key)
        .filter(|s| !s.is_empty())
        .collect();
    let whole = key(&c);
    if !v.contains(&whole) && !whole.is_empty() {
        v.push(whole);
    }
    v
}

/// Where following a cross-reference lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landing {
    /// The deepest row of the target path found.
    pub entry: usize,
    /// How many parts of the target path were found (all: `parts`).
    pub found: usize,
    pub parts: usize,
    /// A neoplasm column the last part named (`恶性` → 0), when the row
    /// has that column's code.
    pub column: Option<usize>,
}

/// An alphabetic index, loaded.
#[derive(Debug, Clone)]
pub struct AlphaIndex {
    pub system: CodeSystem,
    /// Where it was imported from.
    pub label: String,
    pub entries: Vec<IndexEntry>,
    /// Indices of the lead terms.
    pub leads: Vec<u32>,
    /// Pinyin initials of each lead term's names (parallel to `leads`).
    lead_initials: Vec<Vec<String>>,
    /// Match keys of each lead term's names (parallel to `leads`).
    lead_names: Vec<Vec<String>>,
}

/// What an import read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexImportReport {
    pub rows_read: usize,
    /// Letter and pinyin headings above the lead terms.
    pub headings_dropped: usize,
    pub entries: usize,
    pub lead_terms: usize,
    pub with_code: usize,
    pub low_confidence: usize,
    pub cross_refs: usize,
    /// Cross-references whose whole target path was found.
    pub cross_refs_resolved: usize,
    /// Rows with a level that is not a number, or no text.
    pub bad_rows: usize,
}

impl AlphaIndex {
    /// Builds the index from rows (level relative to the lead terms).
    pub fn from_entries(system: CodeSystem, label: String, mut entries: Vec<IndexEntry>) -> Self {
        let mut stack: Vec<u32> = Vec::new();
        for i in 0..entries.len() {
            let d = entries[i].depth;
            while let Some(&top) = stack.last() {
                if entries[top as usize].depth >= d {
                    stack.pop();
                    entries[top as usize].end = i as u32;
                } else {
                    break;
                }
            }
            entries[i].parent = stack.last().copied();
            stack.push(i as u32);
        }
        let n = entries.len() as u32;
        for top in stack {
            entries[top as usize].end = n;
        }
        let leads: Vec<u32> = (0..n).filter(|&i| entries[i as usize].depth == 0).collect();
        let lead_names: Vec<Vec<String>> = leads
            .iter()
            .map(|&i| names(&entries[i as usize].text))
            .collect();
        let lead_initials = lead_names
            .iter()
            .map(|ns| ns.iter().map(|s| initials(s)).collect())
            .collect();
        AlphaIndex {
            system,
            label,
            entries,
            leads,
            lead_initials,
            lead_names,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The lead terms matching a query, best first: a name equal to it, a
    /// name starting with it, a name containing it; for a query of Latin
    /// letters also names whose pinyin initials start with it.
    pub fn search(&self, query: &str, limit: usize) -> Vec<usize> {
        let q = key(query);
        if q.is_empty() {
            return Vec::new();
        }
        let latin = q.chars().all(|c| c.is_ascii_alphabetic());
        let mut tiers: [Vec<usize>; 4] = Default::default();
        for (li, &e) in self.leads.iter().enumerate() {
            let ns = &self.lead_names[li];
            let tier = if ns.contains(&q) {
                Some(0)
            } else if ns.iter().any(|n| n.starts_with(&q)) {
                Some(1)
            } else if latin && self.lead_initials[li].iter().any(|p| p.starts_with(&q)) {
                Some(2)
            } else if q.chars().count() >= 2 && ns.iter().any(|n| n.contains(&q)) {
                Some(3)
            } else {
                None
            };
            if let Some(t) = tier {
                tiers[t].push(e as usize);
            }
        }
        let mut out = Vec::new();
        for t in &mut tiers {
            // Shorter names first within a tier: 心绞痛 before 心绞痛性…
            t.sort_by_key(|&e| (clean(&self.entries[e].text).chars().count(), e));
            out.extend(t.iter().copied());
        }
        out.truncate(limit);
        out
    }

    /// The rows of a lead term's subtree (the lead itself first).
    pub fn subtree(&self, entry: usize) -> std::ops::Range<usize> {
        entry..(self.entries[entry].end as usize).max(entry + 1)
    }

    /// The lead term a row belongs to.
    pub fn lead_of(&self, mut entry: usize) -> usize {
        while let Some(p) = self.entries[entry].parent {
            entry = p as usize;
        }
        entry
    }

    /// The path of names from the lead term down to a row.
    pub fn path(&self, entry: usize) -> Vec<usize> {
        let mut v = vec![entry];
        let mut e = entry;
        while let Some(p) = self.entries[e].parent {
            e = p as usize;
            v.push(e);
        }
        v.reverse();
        v
    }

    /// Follows a cross-reference target (`高血压，心脏`): the lead term
    /// named by the first part, then for each further part the shallowest
    /// row below the last one found that bears that name (or begins with
    /// it). A last part naming a neoplasm column (`恶性`) picks that
    /// column. `None` when no lead term has the first name (`见情况`,
    /// "see the condition", names none).
    pub fn follow(&self, target: &str) -> Option<Landing> {
        let parts: Vec<String> = target
            .split(['，', ','])
            .map(key)
            .filter(|s| !s.is_empty())
            .collect();
        let first = parts.first()?;
        let li = self
            .lead_names
            .iter()
            .position(|ns| ns.iter().any(|n| n == first))
            .or_else(|| {
                self.lead_names
                    .iter()
                    .position(|ns| ns.iter().any(|n| n.starts_with(first.as_str())))
            })?;
        let mut at = self.leads[li] as usize;
        let mut found = 1;
        let mut column = None;
        for (pi, part) in parts.iter().enumerate().skip(1) {
            // `肿瘤，肿瘤性`: a part that names the row itself.
            if names(&self.entries[at].text).contains(part) {
                found += 1;
                continue;
            }
            if let Some(c) = self.find_below(at, part) {
                at = c;
                found += 1;
                continue;
            }
            if pi + 1 == parts.len() {
                let col = NEOPLASM_COLUMNS.iter().position(|(_, zh)| {
                    zh.starts_with(part.as_str()) || part.starts_with(&zh[..zh.len().min(6)])
                });
                if let Some(c) = col.filter(|&c| !self.entries[at].neoplasm[c].is_empty()) {
                    column = Some(c);
                    found += 1;
                }
            }
            break;
        }
        Some(Landing {
            entry: at,
            found,
            parts: parts.len(),
            column,
        })
    }

    /// The shallowest row below `at` named `part` (exactly, else by
    /// prefix).
    fn find_below(&self, at: usize, part: &str) -> Option<usize> {
        let range = (at + 1)..self.entries[at].end as usize;
        let by = |exact: bool| {
            range
                .clone()
                .filter(|&i| {
                    names(&self.entries[i].text).iter().any(|n| {
                        if exact {
                            n == part
                        } else {
                            n.starts_with(part)
                        }
                    })
                })
                .min_by_key(|&i| (self.entries[i].depth, i))
        };
        by(true).or_else(|| by(false))
    }

    /// The code of a row (or of one neoplasm column) in a code table: as
    /// printed, in the table's spelling (`I20.0` → `I20.000` in 国临), or
    /// the first code of a printed pair or list.
    pub fn table_code(
        &self,
        entry: usize,
        column: Option<usize>,
        table: &Terminology,
    ) -> Option<String> {
        let e = &self.entries[entry];
        let printed = match column {
            Some(c) => e.neoplasm.get(c)?.as_str(),
            None => e.code.as_str(),
        };
        code_in_table(printed, table)
    }

    /// Reads an index CSV (module docs).
    pub fn import_csv(
        path: &Path,
        system: Option<CodeSystem>,
    ) -> Result<(Self, IndexImportReport)> {
        let bytes =
            crate::limits::read_limited(path, crate::limits::MAX_TABLE_FILE_BYTES, "index file")?;
        let text = crate::record::decode_bytes(&bytes)
            .map_err(|m| Error::invalid(Location::file(path), m))?
            .text;
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let header: Vec<String> = rdr
            .headers()
            .map_err(|e| Error::invalid(Location::file(path), e.to_string()))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
            .collect();
        let col = |n: &str| header.iter().position(|h| h == n);
        let need = |n: &str| {
            col(n).ok_or_else(|| {
                Error::invalid(
                    Location::file(path).field(n.to_string()),
                    format!("index CSV lacks a '{n}' column (needs level, chinese, code)"),
                )
            })
        };
        let (lc, tc, cc) = (need("level")?, need("chinese")?, need("code")?);
        let ec = col("english");
        let fc = col("confidence");
        let pc = col("page").or_else(|| col("image_page"));
        let nc: Vec<Option<usize>> = NEOPLASM_COLUMNS.iter().map(|(n, _)| col(n)).collect();
        let mut rep = IndexImportReport::default();
        let mut rows: Vec<(u32, IndexEntry)> = Vec::new();
        for (i, r) in rdr.records().enumerate() {
            rep.rows_read += 1;
            let r = r.map_err(|e| {
                Error::invalid(
                    Location::file(path).record(format!("row {}", i + 2)),
                    e.to_string(),
                )
            })?;
            let cell = |c: Option<usize>| c.and_then(|c| r.get(c)).unwrap_or("").trim().to_string();
            let Ok(level) = cell(Some(lc)).parse::<u32>() else {
                rep.bad_rows += 1;
                continue;
            };
            let text = cell(Some(tc)).replace(['\t', '\n'], " ");
            if text.is_empty() {
                rep.bad_rows += 1;
                continue;
            }
            let mut neoplasm: [String; 5] = Default::default();
            for (k, c) in nc.iter().enumerate() {
                neoplasm[k] = cell(*c);
            }
            rows.push((
                level,
                IndexEntry {
                    depth: 0,
                    text,
                    english: cell(ec).replace(['\t', '\n'], " "),
                    code: cell(Some(cc)),
                    confidence: cell(fc).parse().ok(),
                    page: cell(pc).parse().ok(),
                    neoplasm,
                    parent: None,
                    end: 0,
                },
            ));
        }
        // The lead level: the first where a fifth of the rows carry a code.
        let mut levels: Vec<u32> = rows.iter().map(|(l, _)| *l).collect();
        levels.sort_unstable();
        levels.dedup();
        let lead = levels
            .iter()
            .copied()
            .find(|&l| {
                let at: Vec<_> = rows.iter().filter(|(x, _)| *x == l).collect();
                let coded = at.iter().filter(|(_, e)| !e.code.is_empty()).count();
                coded > 0 && coded * 5 >= at.len()
            })
            .unwrap_or(1);
        let mut entries = Vec::with_capacity(rows.len());
        for (l, mut e) in rows {
            if l < lead {
                rep.headings_dropped += 1;
                continue;
            }
            e.depth = (l - lead).min(u8::MAX as u32) as u8;
            entries.push(e);
        }
        if entries.is_empty() {
            return Err(Error::invalid(
                Location::file(path),
                "no index rows (is this an alphabetic index CSV?)",
            ));
        }
        let system = system.unwrap_or_else(|| guess_system(&entries));
        let label = path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let idx = AlphaIndex::from_entries(system, label, entries);
        idx.fill_report(&mut rep);
        Ok((idx, rep))
    }

    fn fill_report(&self, rep: &mut IndexImportReport) {
        rep.entries = self.entries.len();
        rep.lead_terms = self.leads.len();
        rep.with_code = self.entries.iter().filter(|e| !e.code.is_empty()).count();
        rep.low_confidence = self.entries.iter().filter(|e| e.doubtful()).count();
        let refs: Vec<CrossRef> = self.entries.iter().filter_map(|e| e.cross_ref()).collect();
        rep.cross_refs = refs.len();
        rep.cross_refs_resolved = refs
            .iter()
            .filter(|r| self.follow(&r.target).is_some_and(|l| l.found == l.parts))
            .count();
    }

    /// Writes the index in the product's form (see [`AlphaIndex::read`]).
    pub fn write(&self, path: &Path) -> Result<()> {
        use std::fmt::Write as _;
        let mut s = String::new();
        let sys = match self.system {
            CodeSystem::Icd10 => "icd10",
            CodeSystem::Icd9Cm3 => "icd9cm3",
        };
        let _ = writeln!(s, "{MAGIC}\tsystem={sys}\tlabel={}", self.label);
        let _ = writeln!(
            s,
            "depth\tchinese\tenglish\tcode\tconfidence\tpage\t{}",
            NEOPLASM_COLUMNS.map(|(n, _)| n).join("\t")
        );
        for e in &self.entries {
            let _ = writeln!(
                s,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                e.depth,
                e.text,
                e.english,
                e.code,
                e.confidence.map(|c| format!("{c:.4}")).unwrap_or_default(),
                e.page.map(|p| p.to_string()).unwrap_or_default(),
                e.neoplasm.join("\t")
            );
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let tmp = path.with_extension("tsv.tmp");
        std::fs::write(&tmp, s).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }

    /// Reads an index written by [`AlphaIndex::write`].
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let bad = |line: usize, msg: &str| {
            Error::invalid(
                Location::file(path).record(format!("line {line}")),
                msg.to_string(),
            )
        };
        let mut lines = text.lines();
        let first = lines.next().unwrap_or("");
        if !first.starts_with(MAGIC) {
            return Err(bad(
                1,
                "not an icdflow alphabetic index (import one with icdflow import --index FILE)",
            ));
        }
        let meta = |k: &str| {
            first
                .split('\t')
                .find_map(|f| f.strip_prefix(k))
                .unwrap_or("")
                .to_string()
        };
        let system = match meta("system=").as_str() {
            "icd9cm3" => CodeSystem::Icd9Cm3,
            _ => CodeSystem::Icd10,
        };
        let mut entries = Vec::new();
        for (i, l) in lines.enumerate().skip(1) {
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() < 6 {
                return Err(bad(i + 2, "too few columns"));
            }
            let mut neoplasm: [String; 5] = Default::default();
            for (k, n) in neoplasm.iter_mut().enumerate() {
                *n = f.get(6 + k).unwrap_or(&"").to_string();
            }
            entries.push(IndexEntry {
                depth: f[0]
                    .parse()
                    .map_err(|_| bad(i + 2, "depth is not a number"))?,
                text: f[1].to_string(),
                english: f[2].to_string(),
                code: f[3].to_string(),
                confidence: f[4].parse().ok(),
                page: f[5].parse().ok(),
                neoplasm,
                parent: None,
                end: 0,
            });
        }
        Ok(AlphaIndex::from_entries(system, meta("label="), entries))
    }
}

/// ICD-10 when most codes start with a letter.
fn guess_system(entries: &[IndexEntry]) -> CodeSystem {
    let (mut letters, mut digits) = (0, 0);
    for e in entries.iter().filter(|e| !e.code.is_empty()).take(2000) {
        match e.code.chars().next() {
            Some(c) if c.is_ascii_alphabetic() => letters += 1,
            Some(c) if c.is_ascii_digit() => digits += 1,
            _ => {}
        }
    }
    if digits > letters {
        CodeSystem::Icd9Cm3
    } else {
        CodeSystem::Icd10
    }
}

/// A printed index code in a table's spelling (see
/// [`AlphaIndex::table_code`]).
pub fn code_in_table(printed: &str, table: &Terminology) -> Option<String> {
    let printed = printed.trim();
    if printed.is_empty() {
        return None;
    }
    let mut tries = vec![printed.to_string(), printed.replace(' ', "")];
    if let Some(first) = printed.split([' ', '+', '†', '*']).find(|s| !s.is_empty()) {
        tries.push(first.to_string());
    }
    let mut seen = HashSet::new();
    for t in tries.into_iter().filter(|t| seen.insert(t.clone())) {
        if let Some(i) = resolve_index_code(table, &t) {
            return Some(table.entry(i).code.clone());
        }
        if let Some(e) = table.get(&t) {
            return Some(e.code.clone());
        }
    }
    None
}

/// The imported indexes, per system.
#[derive(Debug, Clone, Default)]
pub struct AlphaIndexes {
    pub icd10: Option<std::sync::Arc<AlphaIndex>>,
    pub icd9cm3: Option<std::sync::Arc<AlphaIndex>>,
}

impl AlphaIndexes {
    /// The imported indexes in a data dir; one that cannot be read is
    /// skipped with a warning.
    pub fn load(data_dir: &Path) -> (Self, Vec<String>) {
        let mut out = AlphaIndexes::default();
        let mut warnings = Vec::new();
        for system in [CodeSystem::Icd10, CodeSystem::Icd9Cm3] {
            let p = default_path(data_dir, system);
            if !p.is_file() {
                continue;
            }
            match AlphaIndex::read(&p) {
                Ok(i) => *out.get_mut(system) = Some(std::sync::Arc::new(i)),
                Err(e) => warnings.push(format!("alphabetic index not loaded: {e}")),
            }
        }
        (out, warnings)
    }

    pub fn get(&self, system: CodeSystem) -> Option<&std::sync::Arc<AlphaIndex>> {
        match system {
            CodeSystem::Icd10 => self.icd10.as_ref(),
            CodeSystem::Icd9Cm3 => self.icd9cm3.as_ref(),
        }
    }

    fn get_mut(&mut self, system: CodeSystem) -> &mut Option<std::sync::Arc<AlphaIndex>> {
        match system {
            CodeSystem::Icd10 => &mut self.icd10,
            CodeSystem::Icd9Cm3 => &mut self.icd9cm3,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.icd10.is_none() && self.icd9cm3.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(depth: u8, text: &str, code: &str) -> IndexEntry {
        IndexEntry {
            depth,
            text: text.into(),
            english: String::new(),
            code: code.into(),
            confidence: Some(0.95),
            page: Some(1),
            neoplasm: Default::default(),
            parent: None,
            end: 0,
        }
    }

    fn sample() -> AlphaIndex {
        let mut neo = e(0, "肿瘤，肿瘤性", "C80 D09.9");
        neo.neoplasm[0] = "C80".into();
        let mut ct = e(1, "结缔组织NEC", "");
        ct.neoplasm = [
            "C49.9".into(),
            "C79.8".into(),
            String::new(),
            "D21.9".into(),
            "D48.1".into(),
        ];
        AlphaIndex::from_entries(
            CodeSystem::Icd10,
            "t".into(),
            vec![
                e(0, "动脉硬化(弥漫性)(老年性)", "I70.9"),
                e(1, "冠状(动脉)", "I25.1"),
                e(0, "动脉硬化症 - 见 动脉硬化", ""),
                e(0, "心绞痛(发作)(心)", "I20.9"),
                e(1, "不稳定型", "I20.0"),
                e(1, "动脉硬化性-见动脉硬化，冠状", ""),
                e(0, "高血压(原发性)", "I10"),
                e(1, "伴有", ""),
                e(2, "心脏受累(另见高血压，心脏)", "I11.9"),
                e(1, "心脏(病)(伴有心力衰竭)", "I11.9"),
                neo,
                ct,
                e(0, "横纹肌肉瘤(M8900/3)-另见肿瘤，结缔组织，恶性", "C49.9"),
            ],
        )
    }

    #[test]
    fn cross_references_are_read() {
        assert_eq!(
            cross_ref("动脉硬化症 - 见 动脉硬化"),
            Some(CrossRef {
                also: false,
                target: "动脉硬化".into()
            })
        );
        assert_eq!(
            cross_ref("心脏受累(另见高血压，心脏)").map(|c| (c.also, c.target)),
            Some((true, "高血压，心脏".into()))
        );
        assert_eq!(
            cross_ref("肠吻合术-见吻合术,肠").map(|c| c.target),
            Some("吻合术,肠".into())
        );
        assert_eq!(cross_ref("见于(由于)"), None);
        assert_eq!(
            clean("阿-德综合征[垂体功能减退症][阿乌马达]"),
            "阿-德综合征"
        );
        assert_eq!(clean("动脉硬化症 - 见 动脉硬化"), "动脉硬化症");
    }

    #[test]
    fn tree_search_and_follow() {
        let idx = sample();
        assert_eq!(idx.leads.len(), 6);
        assert_eq!(idx.subtree(6), 6..10);
        assert_eq!(idx.entries[8].parent, Some(7));
        assert_eq!(idx.path(8), [6, 7, 8]);
        // Characters (exact before prefix) and pinyin initials.
        assert_eq!(idx.search("动脉硬化", 10), [0, 2]);
        assert_eq!(idx.search("xjt", 10), [3]);
        assert_eq!(idx.search("gxy", 10), [6]);
        // 见 … lands on the lead term, 另见 … on the subterm.
        let l = idx.follow("动脉硬化").unwrap();
        assert_eq!((l.entry, l.found, l.parts), (0, 1, 1));
        let l = idx.follow("动脉硬化，冠状").unwrap();
        assert_eq!((l.entry, l.found), (1, 2));
        let l = idx.follow("高血压，心脏").unwrap();
        assert_eq!((l.entry, l.found), (9, 2));
        // A neoplasm column at the end of the path.
        let l = idx.follow("肿瘤，结缔组织，恶性").unwrap();
        assert_eq!((l.entry, l.found, l.column), (11, 3, Some(0)));
        assert_eq!(idx.follow("情况"), None);
    }

    #[test]
    fn stored_form_round_trips() {
        let idx = sample();
        let dir = std::env::temp_dir().join(format!("icdflow-alpha-{}", std::process::id()));
        let p = dir.join("icd10.tsv");
        idx.write(&p).unwrap();
        let back = AlphaIndex::read(&p).unwrap();
        assert_eq!(back.entries, idx.entries);
        assert_eq!(back.system, CodeSystem::Icd10);
        let _ = std::fs::remove_dir_all(dir);
    }
}
