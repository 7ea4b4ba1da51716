//! A track block: its title strip with every stage's status, and the stage
//! panes that fit side by side.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Widget};

use super::{fit_span, put_line, spinner, status_mark};
use crate::i18n::{self, Lang, Msg};
use crate::pipeline::{Flag, Item, Origin, StageKind, StageState, Status};
use crate::record::Track;
use crate::tr;
use crate::tui::app::{App, Focus};
use crate::tui::diff::{diff, Mark};
use crate::tui::layout::{PaneArea, TrackArea};
use crate::tui::width;

fn track_title(lang: Lang, t: Track) -> &'static str {
    match t {
        Track::Diagnosis => Msg::TrackTitleDiagnosis,
        Track::Procedure => Msg::TrackTitleProcedure,
    }
    .text(lang)
}

pub fn render_track(buf: &mut Buffer, app: &App, ta: &TrackArea) {
    let th = &app.cfg.theme;
    let focused_here = matches!(app.focus, Focus::Stage(t, _) if t == ta.track);
    let run = app.run();
    let tr = run.track(ta.track);
    // Title strip: every stage with its status; the shown ones brighter.
    let lang = app.cfg.lang;
    let mut spans = vec![Span::styled(track_title(lang, ta.track), th.title)];
    for (i, s) in tr.stages.iter().enumerate() {
        let (sym, _, st) = status_mark(app, s.status, s.enabled);
        let shown = i >= ta.first && i < ta.first + ta.panes.len();
        let is_focus = app.focus == Focus::Stage(ta.track, s.kind);
        let mut name_style = if shown { th.header } else { th.dim };
        if is_focus {
            name_style = name_style.add_modifier(Modifier::UNDERLINED);
        }
        spans.push(Span::styled(
            format!(" {} {}", i + 1, i18n::stage_short(lang, s.kind)),
            name_style,
        ));
        spans.push(Span::styled(format!(" {sym}"), st));
    }
    spans.push(Span::raw(" "));
    let block = Block::bordered()
        .border_style(if focused_here {
            th.border_focus
        } else {
            th.border
        })
        .title(Line::from(spans));
    block.render(ta.outer, buf);
    for p in &ta.panes {
        if let Some(state) = tr.stage(p.kind) {
            render_pane(buf, app, ta.track, p, state);
        }
    }
}

fn conf_text(c: Option<f32>) -> String {
    match c {
        Some(c) if c >= 0.995 => "1.0".into(),
        Some(c) => format!(".{:02}", (c.clamp(0.0, 1.0) * 100.0).round() as u32),
        None => " - ".into(),
    }
}

fn origin_style(app: &App, o: Origin) -> Style {
    let t = &app.cfg.theme;
    match o {
        Origin::Agent => t.origin_agent,
        Origin::Retrieval => t.origin_retrieval,
        Origin::Rule => t.origin_rule,
        Origin::Coder => t.origin_coder,
        Origin::Learned => t.origin_learned,
    }
}

fn is_low(app: &App, item: &Item) -> bool {
    let threshold = app
        .ctx
        .as_ref()
        .map(|c| c.settings.low_confidence)
        .unwrap_or(0.6);
    item.has_flag(&Flag::LowConfidence) || item.confidence.is_some_and(|c| c < threshold)
}

