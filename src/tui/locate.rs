//! The alphabetic index browser (Locate, 查字母索引): the coder types a lead
//! term (characters or pinyin initials), opens it, walks its subterms,
//! follows "见…" / "另见…" cross-references (and comes back), and lands on
//! a code, which opens in the code search (hierarchy and notes: the
//! tabular check) or goes straight into the focused list as the coder's
//! item. Rows the index's OCR read with a confidence under 0.9 are marked.
//! The index is the one imported with `icdflow import --index FILE`.

use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Widget};

use super::action::Action;
use super::app::{coder_item, App, Focus, Level, Overlay};
use super::keymap::{Key, Mode};
use super::popup::{self, Popup};
use super::search::SearchPopup;
use super::ui::{fit_span, put_line, put_row};
use super::width;
use crate::i18n::{self, Msg};
use crate::pipeline::StageKind;
use crate::record::Track;
use crate::terminology::alphabetic::{AlphaIndex, AlphaIndexes};
use crate::terminology::CodeSystem;
use crate::tr;

/// Lead terms listed for a query.
const MAX_HITS: usize = 200;

/// What the popup lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Lead terms matching the query.
    Leads,
    /// One lead term and all its subterms.
    Tree { lead: usize },
}

/// The popup's state.
pub struct LocatePopup {
    indexes: AlphaIndexes,
    index: Arc<AlphaIndex>,
    /// The list an accepted code goes to, and the cursor there.
    target: Option<(Track, StageKind, usize)>,
    pub query: String,
    /// Lead-term rows matching the query.
    pub hits: Vec<usize>,
    pub view: View,
    /// Row index in the list shown.
    pub cursor: usize,
    /// Where a cross-reference was followed from (view, cursor).
    history: Vec<(View, usize)>,
}

fn track_of(system: CodeSystem) -> Track {
    match system {
        CodeSystem::Icd10 => Track::Diagnosis,
        CodeSystem::Icd9Cm3 => Track::Procedure,
    }
}

impl LocatePopup {
    /// Opens the browser on the index of the focused track (or says why
    /// it cannot).
    pub fn open(app: &mut App) {
        let indexes = app.cfg.alpha.clone();
        let (track, target) = match app.focus {
            Focus::Stage(t, k) => (t, Some((t, k, app.list_state(t, k).cursor))),
            Focus::Record => (Track::Diagnosis, None),
        };
        let want = CodeSystem::for_track(track);
        let Some(index) = indexes
            .get(want)
            .or(indexes.icd10.as_ref())
            .or(indexes.icd9cm3.as_ref())
            .cloned()
        else {
            app.say(Msg::LocateNoIndex, Level::Info);
            return;
        };
        let p = LocatePopup::new(indexes, index, target);
        app.overlay = Overlay::Popup(Box::new(p));
    }

    pub fn new(
        indexes: AlphaIndexes,
        index: Arc<AlphaIndex>,
        target: Option<(Track, StageKind, usize)>,
    ) -> Self {
        LocatePopup {
            indexes,
            index,
            target,
            query: String::new(),
            hits: Vec::new(),
            view: View::Leads,
            cursor: 0,
            history: Vec::new(),
        }
    }

    fn track(&self) -> Track {
        track_of(self.index.system)
    }

    /// The rows of the list shown (index entries).
    fn rows(&self) -> Vec<usize> {
        match self.view {
            View::Leads => self.hits.clone(),
            View::Tree { lead } => self.index.subtree(lead).collect(),
        }
    }

    /// The highlighted index entry.
    pub fn selected(&self) -> Option<usize> {
        match self.view {
            View::Leads => self.hits.get(self.cursor).copied(),
            View::Tree { lead } => self.index.subtree(lead).nth(self.cursor),
        }
    }

    fn refresh(&mut self) {
        self.hits = self.index.search(&self.query, MAX_HITS);
        self.view = View::Leads;
        self.cursor = 0;
        self.history.clear();
    }

    /// Shows the tree of the lead term of `entry` with `entry` highlighted.
    fn show(&mut self, entry: usize) {
        let lead = self.index.lead_of(entry);
        self.view = View::Tree { lead };
        self.cursor = entry - lead;
    }

    /// The names from the lead term down to `entry`: `心绞痛 › 不稳定型`.
    pub fn breadcrumb(&self, entry: usize) -> String {
        self.index
            .path(entry)
            .iter()
            .map(|&e| crate::terminology::alphabetic::clean(&self.index.entries[e].text))
            .collect::<Vec<_>>()
            .join(" › ")
    }

