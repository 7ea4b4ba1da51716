//! The code search popup: the coder types a name, alias or code, walks the
//! table's matches with each one's hierarchy, aliases and instructional
//! notes beside it, and sets the focused item to a code (Enter) or inserts
//! it below (Tab). Headings cannot be chosen; a code of the other table is
//! refused with the reason.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::action::Action;
use super::app::{App, Focus, Level};
use super::keymap::{Key, Mode};
use super::popup::{self, wrapped, Popup};
use super::ui::{fit_span, put_line, put_row};
use super::width;
use crate::i18n::{self, Msg};
use crate::pipeline::{Item, Origin, StageKind};
use crate::record::Track;
use crate::search::{Match, MatchOptions};
use crate::tr;

/// The popup's state.
#[derive(Debug, Clone)]
pub struct SearchPopup {
    pub query: String,
    /// The query was prefilled: the first typed char replaces it.
    pub prefilled: bool,
    pub track: Track,
    pub hits: Vec<Match>,
    pub cursor: usize,
    /// The item a chosen code goes to (track, stage, row); `None` when the
    /// record pane had the focus and the search only browses.
    pub target: Option<(Track, StageKind, usize)>,
    /// The query changed since the last lookup (or the tables were still
    /// loading): [`Popup::idle`] runs it.
    stale: bool,
}

impl SearchPopup {
    /// Opens the search on the focused item, its text as the query.
    pub fn open(app: &mut App) {
        let (track, target, query) = match app.focused_item() {
            Some((t, k, c, item)) => (t, Some((t, k, c)), item.text.clone()),
            None => match app.focus {
                Focus::Stage(t, k) => (t, Some((t, k, 0)), String::new()),
                Focus::Record => (Track::Diagnosis, None, String::new()),
            },
        };
        let mut s = SearchPopup::new(query, track, target);
        s.idle(app);
        app.overlay = super::app::Overlay::Popup(Box::new(s));
    }

    /// A search for `query` in `track`'s table whose choice goes to
    /// `target`; the lookup runs on the next [`Popup::idle`].
    pub fn new(query: String, track: Track, target: Option<(Track, StageKind, usize)>) -> Self {
        SearchPopup {
            prefilled: !query.is_empty(),
            query,
            track,
            hits: Vec::new(),
            cursor: 0,
            target,
            stale: true,
        }
    }

    /// The list and the detail pane inside the area below the query: side
    /// by side when wide, the detail below when narrow.
    fn split(body: Rect) -> (Rect, Rect) {
        if body.width >= 90 {
            let lw = body.width * 11 / 20;
            (
                Rect::new(body.x, body.y, lw, body.height),
                Rect::new(body.x + lw + 1, body.y, body.width - lw - 1, body.height),
            )
        } else {
            let dh = (body.height / 3).min(8);
            (
                Rect::new(body.x, body.y, body.width, body.height - dh),
                Rect::new(body.x, body.y + body.height - dh, body.width, dh),
            )
        }
    }

    /// Rows of the hit list in a popup of `area`.
    fn list_rows(area: Rect) -> usize {
        let body = Rect::new(
            area.x + 1,
            area.y + 3,
            area.width.saturating_sub(2),
            area.height.saturating_sub(4),
        );
        Self::split(body).0.height as usize
    }

