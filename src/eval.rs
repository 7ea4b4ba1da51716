//! Metrics against gold codes: micro precision/recall/F1, mean Jaccard per
//! record, NDCG@3, principal-code accuracy and the CCL25 score (mean over
//! records of 0.5·[principal correct] + 0.5·F1 of the other codes).
//!
//! Codes are compared in their normalized spelling, so `E11.401+G63.2*` in
//! gold equals `E11.401†G63.2*` in the table.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::record::Track;
use crate::terminology::{normalize_code, CodeSystem};

/// One record's predicted and gold codes for a track, principal first.
#[derive(Debug, Clone)]
pub struct Pair {
    pub predicted: Vec<String>,
    pub gold: Vec<String>,
}

/// Metrics of one track.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackMetrics {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub jaccard: f64,
    pub ndcg3: f64,
    pub principal_accuracy: f64,
    pub ccl25_score: f64,
    /// Records with gold for this track.
    pub records: usize,
    pub true_positives: usize,
    pub predicted: usize,
    pub gold: usize,
}

/// Accumulates pairs of one track.
#[derive(Debug, Clone)]
pub struct TrackEval {
    system: CodeSystem,
    pairs: Vec<Pair>,
}

fn set(system: CodeSystem, codes: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    codes
        .iter()
        .map(|c| normalize_code(system, c))
        .filter(|c| !c.is_empty() && seen.insert(c.clone()))
        .collect()
}

fn f1(p: &HashSet<&String>, g: &HashSet<&String>) -> f64 {
    if p.is_empty() && g.is_empty() {
        return 1.0;
    }
    let tp = p.intersection(g).count() as f64;
    if tp == 0.0 {
        return 0.0;
    }
    let pr = tp / p.len() as f64;
    let re = tp / g.len() as f64;
    2.0 * pr * re / (pr + re)
}

impl TrackEval {
    pub fn new(track: Track) -> Self {
        TrackEval {
            system: CodeSystem::for_track(track),
            pairs: Vec::new(),
        }
    }

    pub fn add(&mut self, predicted: &[String], gold: &[String]) {
        self.pairs.push(Pair {
            predicted: set(self.system, predicted),
            gold: set(self.system, gold),
        });
    }

    pub fn metrics(&self) -> TrackMetrics {
        let n = self.pairs.len();
        let mut m = TrackMetrics {
            records: n,
            ..Default::default()
        };
        if n == 0 {
            return m;
        }
        let (mut jac, mut ndcg, mut princ, mut ccl) = (0.0, 0.0, 0.0, 0.0);
        for pair in &self.pairs {
            let p: HashSet<&String> = pair.predicted.iter().collect();
            let g: HashSet<&String> = pair.gold.iter().collect();
            let tp = p.intersection(&g).count();
            m.true_positives += tp;
            m.predicted += p.len();
            m.gold += g.len();
            let union = p.union(&g).count();
            jac += if union == 0 {
                1.0
            } else {
                tp as f64 / union as f64
            };
            let dcg: f64 = pair
                .predicted
                .iter()
                .take(3)
                .enumerate()
                .filter(|(_, c)| g.contains(c))
                .map(|(i, _)| 1.0 / (i as f64 + 2.0).log2())
                .sum();
            let idcg: f64 = (0..g.len().min(3))
                .map(|i| 1.0 / (i as f64 + 2.0).log2())
                .sum();
            ndcg += if idcg == 0.0 { 1.0 } else { dcg / idcg };
            let principal_ok = match (pair.predicted.first(), pair.gold.first()) {
                (Some(a), Some(b)) => a == b,
                (None, None) => true,
                _ => false,
            };
            if principal_ok {
                princ += 1.0;
            }
            let po: HashSet<&String> = pair.predicted.iter().skip(1).collect();
            let go: HashSet<&String> = pair.gold.iter().skip(1).collect();
            ccl += 0.5 * (principal_ok as u8 as f64) + 0.5 * f1(&po, &go);
        }
        let nf = n as f64;
        m.precision = if m.predicted == 0 {
            0.0
        } else {
            m.true_positives as f64 / m.predicted as f64
        };
        m.recall = if m.gold == 0 {
            0.0
        } else {
            m.true_positives as f64 / m.gold as f64
        };
        m.f1 = if m.precision + m.recall == 0.0 {
            0.0
        } else {
            2.0 * m.precision * m.recall / (m.precision + m.recall)
        };
        m.jaccard = jac / nf;
        m.ndcg3 = ndcg / nf;
        m.principal_accuracy = princ / nf;
        m.ccl25_score = ccl / nf;
        m
    }
}

/// The whole evaluation, as `icdflow eval --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub diagnosis: TrackMetrics,
    pub procedure: TrackMetrics,
    pub records: usize,
    /// Records that could not be coded (scored as coded with nothing).
    pub failed: usize,
    /// Failed or unusable model answers (their stage kept the list it had).
    #[serde(default)]
    pub helper_failures: usize,
    /// Stages switched off for this evaluation (`track:stage`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ablated: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn perfect_and_partial() {
        let mut e = TrackEval::new(Track::Diagnosis);
        e.add(
            &v(&["I21.401", "I10.x00x032"]),
            &v(&["I21.401", "I10.X00X032"]),
        );
        let m = e.metrics();
        assert_eq!((m.precision, m.recall, m.f1), (1.0, 1.0, 1.0));
        assert_eq!(
            (m.principal_accuracy, m.ccl25_score, m.ndcg3, m.jaccard),
            (1.0, 1.0, 1.0, 1.0)
        );

        let mut e = TrackEval::new(Track::Diagnosis);
        // principal wrong, one of two others right, one extra
        e.add(&v(&["A", "B", "X"]), &v(&["Z", "B", "C"]));
        let m = e.metrics();
        assert!((m.precision - 1.0 / 3.0).abs() < 1e-9);
        assert!((m.recall - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(m.principal_accuracy, 0.0);
        // others: pred {B,X}, gold {B,C} → F1 0.5 → score 0.25
        assert!((m.ccl25_score - 0.25).abs() < 1e-9);
        assert!((m.jaccard - 0.2).abs() < 1e-9);
        let idcg = 1.0 + 1.0 / 3f64.log2() + 0.5;
        assert!((m.ndcg3 - (1.0 / 3f64.log2()) / idcg).abs() < 1e-9);
    }

    #[test]
    fn dagger_spellings_match() {
        let mut e = TrackEval::new(Track::Diagnosis);
        e.add(&v(&["E11.401†G63.2*"]), &v(&["E11.401+G63.2*"]));
        assert_eq!(e.metrics().f1, 1.0);
    }
}
