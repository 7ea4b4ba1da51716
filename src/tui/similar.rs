//! The similar-cases popup: the past coded records the learned model finds
//! most like the open one, with their final codes of the focused track. The
//! coder moves over those codes and adopts one into the focused stage list
//! as their own item (saved, audited, later stages stale, like any edit).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::action::Action;
use super::app::{coder_item, App, Focus, Level, Overlay};
use super::popup::{self, Popup};
use super::ui::{fit_span, put_line, put_row};
use super::width;
use crate::i18n::{self, Msg};
use crate::pipeline::StageKind;
use crate::record::Track;
use crate::tr;

/// How many similar cases the popup lists.
pub const K: usize = 8;

/// One past record as the popup shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseView {
    pub id: String,
    pub similarity: f32,
    pub summary: String,
    /// Final codes of the popup's track with the names the record gave,
    /// principal first.
    pub codes: Vec<(String, String)>,
}

/// A row of the popup's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// The case's id, similarity and summary.
    Case(usize),
    /// Code `j` of case `i`.
    Code(usize, usize),
    /// A case without codes on this track.
    NoCodes(usize),
}

/// The popup's state.
#[derive(Debug, Clone)]
pub struct SimilarPopup {
    pub record_id: String,
    pub track: Track,
    /// The list an adopted code goes to (`None`: the record pane had the
    /// focus, the popup only shows).
    pub target: Option<StageKind>,
    pub cases: Vec<CaseView>,
    /// Cases in the model's case base.
    pub total: usize,
    pub rows: Vec<Row>,
    /// Indices into `rows` of the code rows (the cursor moves over these).
    pub codes: Vec<usize>,
    /// Index into `codes`.
    pub cursor: usize,
}

impl SimilarPopup {
    /// Opens the popup on the open record (or says why it cannot).
    pub fn open(app: &mut App) {
        let Some(model) = app.cfg.learned.clone() else {
            app.say(Msg::SimilarNoModel, Level::Info);
            return;
        };
        let Some(ctx) = app.ctx.clone() else {
            app.say(Msg::StatusTablesLoading, Level::Info);
            return;
        };
        let (track, target) = match app.focus {
            Focus::Stage(t, k) => (t, Some(k)),
            Focus::Record => (Track::Diagnosis, None),
        };
        let record = app.record();
        let vector = model.vector(&ctx, record);
        let cases = model
            .cases
            .nearest(&record.id, &vector, K)
            .into_iter()
            .map(|s| CaseView {
                id: s.case.id.clone(),
                similarity: s.similarity,
                summary: s.case.summary.clone(),
                codes: s.case.codes(track).to_vec(),
            })
            .collect();
        let p = SimilarPopup::new(record.id.clone(), track, target, cases, model.cases.len());
        app.overlay = Overlay::Popup(Box::new(p));
    }

    pub fn new(
        record_id: String,
        track: Track,
        target: Option<StageKind>,
        cases: Vec<CaseView>,
        total: usize,
    ) -> Self {
        let mut rows = Vec::new();
        for (i, c) in cases.iter().enumerate() {
            rows.push(Row::Case(i));
            if c.codes.is_empty() {
                rows.push(Row::NoCodes(i));
            }
            rows.extend((0..c.codes.len()).map(|j| Row::Code(i, j)));
        }
        let codes = (0..rows.len())
            .filter(|&r| matches!(rows[r], Row::Code(..)))
            .collect();
        SimilarPopup {
            record_id,
            track,
            target,
            cases,
            total,
            rows,
            codes,
            cursor: 0,
        }
    }

    /// The highlighted case and code (code, name as the case gave it).
    pub fn selected(&self) -> Option<(&CaseView, &(String, String))> {
        let &r = self.codes.get(self.cursor)?;
        match self.rows[r] {
            Row::Code(i, j) => Some((&self.cases[i], &self.cases[i].codes[j])),
            _ => None,
        }
    }

    /// The list row of the cursor.
    fn cursor_row(&self) -> usize {
        self.codes.get(self.cursor).copied().unwrap_or(0)
    }

