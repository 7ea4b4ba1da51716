//! Code tables: ICD-10 diagnoses (国家临床版2.0 or WHO) and ICD-9-CM-3
//! procedures (国家临床版3.0 or ICD-9-CM), with their hierarchy.
//!
//! Code spelling differs between sources (`E10.400x021†G63.2*` in the 国临
//! table, `E11.401+G63.2*` in hospital exports; `36.07` vs `36.0700`), so
//! every lookup goes through [`normalize_code`]; output keeps the table's own
//! spelling.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::record::Track;

pub mod aliases;
pub mod alphabetic;
pub mod ancestors;
pub mod chapters;
pub mod clinical;
mod columns;
mod csv_table;
pub mod dat;
mod decode;
pub mod gnuhealth;
mod hierarchy;
pub mod load;
pub mod product;
pub mod raw;
pub mod report;
pub mod shape;
mod xlsx_table;

pub use aliases::{AliasReport, IndexAliasOptions};
pub use ancestors::AncestorNames;
pub use load::{
    detect_system, load_table, load_table_with, Assignability, ColumnSpec, LoadOptions, TableFormat,
};
pub use product::{fingerprint_entries, read_product_table, write_product_table};
pub use report::{ImportReport, SkipReason, SkippedRow};

/// Which classification a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CodeSystem {
    /// ICD-10 diagnoses.
    Icd10,
    /// ICD-9-CM Volume 3 procedures.
    Icd9Cm3,
}

impl CodeSystem {
    pub fn for_track(track: Track) -> Self {
        match track {
            Track::Diagnosis => CodeSystem::Icd10,
            Track::Procedure => CodeSystem::Icd9Cm3,
        }
    }
    pub fn track(self) -> Track {
        match self {
            CodeSystem::Icd10 => Track::Diagnosis,
            CodeSystem::Icd9Cm3 => Track::Procedure,
        }
    }
}

/// Level of a node in the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum CodeKind {
    Chapter,
    Block,
    /// ICD-10 three-character category (`I10`); ICD-9-CM two-digit category (`36`).
    Category,
    /// ICD-10 four-character subcategory (`I20.0`/`I20.000`); ICD-9-CM `36.0`.
    Subcategory,
    /// A full code (`I21.401`, `36.0700`).
    Code,
    /// A national extension code (`I10.x00x032`, `36.0700x004`, `36.0701`).
    Extension,
    /// ICD-O morphology code (`M80000/3`).
    Morphology,
}

/// One row of a code table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeEntry {
    /// The code as the table spells it.
    pub code: String,
    pub name: String,
    pub kind: CodeKind,
    /// Other names (from the table, crosswalk names, the alphabetic index).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Whether a coder may assign this code (leaves and the 国临 valid codes).
    pub assignable: bool,
    /// Normalized key of the parent node, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// A loaded code table with its hierarchy.
#[derive(Debug, Clone)]
pub struct Terminology {
    pub system: CodeSystem,
    /// Human label, e.g. `国临2.0 (gl2-diagnoses.dat)`.
    pub label: String,
    /// Content hash of the source rows; the search index is rebuilt when it changes.
    pub fingerprint: String,
    entries: Vec<CodeEntry>,
    by_key: HashMap<String, usize>,
    children: HashMap<String, Vec<usize>>,
}

impl Terminology {
    /// Builds a table from entries already carrying kind, parent and
    /// assignability. Later duplicates of a key are dropped (first wins).
    pub fn from_entries(
        system: CodeSystem,
        label: impl Into<String>,
        fingerprint: impl Into<String>,
        entries: Vec<CodeEntry>,
    ) -> Self {
        let mut by_key = HashMap::with_capacity(entries.len());
        let mut kept = Vec::with_capacity(entries.len());
        for e in entries {
            let key = normalize_code(system, &e.code);
            if by_key.contains_key(&key) {
                continue;
            }
            by_key.insert(key, kept.len());
            kept.push(e);
        }
        let mut children: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in kept.iter().enumerate() {
            if let Some(p) = &e.parent {
                children.entry(p.clone()).or_default().push(i);
            }
        }
        Terminology {
            system,
            label: label.into(),
            fingerprint: fingerprint.into(),
            entries: kept,
            by_key,
            children,
        }
    }

