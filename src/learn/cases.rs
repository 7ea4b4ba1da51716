//! The case base: past coded records, for "similar coded cases".
//!
//! Each case keeps its id, a short summary (the diagnosis field or the
//! chief complaint), its final codes and the feature vector the
//! classifiers use; similarity is the cosine of those vectors.

use serde::{Deserialize, Serialize};

use super::linear::{cosine, SparseVec};
use crate::record::{Record, Track};

/// One past record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub summary: String,
    /// Gold codes per track (principal first), with the names the record gave.
    pub diagnoses: Vec<(String, String)>,
    pub procedures: Vec<(String, String)>,
    pub vector: SparseVec,
}

impl Case {
    pub fn codes(&self, track: Track) -> &[(String, String)] {
        match track {
            Track::Diagnosis => &self.diagnoses,
            Track::Procedure => &self.procedures,
        }
    }
}

/// A similar case found for a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Similar<'a> {
    pub case: &'a Case,
    pub similarity: f32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseBase {
    pub cases: Vec<Case>,
}

/// Sections that say what a record is about, best first.
const SUMMARY_SECTIONS: [&str; 4] = ["出院诊断", "入院诊断", "主诉", "手术名称"];

/// At most this many characters of summary per case.
const SUMMARY_CHARS: usize = 80;

pub fn summary(record: &Record) -> String {
    let text = SUMMARY_SECTIONS
        .iter()
        .find_map(|s| record.section(s).filter(|t| !t.trim().is_empty()))
        .or_else(|| record.sections.first().map(|s| s.text.as_str()))
        .unwrap_or("");
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(SUMMARY_CHARS).collect()
}

impl CaseBase {
    pub fn push(&mut self, record: &Record, vector: SparseVec) {
        let codes = |t: Track| {
            record
                .gold
                .track(t)
                .unwrap_or(&[])
                .iter()
                .map(|g| (g.code.clone(), g.name.clone().unwrap_or_default()))
                .collect()
        };
        self.cases.push(Case {
            id: record.id.clone(),
            summary: summary(record),
            diagnoses: codes(Track::Diagnosis),
            procedures: codes(Track::Procedure),
            vector,
        });
    }

    pub fn len(&self) -> usize {
        self.cases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// The `k` most similar cases, most similar first; a case with the
    /// record's own id is skipped (a record is not its own precedent).
    pub fn nearest(&self, id: &str, vector: &[(u32, f32)], k: usize) -> Vec<Similar<'_>> {
        let mut all: Vec<Similar> = self
            .cases
            .iter()
            .filter(|c| c.id != id)
            .map(|c| Similar {
                case: c,
                similarity: cosine(&c.vector, vector),
            })
            .filter(|s| s.similarity > 0.0)
            .collect();
        all.sort_by(|a, b| {
            b.similarity
                .total_cmp(&a.similarity)
                .then_with(|| a.case.id.cmp(&b.case.id))
        });
        all.truncate(k);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Gold, GoldCode};

    fn rec(id: &str, dx: &str, code: &str) -> Record {
        let mut r = Record::new(id).with_section("出院诊断", dx);
        r.gold = Gold {
            diagnoses: Some(vec![GoldCode {
                code: code.into(),
                name: Some(dx.into()),
            }]),
            procedures: None,
        };
        r
    }

    #[test]
    fn nearest_ranks_by_cosine_and_skips_self() {
        let mut cb = CaseBase::default();
        cb.push(&rec("a", "不稳定型心绞痛", "I20.000"), vec![(0, 1.0)]);
        cb.push(&rec("b", "高血压病", "I10.x00x032"), vec![(1, 1.0)]);
        cb.push(
            &rec("c", "心绞痛 高血压", "I20.000"),
            vec![(0, 0.6), (1, 0.8)],
        );
        let near = cb.nearest("q", &[(0, 1.0)], 2);
        assert_eq!(near[0].case.id, "a");
        assert_eq!(near[1].case.id, "c");
        assert!((near[1].similarity - 0.6).abs() < 1e-6);
        let near = cb.nearest("a", &[(0, 1.0)], 5);
        assert!(near.iter().all(|s| s.case.id != "a"));
        assert_eq!(cb.cases[0].summary, "不稳定型心绞痛");
        assert_eq!(cb.cases[0].codes(Track::Diagnosis)[0].0, "I20.000");
    }
}
