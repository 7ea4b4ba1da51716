//! The record picker: the loaded records filtered by id or by any text in
//! them, each with a mark when a saved session exists and a preview of its
//! discharge diagnoses; Enter opens one.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::action::Action;
use super::app::{App, Overlay};
use super::keymap::{Key, Mode};
use super::popup::{self, Popup};
use super::ui::{fit_span, put_row};
use super::width;
use crate::record::fields::DISCHARGE_DIAGNOSIS;
use crate::tr;

/// The popup's state.
#[derive(Debug, Clone)]
pub struct PickerPopup {
    pub query: String,
    /// Indices into the app's records that match the query.
    pub hits: Vec<usize>,
    pub cursor: usize,
    /// Per record: a saved session exists.
    pub has_session: Vec<bool>,
    /// The query changed since the last filtering.
    stale: bool,
}

impl PickerPopup {
    /// Opens the picker on every record, the cursor on the open one.
    pub fn open(app: &mut App) {
        let has_session = app
            .records
            .iter()
            .map(|r| app.store.path_for(&r.id).exists())
            .collect();
        let mut p = PickerPopup {
            query: String::new(),
            hits: Vec::new(),
            cursor: 0,
            has_session,
            stale: true,
        };
        p.idle(app);
        p.cursor = p.hits.iter().position(|&i| i == app.current).unwrap_or(0);
        app.overlay = Overlay::Popup(Box::new(p));
    }
}

impl Popup for PickerPopup {
    fn mode(&self) -> Mode {
        Mode::Picker
    }

    fn handle(&mut self, app: &mut App, a: Action) -> bool {
        let page = popup::list_height(self.area(app.size));
        if let Some(d) = popup::step(a, page) {
            self.cursor = popup::moved(self.cursor, d, self.hits.len());
            return true;
        }
        match a {
            Action::Close => false,
            Action::Select => match self.hits.get(self.cursor) {
                Some(&i) => {
                    app.open_record(i);
                    false
                }
                None => true,
            },
            _ => true,
        }
    }

    fn typed(&mut self, key: Key) -> bool {
        let typed = popup::type_into(&mut self.query, &mut false, key);
        self.stale |= typed;
        typed
    }

    fn idle(&mut self, app: &App) -> bool {
        if !std::mem::take(&mut self.stale) {
            return false;
        }
        let q = self.query.trim().to_lowercase();
        self.hits = app
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                q.is_empty()
                    || r.id.to_lowercase().contains(&q)
                    || r.sections
                        .iter()
                        .any(|s| s.text.to_lowercase().contains(&q))
            })
            .map(|(i, _)| i)
            .collect();
        self.cursor = 0;
        true
    }

    fn area(&self, screen: Rect) -> Rect {
        popup::centered(screen, 110, 30)
    }

    fn click(&mut self, area: Rect, row: u16) {
        let h = popup::list_height(area);
        if let Some(r) = popup::clicked_row(area, row, self.cursor, h, self.hits.len()) {
            self.cursor = r;
        }
    }

    fn wheel(&mut self, d: isize) {
        self.cursor = popup::moved(self.cursor, d, self.hits.len());
    }

    fn render(&self, app: &App, buf: &mut Buffer, area: Rect) {
        let t = &app.cfg.theme;
        let lang = app.cfg.lang;
        let total = app.records.len();
        let info = tr!(lang, PickerInfo, n = self.hits.len(), total = total);
        let title = tr!(lang, PickerTitle);
        let query = (self.query.as_str(), false);
        let Some(list) = popup::query_frame(app, buf, area, title, query, &info) else {
            return;
        };
        let h = list.height as usize;
        let offset = popup::offset(self.cursor, h);
        let id_w = app
            .records
            .iter()
            .map(|r| width::width(&r.id))
            .max()
            .unwrap_or(8)
            .min(24);
        for (row, (i, &ri)) in self
            .hits
            .iter()
            .enumerate()
            .skip(offset)
            .take(h)
            .enumerate()
        {
            let r = &app.records[ri];
            let sel = i == self.cursor;
            let preview = r
                .section(DISCHARGE_DIAGNOSIS)
                .or_else(|| {
                    r.sections
                        .iter()
                        .map(|s| s.text.as_str())
                        .find(|s| !s.trim().is_empty())
                })
                .unwrap_or("")
                .replace(['\n', '\r'], " ");
            let mut left = list.width as usize;
            let mark = if self.has_session.get(ri) == Some(&true) {
                "✎ "
            } else {
                "  "
            };
            let spans = vec![
                fit_span(mark, &mut left, t.status_edited),
                fit_span(&width::fit(&r.id, id_w), &mut left, t.code),
                fit_span("  ", &mut left, t.popup),
                fit_span(&preview, &mut left, t.popup),
            ];
            put_row(
                buf,
                list.x,
                list.y + row as u16,
                list.width,
                spans,
                t.popup,
                sel.then_some(t.selected),
            );
        }
    }
}
