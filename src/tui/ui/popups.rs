//! Popups over the panes: code search, record picker and the list editor.
//! The self-contained popups (help, trace, similar cases, taught aliases,
//! index browser, page text) draw themselves (see `tui::popup`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Widget};
use ratatui::Frame;

use super::{fit_span, put_line, put_row};
use crate::i18n;
use crate::record::Track;
use crate::tr;
use crate::tui::app::{App, Overlay};
use crate::tui::keymap::Mode;
use crate::tui::layout::popup;
use crate::tui::popup::wrapped;
use crate::tui::width;

/// Where the current popup goes in `area`.
pub fn area(app: &App, area: Rect) -> Rect {
    let (w, h) = (area.width, area.height);
    match &app.overlay {
        Overlay::None => Rect::default(),
        Overlay::Search(_) => popup(
            area,
            w.saturating_sub(4).min(120),
            h.saturating_sub(2).min(32),
        ),
        Overlay::Picker(_) => popup(
            area,
            w.saturating_sub(4).min(110),
            h.saturating_sub(2).min(30),
        ),
        Overlay::Edit(_) => popup(
            area,
            w.saturating_sub(4).min(96),
            h.saturating_sub(4).min(24),
        ),
        Overlay::Popup(_) => app
            .overlay
            .popup()
            .map(|p| p.area(area))
            .unwrap_or_default(),
    }
}

pub fn render(frame: &mut Frame, app: &App, screen: Rect) {
    let a = area(app, screen);
    if a.width < 4 || a.height < 4 {
        return;
    }
    frame.render_widget(Clear, a);
    unstraddle(frame.buffer_mut(), a);
    match &app.overlay {
        Overlay::None => {}
        Overlay::Search(_) => search(frame, app, a),
        Overlay::Picker(_) => picker(frame, app, a),
        Overlay::Edit(ed) => {
            let t = &app.cfg.theme;
            let lang = app.cfg.lang;
            let title = tr!(
                lang,
                EditTitle,
                track = i18n::track_name(lang, ed.track),
                stage = i18n::stage_title(lang, ed.kind)
            );
            let hint = app
                .cfg
                .keymap
                .hint(Mode::Edit, crate::tui::action::Action::Save);
            let close = app
                .cfg
                .keymap
                .hint(Mode::Edit, crate::tui::action::Action::Close);
            let bottom = tr!(
                lang,
                EditBottom,
                save = hint.unwrap_or_default(),
                close = close.unwrap_or_default()
            );
            let block = Block::bordered()
                .border_style(t.border_focus)
                .style(t.popup)
                .title(Span::styled(title, t.title))
                .title_bottom(Span::styled(bottom, t.hint));
            let inner = block.inner(a);
            frame.render_widget(block, a);
            frame.render_widget(&ed.area, inner);
        }
        Overlay::Popup(_) => {
            if let Some(p) = app.overlay.popup() {
                p.render(app, frame.buffer_mut(), a);
            }
        }
    }
}

/// A double-width char just left of the popup would spill into its border
/// (the terminal draws both halves): blank it.
fn unstraddle(buf: &mut ratatui::buffer::Buffer, a: Rect) {
    if a.x == 0 {
        return;
    }
    for y in a.y..a.y + a.height {
        if let Some(c) = buf.cell_mut((a.x - 1, y)) {
            if width::width(c.symbol()) > 1 {
                c.set_symbol(" ");
            }
        }
    }
}

fn input_line(app: &App, query: &str, prefilled: bool) -> Vec<Span<'static>> {
    let t = &app.cfg.theme;
    let q = if prefilled {
        Span::styled(query.to_string(), t.selected)
    } else {
        Span::styled(query.to_string(), t.popup)
    };
    vec![
        Span::styled("› ", t.border_focus),
        q,
        Span::styled("▏", t.border_focus),
    ]
}

/// Draws the frame of a query popup (code search, record picker): the
/// bordered block, the query line and a dim info line. Returns the area
/// left for the list, or `None` when the popup is too small for one.
fn query_popup(
    buf: &mut Buffer,
    app: &App,
    a: Rect,
    title: &str,
    query: &str,
    prefilled: bool,
    info: &str,
) -> Option<Rect> {
    let t = &app.cfg.theme;
    let block = Block::bordered()
        .border_style(t.border_focus)
        .style(t.popup)
        .title(Span::styled(title, t.title));
    let inner = block.inner(a);
    block.render(a, buf);
    if inner.height < 3 {
        return None;
    }
    let input = input_line(app, query, prefilled);
    put_line(buf, inner.x, inner.y, inner.width, input, t.popup);
    let info = vec![Span::styled(
        width::truncate(info, inner.width as usize),
        t.dim,
    )];
    put_line(buf, inner.x, inner.y + 1, inner.width, info, t.popup);
    Some(Rect::new(
        inner.x,
        inner.y + 2,
        inner.width,
        inner.height - 2,
    ))
}

