//! Headless coding of whole batches and the result shape written as JSON Lines.

use serde::{Deserialize, Serialize};

use super::engine::{Control, Engine};
use super::helper::HelperKind;
use super::item::{Flag, Item, Origin, Span};
use super::run::Run;
use super::stage::StageKind;
use crate::eval::{EvalReport, TrackEval};
use crate::record::{Record, Track};
use crate::Result;

/// Stages to switch off, per track, and helpers to switch off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ablation {
    pub stages: Vec<(Track, StageKind)>,
    pub helpers: Vec<HelperKind>,
}

impl Ablation {
    /// Parses `stage` (every track that has it), `track:stage`
    /// (`validate`, `procedure:mine`, `diagnosis:prioritize`) or a helper
    /// (`learned`, `rules`, `agents`).
    pub fn parse(specs: &[String]) -> std::result::Result<Ablation, String> {
        let mut out = Vec::new();
        let mut helpers = Vec::new();
        for spec in specs {
            if let Some(h) = HelperKind::parse(spec) {
                if !helpers.contains(&h) {
                    helpers.push(h);
                }
                continue;
            }
            let (track, stage) = match spec.split_once(':') {
                Some((t, s)) => {
                    let t = match t.trim().to_ascii_lowercase().as_str() {
                        "diagnosis" | "diag" | "d" => Track::Diagnosis,
                        "procedure" | "proc" | "p" => Track::Procedure,
                        other => {
                            return Err(format!(
                                "unknown track `{other}` in `{spec}` (diagnosis or procedure)"
                            ))
                        }
                    };
                    (Some(t), s)
                }
                None => (None, spec.as_str()),
            };
            let kind = StageKind::parse(stage).ok_or_else(|| {
                let names: Vec<_> = StageKind::ORDER.iter().map(|k| k.label()).collect();
                format!(
                    "unknown stage or helper `{stage}` (one of {}, or learned, rules, agents)",
                    names.join(", ")
                )
            })?;
            for t in Track::ALL {
                if track.is_none_or(|x| x == t) && kind.applies_to(t) {
                    out.push((t, kind));
                }
            }
        }
        Ok(Ablation {
            stages: out,
            helpers,
        })
    }

    /// Adds another ablation's stages and helpers.
    pub fn extend(&mut self, other: &Ablation) {
        self.stages.extend(other.stages.iter().copied());
        for h in &other.helpers {
            if !self.helpers.contains(h) {
                self.helpers.push(*h);
            }
        }
    }

    pub fn apply(&self, run: &mut Run) {
        for &(t, k) in &self.stages {
            run.set_enabled(t, k, false);
        }
    }

    pub fn labels(&self) -> Vec<String> {
        self.stages
            .iter()
            .map(|(t, k)| format!("{}:{}", t.label(), k.label()))
            .chain(self.helpers.iter().map(|h| format!("helper:{}", h.label())))
            .collect()
    }
}

