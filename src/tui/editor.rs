//! The list editor: one stage list as lines of text (`name | code`), edited
//! freely in a text area; saving parses the lines back into items (items
//! left untouched keep their evidence and provenance), commits them as the
//! coder's edit and teaches the alias memory what was corrected.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Widget};
use ratatui_textarea::{CursorMove, TextArea};

use super::action::Action;
use super::app::{App, Level, Overlay};
use super::editlist::{item_line, parse_lines};
use super::keymap::Mode;
use super::layout::popup;
use super::popup::Popup;
use crate::i18n::{self, Msg};
use crate::pipeline::{Item, StageKind};
use crate::record::Track;
use crate::tr;

/// The editor's state.
pub struct EditPopup {
    pub track: Track,
    pub kind: StageKind,
    pub area: TextArea<'static>,
    /// The list when editing began (to keep untouched items as they were).
    pub original: Vec<Item>,
}

impl EditPopup {
    /// Opens the focused list in the editor, the cursor on the focused
    /// item, or on a new empty line below it when `insert`.
    pub fn open(app: &mut App, insert: bool) {
        let Some((t, k)) = app.editable() else {
            return;
        };
        let items = app.items(t, k);
        let mut lines: Vec<String> = items.iter().map(item_line).collect();
        let cursor = app.list_state(t, k).cursor;
        let row = if insert {
            let at = if items.is_empty() { 0 } else { cursor + 1 };
            lines.insert(at, String::new());
            at
        } else {
            cursor.min(lines.len().saturating_sub(1))
        };
        let mut area = TextArea::new(lines);
        area.set_style(app.cfg.theme.popup);
        area.set_cursor_style(app.cfg.theme.selected);
        area.move_cursor(CursorMove::Jump(row as u16, 0));
        if !insert {
            area.move_cursor(CursorMove::End);
        }
        app.overlay = Overlay::Popup(Box::new(EditPopup {
            track: t,
            kind: k,
            area,
            original: items,
        }));
    }

    /// Parses the lines and commits them when they changed anything.
    fn save(&self, app: &mut App) {
        let lang = app.cfg.lang;
        let parsed = parse_lines(
            self.area.lines(),
            &self.original,
            self.track,
            app.ctx.as_deref(),
            lang,
        );
        if parsed.items == self.original {
            app.say(Msg::StatusNoChange, Level::Info);
            return;
        }
        let n = parsed.items.len();
        let stage = i18n::stage_title(lang, self.kind);
        let what = tr!(lang, WhatEdited, stage = stage, n = n);
        app.commit_teaching(self.track, self.kind, parsed.items, &what);
        if let Some(w) = parsed.warnings.first() {
            app.set_status(w.clone(), Level::Warn);
        }
    }
}

impl Popup for EditPopup {
    fn mode(&self) -> Mode {
        Mode::Edit
    }

    fn handle(&mut self, app: &mut App, a: Action) -> bool {
        match a {
            Action::Save => {
                self.save(app);
                false
            }
            Action::Close => {
                app.say(Msg::StatusEditDiscarded, Level::Info);
                false
            }
            _ => true,
        }
    }

    fn key_event(&mut self, ev: &KeyEvent) -> bool {
        self.area.input(*ev);
        true
    }

    fn paste(&mut self, text: &str) {
        self.area.insert_str(text);
    }

    fn wheel(&mut self, d: isize) {
        self.area.scroll((d as i16, 0));
    }

    fn area(&self, screen: Rect) -> Rect {
        popup(
            screen,
            screen.width.saturating_sub(4).min(96),
            screen.height.saturating_sub(4).min(24),
        )
    }

    fn render(&self, app: &App, buf: &mut Buffer, area: Rect) {
        let t = &app.cfg.theme;
        let lang = app.cfg.lang;
        let title = tr!(
            lang,
            EditTitle,
            track = i18n::track_name(lang, self.track),
            stage = i18n::stage_title(lang, self.kind)
        );
        let keys = &app.cfg.keymap;
        let save = keys.hint(Mode::Edit, Action::Save).unwrap_or_default();
        let close = keys.hint(Mode::Edit, Action::Close).unwrap_or_default();
        let bottom = tr!(lang, EditBottom, save = save, close = close);
        let block = Block::bordered()
            .border_style(t.border_focus)
            .style(t.popup)
            .title(Span::styled(title, t.title))
            .title_bottom(Span::styled(bottom, t.hint));
        let inner = block.inner(area);
        block.render(area, buf);
        (&self.area).render(inner, buf);
    }
}
