//! The interface of the workbench's popups (code search, record picker,
//! list editor, help, trace, similar cases, taught aliases, index
//! browser): each keeps its state, answers its keys and draws itself, so
//! the app only opens one and hands it the actions of its mode. A new
//! popup is one new file.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::app::App;
use super::keymap::{Key, Mode};

/// A popup that owns its state, keys and drawing. `Any` so that a caller
/// that needs one popup's state can get at it ([`super::app::Overlay::get`]).
pub trait Popup: std::any::Any {
    /// The keymap mode its keys are bound in.
    fn mode(&self) -> Mode;

    /// Applies an action of the popup's mode. The popup is out of
    /// `app.overlay` while this runs (so it may change the app freely);
    /// it goes back unless this returns false or the popup opened another.
    fn handle(&mut self, app: &mut App, a: Action) -> bool;

    /// Where the popup goes on a screen of `screen`.
    fn area(&self, screen: Rect) -> Rect;

    /// Draws the popup into `area` (cleared already).
    fn render(&self, app: &App, buf: &mut Buffer, area: Rect);

    /// A mouse click at `row` of the screen, inside `area`.
    fn click(&mut self, _area: Rect, _row: u16) {}

    /// The mouse wheel: `d` rows down (negative: up).
    fn wheel(&mut self, _d: isize) {}

    /// A key bound to no action of the popup's mode (typing into a query).
    /// False when the popup does not take it.
    fn typed(&mut self, _key: Key) -> bool {
        false
    }

    /// The terminal's own event for a key bound to no action. A text
    /// editor takes it whole (shift-selection and the like); the others
    /// see it as a [`Key`].
    fn key_event(&mut self, ev: &KeyEvent) -> bool {
        Key::from_event(ev).is_some_and(|k| self.typed(k))
    }

    /// Pasted text: by default typed char by char.
    fn paste(&mut self, text: &str) {
        for c in text.chars().filter(|c| !c.is_control()) {
            self.typed(Key::ch(c));
        }
    }

    /// Work put off while keys arrive (a query's lookup), run once per
    /// batch of input and again when the engine becomes ready. True when
    /// something changed on screen.
    fn idle(&mut self, _app: &App) -> bool {
        false
    }
}

/// A query line that popups type into: ctrl-u clears, backspace deletes,
/// plain chars append. A prefilled query is replaced by the first key.
/// False when the key is not for the query.
pub fn type_into(query: &mut String, prefilled: &mut bool, key: Key) -> bool {
    let fresh = std::mem::take(prefilled);
    match (key.code, key.mods) {
        (KeyCode::Char('u'), KeyModifiers::CONTROL) => query.clear(),
        (KeyCode::Char(c), m) if !m.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
            if fresh {
                query.clear();
            }
            query.push(c)
        }
        (KeyCode::Backspace, _) => {
            if fresh {
                query.clear();
            } else {
                query.pop();
            }
        }
        _ => {
            *prefilled = fresh;
            return false;
        }
    }
    true
}

/// The list rows a popup of `area` shows below its border and two header
/// lines.
pub fn list_height(area: Rect) -> usize {
    area.height.saturating_sub(4) as usize
}

/// The first row to show of a list `h` rows high so that `cursor` shows.
pub fn offset(cursor: usize, h: usize) -> usize {
    (cursor + 1).saturating_sub(h.max(1))
}

/// The list row under screen row `row` of a popup of `area` whose list of
/// `n` rows is `h` rows high and scrolled to show `cursor`; `None` above or
/// below the list.
pub fn clicked_row(area: Rect, row: u16, cursor: usize, h: usize, n: usize) -> Option<usize> {
    let first = area.y + 3;
    let r = offset(cursor, h) + row.checked_sub(first)? as usize;
    (r < n).then_some(r)
}

/// A popup centred on `screen`, at most `max_w` × `max_h`, leaving a
/// margin for the panes to show around it.
pub fn centered(screen: Rect, max_w: u16, max_h: u16) -> Rect {
    super::layout::popup(
        screen,
        screen.width.saturating_sub(4).min(max_w),
        screen.height.saturating_sub(2).min(max_h),
    )
}

/// How far a navigation action moves a popup's cursor on a list `page`
/// rows high.
pub fn step(a: Action, page: usize) -> Option<isize> {
    let page = page.max(1) as isize;
    Some(match a {
        Action::Up => -1,
        Action::Down => 1,
        Action::PageUp => -page,
        Action::PageDown => page,
        Action::Top => isize::MIN / 2,
        Action::Bottom => isize::MAX / 2,
        _ => return None,
    })
}

/// `cur` moved by `d` within `n` entries.
pub fn moved(cur: usize, d: isize, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (cur as isize).saturating_add(d).clamp(0, n as isize - 1) as usize
}