    /// Follows the highlighted row's cross-reference.
    fn follow(&mut self, app: &mut App) {
        let Some(e) = self.selected() else { return };
        let Some(x) = self.index.entries[e].cross_ref() else {
            app.say(Msg::LocateNoCrossRef, Level::Info);
            return;
        };
        let see = if x.also { "另见" } else { "见" };
        match self.index.follow(&x.target) {
            Some(l) => {
                self.history.push((self.view, self.cursor));
                self.show(l.entry);
                let mut msg = format!("{see} {} → {}", x.target, self.breadcrumb(l.entry));
                if l.found < l.parts {
                    msg.push_str(tr!(app.cfg.lang, LocatePathRest));
                }
                if let Some(c) = l.column {
                    let (_, zh) = crate::terminology::alphabetic::NEOPLASM_COLUMNS[c];
                    msg.push_str(&format!(
                        " · {zh} {}",
                        self.index.entries[l.entry].neoplasm[c]
                    ));
                }
                app.set_status(msg, Level::Info);
            }
            None => {
                let msg = tr!(app.cfg.lang, LocateNoLead, see = see, target = x.target);
                app.set_status(msg, Level::Info)
            }
        }
    }

    fn back(&mut self) {
        match self.history.pop() {
            Some((v, c)) => {
                self.view = v;
                self.cursor = c;
            }
            None => {
                if let View::Tree { lead } = self.view {
                    self.view = View::Leads;
                    self.cursor = self.hits.iter().position(|&h| h == lead).unwrap_or(0);
                }
            }
        }
    }

    /// The highlighted row's code in the loaded table: (printed, table code).
    fn code(&self, app: &App) -> Option<(String, Option<String>)> {
        let e = self.selected()?;
        let entry = &self.index.entries[e];
        if entry.code.is_empty() {
            return None;
        }
        let table = app.ctx.as_ref().and_then(|c| {
            self.index
                .table_code(e, None, c.matcher(self.track()).terminology())
        });
        Some((entry.code.clone(), table))
    }

    /// Opens the highlighted code in the code search (the tabular view:
    /// hierarchy, notes), aimed at the focused list.
    fn tabular(&self, app: &mut App) -> bool {
        if app.ctx.is_none() {
            app.say(Msg::StatusTablesLoading, Level::Info);
            return true;
        }
        let Some((printed, table)) = self.code(app) else {
            app.say(Msg::LocateNoCodeRow, Level::Info);
            return true;
        };
        let query = table.unwrap_or_else(|| {
            printed
                .split([' ', '+', '†', '*'])
                .find(|s| !s.is_empty())
                .unwrap_or(&printed)
                .trim_end_matches(['-', '.'])
                .to_string()
        });
        let mut search = SearchPopup::new(query, self.track(), self.target);
        search.idle(app);
        app.overlay = Overlay::Popup(Box::new(search));
        false
    }

    /// Puts the highlighted code into the focused list as the coder's item.
    /// True when it did (the popup closes).
    fn accept(&self, app: &mut App) -> bool {
        let Some(e) = self.selected() else {
            return false;
        };
        let Some((printed, table)) = self.code(app) else {
            let msg = if self.index.entries[e].cross_ref().is_some() {
                Msg::LocateNoCodeFollow
            } else {
                Msg::LocateNoCodePick
            };
            app.say(msg, Level::Info);
            return false;
        };
        let Some((t, k, cursor)) = self.target else {
            let msg = tr!(app.cfg.lang, LocateFocusList, code = printed);
            app.set_status(msg, Level::Info);
            return false;
        };
        if t != self.track() {
            let msg = tr!(
                app.cfg.lang,
                LocateWrongTrack,
                code = printed,
                track = i18n::track_name(app.cfg.lang, self.track())
            );
            app.set_status(msg, Level::Warn);
            return false;
        }
        if app.busy() {
            app.say(Msg::StatusWaitJob, Level::Warn);
            return false;
        }
        let Some(ctx) = app.ctx.clone() else {
            app.say(Msg::StatusTablesLoading, Level::Info);
            return false;
        };
        let tbl = ctx.matcher(t).terminology();
        let Some(entry) = table.and_then(|c| tbl.get(&c)).cloned() else {
            let msg = tr!(
                app.cfg.lang,
                LocateNotInTable,
                code = printed,
                table = tbl.label
            );
            app.set_status(msg, Level::Warn);
            return false;
        };
        if !entry.assignable {
            let msg = tr!(app.cfg.lang, LocateHeading, code = entry.code);
            app.set_status(msg, Level::Warn);
            return false;
        }
        let items = app
            .run()
            .stage(t, k)
            .map(|s| s.items.clone())
            .unwrap_or_default();
        if app.already_listed(&items, k, &entry.code) {
            return false;
        }
        let path = self.breadcrumb(e);
        let item = coder_item(&entry.name, &entry.code, format!("字母索引 {path}"));
        let what = tr!(
            app.cfg.lang,
            LocateAccepted,
            code = entry.code,
            name = entry.name,
            path = path
        );
        app.insert_below(t, k, items, cursor, item, &what);
        true
    }

