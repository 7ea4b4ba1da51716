//! The terminal workbench: one record at a time, both tracks' stage lists
//! side by side, every list editable, the engine on its own thread.
//!
//! - [`app`]: the state and everything that changes it (testable without a terminal);
//! - [`ui`]: drawing from that state;
//! - [`keymap`], [`action`]: keys → actions, per mode, user-overridable;
//! - [`worker`]: the thread that owns the engine (a llama.cpp model is not `Send`);
//! - [`terminal`]: setup, restore, panic hook, signals;
//! - [`theme`], [`clipboard`], [`export`]: looks, copying, output files;
//! - [`popup`]: the interface every popup implements; one file each:
//!   [`search`], [`picker`], [`editor`], [`help`], [`trace_view`],
//!   [`similar`], [`aliases`] (what the learned model and the coders' alias
//!   memory offer), [`locate`] (the alphabetic index), [`pages`].
//!
//! [`run_tui`] is the entry point.

pub mod action;
pub mod aliases;
pub mod app;
pub mod clipboard;
pub mod diff;
pub mod editlist;
pub mod editor;
pub mod export;
pub mod help;
pub mod keymap;
pub mod layout;
pub mod locate;
pub mod pages;
pub mod picker;
pub mod popup;
pub mod sample;
pub mod search;
pub mod similar;
pub mod terminal;
pub mod theme;
pub mod trace_view;
pub mod ui;
pub mod width;
pub mod worker;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crossterm::event::{self, Event as TermEvent, MouseButton, MouseEventKind};

use crate::pipeline::Engine;
use crate::record::{Record, Track};
use crate::session::SessionStore;
use action::Action;
use app::{App, AppConfig, Level};

/// Instructional notes of a code (includes, excludes, code also), for the
/// code search popup. The lead wires it to the rule index.
pub type NotesFn = Arc<dyn Fn(Track, &str) -> Vec<String> + Send + Sync>;

/// How to start the workbench. Flags win over the config file.
#[derive(Clone, Default)]
pub struct TuiOptions {
    /// Open this record id (else the first; a picker when there are many).
    pub record: Option<String>,
    /// Theme name (`dark`, `light`, `high-contrast`, a user theme) or a file path.
    pub theme: Option<String>,
    pub trainer: bool,
    /// Where `keys.toml` and `themes/` are looked for.
    pub config_dir: Option<PathBuf>,
    /// `[tui.keys]` of the config file.
    pub keys: Option<toml::Table>,
    /// Where exports go (default: the current directory).
    pub export_dir: Option<PathBuf>,
    /// Name in the audit log (default: `$ICDFLOW_USER`, `$USER`).
    pub user: Option<String>,
    /// The file the records came from (stored in sessions).
    pub source: Option<PathBuf>,
    /// Re-run stale stages right after every edit.
    pub auto_rerun: bool,
    pub notes: Option<NotesFn>,
    /// The learned model, for the similar-cases popup.
    pub learned: Option<Arc<crate::learn::LearnedModel>>,
    /// The coders' alias memory (the engine's learned helper holds the same).
    pub coder_aliases: Option<crate::learn::SharedCoderAliases>,
    /// The imported alphabetic indexes (the index browser).
    pub alpha: crate::terminology::alphabetic::AlphaIndexes,
    /// The interface language (default: the process's, see `i18n::current`).
    pub lang: Option<crate::i18n::Lang>,
}

impl TuiOptions {
    /// Takes settings from the `[tui]` table of a whole config file (see
    /// [`TuiOptions::with_tui_table`]).
    pub fn with_config(self, config: &toml::Table) -> Self {
        match config.get("tui").and_then(|v| v.as_table()) {
            Some(t) => self.with_tui_table(t),
            None => self,
        }
    }

    /// Takes settings from the config file's `[tui]` table where no flag set
    /// them: `theme`, `trainer`, `auto_rerun`, `export_dir`, `keys`.
    pub fn with_tui_table(mut self, tui: &toml::Table) -> Self {
        if self.theme.is_none() {
            self.theme = tui.get("theme").and_then(|v| v.as_str()).map(String::from);
        }
        self.trainer |= tui
            .get("trainer")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        self.auto_rerun |= tui
            .get("auto_rerun")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if self.export_dir.is_none() {
            self.export_dir = tui
                .get("export_dir")
                .and_then(|v| v.as_str())
                .map(PathBuf::from);
        }
        if self.keys.is_none() {
            self.keys = tui.get("keys").and_then(|v| v.as_table()).cloned();
        }
        self
    }

    /// The app's settings, with warnings about key and theme files.
    pub fn app_config(&self) -> (AppConfig, Vec<String>) {
        let (keymap, mut warnings) =
            keymap::Keymap::load(self.keys.as_ref(), self.config_dir.as_deref());
        let (theme, w) = theme::Theme::load(self.theme.as_deref(), self.config_dir.as_deref());
        warnings.extend(w);
        let cfg = AppConfig {
            keymap,
            theme,
            trainer: self.trainer,
            export_dir: self
                .export_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(".")),
            user: self
                .user
                .clone()
                .unwrap_or_else(crate::session::current_user),
            source: self.source.as_ref().map(|p| p.display().to_string()),
            auto_rerun: self.auto_rerun,
            notes: self.notes.clone(),
            frozen_elapsed: None,
            learned: self.learned.clone(),
            coder_aliases: self.coder_aliases.clone(),
            alpha: self.alpha.clone(),
            lang: self.lang.unwrap_or_else(crate::i18n::current),
        };
        (cfg, warnings)
    }
}

