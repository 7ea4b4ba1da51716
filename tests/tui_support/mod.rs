//! Shared helpers for the TUI tests: an app on the demo record with an
//! in-thread engine, key input by name, and rendering into a TestBackend.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use unicode_width::UnicodeWidthStr;

use crossterm::event::{KeyEvent, KeyModifiers};
use icdflow::pipeline::Run;
use icdflow::record::Record;
use icdflow::session::{Session, SessionStore};
use icdflow::tui::action::Action;
use icdflow::tui::app::{App, AppConfig};
use icdflow::tui::clipboard::MemoryClipboard;
use icdflow::tui::keymap::Key;
use icdflow::tui::sample;
use icdflow::tui::worker::{InlineWorker, Job, WorkerHandle, WorkerMsg};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

pub struct Harness {
    pub app: App,
    pub dir: tempfile::TempDir,
    pub clip: MemoryClipboard,
}

/// The session directory of a harness.
pub fn store_in(dir: &tempfile::TempDir) -> SessionStore {
    SessionStore::open(dir.path().join("sessions")).unwrap()
}

/// Saves a run as the record's session before the app opens it.
pub fn preload(store: &SessionStore, run: Run) {
    let mut s = Session::new(run.record_id.clone());
    s.run = run;
    store.save(&s).unwrap();
}

pub fn config(dir: &tempfile::TempDir) -> AppConfig {
    AppConfig {
        export_dir: dir.path().join("out"),
        user: "tester".into(),
        frozen_elapsed: Some(Duration::from_millis(1200)),
        ..AppConfig::default()
    }
}

/// An app on `records` (sessions in a fresh temp dir), `run` preloaded for
/// the first record, sized `w`×`h`, engine messages taken in.
pub fn harness_with(
    records: Vec<Record>,
    run: Option<Run>,
    w: u16,
    h: u16,
    cfg: impl FnOnce(&mut AppConfig),
) -> Harness {
    let worker = InlineWorker::new(sample::engine());
    open_app(records, run, Box::new(worker), w, h, cfg)
}

/// An app driven by the engine `engine` runs in-thread (a learned helper,
/// say), the rest as [`harness_with`] says.
pub fn harness_engine(
    engine: icdflow::pipeline::Engine,
    records: Vec<Record>,
    run: Option<Run>,
    w: u16,
    h: u16,
    cfg: impl FnOnce(&mut AppConfig),
) -> Harness {
    open_app(records, run, Box::new(InlineWorker::new(engine)), w, h, cfg)
}

/// The app of every harness: `worker` drives it, the rest as
/// [`harness_with`] says.
fn open_app(
    records: Vec<Record>,
    run: Option<Run>,
    worker: Box<dyn WorkerHandle>,
    w: u16,
    h: u16,
    cfg: impl FnOnce(&mut AppConfig),
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(&dir);
    if let Some(r) = run {
        preload(&store, r);
    }
    let clip = MemoryClipboard::default();
    let mut c = config(&dir);
    cfg(&mut c);
    let mut app = App::new(records, store, worker, Box::new(clip.clone()), c, None).unwrap();
    app.handle(Action::Resize {
        width: w,
        height: h,
    });
    app.pump();
    app.status = None;
    Harness { app, dir, clip }
}

pub fn harness(run: Option<Run>, w: u16, h: u16) -> Harness {
    harness_with(vec![sample::record()], run, w, h, |_| {})
}

/// Presses keys given by name, separated by spaces (`s`, `R`, `ctrl-s`, `enter`).
pub fn press(app: &mut App, keys: &str) {
    for k in keys.split_whitespace() {
        let key = Key::parse(k).unwrap_or_else(|e| panic!("{e}"));
        app.handle_key(KeyEvent::new(key.code, key.mods));
        app.pump();
    }
}

/// Types text char by char (for the editor and popups); `\n` is Enter.
pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        let code = if c == '\n' {
            crossterm::event::KeyCode::Enter
        } else {
            crossterm::event::KeyCode::Char(c)
        };
        app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
    }
    app.pump();
}

/// Renders the app into a test terminal of its size.
pub fn terminal(app: &App) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(app.size.width, app.size.height)).unwrap();
    t.draw(|f| icdflow::tui::ui::render(f, app)).unwrap();
    t
}

/// The screen as text, one line per row, with the cells hidden behind
/// double-width chars left out (so CJK lines read naturally). Asserts the
/// grid is intact: every row is exactly the terminal's width in display
/// columns, and no hidden cell holds anything but the blank a wide char
/// leaves behind.
pub fn screen(app: &App) -> String {
    let t = terminal(app);
    let buf = t.backend().buffer();
    let (w, h) = (buf.area.width, buf.area.height);
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        let mut skip = 0usize;
        for x in 0..w {
            let sym = buf[(x, y)].symbol();
            if skip > 0 {
                assert_eq!(
                    sym, " ",
                    "cell ({x},{y}) hidden behind a wide char holds {sym:?}"
                );
                skip -= 1;
                continue;
            }
            line.push_str(sym);
            skip = UnicodeWidthStr::width(sym).saturating_sub(1);
        }
        assert_eq!(
            UnicodeWidthStr::width(line.as_str()),
            w as usize,
            "row {y} is not {w} columns wide: {line:?}"
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The text of the cells drawn with a given background on one screen.
pub fn cells_with_bg(app: &App, bg: ratatui::style::Color) -> String {
    let t = terminal(app);
    let buf = t.backend().buffer();
    let mut s = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            if c.bg == bg {
                s.push_str(c.symbol());
            }
        }
    }
    s
}

/// A worker whose messages the test writes (to show a stage running with
/// tokens streaming, exactly as the engine thread would send them).
#[derive(Clone, Default)]
pub struct ScriptedWorker {
    pub queue: Arc<Mutex<VecDeque<WorkerMsg>>>,
    pub jobs: Arc<Mutex<Vec<Job>>>,
    pub cancelled: Arc<AtomicBool>,
}

impl ScriptedWorker {
    pub fn send(&self, m: WorkerMsg) {
        self.queue.lock().unwrap().push_back(m);
    }
    pub fn last_job(&self) -> Job {
        self.jobs
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a job was submitted")
    }
}

impl WorkerHandle for ScriptedWorker {
    fn submit(&mut self, job: Job) {
        self.jobs.lock().unwrap().push(job);
    }
    fn try_recv(&mut self) -> Option<WorkerMsg> {
        self.queue.lock().unwrap().pop_front()
    }
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }
}

/// An app driven by a [`ScriptedWorker`].
pub fn scripted(run: Option<Run>, w: u16, h: u16) -> (Harness, ScriptedWorker) {
    let sw = ScriptedWorker::default();
    sw.send(WorkerMsg::Ready {
        engine: "agents (demo-1.7B) · GPU".into(),
        ctx: sample::context(),
    });
    let records = vec![sample::record()];
    let harness = open_app(records, run, Box::new(sw.clone()), w, h, |_| {});
    (harness, sw)
}
