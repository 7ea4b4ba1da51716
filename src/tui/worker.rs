//! The one thread that owns the [`Engine`]. A llama.cpp model is not
//! `Send`, so the engine is built on the worker thread (by the factory the
//! caller gives) and never leaves it; the UI sends [`Job`]s and receives
//! [`WorkerMsg`]s (events, a snapshot of the run after every stage, the
//! final run). Jobs are single-flight: the UI sends one at a time.
//!
//! [`InlineWorker`] runs the same jobs synchronously in the calling thread,
//! so tests and benchmarks drive the whole app without threads or timing.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::pipeline::engine::CANCELLED;
use crate::pipeline::{CodingContext, Control, Engine, Event, Run, StageKind, Status};
use crate::record::{Record, Track};

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// The next stage that needs a run.
    Step,
    /// Every pending, stale or failed stage.
    RunPending,
    /// Every stage again (edited lists kept).
    RunAll,
}

impl JobKind {
    pub fn label(self, lang: crate::i18n::Lang) -> &'static str {
        use crate::i18n::Msg;
        match self {
            JobKind::Step => Msg::JobStep,
            JobKind::RunPending => Msg::JobRunStale,
            JobKind::RunAll => Msg::JobRunAll,
        }
        .text(lang)
    }
}

/// One unit of work: the record and the run as the UI has it now.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: u64,
    pub kind: JobKind,
    pub record: Arc<Record>,
    pub run: Run,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Finished; the stages that ran, in order.
    Done(Vec<StageKind>),
    /// Stopped by the user; the run is consistent (see [`settle`]).
    Cancelled,
    /// The engine reported an error (the run is still consistent).
    Failed(String),
}

/// Messages from the worker.
#[derive(Clone)]
pub enum WorkerMsg {
    /// The engine is built: what does the work, and the shared context (code
    /// tables for the search popup and for names).
    Ready {
        engine: String,
        ctx: Arc<CodingContext>,
    },
    /// Building the engine failed; no job will run.
    StartFailed(String),
    /// A progress event of a job.
    Event { job: u64, event: Event },
    /// The run after a stage finished.
    Progress { job: u64, run: Run },
    /// The job is over; the final run.
    Finished {
        job: u64,
        run: Run,
        outcome: Outcome,
    },
}

impl std::fmt::Debug for WorkerMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkerMsg::Ready { engine, .. } => write!(f, "Ready({engine})"),
            WorkerMsg::StartFailed(e) => write!(f, "StartFailed({e})"),
            WorkerMsg::Event { job, event } => write!(f, "Event({job}, {event:?})"),
            WorkerMsg::Progress { job, .. } => write!(f, "Progress({job})"),
            WorkerMsg::Finished { job, outcome, .. } => write!(f, "Finished({job}, {outcome:?})"),
        }
    }
}

/// The UI's side of a worker.
pub trait WorkerHandle {
    /// Starts a job (the caller sends one at a time).
    fn submit(&mut self, job: Job);
    /// The next message, without waiting.
    fn try_recv(&mut self) -> Option<WorkerMsg>;
    /// Asks the running job to stop at the next safe point.
    fn cancel(&self);
}

/// Makes a run consistent after a job stopped early: a stage left
/// `Running` (or failed only because it was cancelled) goes back to
/// `Stale` if it had produced output before, else `Pending`.
pub fn settle(run: &mut Run) {
    for t in Track::ALL {
        for s in &mut run.track_mut(t).stages {
            let cancelled = s.status == Status::Failed && s.error.as_deref() == Some(CANCELLED);
            if s.status == Status::Running || cancelled {
                s.status = if s.runs > 0 {
                    Status::Stale
                } else {
                    Status::Pending
                };
                s.error = None;
            }
        }
    }
}

fn any_failed(run: &Run, kind: StageKind) -> bool {
    Track::ALL.iter().any(|&t| {
        run.stage(t, kind)
            .is_some_and(|s| s.status == Status::Failed)
    })
}