    /// Puts the highlighted code into the focused list as the coder's item.
    fn adopt(&self, app: &mut App) {
        let Some((case, (code, _))) = self.selected() else {
            app.say(Msg::SimilarNoCode, Level::Info);
            return;
        };
        let (t, id) = (self.track, case.id.clone());
        let Some(k) = self.target else {
            app.say(Msg::SimilarFocusList, Level::Info);
            return;
        };
        if app.busy() {
            app.say(Msg::StatusWaitJob, Level::Warn);
            return;
        }
        let Some(ctx) = app.ctx.clone() else {
            app.say(Msg::StatusTablesLoading, Level::Info);
            return;
        };
        let Some(entry) = ctx.matcher(t).terminology().get(code).cloned() else {
            let msg = tr!(app.cfg.lang, SimilarNotInTable, code = code);
            app.set_status(msg, Level::Warn);
            return;
        };
        if !entry.assignable {
            let msg = tr!(app.cfg.lang, StatusHeading, code = code);
            app.set_status(msg, Level::Warn);
            return;
        }
        let items = app
            .run()
            .stage(t, k)
            .map(|s| s.items.clone())
            .unwrap_or_default();
        if app.already_listed(&items, k, &entry.code) {
            return;
        }
        let cursor = app.list_state(t, k).cursor;
        let source = tr!(app.cfg.lang, SimilarSource, id = id);
        let item = coder_item(&entry.name, &entry.code, source);
        let what = tr!(
            app.cfg.lang,
            SimilarAdopted,
            code = entry.code,
            name = entry.name,
            id = id
        );
        app.insert_below(t, k, items, cursor, item, &what);
    }

    /// Whether `code` is in the target list now.
    fn in_target(&self, app: &App, code: &str) -> bool {
        let Some(k) = self.target else { return false };
        let canon = app
            .ctx
            .as_ref()
            .and_then(|c| c.matcher(self.track).terminology().get(code))
            .map(|e| e.code.clone())
            .unwrap_or_else(|| code.to_string());
        app.run()
            .stage(self.track, k)
            .is_some_and(|s| s.items.iter().any(|i| i.code.as_deref() == Some(&canon)))
    }
}

impl Popup for SimilarPopup {
    fn mode(&self) -> super::keymap::Mode {
        super::keymap::Mode::Similar
    }

    fn handle(&mut self, app: &mut App, a: Action) -> bool {
        let page = popup::list_height(self.area(app.size));
        if let Some(d) = popup::step(a, page) {
            self.cursor = popup::moved(self.cursor, d, self.codes.len());
            return true;
        }
        match a {
            Action::Close => return false,
            Action::Adopt => self.adopt(app),
            _ => {}
        }
        true
    }

    fn area(&self, screen: Rect) -> Rect {
        popup::centered(screen, 110, 30)
    }

    fn click(&mut self, area: Rect, row: u16) {
        let h = popup::list_height(area);
        let Some(r) = popup::clicked_row(area, row, self.cursor_row(), h, self.rows.len()) else {
            return;
        };
        if let Some(i) = self.codes.iter().position(|&c| c == r) {
            self.cursor = i;
        }
    }

    fn wheel(&mut self, d: isize) {
        self.cursor = popup::moved(self.cursor, d, self.codes.len());
    }

