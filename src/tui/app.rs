//! The workbench's state and everything that changes it. Input arrives as
//! [`Action`]s (or raw keys, mapped through the [`Keymap`]); messages from
//! the engine thread arrive through [`App::pump`]. Rendering (`ui`) only
//! reads this state. Nothing here touches the terminal, so the whole app
//! runs under tests with an in-thread engine and a `TestBackend`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;

use super::action::Action;
use super::aliases::{self, AliasPopup};
use super::clipboard::ClipboardSink;
use super::editor::EditPopup;
use super::export;
use super::help::HelpPopup;
use super::keymap::{Key, Keymap, Mode};
use super::layout::{self, LayoutParams, Screen};
use super::picker::PickerPopup;
use super::popup::Popup;
use super::search::SearchPopup;
use super::similar::SimilarPopup;
use super::theme::Theme;
use super::trace_view::TracePopup;
use super::worker::{Job, JobKind, Outcome, WorkerHandle, WorkerMsg};
use super::NotesFn;
use crate::i18n::{self, Lang};
use crate::learn::{LearnedModel, SharedCoderAliases};
use crate::pipeline::{CodingContext, Event, Flag, Item, Origin, Run, StageKind, Status};
use crate::record::{Record, Track};
use crate::session::{Holder, Locked, Session, SessionLock, SessionStore};
use crate::tr;

/// Which pane has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Focus {
    Record,
    Stage(Track, StageKind),
}

/// Cursor and scroll of one list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListState {
    pub cursor: usize,
    pub offset: usize,
}

/// The record pane's view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordView {
    /// Per section: folded.
    pub collapsed: Vec<bool>,
    /// Selected section.
    pub cursor: usize,
    /// First shown line.
    pub offset: usize,
}

/// How a status message looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// What sits on top of the panes.
pub enum Overlay {
    None,
    /// A popup in its own file (code search, record picker, list editor,
    /// help, trace, similar cases, taught aliases, index browser, page
    /// text): see [`Popup`].
    Popup(Box<dyn Popup>),
}

impl Overlay {
    /// The self-contained popup on top (see [`Popup`]), if that is what is open.
    pub fn popup(&self) -> Option<&dyn Popup> {
        match self {
            Overlay::Popup(p) => Some(p.as_ref()),
            _ => None,
        }
    }

    pub fn popup_mut(&mut self) -> Option<&mut dyn Popup> {
        match self {
            Overlay::Popup(p) => Some(p.as_mut()),
            _ => None,
        }
    }

    /// The popup on top if it is a `P` (tests and callers that need its
    /// state).
    pub fn get<P: Popup>(&self) -> Option<&P> {
        let p: &dyn std::any::Any = self.popup()?;
        p.downcast_ref()
    }

    pub fn get_mut<P: Popup>(&mut self) -> Option<&mut P> {
        let p: &mut dyn std::any::Any = self.popup_mut()?;
        p.downcast_mut()
    }
}

/// A job in flight.
#[derive(Debug, Clone)]
pub struct JobState {
    pub id: u64,
    pub kind: JobKind,
    pub started: Instant,
    pub cancelling: bool,
}

/// The engine thread's state as the UI knows it.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineState {
    Starting,
    Ready(String),
    Failed(String),
}

/// Settings of the app that do not change while it runs.
#[derive(Clone)]
pub struct AppConfig {
    pub keymap: Keymap,
    pub theme: Theme,
    pub trainer: bool,
    pub export_dir: PathBuf,
    pub user: String,
    pub source: Option<String>,
    pub auto_rerun: bool,
    pub notes: Option<NotesFn>,
    /// Show this fixed elapsed time instead of the clock (snapshots).
    pub frozen_elapsed: Option<Duration>,
    /// The learned model (similar cases), when one is loaded.
    pub learned: Option<Arc<LearnedModel>>,
    /// The coders' alias memory, shared with the engine's learned helper:
    /// what the coder accepts in a Standardize list is taught to it.
    pub coder_aliases: Option<SharedCoderAliases>,
    /// The imported alphabetic indexes (the index browser).
    pub alpha: crate::terminology::alphabetic::AlphaIndexes,
    /// The interface language (Chinese unless told otherwise; carried
    /// here rather than read from the process so tests draw both).
    pub lang: Lang,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            keymap: Keymap::default(),
            theme: Theme::default(),
            trainer: false,
            export_dir: PathBuf::from("."),
            user: crate::session::current_user(),
            source: None,
            auto_rerun: false,
            notes: None,
            frozen_elapsed: None,
            learned: None,
            coder_aliases: None,
            alpha: Default::default(),
            lang: Lang::default(),
        }
    }
}

/// The whole workbench state.
pub struct App {
    pub records: Vec<Arc<Record>>,
    pub current: usize,
    pub session: Session,
    pub store: SessionStore,
    worker: Box<dyn WorkerHandle>,
    clipboard: Box<dyn ClipboardSink>,
    pub cfg: AppConfig,
    pub ctx: Option<Arc<CodingContext>>,
    pub engine: EngineState,
    pub focus: Focus,
    pub lists: std::collections::HashMap<(Track, StageKind), ListState>,
    pub record_view: RecordView,
    pub overlay: Overlay,
    pub job: Option<JobState>,
    next_job: u64,
    /// Agent output streaming into a running stage.
    pub stream: std::collections::HashMap<(Track, StageKind), String>,
    pub status: Option<(String, Level)>,
    pub trainer: bool,
    /// First visible stage pane per track (narrow screens).
    pub window: [usize; 2],
    pub size: Rect,
    /// Animation counter (spinner), advanced by the event loop.
    pub tick: u64,
    pub should_quit: bool,
    /// The focused item whose evidence the record pane last scrolled to.
    evidence_target: Option<(Track, StageKind, usize)>,
    /// The record section the pane last scrolled to (the wheel may scroll
    /// away from it until the cursor moves).
    section_target: Option<usize>,
    /// This process's lock on the open record's session.
    lock: Option<SessionLock>,
    /// Another coder holds the open record: it is shown, not saved.
    pub read_only: Option<Holder>,
}