fn render_pane(buf: &mut Buffer, app: &App, track: Track, p: &PaneArea, s: &StageState) {
    let th = &app.cfg.theme;
    let lang = app.cfg.lang;
    let focused = app.focus == Focus::Stage(track, s.kind);
    if p.separated {
        for y in p.area.y..p.area.y + p.area.height {
            buf.set_stringn(p.area.x, y, "│", 1, th.border);
        }
    }
    let w = p.header.width as usize;
    if w == 0 {
        return;
    }
    // Header: number, title, status.
    let stages = StageKind::of_track(track);
    let n = stages.iter().position(|&k| k == s.kind).unwrap_or(0) + 1;
    let (sym, word, st) = status_mark(app, s.status, s.enabled);
    let mut left = w;
    let mut title_style = th.header;
    if focused {
        title_style = th.border_focus.add_modifier(Modifier::REVERSED);
    }
    let mut spans = vec![fit_span(
        &format!("{n} {}", i18n::stage_title(lang, s.kind)),
        &mut left,
        title_style,
    )];
    spans.push(fit_span(&format!(" {sym}"), &mut left, st));
    if left > width::width(word) + 1 {
        spans.push(fit_span(&format!(" {word}"), &mut left, st));
    }
    if left > 4 && !s.items.is_empty() {
        spans.push(fit_span(
            &format!(" ({})", s.items.len()),
            &mut left,
            th.dim,
        ));
    }
    // How long the stage took (the whole stage: retrieval, rules, learned
    // model and agents), so a coder sees where a record's time goes.
    if let Some(tr) = s.trace.as_ref().filter(|_| s.status == Status::Fresh) {
        let ms = app
            .cfg
            .frozen_elapsed
            .map(|d| d.as_secs_f64() * 1e3)
            .unwrap_or(tr.elapsed_ms);
        let took = if ms < 1000.0 {
            format!(" {ms:.0}ms")
        } else {
            format!(" {:.1}s", ms / 1e3)
        };
        if left > width::width(&took) {
            spans.push(fit_span(&took, &mut left, th.dim));
        }
    }
    put_line(buf, p.header.x, p.header.y, p.header.width, spans, th.base);
    if let Some(note) = p.note {
        let text = width::truncate(i18n::trainer_note(lang, s.kind, track), note.width as usize);
        put_line(
            buf,
            note.x,
            note.y,
            note.width,
            vec![Span::styled(text, th.note)],
            th.base,
        );
    }
    let list = p.list;
    if list.height == 0 {
        return;
    }
    let mut rows: Vec<(Vec<Span<'static>>, Style)> = Vec::new();
    if s.status == Status::Running {
        let elapsed = app
            .job
            .as_ref()
            .map(|j| format!(" {:.1}s", app.elapsed(j.started).as_secs_f64()))
            .unwrap_or_default();
        rows.push((
            vec![Span::styled(
                tr!(lang, PaneRunning, spinner = spinner(app), elapsed = elapsed),
                th.status_running,
            )],
            th.base,
        ));
        let text = app
            .stream
            .get(&(track, s.kind))
            .cloned()
            .unwrap_or_default();
        let wrapped = width::wrap(&text, list.width as usize);
        let room = (list.height as usize).saturating_sub(1);
        let skip = wrapped.len().saturating_sub(room);
        for r in wrapped.into_iter().skip(skip) {
            if !text[r.clone()].is_empty() {
                rows.push((vec![Span::styled(text[r].to_string(), th.stream)], th.base));
            }
        }
        draw_rows(buf, list, rows);
        return;
    }
    if s.status == Status::Failed {
        let e = s
            .error
            .clone()
            .unwrap_or_else(|| tr!(lang, PaneFailed).into());
        rows.push((vec![Span::styled(format!("✗ {e}"), th.error)], th.base));
    }
    if s.items.is_empty() {
        let msg = match s.status {
            Status::Pending => tr!(lang, PaneNotRun),
            _ => tr!(lang, PaneEmpty),
        };
        rows.push((vec![Span::styled(msg, th.dim)], th.base));
        draw_rows(buf, list, rows);
        return;
    }
    let marks = if app.trainer {
        Some(diff(app.run().track(track).input_of(s.kind), &s.items))
    } else {
        None
    };
    let st = app.list_state(track, s.kind);
    let room = (list.height as usize).saturating_sub(rows.len());
    for (i, item) in s.items.iter().enumerate().skip(st.offset).take(room) {
        let mark = marks.as_ref().and_then(|d| d.marks.get(i).copied());
        let selected = i == st.cursor;
        rows.push(item_row(
            app,
            track,
            s,
            i,
            item,
            list.width as usize,
            mark,
            selected,
            focused,
        ));
    }
    if let Some(d) = &marks {
        for r in &d.removed {
            rows.push((
                vec![Span::styled(format!("- {}", r.text), th.removed)],
                th.base,
            ));
        }
    }
    draw_rows(buf, list, rows);
}

fn draw_rows(buf: &mut Buffer, list: Rect, rows: Vec<(Vec<Span<'static>>, Style)>) {
    for (i, (spans, fill)) in rows.into_iter().take(list.height as usize).enumerate() {
        let mut left = list.width as usize;
        // Cut every span to what is left so no CJK char straddles the edge.
        let spans: Vec<Span> = spans
            .into_iter()
            .map(|s| {
                let style = s.style;
                fit_span(&s.content, &mut left, style)
            })
            .collect();
        put_line(buf, list.x, list.y + i as u16, list.width, spans, fill);
    }
}

#[allow(clippy::too_many_arguments)]
fn item_row(
    app: &App,
    track: Track,
    s: &StageState,
    i: usize,
    item: &Item,
    w: usize,
    mark: Option<Mark>,
    selected: bool,
    focused: bool,
) -> (Vec<Span<'static>>, Style) {
    let th = &app.cfg.theme;
    let low = is_low(app, item);
    let mut spans = Vec::new();
    let principal = i == 0 && s.kind >= StageKind::Prioritize;
    spans.push(Span::styled(
        if principal { "★" } else { " " },
        th.principal,
    ));
    spans.push(Span::styled(
        item.origin.tag().to_string(),
        origin_style(app, item.origin),
    ));
    if w >= 22 {
        spans.push(Span::styled(
            conf_text(item.confidence),
            if low { th.low_confidence } else { th.dim },
        ));
    }
    spans.push(Span::styled(if low { "!" } else { " " }, th.warning));
    if let Some(m) = mark {
        let st = match m {
            Mark::Same => th.dim,
            Mark::Added => th.added,
            Mark::Moved => th.moved,
            Mark::Changed => th.moved,
        };
        spans.push(Span::styled(m.symbol(), st));
    }
    let used: usize = spans.iter().map(|s| width::width(&s.content)).sum();
    let mut left = w.saturating_sub(used);
    let mut text_style = if low { th.low_confidence } else { th.base };
    if let Some(m) = mark {
        text_style = text_style.patch(match m {
            Mark::Added => th.added,
            Mark::Moved | Mark::Changed => th.moved,
            Mark::Same => Style::default(),
        });
    }
    if s.kind == StageKind::Map {
        // Final codes: code and the table's name; an unknown code is shown
        // as an error, never as a result.
        let table = app.ctx.as_ref().map(|c| c.matcher(track).terminology());
        match (&item.code, table) {
            (Some(code), Some(tbl)) => match tbl.get(code) {
                Some(e) => {
                    spans.push(fit_span(&format!("{} ", e.code), &mut left, th.code));
                    spans.push(fit_span(&e.name, &mut left, text_style));
                }
                None => {
                    spans.push(fit_span(&format!("{code}? "), &mut left, th.error));
                    spans.push(fit_span(&item.text, &mut left, th.error));
                }
            },
            (Some(code), None) => {
                spans.push(fit_span(&format!("{code} "), &mut left, th.code));
                spans.push(fit_span(&item.text, &mut left, text_style));
            }
            (None, _) => {
                spans.push(fit_span("—— ", &mut left, th.warning));
                spans.push(fit_span(&item.text, &mut left, text_style));
            }
        }
    } else {
        // The code shows beside the name only when both fit whole; the
        // name matters more (the codes pane and status line show the code).
        let code = item.code.as_deref().unwrap_or("");
        let code_w = width::width(code);
        let text_w = width::width(&item.text);
        if !code.is_empty() && text_w + 1 + code_w <= left {
            let text = width::fit(&item.text, left - code_w - 1);
            spans.push(Span::styled(text, text_style));
            spans.push(Span::styled(format!(" {code}"), th.code));
        } else {
            spans.push(fit_span(&item.text, &mut left, text_style));
        }
    }
    let fill = match (selected, focused) {
        (true, true) => th.selected,
        (true, false) => th.selected_unfocused,
        _ => th.base,
    };
    if selected {
        let patch = fill;
        spans = spans.into_iter().map(|s| s.patch_style(patch)).collect();
    }
    (spans, fill)
}