    /// Builds a flat table from `(code, name)` rows: every row an assignable
    /// [`CodeKind::Code`] without aliases or parent (test fixtures, demo and
    /// benchmark tables). Later duplicates of a key are dropped (first wins);
    /// the fingerprint is a hash of the rows kept, as for an imported table.
    pub fn from_pairs<C: AsRef<str>, N: AsRef<str>>(
        system: CodeSystem,
        label: impl Into<String>,
        pairs: &[(C, N)],
    ) -> Self {
        let entries: Vec<CodeEntry> = pairs
            .iter()
            .map(|(code, name)| CodeEntry {
                code: code.as_ref().to_string(),
                name: name.as_ref().to_string(),
                kind: CodeKind::Code,
                aliases: Vec::new(),
                assignable: true,
                parent: None,
            })
            .collect();
        // Hash the rows kept, as the importer does.
        let mut t = Self::from_entries(system, label, String::new(), entries);
        t.fingerprint = fingerprint_entries(&t.entries);
        t
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn entries(&self) -> &[CodeEntry] {
        &self.entries
    }
    pub fn entry(&self, idx: usize) -> &CodeEntry {
        &self.entries[idx]
    }

    /// Looks a code up in any common spelling.
    pub fn get(&self, code: &str) -> Option<&CodeEntry> {
        self.index_of(code).map(|i| &self.entries[i])
    }

    pub fn index_of(&self, code: &str) -> Option<usize> {
        self.by_key.get(&normalize_code(self.system, code)).copied()
    }

    /// True when the code is in the table and may be assigned.
    pub fn is_assignable(&self, code: &str) -> bool {
        self.get(code).is_some_and(|e| e.assignable)
    }

    /// Ancestors from the chapter down to and including the code itself.
    pub fn path(&self, code: &str) -> Vec<&CodeEntry> {
        let mut out = Vec::new();
        let mut cur = self.index_of(code);
        let mut guard = 0;
        while let Some(i) = cur {
            out.push(&self.entries[i]);
            cur = self.entries[i]
                .parent
                .as_deref()
                .and_then(|p| self.by_key.get(p).copied());
            guard += 1;
            if guard > 16 {
                break;
            }
        }
        out.reverse();
        out
    }

    /// Direct children of a node.
    pub fn children(&self, code: &str) -> Vec<&CodeEntry> {
        let key = normalize_code(self.system, code);
        self.children
            .get(&key)
            .map(|v| v.iter().map(|&i| &self.entries[i]).collect())
            .unwrap_or_default()
    }

    /// Codes under a prefix in the normalized spelling (e.g. `I10.x00x0`).
    pub fn with_prefix(&self, prefix: &str) -> Vec<&CodeEntry> {
        let p = normalize_code(self.system, prefix);
        let p = p.trim_end_matches('0');
        let raw = prefix.trim().to_uppercase();
        let mut v: Vec<&CodeEntry> = self
            .entries
            .iter()
            .filter(|e| {
                let k = normalize_code(self.system, &e.code);
                k.starts_with(&raw) || (!p.is_empty() && k.starts_with(p) && raw.len() >= 3)
            })
            .collect();
        v.sort_by(|a, b| a.code.cmp(&b.code));
        v
    }
}

/// Canonical key of a code for matching across spellings.
///
/// ICD-10: uppercase, `†` → `+`, trailing `*` dropped, spaces removed
/// (`E10.400x021†G63.2*` and `E10.400X021+G63.2` meet).
/// ICD-9-CM-3: uppercase, decimals padded to four digits (`36.07` → `36.0700`).
pub fn normalize_code(system: CodeSystem, code: &str) -> String {
    let mut s: String = code
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '†' | '＋' => '+',
            '．' | '。' => '.',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    while s.ends_with('*') {
        s.pop();
    }
    s = s.replace("*+", "+").replace('*', "");
    if system == CodeSystem::Icd9Cm3 {
        if let Some((head, tail)) = s.split_once('.') {
            let digits: String = tail.chars().take_while(|c| c.is_ascii_digit()).collect();
            let rest = &tail[digits.len()..];
            // Pad two or three decimals to the 国临 four (`36.07` → `36.0700`,
            // `66.69x001` → `66.6900X001`). A single decimal is a subcategory
            // (`36.1` is not `36.10`), and a letter other than the extension
            // `x` (`17.912A0`, `01.6x00`) means the digits are not a prefix.
            let pads = (2..4).contains(&digits.len()) && (rest.is_empty() || rest.starts_with('X'));
            if pads && head.len() == 2 && head.chars().all(|c| c.is_ascii_digit()) {
                s = format!("{head}.{digits:0<4}{rest}");
            }
        } else if s.len() == 2 && s.chars().all(|c| c.is_ascii_digit()) {
            // a bare two-digit category stays as is
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spellings_meet() {
        let k = |c| normalize_code(CodeSystem::Icd10, c);
        assert_eq!(k("E10.400x021†G63.2*"), k("E10.400X021+G63.2"));
        assert_eq!(k(" i10.x00x032 "), "I10.X00X032");
        let p = |c| normalize_code(CodeSystem::Icd9Cm3, c);
        assert_eq!(p("36.07"), "36.0700");
        assert_eq!(p("36.0700"), "36.0700");
        assert_eq!(p("00.6600x004"), "00.6600X004");
        assert_ne!(p("36.07"), p("36.0701"));
        // subcategories and codes with letters keep their digits
        assert_eq!(p("36.1"), "36.1");
        assert_ne!(p("36.1"), p("36.10"));
        assert_eq!(p("01.6x00"), "01.6X00");
        assert_eq!(p("66.69x001"), "66.6900X001");
        assert_eq!(p("17.912A0"), "17.912A0");
    }

    #[test]
    fn from_pairs_builds_a_flat_assignable_table() {
        let rows = [("36.07", "药物洗脱冠状动脉支架置入"), ("36.0700", "重复")];
        let t = Terminology::from_pairs(CodeSystem::Icd9Cm3, "t", &rows);
        assert_eq!(t.len(), 1, "the second spelling of 36.0700 is dropped");
        let e = t.get("36.0700").unwrap();
        assert_eq!((e.code.as_str(), e.name.as_str()), rows[0]);
        assert_eq!(
            (e.kind, e.assignable, e.parent.as_deref()),
            (CodeKind::Code, true, None)
        );
        // the fingerprint follows the rows kept, not the label
        let same = Terminology::from_pairs(CodeSystem::Icd9Cm3, "other label", &rows[..1]);
        let renamed = Terminology::from_pairs(CodeSystem::Icd9Cm3, "t", &[("36.07", "改名")]);
        assert_eq!(t.fingerprint.len(), 64);
        assert_eq!(t.fingerprint, same.fingerprint);
        assert_ne!(t.fingerprint, renamed.fingerprint);
    }

    #[test]
    fn path_walks_parents() {
        let e = |code: &str, kind, parent: Option<&str>| CodeEntry {
            code: code.into(),
            name: code.into(),
            kind,
            aliases: vec![],
            assignable: kind >= CodeKind::Code,
            parent: parent.map(|p| normalize_code(CodeSystem::Icd10, p)),
        };
        let t = Terminology::from_entries(
            CodeSystem::Icd10,
            "t",
            "f",
            vec![
                e("I10", CodeKind::Category, None),
                e("I10.x00", CodeKind::Code, Some("I10")),
                e("I10.x00x032", CodeKind::Extension, Some("I10.x00")),
            ],
        );
        let path: Vec<_> = t
            .path("i10.x00x032")
            .iter()
            .map(|e| e.code.as_str())
            .collect();
        assert_eq!(path, ["I10", "I10.x00", "I10.x00x032"]);
        assert!(t.is_assignable("I10.x00x032"));
        assert!(!t.is_assignable("I10"));
        assert_eq!(t.children("I10").len(), 1);
    }
}