/// Runs one job on the engine, sending messages as it goes. A panic in
/// the engine is caught and reported; the run sent back is then the one
/// the job started from.
pub fn execute(engine: &mut Engine, job: Job, cancel: &AtomicBool, tx: &Sender<WorkerMsg>) {
    let id = job.id;
    let original = job.run.clone();
    let mut run = job.run;
    let record = job.record;
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let mut ran = Vec::new();
        let tx_ev = tx.clone();
        let mut sink = move |event: Event| {
            let _ = tx_ev.send(WorkerMsg::Event { job: id, event });
        };
        let mut ctl = Control::new(cancel, &mut sink);
        let res = match job.kind {
            JobKind::Step => engine.step(&record, &mut run, &mut ctl).map(|k| {
                ran.extend(k);
            }),
            // Both run stage by stage so the UI shows each list as it lands.
            JobKind::RunAll | JobKind::RunPending => {
                if job.kind == JobKind::RunAll {
                    crate::pipeline::engine::mark_all_stale(&mut run);
                }
                let mut res = Ok(());
                for _ in 0..32 {
                    if ctl.cancelled() {
                        break;
                    }
                    let before = run.clone();
                    match engine.step(&record, &mut run, &mut ctl) {
                        Ok(Some(k)) => {
                            ran.push(k);
                            let _ = tx.send(WorkerMsg::Progress {
                                job: id,
                                run: run.clone(),
                            });
                            if run == before || any_failed(&run, k) {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            res = Err(e);
                            break;
                        }
                    }
                }
                res
            }
        };
        (res, ran)
    }));
    let outcome = match result {
        Ok((res, ran)) => {
            let cancelled = cancel.load(Ordering::Relaxed);
            settle(&mut run);
            match res {
                _ if cancelled => Outcome::Cancelled,
                Ok(()) => Outcome::Done(ran),
                Err(e) => Outcome::Failed(e.to_string()),
            }
        }
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            tracing::error!(job = id, "engine panicked: {msg}");
            run = original;
            settle(&mut run);
            Outcome::Failed(format!("engine panicked: {msg}"))
        }
    };
    let _ = tx.send(WorkerMsg::Finished {
        job: id,
        run,
        outcome,
    });
}

/// A job with its own cancel flag: cancelling an abandoned job must not be
/// undone by the next job's start.
struct Command(Job, Arc<AtomicBool>);

