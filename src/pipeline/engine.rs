//! The engine: runs stages over a record, updating a [`Run`], with events
//! streamed to the caller and cooperative cancellation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::context::CodingContext;
use super::run::{Method, Run, Status, Trace};
use super::stage::StageKind;
use super::stages;
use crate::record::{Record, Track};
use crate::Result;

/// Progress reported while the engine works.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    StageStarted {
        track: Track,
        kind: StageKind,
    },
    /// A piece of an agent's answer as it is generated.
    Token {
        track: Track,
        kind: StageKind,
        piece: String,
    },
    StageFinished {
        track: Track,
        kind: StageKind,
        status: Status,
    },
}

/// Cancellation flag and event sink for one engine call.
pub struct Control<'a> {
    pub cancel: &'a AtomicBool,
    pub on_event: &'a mut dyn FnMut(Event),
}

impl<'a> Control<'a> {
    pub fn new(cancel: &'a AtomicBool, on_event: &'a mut dyn FnMut(Event)) -> Self {
        Control { cancel, on_event }
    }
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
    pub fn emit(&mut self, e: Event) {
        (self.on_event)(e)
    }
}

/// Runs a no-op control (no cancellation, events dropped).
pub fn with_quiet_control<T>(f: impl FnOnce(&mut Control) -> T) -> T {
    let cancel = AtomicBool::new(false);
    let mut sink = |_e: Event| {};
    let mut ctl = Control::new(&cancel, &mut sink);
    f(&mut ctl)
}

/// Error raised when a run is cancelled.
pub const CANCELLED: &str = "cancelled";

/// The pipeline engine. Owns whatever runs stages (retrieval and rules; agents
/// when a model is configured). Not `Send` when it holds a llama.cpp model:
/// the TUI keeps it on one worker thread.
pub struct Engine {
    ctx: Arc<CodingContext>,
}

impl Engine {
    /// An engine that does every stage by retrieval and rules (no model).
    pub fn new(ctx: Arc<CodingContext>) -> Self {
        Engine { ctx }
    }

    pub fn context(&self) -> &Arc<CodingContext> {
        &self.ctx
    }

    /// One line saying what does the work, for status bars and reports.
    pub fn describe(&self) -> String {
        "retrieval + rules (no model)".to_string()
    }

    /// Runs one stage on both tracks where it applies and is switched on or
    /// needs a run. Stages already current are left alone unless `force`.
    pub fn run_stage(
        &mut self,
        record: &Record,
        run: &mut Run,
        kind: StageKind,
        force: bool,
        ctl: &mut Control,
    ) -> Result<()> {
        for track in Track::ALL {
            let Some(state) = run.stage(track, kind) else {
                continue;
            };
            if !force && !state.needs_run() {
                continue;
            }
            let enabled = state.enabled;
            if ctl.cancelled() {
                return Err(crate::Error::Other(CANCELLED.into()));
            }
            ctl.emit(Event::StageStarted { track, kind });
            run.set_running(track, kind);
            let input = run.track(track).input_of(kind).to_vec();
            let t0 = Instant::now();
            let result = if enabled {
                stages::run_rule_stage(&self.ctx, record, track, kind, &input)
            } else {
                let mut trace = Trace::new(Method::Off);
                trace.note("stage switched off: input passed through");
                Ok((input, trace))
            };
            match result {
                Ok((items, mut trace)) => {
                    trace.elapsed_ms = t0.elapsed().as_secs_f64() * 1e3;
                    run.set_output(track, kind, items, trace);
                }
                Err(e) => run.set_failed(track, kind, e.to_string()),
            }
            let status = run
                .stage(track, kind)
                .map(|s| s.status)
                .unwrap_or(Status::Failed);
            ctl.emit(Event::StageFinished {
                track,
                kind,
                status,
            });
        }
        Ok(())
    }

    /// Runs the next stage that needs a run; returns which one, or `None`
    /// when the run is complete.
    pub fn step(
        &mut self,
        record: &Record,
        run: &mut Run,
        ctl: &mut Control,
    ) -> Result<Option<StageKind>> {
        let Some(kind) = run.next_to_run() else {
            return Ok(None);
        };
        self.run_stage(record, run, kind, false, ctl)?;
        Ok(Some(kind))
    }

    /// Runs every pending, stale or failed stage in order until the run is
    /// complete (edited lists are kept).
    pub fn run_pending(&mut self, record: &Record, run: &mut Run, ctl: &mut Control) -> Result<()> {
        let mut guard = 0;
        while let Some(kind) = run.next_to_run() {
            let before = run.clone();
            self.run_stage(record, run, kind, false, ctl)?;
            guard += 1;
            // A failed stage stays failed: stop instead of looping on it.
            if *run == before || guard > 32 {
                break;
            }
            if Track::ALL.iter().any(|&t| {
                run.stage(t, kind)
                    .is_some_and(|s| s.status == Status::Failed)
            }) {
                break;
            }
        }
        Ok(())
    }

    /// Re-runs every stage from scratch except the coder's edited lists
    /// (which stay, unless upstream changes make them stale).
    pub fn run_all(&mut self, record: &Record, run: &mut Run, ctl: &mut Control) -> Result<()> {
        for track in Track::ALL {
            for s in &mut run.track_mut(track).stages {
                if s.status != Status::Edited && s.status != Status::Pending {
                    s.status = Status::Stale;
                }
            }
        }
        self.run_pending(record, run, ctl)
    }
}