/// Chars of agent output kept per running stage.
const STREAM_KEEP: usize = 4000;

impl App {
    /// Builds the app on the first record (or `open`, a record id).
    pub fn new(
        records: Vec<Record>,
        store: SessionStore,
        worker: Box<dyn WorkerHandle>,
        clipboard: Box<dyn ClipboardSink>,
        cfg: AppConfig,
        open: Option<&str>,
    ) -> anyhow::Result<App> {
        anyhow::ensure!(!records.is_empty(), tr!(cfg.lang, CliNoRecords));
        let records: Vec<Arc<Record>> = records.into_iter().map(Arc::new).collect();
        let trainer = cfg.trainer;
        let mut app = App {
            session: Session::new(records[0].id.clone()),
            records,
            current: 0,
            store,
            worker,
            clipboard,
            cfg,
            ctx: None,
            engine: EngineState::Starting,
            focus: Focus::Stage(Track::Diagnosis, StageKind::Standardize),
            lists: Default::default(),
            record_view: RecordView::default(),
            overlay: Overlay::None,
            job: None,
            next_job: 1,
            stream: Default::default(),
            status: None,
            trainer,
            // Narrow screens show the last stages (the final codes) until
            // focus moves.
            window: [usize::MAX, usize::MAX],
            size: Rect::new(0, 0, 160, 48),
            tick: 0,
            should_quit: false,
            evidence_target: None,
            section_target: None,
            lock: None,
            read_only: None,
        };
        let idx = match open {
            Some(id) => match app.records.iter().position(|r| r.id == id) {
                Some(i) => Some(i),
                None => {
                    let msg = tr!(app.cfg.lang, StatusNoRecord, id = id);
                    app.set_status(msg, Level::Warn);
                    None
                }
            },
            None => Some(0),
        };
        app.open_record(idx.unwrap_or(0));
        // A run with results opens on the final codes, a new one on its first stage.
        if app.run().started() {
            app.focus = Focus::Stage(Track::Diagnosis, StageKind::Map);
        }
        if (open.is_none() && app.records.len() > 1) || idx.is_none() {
            PickerPopup::open(&mut app);
        }
        Ok(app)
    }

    // ----- reading state -------------------------------------------------

    /// The record on screen.
    pub fn record(&self) -> &Record {
        &self.records[self.current]
    }

    pub fn run(&self) -> &Run {
        &self.session.run
    }

    /// The keyboard mode.
    pub fn mode(&self) -> Mode {
        match &self.overlay {
            Overlay::None => Mode::Normal,
            Overlay::Popup(p) => p.mode(),
        }
    }

    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    pub fn list_state(&self, t: Track, k: StageKind) -> ListState {
        self.lists.get(&(t, k)).copied().unwrap_or_default()
    }

    /// The focused item.
    pub fn focused_item(&self) -> Option<(Track, StageKind, usize, &Item)> {
        let Focus::Stage(t, k) = self.focus else {
            return None;
        };
        let c = self.list_state(t, k).cursor;
        self.run().stage(t, k)?.items.get(c).map(|i| (t, k, c, i))
    }

    /// Elapsed time of a job, frozen in snapshots.
    pub fn elapsed(&self, since: Instant) -> Duration {
        self.cfg.frozen_elapsed.unwrap_or_else(|| since.elapsed())
    }

    /// The layout for the current size and view.
    pub fn screen(&self) -> Screen {
        layout::screen(self.size, self.layout_params())
    }

    pub fn layout_params(&self) -> LayoutParams {
        LayoutParams {
            trainer: self.trainer,
            record_focused: self.focus == Focus::Record,
            first: self.window,
        }
    }

    /// Whether section `i` shows its text (folded sections holding the
    /// focused item's evidence open up).
    pub fn section_open(&self, i: usize) -> bool {
        let folded = self.record_view.collapsed.get(i).copied().unwrap_or(false);
        !folded || self.evidence().iter().any(|s| s.section == i)
    }

    /// Evidence spans of the focused item.
    pub fn evidence(&self) -> &[crate::pipeline::Span] {
        self.focused_item()
            .map(|(_, _, _, i)| i.evidence.as_slice())
            .unwrap_or(&[])
    }

    /// The record pane's lines at a text width.
    pub fn record_lines(&self, width: usize) -> Vec<RecordLine> {
        record_lines(self.record(), width, |i| self.section_open(i))
    }

    // ----- input ---------------------------------------------------------

    /// A key from the terminal: bound keys become actions; in the editor and
    /// the popups with a query, other keys are typed.
    pub fn handle_key(&mut self, ev: KeyEvent) {
        let Some(key) = Key::from_event(&ev) else {
            return;
        };
        let mode = self.mode();
        if let Some(a) = self.cfg.keymap.action(mode, key) {
            self.handle(a);
            return;
        }
        if let Some(p) = self.overlay.popup_mut() {
            p.key_event(&ev);
        }
        self.after_input();
    }

    /// Pasted text (bracketed paste).
    pub fn paste(&mut self, text: &str) {
        if let Some(p) = self.overlay.popup_mut() {
            p.paste(text);
        }
        self.after_input();
    }