    fn render(&self, app: &App, buf: &mut Buffer, area: Rect) {
        let t = &app.cfg.theme;
        let lang = app.cfg.lang;
        let title = tr!(
            lang,
            SimilarTitle,
            id = self.record_id,
            track = i18n::track_name(lang, self.track)
        );
        let target = match self.target {
            Some(k) => tr!(lang, SimilarTarget, stage = i18n::stage_title(lang, k)),
            None => tr!(lang, SimilarBrowseOnly).into(),
        };
        let info = tr!(
            lang,
            SimilarInfo,
            n = self.cases.len(),
            total = self.total,
            target = target
        );
        let id_w = self
            .cases
            .iter()
            .map(|c| width::width(&c.id))
            .max()
            .unwrap_or(4)
            .clamp(4, 20);
        let mut left = area.width.saturating_sub(2) as usize;
        let header = vec![
            fit_span(
                &width::fit(tr!(lang, SimilarCase), id_w),
                &mut left,
                t.header,
            ),
            fit_span(tr!(lang, SimilarSim), &mut left, t.header),
            fit_span(tr!(lang, SimilarSummary), &mut left, t.header),
        ];
        let Some(list) = popup::frame(app, buf, area, &title, &info, header) else {
            return;
        };
        if self.cases.is_empty() {
            let msg = tr!(lang, SimilarNone, total = self.total);
            put_line(
                buf,
                list.x,
                list.y,
                list.width,
                vec![Span::styled(
                    width::truncate(&msg, list.width as usize),
                    t.dim,
                )],
                t.popup,
            );
            return;
        }
        let h = list.height as usize;
        let cur = self.cursor_row();
        let offset = popup::offset(cur, h);
        let tbl = app
            .ctx
            .as_ref()
            .map(|c| c.matcher(self.track).terminology());
        let indent = id_w + 2;
        for (y, (r, row)) in self
            .rows
            .iter()
            .enumerate()
            .skip(offset)
            .take(h)
            .enumerate()
        {
            let mut left = list.width as usize;
            let spans = match *row {
                Row::Case(i) => {
                    let c = &self.cases[i];
                    vec![
                        fit_span(&width::fit(&c.id, id_w), &mut left, t.header),
                        fit_span(&format!("  {:.2}  ", c.similarity), &mut left, t.code),
                        fit_span(&c.summary, &mut left, t.popup),
                    ]
                }
                Row::NoCodes(_) => vec![
                    fit_span(&" ".repeat(indent), &mut left, t.popup),
                    fit_span(
                        &tr!(
                            lang,
                            SimilarNoCodes,
                            track = i18n::track_name(lang, self.track)
                        ),
                        &mut left,
                        t.dim,
                    ),
                ],
                Row::Code(i, j) => {
                    let (code, name) = &self.cases[i].codes[j];
                    let entry = tbl.and_then(|tb| tb.get(code));
                    let mark = if j == 0 { "★ " } else { "  " };
                    let name = entry.map(|e| e.name.as_str()).unwrap_or(name);
                    let (suffix, sstyle) = match entry {
                        None if tbl.is_some() => (tr!(lang, SimilarNotInTableMark), t.warning),
                        _ if self.in_target(app, code) => ("  ✓", t.status_fresh),
                        _ => ("", t.popup),
                    };
                    let name_w = left
                        .saturating_sub(indent + 2 + 14)
                        .saturating_sub(width::width(suffix));
                    vec![
                        fit_span(&" ".repeat(indent), &mut left, t.popup),
                        fit_span(mark, &mut left, t.principal),
                        fit_span(
                            &width::fit(code, 13),
                            &mut left,
                            if entry.is_some() { t.code } else { t.dim },
                        ),
                        fit_span(" ", &mut left, t.popup),
                        fit_span(&width::truncate(name, name_w), &mut left, t.popup),
                        fit_span(suffix, &mut left, sstyle),
                    ]
                }
            };
            put_row(
                buf,
                list.x,
                list.y + y as u16,
                list.width,
                spans,
                t.popup,
                (r == cur && matches!(row, Row::Code(..))).then_some(t.selected),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str, codes: &[&str]) -> CaseView {
        CaseView {
            id: id.into(),
            similarity: 0.5,
            summary: String::new(),
            codes: codes
                .iter()
                .map(|c| (c.to_string(), String::new()))
                .collect(),
        }
    }

    #[test]
    fn the_cursor_moves_over_codes_only() {
        let cases = vec![
            case("a", &["I20.000", "I25.103"]),
            case("b", &[]),
            case("c", &["E11.900"]),
        ];
        let mut p = SimilarPopup::new("r".into(), Track::Diagnosis, None, cases, 3);
        assert_eq!(
            p.rows,
            [
                Row::Case(0),
                Row::Code(0, 0),
                Row::Code(0, 1),
                Row::Case(1),
                Row::NoCodes(1),
                Row::Case(2),
                Row::Code(2, 0)
            ]
        );
        assert_eq!(
            p.selected().map(|(c, x)| (c.id.as_str(), x.0.as_str())),
            Some(("a", "I20.000"))
        );
        p.wheel(2);
        assert_eq!(
            p.selected().map(|(c, x)| (c.id.as_str(), x.0.as_str())),
            Some(("c", "E11.900"))
        );
        p.wheel(5);
        assert_eq!(p.cursor, 2);
        // A click on a code row picks it; on a case row nothing changes.
        let area = Rect::new(0, 0, 60, 20);
        p.click(area, 3 + 1);
        assert_eq!(p.cursor, 0);
        p.click(area, 3 + 3);
        assert_eq!(p.cursor, 0);
    }
}
