//! Taking over the terminal and always giving it back: on normal exit, on
//! an error, on a panic (before the panic message prints) and on
//! SIGTERM/SIGHUP (the event loop sees a flag and exits cleanly). A
//! SIGKILL cannot be caught; the terminal then needs `reset`, but no
//! completed edit is lost because every edit was saved when it was made.

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::ThreadId;

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

/// The terminal the workbench draws on.
pub type Tui = Terminal<CrosstermBackend<Stdout>>;

/// Whether the terminal is in raw mode on the alternate screen now.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The thread that owns the terminal.
static UI_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// Raw mode, alternate screen, mouse capture, bracketed paste.
pub fn enter() -> io::Result<Tui> {
    let _ = UI_THREAD.set(std::thread::current().id());
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    if let Err(e) = crossterm::execute!(
        out,
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste
    ) {
        let _ = restore();
        return Err(e);
    }
    let mut t = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    t.hide_cursor()?;
    t.clear()?;
    Ok(t)
}

/// Puts the terminal back as it was (idempotent).
pub fn restore() -> io::Result<()> {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let mut out = io::stdout();
    let r = crossterm::execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    disable_raw_mode()?;
    r
}

/// Restores the terminal when dropped (early returns and `?`).
pub struct RestoreGuard;

impl Drop for RestoreGuard {
    fn drop(&mut self) {
        let _ = restore();
    }
}

/// A panic on the UI thread restores the terminal before the message is
/// printed. A panic on another thread (the engine's, caught there and
/// reported in the status line) goes to the log instead of over the screen.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let on_ui = UI_THREAD.get() == Some(&std::thread::current().id());
        if ACTIVE.load(Ordering::SeqCst) && !on_ui {
            let name = std::thread::current().name().unwrap_or("?").to_string();
            tracing::error!(thread = %name, "panic: {info}");
            return;
        }
        let _ = restore();
        tracing::error!("panic: {info}");
        previous(info);
    }));
}

/// A flag set by SIGTERM or SIGHUP. A second signal of the same kind ends
/// the process at once (in case the loop cannot exit).
pub fn quit_on_signals() -> io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    #[cfg(unix)]
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        signal_hook::flag::register_conditional_shutdown(sig, 1, flag.clone())?;
        signal_hook::flag::register(sig, flag.clone())?;
    }
    Ok(flag)
}
