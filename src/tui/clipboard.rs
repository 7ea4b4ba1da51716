//! Copying to the coder's clipboard. Over SSH the clipboard that matters is
//! on the coder's own machine, which only the terminal can reach: OSC 52.
//! Locally arboard talks to the clipboard server; when none answers (no X11
//! or Wayland) it fails at once and OSC 52 is the fallback.

use std::io::Write;

/// How a copy was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMethod {
    /// Escape sequence to the terminal (works over SSH and in tmux with
    /// `set-clipboard on`).
    Osc52,
    /// The local clipboard server.
    System,
}

impl CopyMethod {
    pub fn label(self, lang: crate::i18n::Lang) -> &'static str {
        use crate::i18n::Msg;
        match self {
            CopyMethod::Osc52 => Msg::CopyOsc52,
            CopyMethod::System => Msg::CopyClipboard,
        }
        .text(lang)
    }
}

/// Somewhere copied text goes.
pub trait ClipboardSink {
    fn copy(&mut self, text: &str) -> Result<CopyMethod, String>;
}

/// True when running in an SSH session.
pub fn over_ssh() -> bool {
    std::env::var_os("SSH_TTY").is_some() || std::env::var_os("SSH_CONNECTION").is_some()
}

/// The terminal's clipboard: arboard locally, OSC 52 over SSH or when
/// arboard fails. The arboard handle is kept: on X11 the copied text lives
/// only as long as the handle that owns it.
#[derive(Default)]
pub struct TerminalClipboard {
    system: Option<arboard::Clipboard>,
    system_failed: bool,
}

impl TerminalClipboard {
    pub fn new() -> Self {
        Self::default()
    }

    fn osc52(text: &str) -> Result<CopyMethod, String> {
        let mut out = std::io::stdout();
        crossterm::execute!(
            out,
            crossterm::clipboard::CopyToClipboard::to_clipboard_from(text)
        )
        .map_err(|e| format!("OSC 52: {e}"))?;
        out.flush().map_err(|e| format!("OSC 52: {e}"))?;
        Ok(CopyMethod::Osc52)
    }
}

impl ClipboardSink for TerminalClipboard {
    fn copy(&mut self, text: &str) -> Result<CopyMethod, String> {
        if over_ssh() || self.system_failed {
            return Self::osc52(text);
        }
        if self.system.is_none() {
            match arboard::Clipboard::new() {
                Ok(c) => self.system = Some(c),
                Err(e) => {
                    tracing::info!("no clipboard server ({e}); using OSC 52");
                    self.system_failed = true;
                    return Self::osc52(text);
                }
            }
        }
        let Some(cb) = self.system.as_mut() else {
            return Self::osc52(text);
        };
        match cb.set_text(text.to_string()) {
            Ok(()) => Ok(CopyMethod::System),
            Err(e) => {
                tracing::info!("clipboard server refused ({e}); using OSC 52");
                self.system_failed = true;
                self.system = None;
                Self::osc52(text)
            }
        }
    }
}

/// Keeps copies in memory (tests).
#[derive(Debug, Default, Clone)]
pub struct MemoryClipboard {
    pub copies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ClipboardSink for MemoryClipboard {
    fn copy(&mut self, text: &str) -> Result<CopyMethod, String> {
        self.copies
            .lock()
            .map_err(|e| e.to_string())?
            .push(text.to_string());
        Ok(CopyMethod::Osc52)
    }
}
