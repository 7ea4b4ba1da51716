//! The status line (messages, the focused item, trainer notes) and the key
//! hint line (built from the keymap, so user bindings show).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::{fit_span, put_line, spinner};
use crate::i18n::{self, Msg};
use crate::pipeline::Flag;
use crate::tr;
use crate::tui::action::Action;
use crate::tui::app::{App, EngineState, Focus, Level};
use crate::tui::keymap::Mode;
use crate::tui::width;

pub fn render_status(buf: &mut Buffer, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let t = &app.cfg.theme;
    let lang = app.cfg.lang;
    let w = area.width as usize;
    let mut left = w.saturating_sub(1);
    let mut spans = vec![Span::raw(" ")];
    if let Some((msg, level)) = &app.status {
        let st = match level {
            Level::Info => t.message,
            Level::Warn => t.warning,
            Level::Error => t.error,
        };
        spans.push(fit_span(msg, &mut left, st));
    } else if let (true, Focus::Stage(tr, k)) = (app.trainer, app.focus) {
        spans.push(fit_span(
            &format!(
                "{} {}: ",
                i18n::track_name(lang, tr),
                i18n::stage_title(lang, k)
            ),
            &mut left,
            t.header,
        ));
        spans.push(fit_span(i18n::trainer_note(lang, k, tr), &mut left, t.note));
    } else if let Some((tr, _, _, item)) = app.focused_item() {
        if let Some(code) = &item.code {
            spans.push(fit_span(&format!("{code} "), &mut left, t.code));
            let name = app.ctx.as_ref().and_then(|c| {
                c.matcher(tr)
                    .terminology()
                    .get(code)
                    .map(|e| e.name.clone())
            });
            match name {
                Some(n) => spans.push(fit_span(&n, &mut left, t.base)),
                None if app.ctx.is_some() => {
                    spans.push(fit_span(tr!(lang, NotInTable), &mut left, t.error))
                }
                None => {}
            }
        } else {
            spans.push(fit_span(&item.text, &mut left, t.base));
        }
        let origin = i18n::origin_name(lang, item.origin);
        let mut info = tr!(lang, InfoOrigin, origin = origin);
        if let Some(c) = item.confidence {
            info.push_str(&format!(" · {c:.2}"));
        }
        if let Some(m) = &item.model {
            info.push_str(&format!(" · {m}"));
        }
        if !item.evidence.is_empty() {
            info.push_str(&tr!(lang, InfoEvidence, n = item.evidence.len()));
        }
        for f in &item.flags {
            match f {
                Flag::LowConfidence => info.push_str(Msg::InfoLowConfidence.text(lang)),
                Flag::NoEvidence => info.push_str(Msg::InfoNoEvidence.text(lang)),
                Flag::Unmapped => info.push_str(Msg::InfoUnmapped.text(lang)),
                Flag::Conflict(s) => info.push_str(&tr!(lang, InfoConflict, s = s)),
                Flag::Note(s) => info.push_str(&format!(" · {s}")),
            }
        }
        if let Some(src) = &item.source {
            if src != &item.text {
                info.push_str(&tr!(lang, InfoFrom, src = src));
            }
        }
        spans.push(fit_span(&info, &mut left, t.dim));
    }
    put_line(buf, area.x, area.y, area.width, spans, t.base);
}

/// The actions the footer offers in a mode, most useful first.
fn hints(app: &App) -> Vec<Action> {
    use Action::*;
    match app.mode() {
        Mode::Normal if app.busy() => vec![Cancel, Trace, Help, Quit],
        Mode::Normal => vec![
            Step, RunAll, RunStale, Edit, Search, Accept, Trace, Copy, Similar, Aliases, Help, Quit,
        ],
        Mode::Edit => vec![Save, Close],
        Mode::Search => vec![Select, InsertHit, SwitchTable, Close],
        Mode::Picker => vec![Select, Close],
        Mode::Help | Mode::Trace => vec![Close],
        Mode::Similar => vec![Adopt, Close],
        Mode::Aliases => vec![Forget, Close],
        Mode::Locate => vec![Select, Follow, Back, Tabular, Close],
        Mode::Pages => vec![Close],
    }
}

pub fn render_footer(buf: &mut Buffer, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let t = &app.cfg.theme;
    let lang = app.cfg.lang;
    let w = area.width as usize;
    // Right side: what is working.
    let (right, rstyle) = match (&app.job, &app.engine) {
        (Some(j), _) => (
            format!(
                "{} {}{} {:.1}s ",
                spinner(app),
                j.kind.label(lang),
                if j.cancelling {
                    tr!(lang, FooterCancelling)
                } else {
                    ""
                },
                app.elapsed(j.started).as_secs_f64()
            ),
            t.status_running,
        ),
        (None, EngineState::Starting) => (tr!(lang, FooterStarting).to_string(), t.dim),
        (None, EngineState::Ready(d)) => (format!("{d} "), t.dim),
        (None, EngineState::Failed(_)) => (tr!(lang, FooterEngineFailed).to_string(), t.error),
    };
    let right = width::truncate(&right, w / 3);
    let rw = width::width(&right);
    let mut left = w.saturating_sub(rw + 1);
    let mut spans = vec![Span::raw(" ")];
    left = left.saturating_sub(1);
    let mode = app.mode();
    for a in hints(app) {
        let Some(key) = app.cfg.keymap.hint(mode, a) else {
            continue;
        };
        let short = a.short(lang);
        let need = width::width(&key) + 1 + width::width(short) + 2;
        if need > left {
            break;
        }
        spans.push(Span::styled(key, t.key));
        spans.push(Span::styled(format!(" {short}  "), t.hint));
        left -= need;
    }
    put_line(buf, area.x, area.y, area.width, spans, t.base);
    let x = area.x + (w - rw) as u16;
    buf.set_stringn(x, area.y, &right, rw, rstyle);
}
