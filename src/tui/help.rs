//! The help overlay: every key of every mode (from the keymap in use) and
//! the legend of the marks, scrolled with the navigation keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::action::Action;
use super::app::{App, Overlay};
use super::keymap::Mode;
use super::layout::popup;
use super::popup::{self as pp, Popup};
use super::ui::fit_span;
use super::width;
use crate::i18n::Msg;
use crate::tr;

/// The help popup's state: how far it is scrolled.
#[derive(Debug, Clone, Default)]
pub struct HelpPopup {
    pub scroll: usize,
}

impl HelpPopup {
    pub fn open(app: &mut App) {
        app.overlay = Overlay::Popup(Box::new(HelpPopup::default()));
    }
}

impl Popup for HelpPopup {
    fn mode(&self) -> Mode {
        Mode::Help
    }

    fn handle(&mut self, app: &mut App, a: Action) -> bool {
        pp::scroll_text(app, &mut self.scroll, a)
    }

    fn area(&self, screen: Rect) -> Rect {
        popup(screen, 84, screen.height.saturating_sub(2))
    }

    fn render(&self, app: &App, buf: &mut Buffer, area: Rect) {
        let lines = help_lines(app, area.width.saturating_sub(2) as usize);
        pp::text(
            app,
            buf,
            area,
            tr!(app.cfg.lang, HelpTitle),
            &lines,
            self.scroll,
        );
    }

    fn wheel(&mut self, d: isize) {
        pp::wheel_text(&mut self.scroll, d);
    }
}

fn help_lines(app: &App, w: usize) -> Vec<Line<'static>> {
    let t = &app.cfg.theme;
    let lang = app.cfg.lang;
    let km = &app.cfg.keymap;
    let mut out = Vec::new();
    let groups = [
        (Mode::Normal, Msg::HelpNormal),
        (Mode::Edit, Msg::HelpEdit),
        (Mode::Search, Msg::HelpSearch),
        (Mode::Picker, Msg::HelpPicker),
        (Mode::Help, Msg::HelpPopups),
        (Mode::Similar, Msg::HelpSimilar),
        (Mode::Aliases, Msg::HelpAliases),
        (Mode::Locate, Msg::HelpLocate),
        (Mode::Pages, Msg::HelpPages),
    ];
    for (mode, title) in groups {
        let title = title.text(lang);
        out.push(Line::from(Span::styled(
            width::truncate(title, w),
            t.header,
        )));
        for (action, keys) in km.bindings(mode) {
            let ks = keys
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(" ");
            let mut left = w;
            let spans = vec![
                fit_span("  ", &mut left, t.base),
                fit_span(&width::fit(&ks, 22), &mut left, t.code),
                fit_span(" ", &mut left, t.base),
                fit_span(&action.description(lang), &mut left, t.popup),
            ];
            out.push(Line::from(spans));
        }
        out.push(Line::default());
    }
    out.push(Line::from(Span::styled(tr!(lang, HelpLegend), t.header)));
    for l in [
        Msg::HelpLegendStatus,
        Msg::HelpLegendOrigin,
        Msg::HelpLegendMarks,
        Msg::HelpLegendTrainer,
    ] {
        let l = l.text(lang);
        out.push(Line::from(Span::styled(width::truncate(l, w), t.popup)));
    }
    out.push(Line::from(Span::styled(
        width::truncate(tr!(lang, HelpKeysFile), w),
        t.dim,
    )));
    out
}