    /// Applies one action.
    pub fn handle(&mut self, action: Action) {
        match action {
            Action::Resize { width, height } => self.size = Rect::new(0, 0, width, height),
            Action::Click { col, row } => self.click(col, row),
            Action::Scroll { col, row, down } => self.wheel(col, row, down),
            Action::Cancel => self.cancel_job(),
            _ => match &self.overlay {
                Overlay::None => self.normal(action),
                Overlay::Popup(_) => self.popup_mode(action),
            },
        }
        self.after_input();
    }

    fn normal(&mut self, a: Action) {
        match a {
            Action::Quit => {
                if self.busy() {
                    self.worker.cancel();
                }
                self.should_quit = true;
            }
            Action::Help => HelpPopup::open(self),
            Action::Up => self.move_cursor(-1),
            Action::Down => self.move_cursor(1),
            Action::PageUp => self.move_cursor(-(self.page() as isize)),
            Action::PageDown => self.move_cursor(self.page() as isize),
            Action::Top => self.move_cursor(isize::MIN / 2),
            Action::Bottom => self.move_cursor(isize::MAX / 2),
            Action::FocusLeft => self.focus_horizontal(-1),
            Action::FocusRight => self.focus_horizontal(1),
            Action::FocusUp => self.focus_track(Track::Diagnosis),
            Action::FocusDown => self.focus_track(Track::Procedure),
            a if a.stage_number().is_some() => {
                let t = match self.focus {
                    Focus::Stage(t, _) => t,
                    Focus::Record => Track::Diagnosis,
                };
                let n = a.stage_number().unwrap_or(1);
                if let Some(&k) = StageKind::of_track(t).get(n - 1) {
                    self.focus = Focus::Stage(t, k);
                }
            }
            Action::FocusNext => self.focus_cycle(1),
            Action::FocusPrev => self.focus_cycle(-1),
            Action::Activate => match self.focus {
                Focus::Record => self.toggle_section(self.record_view.cursor),
                Focus::Stage(..) => EditPopup::open(self, false),
            },
            Action::Step => self.start_job(JobKind::Step),
            Action::RunStale => self.start_job(JobKind::RunPending),
            Action::RunAll => self.start_job(JobKind::RunAll),
            Action::Edit => EditPopup::open(self, false),
            Action::Insert => EditPopup::open(self, true),
            Action::Delete => self.delete_item(),
            Action::MoveUp => self.move_item(-1),
            Action::MoveDown => self.move_item(1),
            Action::Accept => self.accept_item(),
            Action::Search => SearchPopup::open(self),
            Action::ToggleStage => self.toggle_stage(),
            Action::Trace => match self.focus {
                Focus::Stage(..) => TracePopup::open(self),
                Focus::Record => self.say(i18n::Msg::StatusFocusStageTrace, Level::Info),
            },
            Action::NextRecord => self.switch_record(1),
            Action::PrevRecord => self.switch_record(-1),
            Action::Picker => PickerPopup::open(self),
            Action::Copy => {
                let text = export::codes_text(self.run(), self.ctx.as_deref());
                self.copy(text, tr!(self.cfg.lang, WhatFinalCodes));
            }
            Action::CopyLine => {
                let line =
                    export::homepage_line(&self.record().id, self.run(), self.ctx.as_deref());
                self.copy(line, tr!(self.cfg.lang, WhatHomepageLine));
            }
            Action::ExportJson => self.export_json(),
            Action::ExportLine => self.export_line(),
            Action::Similar => SimilarPopup::open(self),
            Action::Aliases => AliasPopup::open(self),
            Action::Locate => super::locate::LocatePopup::open(self),
            Action::Pages => super::pages::PagesPopup::open(self),
            Action::Trainer => {
                self.trainer = !self.trainer;
                self.say(
                    if self.trainer {
                        i18n::Msg::StatusTrainerOn
                    } else {
                        i18n::Msg::StatusTrainerOff
                    },
                    Level::Info,
                );
            }
            _ => {}
        }
    }

    /// Hands an action to the popup on top.
    fn popup_mode(&mut self, a: Action) {
        self.with_popup(|p, app| p.handle(app, a));
    }

    /// Lets the popup on top run the work its keys put off (see
    /// [`Popup::idle`]). True when it changed something.
    fn popup_idle(&mut self) -> bool {
        let mut changed = false;
        self.with_popup(|p, app| {
            changed = p.idle(app);
            true
        });
        changed
    }

    /// Runs `f` on the popup on top with the popup out of `self.overlay`
    /// (so `f` may change the app freely). The popup goes back when `f`
    /// returns true and opened no other.
    fn with_popup(&mut self, f: impl FnOnce(&mut dyn Popup, &mut App) -> bool) {
        let mut overlay = std::mem::replace(&mut self.overlay, Overlay::None);
        let keep = overlay.popup_mut().is_some_and(|p| f(p, self));
        if keep && matches!(self.overlay, Overlay::None) {
            self.overlay = overlay;
        }
    }

    // ----- focus and cursors ---------------------------------------------

    fn page(&self) -> usize {
        let s = self.screen();
        match self.focus {
            Focus::Record => s.record.height.saturating_sub(3) as usize,
            Focus::Stage(t, k) => s
                .tracks
                .iter()
                .flat_map(|ta| ta.panes.iter().map(move |p| (ta.track, p)))
                .find(|(tt, p)| *tt == t && p.kind == k)
                .map(|(_, p)| p.list.height.saturating_sub(1) as usize)
                .unwrap_or(5),
        }
        .max(1)
    }

