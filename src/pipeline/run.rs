//! Run state: each stage's list per track, its status, and the rules of
//! invalidation when the coder edits a list.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::item::Item;
use super::stage::StageKind;
use crate::record::Track;

/// Status of one stage of one track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Never run.
    Pending,
    /// Running now.
    Running,
    /// Output is current with its input.
    Fresh,
    /// An upstream list changed since this stage ran.
    Stale,
    /// The coder replaced this list; it is not re-run until upstream changes.
    Edited,
    /// The last run failed; see `StageState::error`.
    Failed,
}

/// How a stage did its work — shown in the output so that nobody mistakes
/// retrieval for a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Method {
    /// An LLM agent (model name).
    Agent { model: String },
    /// Retrieval over the code table and rules, no model.
    Retrieval,
    /// A model learned from coded history (its description).
    Learned { model: String },
    /// Deterministic rules alone.
    Rules,
    /// The coder's own list.
    Coder,
    /// The stage is switched off: input passed through unchanged.
    Off,
}

impl Method {
    pub fn label(&self) -> String {
        match self {
            Method::Agent { model } => format!("agent ({model})"),
            Method::Retrieval => "retrieval".into(),
            Method::Learned { model } => format!("learned ({model})"),
            Method::Rules => "rules".into(),
            Method::Coder => "coder".into(),
            Method::Off => "off".into(),
        }
    }
}

/// One LLM call made by a stage, for debugging.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentCall {
    pub agent: String,
    pub prompt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grammar: Option<String>,
    pub raw_output: String,
    pub prompt_tokens: usize,
    /// Prompt tokens served from a shared KV prefix instead of being read again.
    pub cached_tokens: usize,
    pub generated_tokens: usize,
    pub elapsed_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_prob: Option<f32>,
}

/// What a stage looked at and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub method: Method,
    pub started: DateTime<Utc>,
    pub elapsed_ms: f64,
    /// Human-readable notes (what was retrieved, which rules fired, warnings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<AgentCall>,
    /// What a helper could not do (a failed or unusable model answer): the
    /// list it was given was kept. Counted in `code` and `eval` output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

impl Trace {
    pub fn new(method: Method) -> Self {
        Trace {
            method,
            started: Utc::now(),
            elapsed_ms: 0.0,
            notes: Vec::new(),
            calls: Vec::new(),
            failures: Vec::new(),
        }
    }
    pub fn note(&mut self, s: impl Into<String>) {
        self.notes.push(s.into());
    }
    /// Records a helper's failure (also as a note).
    pub fn fail(&mut self, s: impl Into<String>) {
        let s = s.into();
        self.notes.push(s.clone());
        self.failures.push(s);
    }
}

/// One stage of one track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageState {
    pub kind: StageKind,
    pub status: Status,
    /// Switched off (ablation): passes its input through.
    pub enabled: bool,
    pub items: Vec<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Trace>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How many times this stage has produced output (lets tests and the UI
    /// see exactly which stages re-ran).
    #[serde(default)]
    pub runs: u32,
}

impl StageState {
    fn new(kind: StageKind) -> Self {
        StageState {
            kind,
            status: Status::Pending,
            enabled: true,
            items: Vec::new(),
            trace: None,
            error: None,
            runs: 0,
        }
    }

    /// True when the stage must run before its output can be used.
    pub fn needs_run(&self) -> bool {
        matches!(
            self.status,
            Status::Pending | Status::Stale | Status::Failed
        )
    }
}

/// The stages of one track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackRun {
    pub track: Track,
    pub stages: Vec<StageState>,
}

impl TrackRun {
    pub fn new(track: Track) -> Self {
        TrackRun {
            track,
            stages: StageKind::of_track(track)
                .into_iter()
                .map(StageState::new)
                .collect(),
        }
    }

    pub fn position(&self, kind: StageKind) -> Option<usize> {
        self.stages.iter().position(|s| s.kind == kind)
    }