    /// Puts the chosen code on the target item (or below it). False when
    /// the popup closes.
    fn apply(&self, app: &mut App, insert: bool) -> bool {
        let lang = app.cfg.lang;
        let Some(hit) = self.hits.get(self.cursor).cloned() else {
            app.say(Msg::StatusNoCodeSelected, Level::Info);
            return true;
        };
        let Some((t, k, c)) = self.target else {
            app.set_status(format!("{} {}", hit.code, hit.name), Level::Info);
            return false;
        };
        if t != self.track {
            let msg = tr!(
                lang,
                StatusOtherTableCode,
                code = hit.code,
                track = i18n::track_name(lang, self.track)
            );
            app.set_status(msg, Level::Warn);
            return true;
        }
        let assignable = app
            .ctx
            .as_ref()
            .is_some_and(|ctx| ctx.matcher(t).terminology().is_assignable(&hit.code));
        if !assignable {
            app.set_status(tr!(lang, StatusHeading, code = hit.code), Level::Warn);
            return true;
        }
        if app.busy() {
            app.say(Msg::StatusWaitJob, Level::Warn);
            return true;
        }
        let mut items = app.items(t, k);
        let mut item = Item::new(hit.name.clone(), Origin::Coder)
            .with_code(hit.code.clone())
            .with_confidence(1.0);
        let at;
        if insert || items.is_empty() {
            at = if items.is_empty() { 0 } else { c + 1 };
            items.insert(at, item);
        } else {
            at = c.min(items.len() - 1);
            let old = &items[at];
            item.evidence = old.evidence.clone();
            item.source = old.source.clone().or_else(|| Some(old.text.clone()));
            items[at] = item;
        }
        app.lists.entry((t, k)).or_default().cursor = at;
        let what = if insert {
            tr!(lang, WhatInserted, code = hit.code, name = hit.name)
        } else {
            tr!(lang, WhatSet, code = hit.code, name = hit.name)
        };
        app.commit_teaching(t, k, items, &what);
        false
    }
}

impl Popup for SearchPopup {
    fn mode(&self) -> Mode {
        Mode::Search
    }

    fn handle(&mut self, app: &mut App, a: Action) -> bool {
        let page = Self::list_rows(self.area(app.size));
        if let Some(d) = popup::step(a, page) {
            self.cursor = popup::moved(self.cursor, d, self.hits.len());
            return true;
        }
        match a {
            Action::Close => false,
            Action::SwitchTable => {
                self.track = match self.track {
                    Track::Diagnosis => Track::Procedure,
                    Track::Procedure => Track::Diagnosis,
                };
                self.stale = true;
                self.idle(app);
                true
            }
            Action::Select => self.apply(app, false),
            Action::InsertHit => self.apply(app, true),
            _ => true,
        }
    }

    fn typed(&mut self, key: Key) -> bool {
        // The lookup runs once per batch of typed keys (in `idle`), not
        // once per key: fast typing and pastes stay smooth on big tables.
        let typed = popup::type_into(&mut self.query, &mut self.prefilled, key);
        self.stale |= typed;
        typed
    }

    fn idle(&mut self, app: &App) -> bool {
        if !self.stale {
            return false;
        }
        let Some(ctx) = app.ctx.as_ref() else {
            return false;
        };
        let opts = MatchOptions {
            limit: 50,
            assignable_only: false,
        };
        self.hits = if self.query.trim().is_empty() {
            Vec::new()
        } else {
            ctx.matcher(self.track).lookup(&self.query, &opts)
        };
        self.cursor = 0;
        self.stale = false;
        true
    }

    fn area(&self, screen: Rect) -> Rect {
        popup::centered(screen, 120, 32)
    }