    fn move_cursor(&mut self, d: isize) {
        match self.focus {
            Focus::Record => {
                let n = self.record().sections.len();
                let c = (self.record_view.cursor as isize).saturating_add(d);
                self.record_view.cursor = c.clamp(0, n.saturating_sub(1) as isize) as usize;
            }
            Focus::Stage(t, k) => {
                let n = self.run().stage(t, k).map_or(0, |s| s.items.len());
                let st = self.lists.entry((t, k)).or_default();
                let c = (st.cursor as isize).saturating_add(d);
                st.cursor = c.clamp(0, n.saturating_sub(1) as isize) as usize;
            }
        }
    }

    fn focus_horizontal(&mut self, d: isize) {
        match self.focus {
            Focus::Record => {
                if d > 0 {
                    self.focus = Focus::Stage(Track::Diagnosis, StageKind::Standardize);
                }
            }
            Focus::Stage(t, k) => {
                let stages = StageKind::of_track(t);
                let i = stages.iter().position(|&s| s == k).unwrap_or(0) as isize + d;
                if i < 0 {
                    self.focus = Focus::Record;
                } else if let Some(&k2) = stages.get(i as usize) {
                    self.focus = Focus::Stage(t, k2);
                }
            }
        }
    }

    fn focus_track(&mut self, t: Track) {
        let k = match self.focus {
            Focus::Stage(_, k) if k.applies_to(t) => k,
            Focus::Stage(_, k) => {
                // The nearest stage of the other track.
                let stages = StageKind::of_track(t);
                *stages.iter().rev().find(|&&s| s <= k).unwrap_or(&stages[0])
            }
            Focus::Record => StageKind::Standardize,
        };
        self.focus = Focus::Stage(t, k);
    }

    fn all_panes() -> Vec<Focus> {
        let mut v = vec![Focus::Record];
        for t in Track::ALL {
            v.extend(
                StageKind::of_track(t)
                    .into_iter()
                    .map(|k| Focus::Stage(t, k)),
            );
        }
        v
    }

    fn focus_cycle(&mut self, d: isize) {
        let all = Self::all_panes();
        let i = all.iter().position(|f| *f == self.focus).unwrap_or(0) as isize;
        let n = all.len() as isize;
        self.focus = all[((i + d) % n + n) as usize % all.len()];
    }

    fn toggle_section(&mut self, i: usize) {
        if let Some(c) = self.record_view.collapsed.get_mut(i) {
            *c = !*c;
        }
    }

    /// Keeps cursors in range and visible, the focused pane in its track's
    /// window, and the record scrolled to the focused item's evidence.
    fn after_input(&mut self) {
        // Cursors in range.
        for t in Track::ALL {
            for s in &self.session.run.track(t).stages {
                let st = self.lists.entry((t, s.kind)).or_default();
                st.cursor = st.cursor.min(s.items.len().saturating_sub(1));
            }
        }
        // Focused pane inside its window.
        if let Focus::Stage(t, k) = self.focus {
            let ti = t as usize;
            let stages = StageKind::of_track(t);
            let pos = stages.iter().position(|&s| s == k).unwrap_or(0);
            let s = layout::screen(self.size, self.layout_params());
            let fit = layout::panes_fit(s.tracks[ti].outer.width).min(stages.len());
            self.window[ti] = layout::window_start(self.window[ti], pos, fit, stages.len());
        }
        let screen = self.screen();
        // List offsets keep the cursor visible.
        for ta in &screen.tracks {
            for p in &ta.panes {
                let h = p.list.height as usize;
                let st = self.lists.entry((ta.track, p.kind)).or_default();
                if h == 0 {
                    continue;
                }
                if st.cursor < st.offset {
                    st.offset = st.cursor;
                } else if st.cursor >= st.offset + h {
                    st.offset = st.cursor + 1 - h;
                }
            }
        }
        // Record: new sections fold by default when long.
        let n = self.record().sections.len();
        if self.record_view.collapsed.len() != n {
            self.record_view.collapsed = default_folds(self.record());
        }
        let width = screen.record.width.saturating_sub(2) as usize;
        let height = screen.record.height.saturating_sub(2) as usize;
        let target = self.focused_item().map(|(t, k, c, _)| (t, k, c));
        if self.focus != Focus::Record {
            self.section_target = None;
        }
        if self.focus == Focus::Record && self.section_target != Some(self.record_view.cursor) {
            self.section_target = Some(self.record_view.cursor);
            let lines = self.record_lines(width);
            if let Some(y) = lines
                .iter()
                .position(|l| l.section == self.record_view.cursor && l.range.is_none())
            {
                scroll_into_view(&mut self.record_view.offset, y, height);
            }
        } else if self.focus != Focus::Record && target != self.evidence_target {
            let ev = self.evidence().first().copied();
            if let Some(ev) = ev {
                let lines = self.record_lines(width);
                if let Some(y) = lines.iter().position(|l| {
                    l.section == ev.section && l.range.as_ref().is_some_and(|r| r.end > ev.start)
                }) {
                    // Show the section header too when it fits.
                    let header = lines
                        .iter()
                        .position(|l| l.section == ev.section)
                        .unwrap_or(y);
                    scroll_into_view(&mut self.record_view.offset, header, height);
                    scroll_into_view(&mut self.record_view.offset, y, height);
                }
            }
        }
        self.evidence_target = target;
        let total = self.record_lines(width).len();
        self.record_view.offset = self
            .record_view
            .offset
            .min(total.saturating_sub(height.max(1)));
    }

    // ----- mouse ---------------------------------------------------------