    fn switch(&mut self, app: &mut App) {
        let other = match self.index.system {
            CodeSystem::Icd10 => CodeSystem::Icd9Cm3,
            CodeSystem::Icd9Cm3 => CodeSystem::Icd10,
        };
        match self.indexes.get(other) {
            Some(i) => {
                self.index = i.clone();
                self.refresh();
            }
            None => app.say(Msg::LocateNoOther, Level::Info),
        }
    }

    fn system_label(&self, lang: i18n::Lang) -> &'static str {
        match self.index.system {
            CodeSystem::Icd10 => Msg::SystemIcd10,
            CodeSystem::Icd9Cm3 => Msg::SystemIcd9,
        }
        .text(lang)
    }
}

impl Popup for LocatePopup {
    fn mode(&self) -> Mode {
        Mode::Locate
    }

    fn handle(&mut self, app: &mut App, a: Action) -> bool {
        let page = popup::list_height(self.area(app.size)).saturating_sub(2);
        if let Some(d) = popup::step(a, page) {
            self.cursor = popup::moved(self.cursor, d, self.rows().len());
            return true;
        }
        match a {
            Action::Close => return false,
            Action::Select => match self.view {
                View::Leads => {
                    if let Some(e) = self.selected() {
                        self.show(e);
                    }
                }
                View::Tree { .. } => {
                    let e = self.selected();
                    let has_code = e.is_some_and(|e| !self.index.entries[e].code.is_empty());
                    let has_ref = e.is_some_and(|e| self.index.entries[e].cross_ref().is_some());
                    if has_code {
                        return !self.accept(app);
                    } else if has_ref {
                        self.follow(app);
                    } else {
                        app.set_status("no code here: pick a subterm", Level::Info);
                    }
                }
            },
            Action::Follow => self.follow(app),
            Action::Back => self.back(),
            Action::Tabular => return self.tabular(app),
            Action::SwitchTable => self.switch(app),
            _ => {}
        }
        true
    }

    fn typed(&mut self, key: Key) -> bool {
        // The index is small: the lookup runs on every key.
        let typed = popup::type_into(&mut self.query, &mut false, key);
        if typed {
            self.refresh();
        }
        typed
    }

    fn area(&self, screen: Rect) -> Rect {
        popup::centered(screen, 120, 34)
    }

    fn click(&mut self, area: Rect, row: u16) {
        let h = popup::list_height(area).saturating_sub(2);
        if let Some(r) = popup::clicked_row(area, row, self.cursor, h, self.rows().len()) {
            self.cursor = r;
        }
    }

    fn wheel(&mut self, d: isize) {
        self.cursor = popup::moved(self.cursor, d, self.rows().len());
    }