    fn click(&mut self, area: Rect, row: u16) {
        let h = Self::list_rows(area);
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
        let table = app
            .ctx
            .as_ref()
            .map(|c| c.matcher(self.track).terminology().label.clone())
            .unwrap_or_else(|| tr!(lang, SearchTablesLoading).into());
        let title = tr!(
            lang,
            SearchTitle,
            track = i18n::track_name(lang, self.track),
            system = match self.track {
                Track::Diagnosis => "ICD-10",
                Track::Procedure => "ICD-9-CM-3",
            },
            table = table
        );
        let target = match self.target {
            Some((tt, k, _)) if tt == self.track => {
                tr!(lang, SearchTarget, stage = i18n::stage_title(lang, k))
            }
            Some(_) => tr!(lang, SearchOtherTable).to_string(),
            None => tr!(lang, SearchBrowseOnly).to_string(),
        };
        let info = tr!(lang, SearchInfo, n = self.hits.len(), target = target);
        let query = (self.query.as_str(), self.prefilled);
        let Some(body) = popup::query_frame(app, buf, area, &title, query, &info) else {
            return;
        };
        let (list_area, detail) = Self::split(body);
        let h = list_area.height as usize;
        let offset = popup::offset(self.cursor, h);
        let tbl = app
            .ctx
            .as_ref()
            .map(|c| c.matcher(self.track).terminology());
        for (row, (i, m)) in self
            .hits
            .iter()
            .enumerate()
            .skip(offset)
            .take(h)
            .enumerate()
        {
            let sel = i == self.cursor;
            let assignable = tbl.is_some_and(|t| t.is_assignable(&m.code));
            let mut left = list_area.width as usize;
            let code_style = if assignable { t.code } else { t.dim };
            let mut spans = vec![
                fit_span(&width::fit(&m.code, 13), &mut left, code_style),
                fit_span(" ", &mut left, t.popup),
            ];
            let tier = format!(" {}", i18n::tier_name(lang, m.tier));
            let name_w = left.saturating_sub(width::width(&tier));
            spans.push(fit_span(&width::fit(&m.name, name_w), &mut left, t.popup));
            spans.push(fit_span(&tier, &mut left, t.dim));
            put_row(
                buf,
                list_area.x,
                list_area.y + row as u16,
                list_area.width,
                spans,
                t.popup,
                sel.then_some(t.selected),
            );
        }
        if self.hits.is_empty() {
            let msg = if app.ctx.is_none() {
                tr!(lang, SearchLoading)
            } else if self.query.trim().is_empty() {
                tr!(lang, SearchType)
            } else {
                tr!(lang, SearchNoMatch)
            };
            put_line(
                buf,
                list_area.x,
                list_area.y,
                list_area.width,
                vec![Span::styled(msg, t.dim)],
                t.popup,
            );
        }
        let lines = self.detail(app, detail.width as usize);
        for (i, l) in lines.into_iter().take(detail.height as usize).enumerate() {
            put_line(
                buf,
                detail.x,
                detail.y + i as u16,
                detail.width,
                l.spans,
                t.popup,
            );
        }
    }
}

impl SearchPopup {
    /// The detail of the hit under the cursor: its hierarchy, whether it is
    /// a heading, its aliases and children, and its instructional notes.
    fn detail(&self, app: &App, dw: usize) -> Vec<Line<'static>> {
        let t = &app.cfg.theme;
        let lang = app.cfg.lang;
        let mut lines: Vec<Line<'static>> = Vec::new();
        let tbl = app
            .ctx
            .as_ref()
            .map(|c| c.matcher(self.track).terminology());
        let (Some(m), Some(tbl)) = (self.hits.get(self.cursor), tbl) else {
            return lines;
        };
        lines.push(Line::from(Span::styled(
            tr!(lang, SearchHierarchy),
            t.header,
        )));
        for (depth, e) in tbl.path(&m.code).iter().enumerate() {
            let mut left = dw;
            lines.push(Line::from(vec![
                fit_span(&" ".repeat(depth * 2), &mut left, t.popup),
                fit_span(&format!("{} ", e.code), &mut left, t.code),
                fit_span(&e.name, &mut left, t.popup),
            ]));
        }
        if let Some(e) = tbl.get(&m.code) {
            if !e.assignable {
                lines.push(Line::from(Span::styled(
                    tr!(lang, SearchHeading),
                    t.warning,
                )));
            }
            if !e.aliases.is_empty() {
                let list = e.aliases.join("；");
                lines.extend(wrapped(
                    &tr!(lang, SearchAliases, list = list),
                    dw,
                    0,
                    t.dim,
                ));
            }
            let children = tbl.children(&e.code);
            if !children.is_empty() {
                let names: Vec<String> = children.iter().take(6).map(|c| c.code.clone()).collect();
                let list = names.join(" ");
                lines.extend(wrapped(&tr!(lang, SearchBelow, list = list), dw, 0, t.dim));
            }
        }
        lines.push(Line::from(Span::styled(tr!(lang, SearchNotes), t.header)));
        let notes = app
            .cfg
            .notes
            .as_ref()
            .map(|f| f(self.track, &m.code))
            .unwrap_or_default();
        if notes.is_empty() {
            lines.push(Line::from(Span::styled(tr!(lang, SearchNoNotes), t.dim)));
        }
        for n in notes {
            lines.extend(wrapped(&n, dw, 0, t.note));
        }
        lines
    }
}