/// Runs the workbench until the user quits. `engine` is called on the
/// worker thread, so an engine holding a non-`Send` model can be built
/// there; the UI never waits for it.
pub fn run_tui(
    opts: TuiOptions,
    engine: impl FnOnce() -> anyhow::Result<Engine> + Send + 'static,
    records: Vec<Record>,
    store: SessionStore,
) -> anyhow::Result<()> {
    let (cfg, warnings) = opts.app_config();
    anyhow::ensure!(!records.is_empty(), crate::tr!(cfg.lang, CliNoRecords));
    let worker = worker::ThreadWorker::spawn(engine)?;
    let mut app = App::new(
        records,
        store,
        Box::new(worker),
        Box::new(clipboard::TerminalClipboard::new()),
        cfg,
        opts.record.as_deref(),
    )?;
    if let Some(w) = warnings.first() {
        app.set_status(w.clone(), Level::Warn);
    }
    terminal::install_panic_hook();
    let quit = terminal::quit_on_signals()?;
    let mut term = terminal::enter()?;
    let guard = terminal::RestoreGuard;
    let res = event_loop(&mut term, &mut app, &quit);
    drop(guard);
    // The engine thread stops after the terminal is back (a model may take
    // a moment to finish its current token).
    drop(app);
    res
}

/// How often the spinner moves.
const SPIN: Duration = Duration::from_millis(80);
/// How long to wait for input before looking at the worker again.
const POLL: Duration = Duration::from_millis(50);

/// Reads terminal events on their own thread. When the terminal goes away
/// (a closed SSH connection), crossterm's poll can spin without returning;
/// with input on a separate thread the event loop still sees the hangup
/// signal and exits, and the process ends the reader with it.
fn spawn_input() -> std::io::Result<mpsc::Receiver<TermEvent>> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("icdflow-input".into())
        .spawn(move || loop {
            match event::poll(POLL) {
                Ok(true) => match event::read() {
                    Ok(ev) => {
                        if tx.send(ev).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!("terminal input: {e}");
                        return;
                    }
                },
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!("terminal input: {e}");
                    return;
                }
            }
        })?;
    Ok(rx)
}

fn event_loop(
    term: &mut terminal::Tui,
    app: &mut App,
    quit: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<()> {
    let size = term.size()?;
    app.handle(Action::Resize {
        width: size.width,
        height: size.height,
    });
    let input = spawn_input()?;
    let mut dirty = true;
    let mut last_spin = Instant::now();
    loop {
        if dirty {
            term.draw(|f| ui::render(f, app))?;
            dirty = false;
        }
        if app.should_quit || quit.load(Ordering::Relaxed) {
            return Ok(());
        }
        match input.recv_timeout(POLL) {
            Ok(ev) => {
                // Take every queued event before drawing again (fast
                // typing, pastes, wheel bursts).
                dispatch(app, ev);
                while !app.should_quit {
                    match input.try_recv() {
                        Ok(ev) => dispatch(app, ev),
                        Err(_) => break,
                    }
                }
                dirty = true;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                anyhow::bail!("the terminal stopped sending input")
            }
        }
        if app.pump() {
            dirty = true;
        }
        if app.busy() && last_spin.elapsed() >= SPIN {
            app.tick = app.tick.wrapping_add(1);
            last_spin = Instant::now();
            dirty = true;
        }
    }
}

/// Turns a terminal event into app input.
pub fn dispatch(app: &mut App, ev: TermEvent) {
    match ev {
        TermEvent::Key(k) => app.handle_key(k),
        TermEvent::Paste(s) => app.paste(&s),
        TermEvent::Resize(w, h) => app.handle(Action::Resize {
            width: w,
            height: h,
        }),
        TermEvent::Mouse(m) => match m.kind {
            MouseEventKind::Down(MouseButton::Left) => app.handle(Action::Click {
                col: m.column,
                row: m.row,
            }),
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => app.handle(Action::Scroll {
                col: m.column,
                row: m.row,
                down: m.kind == MouseEventKind::ScrollDown,
            }),
            _ => {}
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_fills_what_flags_left_open() {
        let cfg: toml::Table = toml::from_str(
            "[tui]\ntheme = \"light\"\ntrainer = true\nexport_dir = \"/tmp/x\"\n[tui.keys.normal]\nstep = \"n\"\n",
        )
        .unwrap();
        let o = TuiOptions {
            theme: Some("high-contrast".into()),
            ..Default::default()
        }
        .with_config(&cfg);
        assert_eq!(o.theme.as_deref(), Some("high-contrast"));
        assert!(o.trainer);
        assert_eq!(o.export_dir, Some(PathBuf::from("/tmp/x")));
        let (app_cfg, warnings) = o.app_config();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(app_cfg.theme.name, "high-contrast");
        assert_eq!(
            app_cfg
                .keymap
                .action(keymap::Mode::Normal, keymap::Key::ch('n')),
            Some(Action::Step)
        );
    }
}