    fn click(&mut self, col: u16, row: u16) {
        if !matches!(self.overlay, Overlay::None) {
            self.click_popup(col, row);
            return;
        }
        let s = self.screen();
        if layout::contains(s.record, col, row) {
            self.focus = Focus::Record;
            // The record pane grows when focused on narrow screens.
            let s = self.screen();
            let inner_y = s.record.y + 1;
            if row >= inner_y {
                let width = s.record.width.saturating_sub(2) as usize;
                let lines = self.record_lines(width);
                let y = self.record_view.offset + (row - inner_y) as usize;
                if let Some(l) = lines.get(y) {
                    self.record_view.cursor = l.section;
                    if l.range.is_none() {
                        self.toggle_section(l.section);
                    }
                }
            }
            return;
        }
        for ta in &s.tracks {
            for p in &ta.panes {
                if layout::contains(p.area, col, row) {
                    self.focus = Focus::Stage(ta.track, p.kind);
                    if layout::contains(p.list, col, row) {
                        let st = self.lists.entry((ta.track, p.kind)).or_default();
                        st.cursor = st.offset + (row - p.list.y) as usize;
                    }
                    return;
                }
            }
        }
    }

    fn click_popup(&mut self, _col: u16, row: u16) {
        let area = super::ui::popup_area(self);
        if let Some(p) = self.overlay.popup_mut() {
            p.click(area, row);
        }
    }

    fn wheel(&mut self, col: u16, row: u16, down: bool) {
        let d: isize = if down { 3 } else { -3 };
        match &mut self.overlay {
            Overlay::None => {}
            o => {
                if let Some(p) = o.popup_mut() {
                    p.wheel(d);
                }
                return;
            }
        }
        let s = self.screen();
        if layout::contains(s.record, col, row) {
            let o = self.record_view.offset as isize + d;
            self.record_view.offset = o.max(0) as usize;
            // Wheel scrolling should not be undone by the evidence follow.
            self.evidence_target = self.focused_item().map(|(t, k, c, _)| (t, k, c));
            return;
        }
        for ta in &s.tracks {
            for p in &ta.panes {
                if layout::contains(p.area, col, row) {
                    let n = self
                        .run()
                        .stage(ta.track, p.kind)
                        .map_or(0, |s| s.items.len());
                    let st = self.lists.entry((ta.track, p.kind)).or_default();
                    st.cursor = super::popup::moved(st.cursor, d, n);
                    return;
                }
            }
        }
    }

    // ----- records and sessions ------------------------------------------

    /// Opens a record: its saved session if there is one, else a fresh run.
    pub fn open_record(&mut self, idx: usize) {
        if idx >= self.records.len() {
            return;
        }
        if let Some(job) = self.job.take() {
            // The old job's messages are ignored from now on.
            self.worker.cancel();
            tracing::info!(job = job.id, "record switched: job abandoned");
        }
        self.current = idx;
        let id = self.records[idx].id.clone();
        let mut note = None;
        self.session = match self.store.load(&id) {
            Ok(Some(mut s)) => {
                super::worker::settle(&mut s.run);
                note = Some(tr!(
                    self.cfg.lang,
                    StatusSessionRestored,
                    id = id,
                    n = s.edits.len()
                ));
                s
            }
            Ok(None) => Session::new(id.clone()),
            Err(e) => {
                // Keep the unreadable file for inspection; start afresh.
                let path = self.store.path_for(&id);
                let aside =
                    path.with_extension(format!("corrupt-{}", chrono::Utc::now().timestamp()));
                let _ = std::fs::rename(&path, &aside);
                let msg = tr!(
                    self.cfg.lang,
                    StatusMovedAside,
                    e = e,
                    path = aside.display()
                );
                self.set_status(msg, Level::Error);
                Session::new(id.clone())
            }
        };
        if self.session.source.is_none() {
            self.session.source = self.cfg.source.clone();
        }
        self.take_lock(&id, &mut note);
        self.lists.clear();
        self.stream.clear();
        self.record_view = RecordView {
            collapsed: default_folds(&self.records[idx]),
            ..Default::default()
        };
        self.evidence_target = None;
        self.section_target = None;
        if let Some(n) = note {
            self.set_status(n, Level::Info);
        }
    }

    /// Takes the open record's lock, or notes who holds it (read-only).
    fn take_lock(&mut self, id: &str, note: &mut Option<String>) {
        self.lock = None; // the previous record's
        self.read_only = None;
        match self.store.lock(id) {
            Ok(Locked::Mine(l)) => {
                if let Some(prev) = &l.took_over_from {
                    *note = Some(tr!(
                        self.cfg.lang,
                        StatusTakenOver,
                        id = id,
                        prev = prev.describe()
                    ));
                }
                self.lock = Some(l);
            }
            Ok(Locked::Theirs(h)) => {
                *note = Some(tr!(
                    self.cfg.lang,
                    StatusReadOnlyHeld,
                    id = id,
                    holder = h.describe()
                ));
                self.read_only = Some(h);
            }
            // Without a lock file (a read-only disk) the saves will say why.
            Err(e) => tracing::warn!(record = id, error = %e, "session lock not taken"),
        }
    }

    /// True when the open record may be changed: its lock is ours, or its
    /// holder has gone and we take it over now.
    fn writable(&mut self) -> bool {
        if self.read_only.is_none() {
            return true;
        }
        let id = self.record().id.clone();
        let mut note = None;
        self.take_lock(&id, &mut note);
        match &self.read_only {
            None => {
                let msg = note.unwrap_or_else(|| tr!(self.cfg.lang, StatusOtherClosed, id = id));
                self.set_status(msg, Level::Info);
                true
            }
            Some(h) => {
                let msg = tr!(
                    self.cfg.lang,
                    StatusReadOnlyNothing,
                    holder = h.describe(),
                    id = id
                );
                self.set_status(msg, Level::Warn);
                false
            }
        }
    }

