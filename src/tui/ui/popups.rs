//! Popups over the panes: where the one on top goes and the frame around
//! it; each popup draws itself (see `tui::popup`).

use ratatui::layout::Rect;
use ratatui::widgets::Clear;
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::width;

/// Where the current popup goes in `area`.
pub fn area(app: &App, area: Rect) -> Rect {
    app.overlay
        .popup()
        .map(|p| p.area(area))
        .unwrap_or_default()
}

pub fn render(frame: &mut Frame, app: &App, screen: Rect) {
    let a = area(app, screen);
    if a.width < 4 || a.height < 4 {
        return;
    }
    frame.render_widget(Clear, a);
    unstraddle(frame.buffer_mut(), a);
    if let Some(p) = app.overlay.popup() {
        p.render(app, frame.buffer_mut(), a);
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