    fn render(&self, app: &App, buf: &mut Buffer, area: Rect) {
        let t = &app.cfg.theme;
        let lang = app.cfg.lang;
        let title = tr!(
            lang,
            LocateTitle,
            system = self.system_label(lang),
            label = self.index.label
        );
        let block = Block::bordered()
            .border_style(t.border_focus)
            .style(t.popup)
            .title(Span::styled(
                width::truncate(&title, area.width.saturating_sub(2) as usize),
                t.title,
            ));
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.height < 6 || inner.width < 10 {
            return;
        }
        let w = inner.width as usize;
        // The query line.
        let mut left = w;
        let q = vec![
            fit_span("› ", &mut left, t.key),
            fit_span(&self.query, &mut left, t.popup),
            fit_span("▏", &mut left, t.border_focus),
        ];
        put_line(buf, inner.x, inner.y, inner.width, q, t.popup);
        // The info line: what the list is, and the keys that matter.
        let info = match self.view {
            View::Leads if self.query.trim().is_empty() => tr!(lang, LocateTypeLead).to_string(),
            View::Leads => tr!(lang, LocateLeads, n = self.hits.len()),
            View::Tree { .. } => {
                let crumb = self
                    .selected()
                    .map(|e| self.breadcrumb(e))
                    .unwrap_or_default();
                tr!(lang, LocateTreeInfo, crumb = crumb)
            }
        };
        put_line(
            buf,
            inner.x,
            inner.y + 1,
            inner.width,
            vec![Span::styled(width::truncate(&info, w), t.dim)],
            t.popup,
        );
        let list_h = inner.height.saturating_sub(4) as usize;
        let list_y = inner.y + 2;
        let rows = self.rows();
        let offset = popup::offset(self.cursor, list_h);
        let base_depth = match self.view {
            View::Tree { lead } => self.index.entries[lead].depth,
            View::Leads => 0,
        };
        for (y, (i, &e)) in rows
            .iter()
            .enumerate()
            .skip(offset)
            .take(list_h)
            .enumerate()
        {
            let entry = &self.index.entries[e];
            let mut left = w;
            let conf = match entry.confidence {
                Some(c) if entry.doubtful() => (format!(" ⚠{c:.2}"), t.warning),
                Some(c) => (format!("  {c:.2}"), t.dim),
                None => (String::new(), t.dim),
            };
            let code = if !entry.code.is_empty() {
                (entry.code.clone(), t.code)
            } else if entry.cross_ref().is_some() {
                ("→ 见".to_string(), t.key)
            } else if !entry.neoplasm_codes().is_empty() {
                (tr!(lang, LocateNeoplasm).to_string(), t.dim)
            } else {
                (String::new(), t.dim)
            };
            let indent = match self.view {
                View::Tree { .. } => 2 * (entry.depth - base_depth) as usize,
                View::Leads => 0,
            };
            let more = match self.view {
                View::Leads => {
                    let n = self.index.subtree(e).len() - 1;
                    if n > 0 {
                        format!(" (+{n})")
                    } else {
                        String::new()
                    }
                }
                View::Tree { .. } => String::new(),
            };
            let code_w = 16;
            let conf_w = width::width(&conf.0);
            let text_w = w.saturating_sub(indent + code_w + conf_w + 1);
            let text = width::fit(&format!("{}{more}", entry.text), text_w);
            let text_style = if entry.doubtful() {
                t.low_confidence
            } else {
                t.popup
            };
            let spans = vec![
                fit_span(&" ".repeat(indent), &mut left, t.popup),
                fit_span(&text, &mut left, text_style),
                fit_span(" ", &mut left, t.popup),
                fit_span(&width::fit(&code.0, code_w), &mut left, code.1),
                fit_span(&conf.0, &mut left, conf.1),
            ];
            put_row(
                buf,
                inner.x,
                list_y + y as u16,
                inner.width,
                spans,
                t.popup,
                (i == self.cursor).then_some(t.selected),
            );
        }
        if rows.is_empty() && !self.query.trim().is_empty() {
            put_line(
                buf,
                inner.x,
                list_y,
                inner.width,
                vec![Span::styled(tr!(lang, LocateNoMatch), t.dim)],
                t.popup,
            );
        }
        // Detail of the highlighted row: English, page, the code in the table.
        let Some(e) = self.selected() else { return };
        let entry = &self.index.entries[e];
        let mut d1 = String::new();
        if !entry.english.is_empty() {
            d1.push_str(&entry.english);
        }
        if let Some(p) = entry.page {
            d1.push_str(&tr!(lang, LocatePage, p = p));
        }
        for (zh, c) in entry.neoplasm_codes() {
            d1.push_str(&format!(" · {zh} {c}"));
        }
        if let Some(c) = entry.confidence {
            d1.push_str(&format!(" · OCR {c:.2}"));
        }
        let d2 = match (self.code(app), entry.cross_ref()) {
            (Some((printed, Some(code))), _) => {
                let name = app
                    .ctx
                    .as_ref()
                    .and_then(|c| c.matcher(self.track()).terminology().get(&code).cloned());
                match name {
                    Some(n) if n.assignable => format!("{printed} → {} {}", n.code, n.name),
                    Some(n) => tr!(
                        lang,
                        LocateCodeHeading,
                        printed = printed,
                        code = n.code,
                        name = n.name
                    ),
                    None => format!("{printed} → {code}"),
                }
            }
            (Some((printed, None)), _) if app.ctx.is_none() => {
                tr!(lang, LocateCodeLoading, printed = printed)
            }
            (Some((printed, None)), _) => tr!(lang, LocateCodeNotInTable, printed = printed),
            (None, Some(x)) => {
                let see = if x.also { "另见" } else { "见" };
                match self.index.follow(&x.target) {
                    Some(l) => format!("{see} {} → {}", x.target, self.breadcrumb(l.entry)),
                    None => tr!(lang, LocateNotTerm, see = see, target = x.target),
                }
            }
            (None, None) => String::new(),
        };
        let y = inner.y + inner.height - 2;
        put_line(
            buf,
            inner.x,
            y,
            inner.width,
            vec![Span::styled(width::truncate(&d1, w), t.dim)],
            t.popup,
        );
        put_line(
            buf,
            inner.x,
            y + 1,
            inner.width,
            vec![Span::styled(width::truncate(&d2, w), t.code)],
            t.popup,
        );
    }
}
