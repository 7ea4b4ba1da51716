//! Mode-aware key bindings: defaults, user overrides, and the reverse map
//! (action → keys) that the help overlay and the footer are built from.
//!
//! User files name actions and give keys, per mode:
//!
//! ```toml
//! [normal]
//! step = "n"
//! run_all = ["r", "F5"]
//! [edit]
//! save = "ctrl-s"
//! ```
//!
//! in `<config_dir>/keys.toml`, or the same tables under `[tui.keys]` in the
//! config file. An action named in a file loses its default keys in that
//! mode; everything not named keeps its default.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use serde::{Deserialize, Serialize};

use super::action::Action;

/// What the keyboard is talking to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Normal,
    /// The list editor (text area) is open.
    Edit,
    /// The code search popup is open.
    Search,
    /// The record picker is open.
    Picker,
    Help,
    Trace,
    /// The similar-cases popup is open.
    Similar,
    /// The taught-aliases popup is open.
    Aliases,
    /// The alphabetic index browser is open.
    Locate,
    /// The page text of a PDF record is shown.
    Pages,
}

impl Mode {
    pub const ALL: [Mode; 10] = [
        Mode::Normal,
        Mode::Edit,
        Mode::Search,
        Mode::Picker,
        Mode::Help,
        Mode::Trace,
        Mode::Similar,
        Mode::Aliases,
        Mode::Locate,
        Mode::Pages,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::Edit => "edit",
            Mode::Search => "search",
            Mode::Picker => "picker",
            Mode::Help => "help",
            Mode::Trace => "trace",
            Mode::Similar => "similar",
            Mode::Aliases => "aliases",
            Mode::Locate => "locate",
            Mode::Pages => "pages",
        }
    }

    fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.label() == s.trim())
    }
}