    pub fn stage(&self, kind: StageKind) -> Option<&StageState> {
        self.stages.iter().find(|s| s.kind == kind)
    }

    pub fn stage_mut(&mut self, kind: StageKind) -> Option<&mut StageState> {
        self.stages.iter_mut().find(|s| s.kind == kind)
    }

    /// The list a stage reads: the output of the stage before it (empty for the first).
    pub fn input_of(&self, kind: StageKind) -> &[Item] {
        match self.position(kind) {
            Some(0) | None => &[],
            Some(i) => &self.stages[i - 1].items,
        }
    }

    /// Marks every stage after `pos` stale (those that have run or failed).
    fn invalidate_after(&mut self, pos: usize) {
        for s in &mut self.stages[pos + 1..] {
            if !matches!(s.status, Status::Pending) {
                s.status = Status::Stale;
            }
        }
    }
}

/// A coding run over one record: both tracks' stage lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub record_id: String,
    pub diagnosis: TrackRun,
    pub procedure: TrackRun,
}

impl Run {
    pub fn new(record_id: impl Into<String>) -> Self {
        Run {
            record_id: record_id.into(),
            diagnosis: TrackRun::new(Track::Diagnosis),
            procedure: TrackRun::new(Track::Procedure),
        }
    }

    pub fn track(&self, t: Track) -> &TrackRun {
        match t {
            Track::Diagnosis => &self.diagnosis,
            Track::Procedure => &self.procedure,
        }
    }

    pub fn track_mut(&mut self, t: Track) -> &mut TrackRun {
        match t {
            Track::Diagnosis => &mut self.diagnosis,
            Track::Procedure => &mut self.procedure,
        }
    }

    pub fn stage(&self, t: Track, kind: StageKind) -> Option<&StageState> {
        self.track(t).stage(kind)
    }

    /// Stores a stage's fresh output. Later stages that had run become stale.
    pub fn set_output(&mut self, t: Track, kind: StageKind, items: Vec<Item>, trace: Trace) {
        let tr = self.track_mut(t);
        let Some(pos) = tr.position(kind) else { return };
        let s = &mut tr.stages[pos];
        let changed = s.items != items;
        s.items = items;
        s.trace = Some(trace);
        s.error = None;
        s.status = Status::Fresh;
        s.runs += 1;
        if changed {
            tr.invalidate_after(pos);
        }
    }

    /// Records a failure; the previous list is kept, later stages go stale.
    pub fn set_failed(&mut self, t: Track, kind: StageKind, error: impl Into<String>) {
        let tr = self.track_mut(t);
        let Some(pos) = tr.position(kind) else { return };
        tr.stages[pos].status = Status::Failed;
        tr.stages[pos].error = Some(error.into());
    }

    pub fn set_running(&mut self, t: Track, kind: StageKind) {
        if let Some(s) = self.track_mut(t).stage_mut(kind) {
            s.status = Status::Running;
        }
    }

    /// The coder replaces a stage's list: it becomes `Edited` and every later
    /// stage of that track becomes stale; earlier stages are untouched.
    pub fn edit(&mut self, t: Track, kind: StageKind, items: Vec<Item>) {
        let tr = self.track_mut(t);
        let Some(pos) = tr.position(kind) else { return };
        let s = &mut tr.stages[pos];
        s.items = items;
        s.status = Status::Edited;
        s.error = None;
        let mut trace = Trace::new(Method::Coder);
        trace.note("list edited by the coder");
        s.trace = Some(trace);
        tr.invalidate_after(pos);
    }

    /// Switches a stage on or off; the stage and everything after it go stale.
    pub fn set_enabled(&mut self, t: Track, kind: StageKind, enabled: bool) {
        let tr = self.track_mut(t);
        let Some(pos) = tr.position(kind) else { return };
        if tr.stages[pos].enabled == enabled {
            return;
        }
        tr.stages[pos].enabled = enabled;
        if tr.stages[pos].status != Status::Pending {
            tr.stages[pos].status = Status::Stale;
        }
        tr.invalidate_after(pos);
    }