/// One final code with its support.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalCode {
    pub code: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    pub origin: Origin,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Span>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub low_confidence: bool,
    /// The learned or agent model behind it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl FinalCode {
    pub fn from_items(items: &[Item]) -> Vec<FinalCode> {
        items
            .iter()
            .filter_map(|i| {
                i.code.as_ref().map(|c| FinalCode {
                    code: c.clone(),
                    name: i.text.clone(),
                    confidence: i.confidence,
                    origin: i.origin,
                    evidence: i.evidence.clone(),
                    low_confidence: i.has_flag(&Flag::LowConfidence),
                    model: i.model.clone(),
                })
            })
            .collect()
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One line of `icdflow code` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodedRecord {
    pub id: String,
    /// What the engine was built with (agents with model name, learned
    /// model, retrieval + rules).
    pub method: String,
    /// What really did the work, stage by stage (an agent that failed on
    /// this record leaves its stage to retrieval, and this says so).
    #[serde(default)]
    pub worked: Vec<String>,
    /// Helper failures on this record (failed or unusable model answers).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages_off: Vec<String>,
    /// Final diagnosis codes, principal first.
    pub diagnosis: Vec<FinalCode>,
    /// Final procedure codes, principal first.
    pub procedure: Vec<FinalCode>,
    /// Every stage's list and trace (with `--trace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Run>,
}

impl CodedRecord {
    pub fn from_run(run: &Run, method: String, with_trace: bool) -> Self {
        CodedRecord {
            id: run.record_id.clone(),
            method,
            worked: run.methods(),
            failures: run.failures(),
            stages_off: run
                .disabled()
                .iter()
                .map(|(t, k)| format!("{}:{}", t.label(), k.label()))
                .collect(),
            diagnosis: FinalCode::from_items(run.final_items(Track::Diagnosis)),
            procedure: FinalCode::from_items(run.final_items(Track::Procedure)),
            stages: with_trace.then(|| run.clone()),
        }
    }
}

/// Codes one record from scratch with the given stages off.
pub fn code_record(
    engine: &mut Engine,
    record: &Record,
    ablation: &Ablation,
    ctl: &mut Control,
) -> Result<Run> {
    let mut run = Run::new(record.id.clone());
    ablation.apply(&mut run);
    engine.set_helpers_off(&ablation.helpers);
    engine.run_pending(record, &mut run, ctl)?;
    Ok(run)
}

/// Adds one coded record to the evaluation of each track that has gold.
pub fn score(record: &Record, run: &Run, diag: &mut TrackEval, proc_: &mut TrackEval) {
    for (track, ev) in [(Track::Diagnosis, diag), (Track::Procedure, proc_)] {
        if let Some(gold) = record.gold.track(track) {
            let predicted: Vec<String> = run
                .final_items(track)
                .iter()
                .filter_map(|i| i.code.clone())
                .collect();
            let gold: Vec<String> = gold.iter().map(|g| g.code.clone()).collect();
            ev.add(&predicted, &gold);
        }
    }
}

/// Scores a record that produced no run: no code predicted on any track
/// that has gold.
fn score_nothing(record: &Record, diag: &mut TrackEval, proc_: &mut TrackEval) {
    for (track, ev) in [(Track::Diagnosis, diag), (Track::Procedure, proc_)] {
        if let Some(gold) = record.gold.track(track) {
            let gold: Vec<String> = gold.iter().map(|g| g.code.clone()).collect();
            ev.add(&[], &gold);
        }
    }
}

/// Accumulates the scores of coded records, possibly over several engines
/// (the folds of a cross-validation).
pub struct Scorer {
    diag: TrackEval,
    proc_: TrackEval,
    records: usize,
    failed: usize,
    helper_failures: usize,
}

impl Default for Scorer {
    fn default() -> Self {
        Scorer {
            diag: TrackEval::new(Track::Diagnosis),
            proc_: TrackEval::new(Track::Procedure),
            records: 0,
            failed: 0,
            helper_failures: 0,
        }
    }
}

impl Scorer {
    /// Codes and scores records with one engine.
    pub fn evaluate(
        &mut self,
        engine: &mut Engine,
        records: &[Record],
        ablation: &Ablation,
        ctl: &mut Control,
        mut progress: impl FnMut(usize),
    ) {
        for (i, r) in records.iter().enumerate() {
            self.records += 1;
            match code_record(engine, r, ablation, ctl) {
                Ok(run) => {
                    self.helper_failures += run.failures();
                    score(r, &run, &mut self.diag, &mut self.proc_)
                }
                Err(e) => {
                    // A record that could not be coded is a miss, not a
                    // record left out of the denominators.
                    tracing::warn!(record = %r.id, error = %e, "record failed: scored as coded with nothing");
                    self.failed += 1;
                    score_nothing(r, &mut self.diag, &mut self.proc_);
                }
            }
            progress(i + 1);
        }
    }

    pub fn report(&self, ablation: &Ablation) -> EvalReport {
        EvalReport {
            diagnosis: self.diag.metrics(),
            procedure: self.proc_.metrics(),
            records: self.records,
            failed: self.failed,
            helper_failures: self.helper_failures,
            ablated: ablation.labels(),
        }
    }
}

/// Evaluates a batch: codes every record and compares with gold.
pub fn evaluate(
    engine: &mut Engine,
    records: &[Record],
    ablation: &Ablation,
    ctl: &mut Control,
    progress: impl FnMut(usize),
) -> EvalReport {
    let mut s = Scorer::default();
    s.evaluate(engine, records, ablation, ctl, progress);
    s.report(ablation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ablation_specs() {
        let a = Ablation::parse(&["validate".into()]).unwrap();
        assert_eq!(a.stages.len(), 2);
        let a = Ablation::parse(&["mine".into()]).unwrap();
        assert_eq!(a.stages, vec![(Track::Procedure, StageKind::Mine)]);
        let a = Ablation::parse(&["diagnosis:prioritize".into()]).unwrap();
        assert_eq!(a.stages, vec![(Track::Diagnosis, StageKind::Prioritize)]);
        let a = Ablation::parse(&["learned".into(), "validate".into()]).unwrap();
        assert_eq!(a.helpers, vec![HelperKind::Learned]);
        assert_eq!(a.labels().last().unwrap(), "helper:learned");
        assert!(Ablation::parse(&["bogus".into()]).is_err());
        assert!(Ablation::parse(&["x:map".into()]).is_err());
    }
}
