//! Headless coding of whole batches and the result shape written as JSON Lines.

use serde::{Deserialize, Serialize};

use super::engine::{Control, Engine};
use super::item::{Flag, Item, Origin, Span};
use super::run::Run;
use super::stage::StageKind;
use crate::eval::{EvalReport, TrackEval};
use crate::record::{Record, Track};
use crate::Result;

/// Stages to switch off, per track.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ablation(pub Vec<(Track, StageKind)>);

impl Ablation {
    /// Parses `stage` (every track that has it) or `track:stage`
    /// (`validate`, `procedure:mine`, `diagnosis:prioritize`).
    pub fn parse(specs: &[String]) -> std::result::Result<Ablation, String> {
        let mut out = Vec::new();
        for spec in specs {
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
                format!("unknown stage `{stage}` (one of {})", names.join(", "))
            })?;
            for t in Track::ALL {
                if track.is_none_or(|x| x == t) && kind.applies_to(t) {
                    out.push((t, kind));
                }
            }
        }
        Ok(Ablation(out))
    }

    pub fn apply(&self, run: &mut Run) {
        for &(t, k) in &self.0 {
            run.set_enabled(t, k, false);
        }
    }

    pub fn labels(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(t, k)| format!("{}:{}", t.label(), k.label()))
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
                })
            })
            .collect()
    }
}

/// One line of `icdflow code` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodedRecord {
    pub id: String,
    /// What did the work (agents with model name, or retrieval + rules).
    pub method: String,
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

/// Evaluates a batch: codes every record and compares with gold.
pub fn evaluate(
    engine: &mut Engine,
    records: &[Record],
    ablation: &Ablation,
    ctl: &mut Control,
    mut progress: impl FnMut(usize),
) -> EvalReport {
    let mut diag = TrackEval::new(Track::Diagnosis);
    let mut proc_ = TrackEval::new(Track::Procedure);
    let mut failed = 0;
    for (i, r) in records.iter().enumerate() {
        match code_record(engine, r, ablation, ctl) {
            Ok(run) => score(r, &run, &mut diag, &mut proc_),
            Err(e) => {
                tracing::warn!(record = %r.id, error = %e, "record failed");
                failed += 1;
            }
        }
        progress(i + 1);
    }
    EvalReport {
        diagnosis: diag.metrics(),
        procedure: proc_.metrics(),
        records: records.len(),
        failed,
        ablated: ablation.labels(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ablation_specs() {
        let a = Ablation::parse(&["validate".into()]).unwrap();
        assert_eq!(a.0.len(), 2);
        let a = Ablation::parse(&["mine".into()]).unwrap();
        assert_eq!(a.0, vec![(Track::Procedure, StageKind::Mine)]);
        let a = Ablation::parse(&["diagnosis:prioritize".into()]).unwrap();
        assert_eq!(a.0, vec![(Track::Diagnosis, StageKind::Prioritize)]);
        assert!(Ablation::parse(&["bogus".into()]).is_err());
        assert!(Ablation::parse(&["x:map".into()]).is_err());
    }
}