    /// The first stage, in execution order, that some track must (re)run.
    pub fn next_to_run(&self) -> Option<StageKind> {
        StageKind::ORDER.into_iter().find(|&k| {
            Track::ALL
                .iter()
                .any(|&t| self.stage(t, k).is_some_and(|s| s.needs_run()))
        })
    }

    /// True when any stage has been produced yet.
    pub fn started(&self) -> bool {
        Track::ALL.iter().any(|&t| {
            self.track(t)
                .stages
                .iter()
                .any(|s| s.runs > 0 || s.status == Status::Edited)
        })
    }

    /// True when every stage of both tracks is current.
    pub fn is_complete(&self) -> bool {
        self.next_to_run().is_none()
    }

    /// The final (mapped) list of a track.
    pub fn final_items(&self, t: Track) -> &[Item] {
        self.stage(t, StageKind::Map)
            .map(|s| s.items.as_slice())
            .unwrap_or(&[])
    }

    /// What really did the work, stage by stage: the distinct method labels
    /// of every stage that ran.
    pub fn methods(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in Track::ALL {
            for s in &self.track(t).stages {
                if let Some(m) = s.trace.as_ref().map(|tr| tr.method.label()) {
                    if !out.contains(&m) {
                        out.push(m);
                    }
                }
            }
        }
        out
    }

    /// Helper failures over every stage (see [`Trace::failures`]).
    pub fn failures(&self) -> usize {
        Track::ALL
            .iter()
            .flat_map(|&t| self.track(t).stages.iter())
            .filter_map(|s| s.trace.as_ref())
            .map(|tr| tr.failures.len())
            .sum()
    }

    /// Stages switched off, for reports.
    pub fn disabled(&self) -> Vec<(Track, StageKind)> {
        Track::ALL
            .iter()
            .flat_map(|&t| {
                self.track(t)
                    .stages
                    .iter()
                    .filter(|s| !s.enabled)
                    .map(move |s| (t, s.kind))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::item::{Item, Origin};

    fn fill(run: &mut Run) {
        while let Some(k) = run.next_to_run() {
            for t in Track::ALL {
                if run.stage(t, k).is_some_and(|s| s.needs_run()) {
                    let n = run.stage(t, k).unwrap().runs;
                    run.set_output(
                        t,
                        k,
                        vec![Item::new(format!("{k:?}{n}"), Origin::Rule)],
                        Trace::new(Method::Rules),
                    );
                }
            }
        }
    }

    #[test]
    fn edit_marks_only_later_stages_stale() {
        let mut run = Run::new("r1");
        fill(&mut run);
        assert!(run.is_complete());
        run.edit(
            Track::Procedure,
            StageKind::Prioritize,
            vec![Item::new("x", Origin::Coder)],
        );
        let p = &run.procedure;
        let st: Vec<_> = p.stages.iter().map(|s| s.status).collect();
        assert_eq!(
            st,
            [
                Status::Fresh,
                Status::Fresh,
                Status::Edited,
                Status::Stale,
                Status::Stale,
                Status::Stale
            ]
        );
        assert!(run
            .diagnosis
            .stages
            .iter()
            .all(|s| s.status == Status::Fresh));
        assert_eq!(run.next_to_run(), Some(StageKind::CodeAlso));
    }

    #[test]
    fn disabling_makes_stage_and_downstream_stale() {
        let mut run = Run::new("r1");
        fill(&mut run);
        run.set_enabled(Track::Diagnosis, StageKind::Prioritize, false);
        assert_eq!(run.next_to_run(), Some(StageKind::Prioritize));
        assert_eq!(
            run.disabled(),
            vec![(Track::Diagnosis, StageKind::Prioritize)]
        );
    }
}