    fn switch_record(&mut self, d: isize) {
        let n = self.records.len() as isize;
        let i = self.current as isize + d;
        if i < 0 || i >= n {
            self.say(i18n::Msg::StatusNoMoreRecords, Level::Info);
            return;
        }
        self.open_record(i as usize);
        let msg = tr!(
            self.cfg.lang,
            StatusRecordN,
            i = i + 1,
            n = n,
            id = self.record().id
        );
        self.set_status(msg, Level::Info);
    }

    /// Stores the session (and audits its newest edit).
    fn save_session(&mut self, audit: bool) -> bool {
        if let Some(h) = &self.read_only {
            let msg = tr!(self.cfg.lang, StatusReadOnlyNotSaved, holder = h.describe());
            self.set_status(msg, Level::Warn);
            return false;
        }
        let res = if audit {
            self.store.save_with_audit(&self.session)
        } else {
            self.store.save(&self.session)
        };
        match res {
            Ok(()) => true,
            Err(e) => {
                let msg = tr!(self.cfg.lang, StatusNotSaved, e = e);
                self.set_status(msg, Level::Error);
                false
            }
        }
    }

    // ----- jobs ----------------------------------------------------------

    fn start_job(&mut self, kind: JobKind) {
        if self.busy() {
            self.say(i18n::Msg::StatusJobRunning, Level::Warn);
            return;
        }
        if let EngineState::Failed(e) = &self.engine {
            let msg = tr!(self.cfg.lang, StatusEngineNotStarted, e = e);
            self.set_status(msg, Level::Error);
            return;
        }
        if kind != JobKind::RunAll && self.run().is_complete() {
            self.say(i18n::Msg::StatusAllCurrent, Level::Info);
            return;
        }
        let id = self.next_job;
        self.next_job += 1;
        self.job = Some(JobState {
            id,
            kind,
            started: Instant::now(),
            cancelling: false,
        });
        self.status = None;
        self.worker.submit(Job {
            id,
            kind,
            record: self.records[self.current].clone(),
            run: self.session.run.clone(),
        });
    }

    fn cancel_job(&mut self) {
        match &mut self.job {
            Some(j) => {
                j.cancelling = true;
                self.worker.cancel();
                self.say(i18n::Msg::StatusCancelling, Level::Warn);
            }
            None => self.say(i18n::Msg::StatusNothingRunning, Level::Info),
        }
    }

    /// Takes in everything the engine thread has sent, and runs the
    /// popup query typed since the last call. The event loop calls it after
    /// each batch of input; tests call it after each key.
    pub fn pump(&mut self) -> bool {
        let mut any = false;
        while let Some(msg) = self.worker.try_recv() {
            any = true;
            self.on_worker(msg);
        }
        any |= self.popup_idle();
        if any {
            self.after_input();
        }
        any
    }

    fn current_job(&self, id: u64) -> bool {
        self.job.as_ref().is_some_and(|j| j.id == id)
    }