/// A key with its modifiers, normalized so that `R` and `shift-r` are one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Self {
        let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        // The char already says whether shift was held (`R`); terminals
        // disagree on whether they also report SHIFT.
        if matches!(code, KeyCode::Char(_) | KeyCode::BackTab) {
            mods.remove(KeyModifiers::SHIFT);
        }
        Key { code, mods }
    }

    pub fn plain(code: KeyCode) -> Self {
        Key::new(code, KeyModifiers::NONE)
    }

    pub fn ch(c: char) -> Self {
        Key::plain(KeyCode::Char(c))
    }

    pub fn ctrl(c: char) -> Self {
        Key::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    /// The key of a terminal event; `None` for key releases.
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        Some(Key::new(ev.code, ev.modifiers))
    }

    /// Parses `s`, `R`, `ctrl-s`, `alt-j`, `shift-tab`, `F5`, `enter`, `space`, `<`.
    pub fn parse(s: &str) -> Result<Key, String> {
        let s = s.trim();
        if s.chars().count() == 1 {
            return Ok(Key::ch(s.chars().next().unwrap_or(' ')));
        }
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            let strip = ["ctrl-", "c-", "alt-", "m-", "shift-", "s-"]
                .into_iter()
                .find(|p| lower.starts_with(p) && rest.len() > p.len());
            let Some(p) = strip else { break };
            mods |= match p {
                "ctrl-" | "c-" => KeyModifiers::CONTROL,
                "alt-" | "m-" => KeyModifiers::ALT,
                _ => KeyModifiers::SHIFT,
            };
            rest = &rest[p.len()..];
        }
        let lower = rest.to_ascii_lowercase();
        let code = match lower.as_str() {
            "enter" | "return" | "cr" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" | "pgdown" => KeyCode::PageDown,
            "delete" | "del" => KeyCode::Delete,
            "insert" | "ins" => KeyCode::Insert,
            "backspace" | "bs" => KeyCode::Backspace,
            "minus" => KeyCode::Char('-'),
            "lt" => KeyCode::Char('<'),
            "gt" => KeyCode::Char('>'),
            f if f.starts_with('f') && f.len() > 1 && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            _ if rest.chars().count() == 1 => {
                let mut c = rest.chars().next().unwrap_or(' ');
                if mods.contains(KeyModifiers::SHIFT) && c.is_ascii_lowercase() {
                    c = c.to_ascii_uppercase();
                }
                KeyCode::Char(c)
            }
            _ => return Err(format!("unknown key `{s}`")),
        };
        Ok(Key::new(code, mods))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            write!(f, "C-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            write!(f, "M-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            write!(f, "S-")?;
        }
        match self.code {
            KeyCode::Char(' ') => write!(f, "Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => write!(f, "Enter"),
            KeyCode::Esc => write!(f, "Esc"),
            KeyCode::Tab => write!(f, "Tab"),
            KeyCode::BackTab => write!(f, "S-Tab"),
            KeyCode::Up => write!(f, "↑"),
            KeyCode::Down => write!(f, "↓"),
            KeyCode::Left => write!(f, "←"),
            KeyCode::Right => write!(f, "→"),
            KeyCode::Home => write!(f, "Home"),
            KeyCode::End => write!(f, "End"),
            KeyCode::PageUp => write!(f, "PgUp"),
            KeyCode::PageDown => write!(f, "PgDn"),
            KeyCode::Delete => write!(f, "Del"),
            KeyCode::Insert => write!(f, "Ins"),
            KeyCode::Backspace => write!(f, "BS"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Bindings for every mode, in a stable order (the order the help shows).
#[derive(Debug, Clone)]
pub struct Keymap {
    modes: HashMap<Mode, Vec<(Key, Action)>>,
}

fn defaults() -> Vec<(Mode, &'static str, Action)> {
    use Action::*;
    type M = Mode;
    let nav = |m: Mode| {
        vec![
            (m, "j", Down),
            (m, "down", Down),
            (m, "k", Up),
            (m, "up", Up),
            (m, "g", Top),
            (m, "home", Top),
            (m, "G", Bottom),
            (m, "end", Bottom),
            (m, "ctrl-d", PageDown),
            (m, "pagedown", PageDown),
            (m, "ctrl-u", PageUp),
            (m, "pageup", PageUp),
        ]
    };
    let list = |m: Mode| {
        vec![
            (m, "down", Down),
            (m, "ctrl-n", Down),
            (m, "up", Up),
            (m, "ctrl-p", Up),
            (m, "pagedown", PageDown),
            (m, "pageup", PageUp),
            (m, "enter", Select),
            (m, "esc", Close),
            (m, "ctrl-c", Cancel),
        ]
    };
    let mut v = vec![
        (M::Normal, "s", Step),
        (M::Normal, "r", RunAll),
        (M::Normal, "R", RunStale),
        (M::Normal, "ctrl-c", Cancel),
        (M::Normal, "e", Edit),
        (M::Normal, "enter", Activate),
        (M::Normal, "space", Activate),
        (M::Normal, "/", Search),
        (M::Normal, "t", Trace),
        (M::Normal, "y", Copy),
        (M::Normal, "Y", CopyLine),
        (M::Normal, "?", Help),
        (M::Normal, "q", Quit),
        (M::Normal, "i", Insert),
        (M::Normal, "insert", Insert),
        (M::Normal, "x", Delete),
        (M::Normal, "delete", Delete),
        (M::Normal, "<", MoveUp),
        (M::Normal, "alt-k", MoveUp),
        (M::Normal, "alt-up", MoveUp),
        (M::Normal, ">", MoveDown),
        (M::Normal, "alt-j", MoveDown),
        (M::Normal, "alt-down", MoveDown),
        (M::Normal, "a", Accept),
        (M::Normal, "o", ToggleStage),
        (M::Normal, "h", FocusLeft),
        (M::Normal, "left", FocusLeft),
        (M::Normal, "l", FocusRight),
        (M::Normal, "right", FocusRight),
        (M::Normal, "K", FocusUp),
        (M::Normal, "ctrl-up", FocusUp),
        (M::Normal, "J", FocusDown),
        (M::Normal, "ctrl-down", FocusDown),
        (M::Normal, "1", Stage1),
        (M::Normal, "2", Stage2),
        (M::Normal, "3", Stage3),
        (M::Normal, "4", Stage4),
        (M::Normal, "5", Stage5),
        (M::Normal, "6", Stage6),
        (M::Normal, "tab", FocusNext),
        (M::Normal, "backtab", FocusPrev),
        (M::Normal, "n", NextRecord),
        (M::Normal, "p", PrevRecord),
        (M::Normal, "f", Picker),
        (M::Normal, "w", ExportJson),
        (M::Normal, "W", ExportLine),
        (M::Normal, "T", Trainer),
        (M::Normal, "c", Similar),
        (M::Normal, "L", Aliases),
        (M::Normal, "I", Locate),
        (M::Normal, "P", Pages),
    ];
    v.extend(nav(M::Normal));
    v.extend([
        (M::Edit, "ctrl-s", Save),
        (M::Edit, "f2", Save),
        (M::Edit, "esc", Close),
        (M::Edit, "ctrl-c", Cancel),
    ]);
    v.extend(list(M::Search));
    v.extend([
        (M::Search, "tab", InsertHit),
        (M::Search, "ctrl-t", SwitchTable),
    ]);
    v.extend(list(M::Picker));
    for m in [M::Help, M::Trace] {
        v.extend([(m, "esc", Close), (m, "q", Close)]);
        v.extend(nav(m));
        v.push((m, "ctrl-c", Cancel));
    }
    v.push((M::Help, "?", Close));
    v.push((M::Trace, "t", Close));
    v.extend([
        (M::Similar, "enter", Adopt),
        (M::Similar, "esc", Close),
        (M::Similar, "q", Close),
        (M::Similar, "c", Close),
        (M::Similar, "ctrl-c", Cancel),
    ]);
    v.extend(nav(M::Similar));
    v.extend([
        (M::Aliases, "d", Forget),
        (M::Aliases, "delete", Forget),
        (M::Aliases, "esc", Close),
        (M::Aliases, "q", Close),
        (M::Aliases, "L", Close),
        (M::Aliases, "ctrl-c", Cancel),
    ]);
    v.extend(nav(M::Aliases));
    // The index browser takes typed characters: only keys that type none.
    v.extend([
        (M::Locate, "enter", Select),
        (M::Locate, "right", Follow),
        (M::Locate, "left", Back),
        (M::Locate, "tab", Tabular),
        (M::Locate, "ctrl-t", SwitchTable),
        (M::Locate, "down", Down),
        (M::Locate, "ctrl-n", Down),
        (M::Locate, "up", Up),
        (M::Locate, "ctrl-p", Up),
        (M::Locate, "pagedown", PageDown),
        (M::Locate, "pageup", PageUp),
        (M::Locate, "home", Top),
        (M::Locate, "end", Bottom),
        (M::Locate, "esc", Close),
        (M::Locate, "ctrl-c", Cancel),
    ]);
    v.extend([
        (M::Pages, "esc", Close),
        (M::Pages, "q", Close),
        (M::Pages, "P", Close),
        (M::Pages, "ctrl-c", Cancel),
    ]);
    v.extend(nav(M::Pages));
    v
}

impl Default for Keymap {
    fn default() -> Self {
        let mut modes: HashMap<Mode, Vec<(Key, Action)>> = HashMap::new();
        for (m, k, a) in defaults() {
            let key = Key::parse(k).expect("default keys parse");
            modes.entry(m).or_default().push((key, a));
        }
        Keymap { modes }
    }
}

impl Keymap {
    /// Defaults, then `<config_dir>/keys.toml`, then `[tui.keys]` of the
    /// config file. Returns warnings about names it did not understand.
    pub fn load(
        config_keys: Option<&toml::Table>,
        config_dir: Option<&Path>,
    ) -> (Self, Vec<String>) {
        let mut km = Keymap::default();
        let mut warnings = Vec::new();
        if let Some(dir) = config_dir {
            let path = dir.join("keys.toml");
            match std::fs::read_to_string(&path) {
                Ok(text) => match text.parse::<toml::Table>() {
                    Ok(t) => warnings.extend(
                        km.apply(&t)
                            .into_iter()
                            .map(|w| format!("{}: {w}", path.display())),
                    ),
                    Err(e) => warnings.push(format!("{}: {e}", path.display())),
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => warnings.push(format!("{}: {e}", path.display())),
            }
        }
        if let Some(t) = config_keys {
            warnings.extend(km.apply(t).into_iter().map(|w| format!("[tui.keys] {w}")));
        }
        (km, warnings)
    }

    /// Applies user bindings (mode tables of `action = key(s)`; bare
    /// `action = key` entries mean normal mode). Returns warnings.
    pub fn apply(&mut self, table: &toml::Table) -> Vec<String> {
        let mut warnings = Vec::new();
        for (k, v) in table {
            if let Some(sub) = v.as_table() {
                match Mode::parse(k) {
                    Some(mode) => {
                        for (name, keys) in sub {
                            self.bind_value(mode, name, keys, &mut warnings)
                        }
                    }
                    None => warnings.push(format!("unknown mode `{k}`")),
                }
            } else {
                self.bind_value(Mode::Normal, k, v, &mut warnings);
            }
        }
        warnings
    }

    fn bind_value(&mut self, mode: Mode, name: &str, v: &toml::Value, warnings: &mut Vec<String>) {
        let Some(action) = Action::from_name(name) else {
            warnings.push(format!("unknown action `{name}`"));
            return;
        };
        let strs: Vec<&str> = match v {
            toml::Value::String(s) => vec![s.as_str()],
            toml::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
            _ => {
                warnings.push(format!("`{name}`: give a key or a list of keys"));
                return;
            }
        };
        let mut keys = Vec::new();
        for s in strs {
            match Key::parse(s) {
                Ok(k) => keys.push(k),
                Err(e) => warnings.push(format!("`{name}`: {e}")),
            }
        }
        self.rebind(mode, action, &keys);
    }

    /// Replaces an action's keys in one mode; the keys leave any other
    /// action they were bound to in that mode.
    pub fn rebind(&mut self, mode: Mode, action: Action, keys: &[Key]) {
        let list = self.modes.entry(mode).or_default();
        list.retain(|(k, a)| *a != action && !keys.contains(k));
        list.extend(keys.iter().map(|&k| (k, action)));
    }

    /// The action a key means in a mode.
    pub fn action(&self, mode: Mode, key: Key) -> Option<Action> {
        self.modes
            .get(&mode)?
            .iter()
            .find(|(k, _)| *k == key)
            .map(|&(_, a)| a)
    }

    /// Keys bound to an action in a mode, in binding order.
    pub fn keys_for(&self, mode: Mode, action: Action) -> Vec<Key> {
        self.modes
            .get(&mode)
            .map(|v| {
                v.iter()
                    .filter(|(_, a)| *a == action)
                    .map(|&(k, _)| k)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every action of a mode with its keys, in first-binding order.
    pub fn bindings(&self, mode: Mode) -> Vec<(Action, Vec<Key>)> {
        let mut out: Vec<(Action, Vec<Key>)> = Vec::new();
        for &(k, a) in self.modes.get(&mode).map(|v| v.as_slice()).unwrap_or(&[]) {
            match out.iter_mut().find(|(x, _)| *x == a) {
                Some((_, ks)) => ks.push(k),
                None => out.push((a, vec![k])),
            }
        }
        out
    }

    /// The first key of an action, for hints (`None` when unbound).
    pub fn hint(&self, mode: Mode, action: Action) -> Option<String> {
        self.keys_for(mode, action).first().map(|k| k.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys() {
        assert_eq!(Key::parse("R").unwrap(), Key::ch('R'));
        assert_eq!(Key::parse("shift-r").unwrap(), Key::ch('R'));
        assert_eq!(Key::parse("ctrl-s").unwrap(), Key::ctrl('s'));
        assert_eq!(Key::parse("S-Tab").unwrap(), Key::plain(KeyCode::BackTab));
        assert_eq!(Key::parse("F5").unwrap(), Key::plain(KeyCode::F(5)));
        assert!(Key::parse("hyper-q").is_err());
        let ev = KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&ev), Some(Key::ch('R')));
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let mut km = Keymap::default();
        let t: toml::Table =
            toml::from_str("step = \"n\"\n[edit]\nsave = [\"ctrl-w\"]\n[normal]\nbogus = \"z\"")
                .unwrap();
        let w = km.apply(&t);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(km.action(Mode::Normal, Key::ch('n')), Some(Action::Step));
        assert_eq!(km.action(Mode::Normal, Key::ch('s')), None);
        // `n` was next-record; it now steps, and next-record has no key left.
        assert!(km.keys_for(Mode::Normal, Action::NextRecord).is_empty());
        assert_eq!(km.action(Mode::Edit, Key::ctrl('w')), Some(Action::Save));
        assert_eq!(km.action(Mode::Edit, Key::ctrl('s')), None);
        assert_eq!(km.action(Mode::Normal, Key::ch('r')), Some(Action::RunAll));
    }

    #[test]
    fn every_mode_can_close_or_quit_and_cancel() {
        let km = Keymap::default();
        for m in Mode::ALL {
            let b = km.bindings(m);
            assert!(
                b.iter()
                    .any(|(a, _)| matches!(a, Action::Close | Action::Quit)),
                "{m:?}"
            );
            assert!(!km.keys_for(m, Action::Cancel).is_empty(), "{m:?}");
        }
    }
}
