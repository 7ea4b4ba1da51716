//! The engine: runs stages over a record, updating a [`Run`], with events
//! streamed to the caller and cooperative cancellation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::context::CodingContext;
use super::helper::{HelperKind, StageHelper, StageJob};
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

/// The pipeline engine: the stages, and the helpers it was built with
/// (rule index, learned model, agents), applied in the order given. Not
/// `Send` when a helper holds a llama.cpp model: the TUI keeps the engine on
/// one worker thread.
pub struct Engine {
    ctx: Arc<CodingContext>,
    helpers: Vec<Box<dyn StageHelper>>,
    /// Helper kinds switched off (ablation).
    off: Vec<HelperKind>,
}

impl Engine {
    /// An engine whose stages work by retrieval alone, with no helper.
    pub fn new(ctx: Arc<CodingContext>) -> Self {
        Engine {
            ctx,
            helpers: Vec::new(),
            off: Vec::new(),
        }
    }

    /// Adds a helper after those already there.
    pub fn with_helper(mut self, helper: Box<dyn StageHelper>) -> Self {
        self.helpers.push(helper);
        self
    }

    pub fn add_helper(&mut self, helper: Box<dyn StageHelper>) {
        self.helpers.push(helper);
    }

    /// The first helper of a concrete type.
    pub fn helper<T: 'static>(&self) -> Option<&T> {
        self.helpers
            .iter()
            .find_map(|h| h.as_any().downcast_ref::<T>())
    }

    pub fn helper_mut<T: 'static>(&mut self) -> Option<&mut T> {
        self.helpers
            .iter_mut()
            .find_map(|h| h.as_any_mut().downcast_mut::<T>())
    }

    /// True when a helper of this kind is present and switched on.
    pub fn has(&self, kind: HelperKind) -> bool {
        !self.off.contains(&kind) && self.helpers.iter().any(|h| h.kind() == kind)
    }

    /// Switches helper kinds off (ablation); the others on.
    pub fn set_helpers_off(&mut self, kinds: &[HelperKind]) {
        self.off = kinds.to_vec();
    }

    pub fn helpers_off(&self) -> &[HelperKind] {
        &self.off
    }

    pub fn context(&self) -> &Arc<CodingContext> {
        &self.ctx
    }

    /// Notes every helper holds about a code.
    pub fn notes_for(&self, track: Track, code: &str) -> Vec<String> {
        self.helpers
            .iter()
            .flat_map(|h| h.notes_for(track, code))
            .collect()
    }

    /// One line saying what does the work, for status bars and reports.
    pub fn describe(&self) -> String {
        let mut parts = vec!["retrieval".to_string()];
        for h in &self.helpers {
            if !self.off.contains(&h.kind()) {
                parts.push(h.describe());
            }
        }
        let joined = parts.join(" + ");
        if self.has(HelperKind::Agents) {
            joined
        } else if self.has(HelperKind::Learned) {
            format!("{joined} (no LLM)")
        } else {
            format!("{joined} (no model)")
        }
    }

    /// Runs one stage on both tracks where it applies and needs a run (or
    /// always, with `force`). The no-model stage runs first; agents, when
    /// configured, refine its result with both tracks' questions in one batch.
    pub fn run_stage(
        &mut self,
        record: &Record,
        run: &mut Run,
        kind: StageKind,
        force: bool,
        ctl: &mut Control,
    ) -> Result<()> {
        let tracks: Vec<Track> = Track::ALL
            .into_iter()
            .filter(|&t| run.stage(t, kind).is_some_and(|s| force || s.needs_run()))
            .collect();
        if tracks.is_empty() {
            return Ok(());
        }
        if ctl.cancelled() {
            return Err(crate::Error::Other(CANCELLED.into()));
        }
        let t0 = Instant::now();
        let mut jobs = Vec::new();
        for &track in &tracks {
            ctl.emit(Event::StageStarted { track, kind });
            run.set_running(track, kind);
            let state = run.stage(track, kind).expect("filtered");
            let input = run.track(track).input_of(kind).to_vec();
            if !state.enabled {
                let mut trace = Trace::new(Method::Off);
                if kind == StageKind::Standardize {
                    // The first stage has no input: switched off, it hands on
                    // the field's items as written.
                    trace.note("stage switched off: the field's items as written");
                    let raw = stages::standardize::raw_items(record, track);
                    jobs.push(StageJob {
                        track,
                        items: raw,
                        input,
                        trace,
                    });
                    continue;
                }
                trace.note("stage switched off: input passed through");
                jobs.push(StageJob {
                    track,
                    items: input.clone(),
                    input,
                    trace,
                });
                continue;
            }
            match stages::run_stage(&self.ctx, record, track, kind, &input) {
                Ok((items, trace)) => jobs.push(StageJob {
                    track,
                    input,
                    items,
                    trace,
                }),
                Err(e) => {
                    run.set_failed(track, kind, e.to_string());
                    ctl.emit(Event::StageFinished {
                        track,
                        kind,
                        status: Status::Failed,
                    });
                }
            }
        }
        for helper in self.helpers.iter_mut() {
            if self.off.contains(&helper.kind()) {
                continue;
            }
            let (mut on, off): (Vec<StageJob>, Vec<StageJob>) = jobs
                .into_iter()
                .partition(|j| j.trace.method != Method::Off && helper.serves(kind, j.track));
            if !on.is_empty() {
                helper.help(&self.ctx, record, kind, &mut on, ctl)?;
            }
            jobs = on.into_iter().chain(off).collect();
        }
        let cancelled = ctl.cancelled();
        for mut job in jobs {
            if cancelled {
                // Leave the run consistent: the stage keeps its old list and must run again.
                run.set_failed(job.track, kind, CANCELLED);
            } else {
                job.trace.elapsed_ms = t0.elapsed().as_secs_f64() * 1e3;
                super::ocr::mark(record, &mut job.items);
                run.set_output(job.track, kind, job.items, job.trace);
            }
            let status = run
                .stage(job.track, kind)
                .map(|s| s.status)
                .unwrap_or(Status::Failed);
            ctl.emit(Event::StageFinished {
                track: job.track,
                kind,
                status,
            });
        }
        if cancelled {
            return Err(crate::Error::Other(CANCELLED.into()));
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
        mark_all_stale(run);
        self.run_pending(record, run, ctl)
    }
}

/// Marks every stage but the coder's edits (and those never run) stale, so
/// that running what is pending runs everything again.
pub fn mark_all_stale(run: &mut Run) {
    for track in Track::ALL {
        for s in &mut run.track_mut(track).stages {
            if s.status != Status::Edited && s.status != Status::Pending {
                s.status = Status::Stale;
            }
        }
    }
}