    fn on_worker(&mut self, msg: WorkerMsg) {
        match msg {
            WorkerMsg::Ready { engine, ctx } => {
                self.engine = EngineState::Ready(engine);
                self.ctx = Some(ctx);
            }
            WorkerMsg::StartFailed(e) => {
                let msg = tr!(self.cfg.lang, StatusEngineNotStarted, e = e);
                self.set_status(msg, Level::Error);
                self.engine = EngineState::Failed(e);
                self.job = None;
            }
            WorkerMsg::Event { job, event } if self.current_job(job) => match event {
                Event::StageStarted { track, kind } => {
                    self.session.run.set_running(track, kind);
                    self.stream.insert((track, kind), String::new());
                }
                Event::Token { track, kind, piece } => {
                    let s = self.stream.entry((track, kind)).or_default();
                    s.push_str(&piece);
                    if s.len() > STREAM_KEEP * 2 {
                        let cut = s.len() - STREAM_KEEP;
                        let cut = (cut..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(0);
                        s.drain(..cut);
                    }
                }
                Event::StageFinished {
                    track,
                    kind,
                    status,
                } => {
                    self.stream.remove(&(track, kind));
                    if let Some(s) = self.session.run.track_mut(track).stage_mut(kind) {
                        s.status = status;
                    }
                }
            },
            WorkerMsg::Progress { job, run } if self.current_job(job) => {
                self.session.run = run;
            }
            WorkerMsg::Finished { job, run, outcome } if self.current_job(job) => {
                let kind = self.job.take().map(|j| j.kind);
                self.stream.clear();
                self.session.run = run;
                self.session.updated = chrono::Utc::now();
                let saved = self.save_session(false);
                match outcome {
                    Outcome::Done(ran) => {
                        if kind == Some(JobKind::Step) && self.trainer {
                            self.focus_ran(&ran);
                        }
                        if saved {
                            let lang = self.cfg.lang;
                            let what = match (kind, ran.as_slice()) {
                                (Some(JobKind::Step), [k]) => {
                                    tr!(lang, StatusRan, stage = i18n::stage_title(lang, *k))
                                }
                                (Some(JobKind::Step), []) => tr!(lang, StatusNothingToRun).into(),
                                (Some(k), _) => tr!(lang, StatusJobDone, job = k.label(lang)),
                                _ => tr!(lang, StatusDone).into(),
                            };
                            self.set_status(what, Level::Info);
                        }
                    }
                    Outcome::Cancelled => self.say(i18n::Msg::StatusCancelled, Level::Warn),
                    Outcome::Failed(e) => {
                        let msg = tr!(self.cfg.lang, StatusFailed, e = e);
                        self.set_status(msg, Level::Error)
                    }
                }
            }
            // Messages of an abandoned job.
            _ => {}
        }
    }

    /// Trainer mode: after a step, show the stage that ran.
    fn focus_ran(&mut self, ran: &[StageKind]) {
        let Some(&k) = ran.last() else { return };
        let t = match self.focus {
            Focus::Stage(t, _) if k.applies_to(t) => t,
            _ if k.applies_to(Track::Diagnosis) => Track::Diagnosis,
            _ => Track::Procedure,
        };
        self.focus = Focus::Stage(t, k);
    }

    // ----- editing -------------------------------------------------------

    pub(crate) fn editable(&mut self) -> Option<(Track, StageKind)> {
        let Focus::Stage(t, k) = self.focus else {
            self.say(i18n::Msg::StatusFocusList, Level::Info);
            return None;
        };
        if self.busy() {
            self.say(i18n::Msg::StatusWaitJob, Level::Warn);
            return None;
        }
        if !self.writable() {
            return None;
        }
        Some((t, k))
    }

    /// Replaces a stage's list as the coder's edit and saves at once.
    pub fn commit(&mut self, t: Track, k: StageKind, items: Vec<Item>, what: &str) {
        self.commit_with(t, k, items, what, Vec::new());
    }

    /// [`App::commit`] of an edit that accepts or corrects items: in a
    /// Standardize list, each item it makes the coder's that keeps its raw
    /// text and has a code teaches the coder alias memory (raw text → code).
    pub(crate) fn commit_teaching(&mut self, t: Track, k: StageKind, items: Vec<Item>, what: &str) {
        let teach = if k == StageKind::Standardize {
            let before = self.items(t, k);
            aliases::teachable(&items, &before)
        } else {
            Vec::new()
        };
        self.commit_with(t, k, items, what, teach);
    }

    fn commit_with(
        &mut self,
        t: Track,
        k: StageKind,
        items: Vec<Item>,
        what: &str,
        teach: Vec<(String, String)>,
    ) {
        // An edit that cannot be saved (disk full, read-only data dir) is
        // not acknowledged: the run stays as it was and the next try saves.
        let before = self.session.clone();
        self.session.edit(t, k, items, &self.cfg.user);
        if !self.save_session(true) {
            self.session = before;
            if let Some((msg, level)) = self.status.clone() {
                let msg = tr!(self.cfg.lang, StatusEditNotApplied, msg = msg);
                self.set_status(msg, level);
            }
            return;
        }
        let later = self
            .run()
            .track(t)
            .stages
            .iter()
            .filter(|s| s.kind > k && s.status == Status::Stale)
            .count();
        let msg = tr!(self.cfg.lang, StatusSavedStale, what = what, later = later);
        self.set_status(msg, Level::Info);
        // Taught before any re-run, so that the re-run already knows it.
        aliases::teach(self, t, &teach);
        if self.cfg.auto_rerun {
            self.start_job(JobKind::RunPending);
        }
    }

    pub(crate) fn items(&self, t: Track, k: StageKind) -> Vec<Item> {
        self.run()
            .stage(t, k)
            .map(|s| s.items.clone())
            .unwrap_or_default()
    }

    fn delete_item(&mut self) {
        let Some((t, k)) = self.editable() else {
            return;
        };
        let mut items = self.items(t, k);
        let c = self.list_state(t, k).cursor;
        if c >= items.len() {
            return;
        }
        let gone = items.remove(c);
        let what = tr!(self.cfg.lang, WhatDeleted, text = gone.text);
        self.commit(t, k, items, &what);
    }

    fn move_item(&mut self, d: isize) {
        let Some((t, k)) = self.editable() else {
            return;
        };
        let mut items = self.items(t, k);
        let c = self.list_state(t, k).cursor;
        let to = c as isize + d;
        if c >= items.len() || to < 0 || to as usize >= items.len() {
            return;
        }
        items.swap(c, to as usize);
        self.lists.entry((t, k)).or_default().cursor = to as usize;
        let text = items[to as usize].text.clone();
        let what = tr!(self.cfg.lang, WhatMoved, text = text);
        self.commit(t, k, items, &what);
    }

    fn accept_item(&mut self) {
        let Some((t, k)) = self.editable() else {
            return;
        };
        let mut items = self.items(t, k);
        let c = self.list_state(t, k).cursor;
        let Some(item) = items.get_mut(c) else { return };
        if let (Some(code), Some(ctx)) = (&item.code, &self.ctx) {
            if ctx.matcher(t).terminology().get(code).is_none() {
                let msg = tr!(self.cfg.lang, StatusCodeNotInTable, code = code);
                self.set_status(msg, Level::Warn);
                return;
            }
        }
        item.origin = Origin::Coder;
        item.confidence = Some(1.0);
        item.flags.retain(|f| *f != Flag::LowConfidence);
        let what = tr!(
            self.cfg.lang,
            WhatAccepted,
            what = item.code.as_deref().unwrap_or(&item.text)
        );
        self.commit_teaching(t, k, items, &what);
    }

    fn toggle_stage(&mut self) {
        let Some((t, k)) = self.editable() else {
            return;
        };
        let Some(on) = self.run().stage(t, k).map(|s| s.enabled) else {
            return;
        };
        let before = self.session.clone();
        self.session.set_enabled(t, k, !on, &self.cfg.user);
        if !self.save_session(true) {
            self.session = before;
            return;
        }
        let stage = i18n::stage_title(self.cfg.lang, k);
        let msg = if on {
            tr!(self.cfg.lang, StatusStageOff, stage = stage)
        } else {
            tr!(self.cfg.lang, StatusStageOn, stage = stage)
        };
        self.set_status(msg, Level::Info);
    }

    // ----- output ----------------------------------------------------------

    fn copy(&mut self, text: String, what: &str) {
        if text.trim().is_empty() {
            self.say(i18n::Msg::StatusNoFinalCodes, Level::Info);
            return;
        }
        match self.clipboard.copy(&text) {
            Ok(m) => {
                let first = text.lines().next().unwrap_or("");
                let n = text.lines().count();
                let shown = super::width::truncate(first, 40);
                let msg = tr!(
                    self.cfg.lang,
                    StatusCopied,
                    what = what,
                    method = m.label(self.cfg.lang),
                    n = n,
                    shown = shown
                );
                self.set_status(msg, Level::Info);
            }
            Err(e) => {
                let msg = tr!(self.cfg.lang, StatusCopyFailed, e = e);
                self.set_status(msg, Level::Error)
            }
        }
    }

    fn export_json(&mut self) {
        let desc = match &self.engine {
            EngineState::Ready(d) => d.clone(),
            _ => String::new(),
        };
        let doc = export::to_json(self.record(), self.run(), self.ctx.as_deref(), &desc);
        let res = export::write_json(&self.cfg.export_dir, &self.record().id, &doc);
        self.say_written(res, i18n::Msg::StatusExported);
    }

    fn export_line(&mut self) {
        let line = export::homepage_line(&self.record().id, self.run(), self.ctx.as_deref());
        let res = export::write_line(&self.cfg.export_dir, &self.record().id, &line);
        self.say_written(res, i18n::Msg::StatusLineWritten);
    }

    /// Reports an export: `ok` (with the file's `{path}`) or the failure.
    fn say_written<E: std::fmt::Display>(&mut self, res: Result<PathBuf, E>, ok: i18n::Msg) {
        let lang = self.cfg.lang;
        match res {
            Ok(p) => {
                let msg = i18n::fill(ok.text(lang), &[("path", &p.display())]);
                self.set_status(msg, Level::Info)
            }
            Err(e) => {
                let msg = tr!(lang, StatusExportFailed, e = e);
                self.set_status(msg, Level::Error)
            }
        }
    }

    /// Puts `item` below `cursor` of the `k` list (`items`, as it is now),
    /// moves the cursor onto it and commits the edit as `what`.
    pub fn insert_below(
        &mut self,
        t: Track,
        k: StageKind,
        mut items: Vec<Item>,
        cursor: usize,
        item: Item,
        what: &str,
    ) {
        let at = if items.is_empty() {
            0
        } else {
            (cursor + 1).min(items.len())
        };
        items.insert(at, item);
        self.lists.entry((t, k)).or_default().cursor = at;
        self.commit(t, k, items, what);
    }

    /// True, and says so, when `items` (the `k` list) already hold `code`.
    pub fn already_listed(&mut self, items: &[Item], k: StageKind, code: &str) -> bool {
        if !items.iter().any(|i| i.code.as_deref() == Some(code)) {
            return false;
        }
        let lang = self.cfg.lang;
        let stage = i18n::stage_title(lang, k);
        let msg = tr!(lang, StatusAlreadyInList, code = code, stage = stage);
        self.set_status(msg, Level::Info);
        true
    }

    /// Shows a catalogue message in the app's language.
    pub fn say(&mut self, msg: i18n::Msg, level: Level) {
        self.set_status(msg.text(self.cfg.lang), level);
    }

    pub fn set_status(&mut self, text: impl Into<String>, level: Level) {
        let text = text.into();
        if level != Level::Info {
            tracing::warn!("{text}");
        }
        self.status = Some((text, level));
    }
}

/// A table entry (`name`, `code`) as the coder's own item, taken from
/// `source` (a similar case, an index path).
pub fn coder_item(name: &str, code: &str, source: String) -> Item {
    Item::new(name, Origin::Coder)
        .with_code(code)
        .with_confidence(1.0)
        .with_source(source)
}

fn scroll_into_view(offset: &mut usize, y: usize, height: usize) {
    let h = height.max(1);
    if y < *offset {
        *offset = y;
    } else if y >= *offset + h {
        *offset = y + 1 - h;
    }
}

/// Sections longer than this start folded (except the coding fields).
const FOLD_CHARS: usize = 60;

/// Which sections start folded: long ones, except those coders code from.
pub fn default_folds(record: &Record) -> Vec<bool> {
    use crate::record::fields;
    record
        .sections
        .iter()
        .map(|s| {
            let key = [
                fields::DISCHARGE_DIAGNOSIS,
                fields::PROCEDURE_NAMES,
                fields::CHIEF_COMPLAINT,
            ]
            .contains(&s.name.as_str());
            !key && s.text.chars().count() > FOLD_CHARS
        })
        .collect()
}

/// One line of the record pane: a section header (`range: None`) or a
/// wrapped piece of its text (byte range in the section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLine {
    pub section: usize,
    pub range: Option<std::ops::Range<usize>>,
}

/// The record pane's lines at `width` columns (text indented by 2).
pub fn record_lines(
    record: &Record,
    width: usize,
    open: impl Fn(usize) -> bool,
) -> Vec<RecordLine> {
    let mut out = Vec::new();
    for (i, s) in record.sections.iter().enumerate() {
        out.push(RecordLine {
            section: i,
            range: None,
        });
        if open(i) {
            for r in super::width::wrap(&s.text, width.saturating_sub(2)) {
                out.push(RecordLine {
                    section: i,
                    range: Some(r),
                });
            }
        }
    }
    out
}
