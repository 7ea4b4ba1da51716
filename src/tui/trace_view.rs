//! The trace overlay of the focused stage: its status, method, timing and
//! notes, each agent call's prompt, grammar and raw output, and the agent
//! output streaming in while it runs.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::action::Action;
use super::app::{App, Focus, Overlay};
use super::keymap::Mode;
use super::layout::popup;
use super::popup::{self as pp, wrapped, Popup};
use super::width;
use crate::i18n::{self, Msg};
use crate::tr;

/// The trace popup's state: how far it is scrolled (it shows the focused
/// stage, read fresh at each draw so a running stage streams in).
#[derive(Debug, Clone, Default)]
pub struct TracePopup {
    pub scroll: usize,
}

impl TracePopup {
    pub fn open(app: &mut App) {
        app.overlay = Overlay::Popup(Box::new(TracePopup::default()));
    }
}

impl Popup for TracePopup {
    fn mode(&self) -> Mode {
        Mode::Trace
    }

    fn handle(&mut self, app: &mut App, a: Action) -> bool {
        pp::scroll_text(app, &mut self.scroll, a)
    }

    fn area(&self, screen: Rect) -> Rect {
        let (w, h) = (screen.width, screen.height);
        popup(screen, w.saturating_sub(6).min(140), h.saturating_sub(2))
    }

    fn render(&self, app: &App, buf: &mut Buffer, area: Rect) {
        let (title, lines) = trace_lines(app, area.width.saturating_sub(2) as usize);
        pp::text(app, buf, area, &title, &lines, self.scroll);
    }

    fn wheel(&mut self, d: isize) {
        pp::wheel_text(&mut self.scroll, d);
    }
}

fn trace_lines(app: &App, w: usize) -> (String, Vec<Line<'static>>) {
    let t = &app.cfg.theme;
    let lang = app.cfg.lang;
    let Focus::Stage(track, kind) = app.focus else {
        return (tr!(lang, TraceTitle).into(), vec![]);
    };
    let title = tr!(
        lang,
        TraceTitleOf,
        track = i18n::track_name(lang, track),
        stage = i18n::stage_title(lang, kind)
    );
    let mut out = Vec::new();
    let Some(s) = app.run().stage(track, kind) else {
        return (title, out);
    };
    let kv = |k: Msg, v: String| {
        Line::from(vec![
            Span::styled(width::fit(k.text(lang), 10), t.header),
            Span::styled(width::truncate(&v, w.saturating_sub(10)), t.popup),
        ])
    };
    let (_, word, _) = super::ui::status_mark(app, s.status, true);
    out.push(kv(
        Msg::TraceStatus,
        tr!(
            lang,
            TraceStatusLine,
            status = word,
            off = if s.enabled {
                ""
            } else {
                tr!(lang, TraceSwitchedOff)
            },
            runs = s.runs,
            n = s.items.len()
        ),
    ));
    if let Some(e) = &s.error {
        out.extend(wrapped(&tr!(lang, TraceError, e = e), w, 0, t.error));
    }
    match &s.trace {
        None => out.push(Line::from(Span::styled(tr!(lang, TraceNotRun), t.dim))),
        Some(trace) => {
            out.push(kv(Msg::TraceMethod, trace.method.label()));
            out.push(kv(
                Msg::TraceStarted,
                trace.started.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            ));
            out.push(kv(Msg::TraceElapsed, format!("{:.1} ms", trace.elapsed_ms)));
            for n in &trace.notes {
                out.extend(wrapped(&format!("· {n}"), w, 0, t.popup));
            }
            for (i, c) in trace.calls.iter().enumerate() {
                out.push(Line::default());
                out.push(Line::from(Span::styled(
                    width::truncate(&tr!(lang, TraceCall, n = i + 1, agent = c.agent), w),
                    t.title,
                )));
                let prob = c
                    .mean_prob
                    .map(|p| tr!(lang, TraceMeanProb, p = format!("{p:.2}")))
                    .unwrap_or_default();
                out.push(kv(
                    Msg::TraceTokens,
                    tr!(
                        lang,
                        TraceTokensLine,
                        prompt = c.prompt_tokens,
                        cached = c.cached_tokens,
                        generated = c.generated_tokens,
                        ms = format!("{:.1}", c.elapsed_ms),
                        prob = prob
                    ),
                ));
                if let Some(g) = &c.grammar {
                    out.push(Line::from(Span::styled(tr!(lang, TraceGrammar), t.header)));
                    for l in g.lines() {
                        out.extend(wrapped(l, w, 2, t.code));
                    }
                }
                out.push(Line::from(Span::styled(tr!(lang, TracePrompt), t.header)));
                for l in c.prompt.lines() {
                    out.extend(wrapped(l, w, 2, t.popup));
                }
                out.push(Line::from(Span::styled(
                    tr!(lang, TraceRawOutput),
                    t.header,
                )));
                for l in c.raw_output.lines() {
                    out.extend(wrapped(l, w, 2, t.stream));
                }
            }
        }
    }
    if let Some(st) = app.stream.get(&(track, kind)) {
        out.push(Line::default());
        out.push(Line::from(Span::styled(
            tr!(lang, TraceStreaming),
            t.status_running,
        )));
        for l in st.lines() {
            out.extend(wrapped(l, w, 2, t.stream));
        }
    }
    (title, out)
}
