//! Clinical names as physicians write them (`高血压病`, `冠心病`,
//! `冠脉造影`) added as aliases of the codes they denote, so that tables
//! with formal names (the WHO edition, ICD-9-CM) still match record text.
//! The list is `clinical_aliases.tsv` beside this file.

use super::{normalize_code, CodeKind, CodeSystem, Terminology};

const LIST: &str = include_str!("clinical_aliases.tsv");

/// (term, code) pairs of one system.
pub fn clinical_aliases(system: CodeSystem) -> Vec<(&'static str, &'static str)> {
    let tag = match system {
        CodeSystem::Icd10 => "icd10",
        CodeSystem::Icd9Cm3 => "icd9cm3",
    };
    LIST.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (s, term, code) = (f.next()?, f.next()?, f.next()?);
            (s == tag).then_some((term.trim(), code.trim()))
        })
        .collect()
}

/// The entry a short code denotes in this table: the code itself when
/// assignable, else its 国临 spelling (`I25.1` → `I25.100`, `88.55` →
/// `88.5500`).
fn resolve(term: &Terminology, code: &str) -> Option<usize> {
    let assignable = |i: usize| term.entry(i).assignable.then_some(i);
    if let Some(i) = term.index_of(code).and_then(assignable) {
        return Some(i);
    }
    let key = normalize_code(term.system, code);
    let padded = match term.system {
        CodeSystem::Icd10 if key.len() == 5 => format!("{key}00"),
        CodeSystem::Icd10 if key.len() == 3 => format!("{key}.X00"),
        _ => return None,
    };
    term.index_of(&padded).and_then(assignable)
}

/// Adds the clinical names of the list as aliases; returns the new table
/// (new fingerprint) and how many were added. National clinical editions
/// (tables with extension codes, such as 国临) already name their codes the
/// way physicians write and are left as they are.
pub fn add_clinical_aliases(term: Terminology) -> (Terminology, usize) {
    if term.entries().iter().any(|e| e.kind == CodeKind::Extension) {
        return (term, 0);
    }
    let additions: Vec<(usize, String)> = clinical_aliases(term.system)
        .into_iter()
        .filter_map(|(t, c)| resolve(&term, c).map(|i| (i, t.to_string())))
        .collect();
    term.with_aliases(additions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_reach_formal_and_national_spellings() {
        let who = Terminology::from_pairs(
            CodeSystem::Icd10,
            "who",
            &[
                ("I10", "特发性（原发性）高血压"),
                ("I25.1", "动脉硬化性心脏病"),
            ],
        );
        let (who, n) = add_clinical_aliases(who);
        assert!(n >= 4, "{n}");
        assert!(who
            .get("I10")
            .unwrap()
            .aliases
            .iter()
            .any(|a| a == "高血压病"));
        // A code written in another edition's spelling still resolves.
        let us = Terminology::from_pairs(
            CodeSystem::Icd9Cm3,
            "us",
            &[("88.55", "单根导管的冠状动脉造影术")],
        );
        let (us, n) = add_clinical_aliases(us);
        assert_eq!(n, 2);
        assert!(us
            .get("88.5500")
            .unwrap()
            .aliases
            .iter()
            .any(|a| a == "冠脉造影"));
        // A national edition (extension codes) is left alone.
        let mut gl = Terminology::from_pairs(
            CodeSystem::Icd10,
            "gl",
            &[
                ("I10.x00", "特发性(原发性)高血压"),
                ("I10.x00x002", "高血压"),
            ],
        );
        gl = Terminology::from_entries(
            CodeSystem::Icd10,
            "gl",
            "f",
            gl.entries()
                .iter()
                .cloned()
                .map(|mut e| {
                    if e.code.contains('x') && e.code.len() > 7 {
                        e.kind = CodeKind::Extension;
                    }
                    e
                })
                .collect(),
        );
        assert_eq!(add_clinical_aliases(gl).1, 0);
        assert!(!clinical_aliases(CodeSystem::Icd9Cm3).is_empty());
    }
}