/// First row to show of a list `h` rows high, so that the cursor's row is
/// visible.
fn scroll_offset(cursor: usize, h: usize) -> usize {
    (cursor + 1).saturating_sub(h)
}

fn search(frame: &mut Frame, app: &App, a: Rect) {
    let Overlay::Search(s) = &app.overlay else {
        return;
    };
    let t = &app.cfg.theme;
    let lang = app.cfg.lang;
    let table = app
        .ctx
        .as_ref()
        .map(|c| c.matcher(s.track).terminology().label.clone())
        .unwrap_or_else(|| tr!(lang, SearchTablesLoading).into());
    let title = tr!(
        lang,
        SearchTitle,
        track = i18n::track_name(lang, s.track),
        system = match s.track {
            Track::Diagnosis => "ICD-10",
            Track::Procedure => "ICD-9-CM-3",
        },
        table = table
    );
    let target = match s.target {
        Some((tt, k, _)) if tt == s.track => {
            tr!(lang, SearchTarget, stage = i18n::stage_title(lang, k))
        }
        Some(_) => tr!(lang, SearchOtherTable).to_string(),
        None => tr!(lang, SearchBrowseOnly).to_string(),
    };
    let info = tr!(lang, SearchInfo, n = s.hits.len(), target = target);
    let buf = frame.buffer_mut();
    let Some(body) = query_popup(buf, app, a, &title, &s.query, s.prefilled, &info) else {
        return;
    };
    let (list_area, detail) = if body.width >= 90 {
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
    };
    let h = list_area.height as usize;
    let offset = scroll_offset(s.list.cursor, h);
    let tbl = app.ctx.as_ref().map(|c| c.matcher(s.track).terminology());
    for (row, (i, m)) in s.hits.iter().enumerate().skip(offset).take(h).enumerate() {
        let sel = i == s.list.cursor;
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
    if s.hits.is_empty() {
        let msg = if app.ctx.is_none() {
            tr!(lang, SearchLoading)
        } else if s.query.trim().is_empty() {
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
    // Detail: hierarchy, aliases, instructional notes.
    let mut lines: Vec<Line<'static>> = Vec::new();
    let dw = detail.width as usize;
    if let (Some(m), Some(tbl)) = (s.hits.get(s.list.cursor), tbl) {
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
                lines.extend(wrapped(
                    &tr!(lang, SearchAliases, list = e.aliases.join("；")),
                    dw,
                    0,
                    t.dim,
                ));
            }
            let children = tbl.children(&e.code);
            if !children.is_empty() {
                let names: Vec<String> = children.iter().take(6).map(|c| c.code.clone()).collect();
                lines.extend(wrapped(
                    &tr!(lang, SearchBelow, list = names.join(" ")),
                    dw,
                    0,
                    t.dim,
                ));
            }
        }
        lines.push(Line::from(Span::styled(tr!(lang, SearchNotes), t.header)));
        let notes = app
            .cfg
            .notes
            .as_ref()
            .map(|f| f(s.track, &m.code))
            .unwrap_or_default();
        if notes.is_empty() {
            lines.push(Line::from(Span::styled(tr!(lang, SearchNoNotes), t.dim)));
        }
        for n in notes {
            lines.extend(wrapped(&n, dw, 0, t.note));
        }
    }
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

fn picker(frame: &mut Frame, app: &App, a: Rect) {
    let Overlay::Picker(p) = &app.overlay else {
        return;
    };
    let t = &app.cfg.theme;
    let lang = app.cfg.lang;
    let info = tr!(
        lang,
        PickerInfo,
        n = p.hits.len(),
        total = app.records.len()
    );
    let buf = frame.buffer_mut();
    let title = tr!(lang, PickerTitle);
    let Some(list) = query_popup(buf, app, a, title, &p.query, false, &info) else {
        return;
    };
    let h = list.height as usize;
    let offset = scroll_offset(p.list.cursor, h);
    let id_w = app
        .records
        .iter()
        .map(|r| width::width(&r.id))
        .max()
        .unwrap_or(8)
        .min(24);
    for (row, (i, &ri)) in p.hits.iter().enumerate().skip(offset).take(h).enumerate() {
        let r = &app.records[ri];
        let sel = i == p.list.cursor;
        let preview = r
            .section(crate::record::fields::DISCHARGE_DIAGNOSIS)
            .or_else(|| {
                r.sections
                    .iter()
                    .map(|s| s.text.as_str())
                    .find(|s| !s.trim().is_empty())
            })
            .unwrap_or("")
            .replace(['\n', '\r'], " ");
        let mut left = list.width as usize;
        let spans = vec![
            fit_span(
                if p.has_session.get(ri) == Some(&true) {
                    "✎ "
                } else {
                    "  "
                },
                &mut left,
                t.status_edited,
            ),
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