/// Draws the frame of a list popup: the bordered block with its title, a
/// dim info line and a header line. Returns the area left for the list,
/// `None` when there is no room for one.
pub fn frame(
    app: &App,
    buf: &mut Buffer,
    area: Rect,
    title: &str,
    info: &str,
    header: Vec<Span<'static>>,
) -> Option<Rect> {
    let info = dim_line(app, info, area);
    framed(app, buf, area, title, [info, header])
}

/// Draws the frame of a query popup (code search, record picker): the
/// bordered block, the query line (a prefilled query highlighted, as the
/// first key replaces it) and a dim info line. Returns the area left for
/// the list, `None` when there is no room for one.
pub fn query_frame(
    app: &App,
    buf: &mut Buffer,
    area: Rect,
    title: &str,
    query: (&str, bool),
    info: &str,
) -> Option<Rect> {
    let t = &app.cfg.theme;
    let (query, prefilled) = query;
    let input = vec![
        Span::styled("› ", t.border_focus),
        Span::styled(
            query.to_string(),
            if prefilled { t.selected } else { t.popup },
        ),
        Span::styled("▏", t.border_focus),
    ];
    let info = dim_line(app, info, area);
    framed(app, buf, area, title, [input, info])
}

fn dim_line(app: &App, text: &str, area: Rect) -> Vec<Span<'static>> {
    let w = area.width.saturating_sub(2) as usize;
    vec![Span::styled(
        super::width::truncate(text, w),
        app.cfg.theme.dim,
    )]
}

/// The bordered block with `title` and two head lines; the area below.
fn framed(
    app: &App,
    buf: &mut Buffer,
    area: Rect,
    title: &str,
    head: [Vec<Span<'static>>; 2],
) -> Option<Rect> {
    use ratatui::widgets::{Block, Widget};
    let t = &app.cfg.theme;
    let block = Block::bordered()
        .border_style(t.border_focus)
        .style(t.popup)
        .title(Span::styled(
            super::width::truncate(title, area.width.saturating_sub(2) as usize),
            t.title,
        ));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 3 || inner.width == 0 {
        return None;
    }
    for (y, line) in (inner.y..).zip(head) {
        super::ui::put_line(buf, inner.x, y, inner.width, line, t.popup);
    }
    Some(Rect::new(
        inner.x,
        inner.y + 2,
        inner.width,
        inner.height - 2,
    ))
}

/// Wraps `text` to `w` columns as lines of one style, indented.
pub fn wrapped(
    text: &str,
    w: usize,
    indent: usize,
    style: ratatui::style::Style,
) -> Vec<ratatui::text::Line<'static>> {
    use ratatui::text::{Line, Span};
    let pad = " ".repeat(indent);
    super::width::wrap(text, w.saturating_sub(indent))
        .into_iter()
        .map(|r| {
            Line::from(vec![
                Span::raw(pad.clone()),
                Span::styled(text[r].to_string(), style),
            ])
        })
        .collect()
}

/// Scrolls a text popup (help, trace) by a navigation action. False when
/// the action closes it.
pub fn scroll_text(app: &App, scroll: &mut usize, a: Action) -> bool {
    if matches!(a, Action::Close) {
        return false;
    }
    let page = app.size.height.saturating_sub(8) as usize;
    let d = step(a, page).unwrap_or(0);
    // The renderer clamps at the end of the text.
    *scroll = (*scroll as isize).saturating_add(d).clamp(0, 100_000) as usize;
    true
}

/// The mouse wheel on a text popup.
pub fn wheel_text(scroll: &mut usize, d: isize) {
    *scroll = (*scroll as isize + d).max(0) as usize;
}

/// Draws a scrollable popup of pre-wrapped lines.
pub fn text(
    app: &App,
    buf: &mut Buffer,
    a: Rect,
    title: &str,
    lines: &[ratatui::text::Line<'static>],
    scroll: usize,
) {
    use ratatui::widgets::{Block, Widget};
    let t = &app.cfg.theme;
    let inner_h = a.height.saturating_sub(2) as usize;
    let max_scroll = lines.len().saturating_sub(inner_h);
    let scroll = scroll.min(max_scroll);
    let more = if max_scroll > 0 {
        format!(" {}/{} ", scroll + inner_h.min(lines.len()), lines.len())
    } else {
        String::new()
    };
    let block = Block::bordered()
        .border_style(t.border_focus)
        .style(t.popup)
        .title(Span::styled(title.to_string(), t.title))
        .title_bottom(Span::styled(more, t.dim));
    let inner = block.inner(a);
    block.render(a, buf);
    for (i, l) in lines.iter().skip(scroll).take(inner_h).enumerate() {
        super::ui::put_line(
            buf,
            inner.x,
            inner.y + i as u16,
            inner.width,
            l.spans.clone(),
            t.popup,
        );
    }
}
