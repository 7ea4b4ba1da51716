//! Colour themes from `themes/*.toml`. The three shipped themes are
//! embedded so a fresh install works; a user theme file (in
//! `<config_dir>/themes/<name>.toml`, or any path) overrides only the styles
//! it sets, on top of the shipped theme of that name (or the dark default).

use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// Shipped themes: (name, TOML text).
pub const BUILTIN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// One style as written in a theme file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    bold: Option<bool>,
    dim: Option<bool>,
    italic: Option<bool>,
    underline: Option<bool>,
    reversed: Option<bool>,
    crossed: Option<bool>,
}

impl StyleSpec {
    fn to_style(&self, what: &str) -> Result<Style, String> {
        let color = |s: &Option<String>| -> Result<Option<Color>, String> {
            s.as_deref()
                .map(|c| Color::from_str(c).map_err(|_| format!("{what}: unknown colour `{c}`")))
                .transpose()
        };
        let mut st = Style::default();
        if let Some(c) = color(&self.fg)? {
            st = st.fg(c);
        }
        if let Some(c) = color(&self.bg)? {
            st = st.bg(c);
        }
        for (flag, m) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underline, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
            (self.crossed, Modifier::CROSSED_OUT),
        ] {
            match flag {
                Some(true) => st = st.add_modifier(m),
                Some(false) => st = st.remove_modifier(m),
                None => {}
            }
        }
        Ok(st)
    }
}

#[derive(Debug, Deserialize)]
struct ThemeFile {
    name: Option<String>,
    #[serde(default)]
    styles: toml::Table,
}

macro_rules! theme_styles {
    ($($(#[$doc:meta])* $field:ident),* $(,)?) => {
        /// Every style the interface uses.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            pub name: String,
            $($(#[$doc])* pub $field: Style,)*
        }

        impl Theme {
            fn blank() -> Self {
                Theme { name: String::new(), $($field: Style::default(),)* }
            }

            fn slot(&mut self, key: &str) -> Option<&mut Style> {
                match key {
                    $(stringify!($field) => Some(&mut self.$field),)*
                    _ => None,
                }
            }
        }
    };
}

theme_styles! {
    /// Text and background of the whole screen.
    base,
    border,
    border_focus,
    title,
    header,
    /// Cursor line of the focused pane.
    selected,
    /// Cursor line of other panes.
    selected_unfocused,
    dim,
    /// Record text supporting the focused item.
    evidence,
    /// The ★ of the principal item.
    principal,
    low_confidence,
    warning,
    code,
    status_pending,
    status_running,
    status_fresh,
    status_stale,
    status_edited,
    status_failed,
    status_off,
    origin_agent,
    origin_retrieval,
    origin_rule,
    origin_coder,
    origin_learned,
    /// Trainer mode: an item the stage added.
    added,
    /// Trainer mode: an item the stage removed.
    removed,
    /// Trainer mode: an item the stage moved.
    moved,
    key,
    hint,
    message,
    error,
    popup,
    /// Trainer notes.
    note,
    /// Tokens streaming from an agent.
    stream,
}

impl Default for Theme {
    fn default() -> Self {
        let mut t = Theme::blank();
        t.merge_toml(BUILTIN[0].1)
            .expect("the embedded dark theme is valid");
        t
    }
}

impl Theme {
    /// Names of the shipped themes.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    /// Overlays the styles a theme file sets. Unknown style names and bad
    /// colours are errors (a typo should not silently do nothing).
    pub fn merge_toml(&mut self, text: &str) -> Result<(), String> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some(n) = file.name {
            self.name = n;
        }
        for (key, value) in &file.styles {
            let spec: StyleSpec = value
                .clone()
                .try_into()
                .map_err(|e| format!("style `{key}`: {e}"))?;
            let style = spec.to_style(key)?;
            let Some(slot) = self.slot(key) else {
                return Err(format!("unknown style `{key}`"));
            };
            // Overlaying keeps what the file leaves out (say, a bg).
            *slot = slot.patch(style);
        }
        Ok(())
    }

    /// Loads a theme by name or path: the dark default, then the shipped
    /// theme of that name, then the user's file of that name. Problems are
    /// returned as warnings with the best theme that could be built.
    pub fn load(name: Option<&str>, config_dir: Option<&Path>) -> (Theme, Vec<String>) {
        let mut theme = Theme::default();
        let mut warnings = Vec::new();
        let name = name.unwrap_or("dark").trim();
        let as_path = Path::new(name);
        if name.ends_with(".toml") || name.contains('/') {
            match std::fs::read_to_string(as_path) {
                Ok(text) => {
                    if let Err(e) = theme.merge_toml(&text) {
                        warnings.push(format!("{}: {e}", as_path.display()));
                    }
                }
                Err(e) => warnings.push(format!("{}: {e}", as_path.display())),
            }
            return (theme, warnings);
        }
        let builtin = BUILTIN.iter().find(|(n, _)| *n == name);
        if let Some((_, text)) = builtin {
            if let Err(e) = theme.merge_toml(text) {
                warnings.push(format!("theme {name}: {e}"));
            }
        }
        let mut found_user = false;
        if let Some(dir) = config_dir {
            let path = dir.join("themes").join(format!("{name}.toml"));
            if let Ok(text) = std::fs::read_to_string(&path) {
                found_user = true;
                if let Err(e) = theme.merge_toml(&text) {
                    warnings.push(format!("{}: {e}", path.display()));
                }
            }
        }
        if builtin.is_none() && !found_user {
            warnings.push(format!(
                "no theme `{name}` (shipped: {}); using dark",
                Theme::builtin_names().join(", ")
            ));
        }
        (theme, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_themes_are_complete_and_valid() {
        for (name, text) in BUILTIN {
            let mut t = Theme::blank();
            t.merge_toml(text).unwrap();
            assert_eq!(t.name, name);
            let file: ThemeFile = toml::from_str(text).unwrap();
            let dark: ThemeFile = toml::from_str(BUILTIN[0].1).unwrap();
            let mut a: Vec<_> = file.styles.keys().collect();
            let mut b: Vec<_> = dark.styles.keys().collect();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{name} sets every style");
        }
    }

    #[test]
    fn user_file_overrides_only_what_it_sets() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("themes")).unwrap();
        std::fs::write(
            dir.path().join("themes/light.toml"),
            "[styles]\nevidence = { bg = \"red\" }\n",
        )
        .unwrap();
        let (t, w) = Theme::load(Some("light"), Some(dir.path()));
        assert!(w.is_empty(), "{w:?}");
        let (light, _) = Theme::load(Some("light"), None);
        assert_eq!(t.evidence.bg, Some(Color::Red));
        assert_eq!(t.evidence.fg, light.evidence.fg);
        assert_eq!(t.border, light.border);
        let (_, w) = Theme::load(Some("nope"), None);
        assert_eq!(w.len(), 1);
        let mut bad = Theme::default();
        assert!(bad
            .merge_toml("[styles]\nbordr = { fg = \"red\" }")
            .is_err());
        assert!(bad
            .merge_toml("[styles]\nborder = { fg = \"rouge\" }")
            .is_err());
    }
}