/// A worker thread owning the engine.
pub struct ThreadWorker {
    tx: Option<Sender<Command>>,
    rx: Receiver<WorkerMsg>,
    /// The cancel flag of the latest job.
    cancel: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl ThreadWorker {
    /// Starts the thread; `factory` builds the engine there.
    pub fn spawn<F>(factory: F) -> std::io::Result<Self>
    where
        F: FnOnce() -> anyhow::Result<Engine> + Send + 'static,
    {
        let (cmd_tx, cmd_rx) = mpsc::channel::<Command>();
        let (msg_tx, msg_rx) = mpsc::channel::<WorkerMsg>();
        let cancel = Arc::new(AtomicBool::new(false));
        let handle = std::thread::Builder::new()
            .name("icdflow-engine".into())
            .spawn(move || {
                let built = std::panic::catch_unwind(AssertUnwindSafe(factory));
                let mut engine = match built {
                    Ok(Ok(e)) => e,
                    Ok(Err(e)) => {
                        let _ = msg_tx.send(WorkerMsg::StartFailed(format!("{e:#}")));
                        return;
                    }
                    Err(_) => {
                        let _ =
                            msg_tx.send(WorkerMsg::StartFailed("engine factory panicked".into()));
                        return;
                    }
                };
                let _ = msg_tx.send(WorkerMsg::Ready {
                    engine: engine.describe(),
                    ctx: engine.context().clone(),
                });
                // Ends when the UI drops its sender.
                while let Ok(Command(job, flag)) = cmd_rx.recv() {
                    execute(&mut engine, job, &flag, &msg_tx);
                }
            })?;
        Ok(ThreadWorker {
            tx: Some(cmd_tx),
            rx: msg_rx,
            cancel,
            handle: Some(handle),
        })
    }

    /// Cancels any job, stops the thread and waits up to `timeout` for it.
    pub fn shutdown(&mut self, timeout: std::time::Duration) {
        self.cancel();
        self.tx = None;
        let start = std::time::Instant::now();
        if let Some(h) = self.handle.take() {
            while !h.is_finished() && start.elapsed() < timeout {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            if h.is_finished() {
                let _ = h.join();
            }
            // Otherwise the thread is left to die with the process: a model
            // stuck in a long call must not hold the terminal hostage.
        }
    }
}

impl WorkerHandle for ThreadWorker {
    fn submit(&mut self, job: Job) {
        self.cancel = Arc::new(AtomicBool::new(false));
        if let Some(tx) = &self.tx {
            let _ = tx.send(Command(job, self.cancel.clone()));
        }
    }
    fn try_recv(&mut self) -> Option<WorkerMsg> {
        self.rx.try_recv().ok()
    }
    fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl Drop for ThreadWorker {
    fn drop(&mut self) {
        self.shutdown(std::time::Duration::from_millis(500));
    }
}

/// Runs jobs synchronously on submit (tests, benchmarks).
pub struct InlineWorker {
    engine: Engine,
    tx: Sender<WorkerMsg>,
    rx: Receiver<WorkerMsg>,
    cancel: Arc<AtomicBool>,
    pending: VecDeque<WorkerMsg>,
    /// When set, `submit` queues the job instead of running it, so a test
    /// can look at the app while the job is "running".
    pub hold: bool,
    held: Option<Job>,
}

impl InlineWorker {
    /// Wraps an engine; the `Ready` message is queued at once.
    pub fn new(engine: Engine) -> Self {
        let (tx, rx) = mpsc::channel();
        let mut pending = VecDeque::new();
        pending.push_back(WorkerMsg::Ready {
            engine: engine.describe(),
            ctx: engine.context().clone(),
        });
        InlineWorker {
            engine,
            tx,
            rx,
            cancel: Arc::new(AtomicBool::new(false)),
            pending,
            hold: false,
            held: None,
        }
    }

    /// Runs a held job now.
    pub fn release(&mut self) {
        if let Some(job) = self.held.take() {
            execute(&mut self.engine, job, &self.cancel, &self.tx);
        }
    }

    /// The shared cancel flag (tests flip it to cancel mid-job).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }
}

impl WorkerHandle for InlineWorker {
    fn submit(&mut self, job: Job) {
        self.cancel.store(false, Ordering::Relaxed);
        if self.hold {
            self.held = Some(job);
        } else {
            execute(&mut self.engine, job, &self.cancel, &self.tx);
        }
    }
    fn try_recv(&mut self) -> Option<WorkerMsg> {
        self.pending.pop_front().or_else(|| self.rx.try_recv().ok())
    }
    fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Item, Method, Origin, Trace};

    fn wait_finished(w: &mut ThreadWorker) -> (Vec<WorkerMsg>, Run, Outcome) {
        let start = std::time::Instant::now();
        let mut seen = Vec::new();
        while start.elapsed() < std::time::Duration::from_secs(20) {
            match w.try_recv() {
                Some(WorkerMsg::Finished { run, outcome, .. }) => return (seen, run, outcome),
                Some(m) => seen.push(m),
                None => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        }
        panic!("no Finished message; got {seen:?}");
    }

    #[test]
    fn thread_worker_builds_the_engine_on_its_thread_and_runs_jobs() {
        let ui = std::thread::current().id();
        let mut w = ThreadWorker::spawn(move || {
            assert_ne!(std::thread::current().id(), ui);
            Ok(crate::tui::sample::engine())
        })
        .unwrap();
        let record = Arc::new(crate::tui::sample::record());
        w.submit(Job {
            id: 7,
            kind: JobKind::RunPending,
            record: record.clone(),
            run: Run::new(record.id.clone()),
        });
        let (seen, run, outcome) = wait_finished(&mut w);
        assert!(
            matches!(seen.first(), Some(WorkerMsg::Ready { .. })),
            "{seen:?}"
        );
        assert!(seen
            .iter()
            .any(|m| matches!(m, WorkerMsg::Progress { job: 7, .. })));
        assert!(seen.iter().any(|m| matches!(
            m,
            WorkerMsg::Event {
                job: 7,
                event: Event::StageStarted { .. }
            }
        )));
        assert!(
            matches!(outcome, Outcome::Done(ref k) if !k.is_empty()),
            "{outcome:?}"
        );
        assert!(run.is_complete());
    }

    /// Run all on a finished record: every stage runs again, and the UI gets
    /// the run after each one (its list shows as soon as it lands), not only
    /// when the whole job ends.
    #[test]
    fn run_all_streams_each_stage() {
        let mut w = ThreadWorker::spawn(|| Ok(crate::tui::sample::engine())).unwrap();
        let record = Arc::new(crate::tui::sample::record());
        w.submit(Job {
            id: 1,
            kind: JobKind::RunPending,
            record: record.clone(),
            run: Run::new(record.id.clone()),
        });
        let (_, done, _) = wait_finished(&mut w);
        assert!(done.is_complete());
        w.submit(Job {
            id: 2,
            kind: JobKind::RunAll,
            record: record.clone(),
            run: done,
        });
        let (seen, run, outcome) = wait_finished(&mut w);
        let progress: Vec<&Run> = seen
            .iter()
            .filter_map(|m| match m {
                WorkerMsg::Progress { job: 2, run } => Some(run),
                _ => None,
            })
            .collect();
        let Outcome::Done(ran) = outcome else {
            panic!("{outcome:?}");
        };
        assert!(ran.len() >= 4, "{ran:?}");
        assert_eq!(progress.len(), ran.len());
        // the first update has stages still to run: it came before the end
        assert!(!progress[0].is_complete());
        assert!(run.is_complete());
    }

    #[test]
    fn a_failing_factory_is_reported() {
        let mut w = ThreadWorker::spawn(|| anyhow::bail!("no model at /nowhere.gguf")).unwrap();
        let start = std::time::Instant::now();
        loop {
            if let Some(m) = w.try_recv() {
                match m {
                    WorkerMsg::StartFailed(e) => {
                        assert!(e.contains("/nowhere.gguf"));
                        break;
                    }
                    other => panic!("{other:?}"),
                }
            }
            assert!(start.elapsed() < std::time::Duration::from_secs(10));
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn settle_makes_interrupted_stages_rerunnable() {
        let mut run = Run::new("r");
        run.set_output(
            Track::Diagnosis,
            StageKind::Standardize,
            vec![Item::new("a", Origin::Rule)],
            Trace::new(Method::Rules),
        );
        run.set_running(Track::Diagnosis, StageKind::Standardize);
        run.set_running(Track::Diagnosis, StageKind::Prioritize);
        run.set_failed(Track::Procedure, StageKind::Standardize, CANCELLED);
        settle(&mut run);
        assert_eq!(
            run.stage(Track::Diagnosis, StageKind::Standardize)
                .unwrap()
                .status,
            Status::Stale
        );
        assert_eq!(
            run.stage(Track::Diagnosis, StageKind::Prioritize)
                .unwrap()
                .status,
            Status::Pending
        );
        let p = run.stage(Track::Procedure, StageKind::Standardize).unwrap();
        assert_eq!((p.status, p.error.clone()), (Status::Pending, None));
    }
}
