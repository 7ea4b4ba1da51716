//! Drawing. Every function here reads the [`App`] and writes a frame; none
//! changes state. Text is pre-cut by display width (see `width`), so CJK
//! lines line up and never spill into the next pane.

mod footer;
mod popups;
mod record;
mod stages;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::app::App;
use super::layout;
use super::width;
use crate::pipeline::Status;

/// Braille spinner frames for running stages.
pub const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Draws the whole screen.
pub fn render(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let theme = &app.cfg.theme;
    frame.buffer_mut().set_style(area, theme.base);
    if area.width < 20 || area.height < 6 {
        let msg = width::truncate(
            crate::tr!(app.cfg.lang, EnlargeTerminal),
            area.width as usize,
        );
        frame
            .buffer_mut()
            .set_stringn(area.x, area.y, msg, area.width as usize, theme.warning);
        return;
    }
    let s = layout::screen(area, app.layout_params());
    record::render(frame.buffer_mut(), app, s.record);
    for ta in &s.tracks {
        stages::render_track(frame.buffer_mut(), app, ta);
    }
    footer::render_status(frame.buffer_mut(), app, s.status);
    footer::render_footer(frame.buffer_mut(), app, s.footer);
    popups::render(frame, app, area);
}

/// The area the current popup takes (mouse clicks map into it).
pub fn popup_area(app: &App) -> Rect {
    popups::area(app, app.size)
}

/// The spinner frame for the app's tick.
pub fn spinner(app: &App) -> &'static str {
    SPINNER[(app.tick % SPINNER.len() as u64) as usize]
}

/// Symbol and word for a stage status.
pub fn status_mark(
    app: &App,
    status: Status,
    enabled: bool,
) -> (&'static str, &'static str, Style) {
    use crate::i18n::Msg;
    let t = &app.cfg.theme;
    let l = app.cfg.lang;
    if !enabled && status != Status::Running {
        return ("⊘", Msg::StateOff.text(l), t.status_off);
    }
    match status {
        Status::Pending => ("·", Msg::StatePending.text(l), t.status_pending),
        Status::Running => (spinner(app), Msg::StateRunning.text(l), t.status_running),
        Status::Fresh => ("✓", Msg::StateFresh.text(l), t.status_fresh),
        Status::Stale => ("○", Msg::StateStale.text(l), t.status_stale),
        Status::Edited => ("✎", Msg::StateEdited.text(l), t.status_edited),
        Status::Failed => ("✗", Msg::StateFailed.text(l), t.status_failed),
    }
}

/// Writes spans into one row, cut at `w` columns, padding the rest with
/// `fill` (so a highlighted row is highlighted to the edge).
pub fn put_line(buf: &mut Buffer, x: u16, y: u16, w: u16, spans: Vec<Span<'_>>, fill: Style) {
    if w == 0 {
        return;
    }
    let line = Line::from(spans);
    buf.set_style(Rect::new(x, y, w, 1), fill);
    buf.set_line(x, y, &line, w);
}

/// Writes a list row with [`put_line`]: a selected row (`selected` holds
/// the selection style) takes that style over every span and to the edge,
/// any other row is padded with `fill`.
pub fn put_row(
    buf: &mut Buffer,
    x: u16,
    y: u16,
    w: u16,
    spans: Vec<Span<'_>>,
    fill: Style,
    selected: Option<Style>,
) {
    match selected {
        Some(sel) => {
            let spans = spans.into_iter().map(|s| s.patch_style(sel)).collect();
            put_line(buf, x, y, w, spans, sel);
        }
        None => put_line(buf, x, y, w, spans, fill),
    }
}

/// A span cut to the columns left, returning how many it took.
pub fn fit_span(text: &str, left: &mut usize, style: Style) -> Span<'static> {
    let t = width::truncate(text, *left);
    *left -= width::width(&t).min(*left);
    Span::styled(t, style)
}
