//! The page text of a record read from a PDF, beside the record: each page
//! as it was read — its text layer, or what OCR made of a scan, with the
//! OCR confidence and time — so the coder can check an OCR'd item against
//! the page it came from.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::action::Action;
use super::app::{App, Level, Overlay};
use super::keymap::Mode;
use super::popup::{self, Popup};
use super::ui::put_line;
use super::width;
use crate::i18n::{Lang, Msg};
use crate::record::Page;
use crate::tr;

/// The popup's state: the pages (copied from the record) and the scroll.
pub struct PagesPopup {
    pub record_id: String,
    pub pages: Vec<Page>,
    pub scroll: usize,
}

impl PagesPopup {
    /// Opens the page text of the open record (or says why there is none).
    pub fn open(app: &mut App) {
        let r = app.record();
        if r.pages.is_empty() {
            app.say(Msg::PagesNone, Level::Info);
            return;
        }
        let p = PagesPopup {
            record_id: r.id.clone(),
            pages: r.pages.clone(),
            scroll: 0,
        };
        app.overlay = Overlay::Popup(Box::new(p));
    }

    /// The lines shown at a width: per page a header, then its text wrapped.
    pub fn lines(&self, w: usize, lang: Lang) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        for p in &self.pages {
            let how = match (p.ocr_confidence, p.ocr_ms) {
                (Some(c), ms) => format!(
                    "OCR {c}%{}{}",
                    ms.map(|m| format!(" · {:.1} s", m as f64 / 1000.0))
                        .unwrap_or_default(),
                    if c < 90 { tr!(lang, PagesCheck) } else { "" }
                ),
                (None, _) => tr!(lang, PagesTextLayer).to_string(),
            };
            let secs = if p.sections.is_empty() {
                String::new()
            } else {
                format!(" · {}", p.sections.join("、"))
            };
            let head = tr!(lang, PagesHeader, n = p.number, how = how, secs = secs);
            out.push((head, true));
            for line in p.text.lines() {
                if line.trim().is_empty() {
                    out.push((String::new(), false));
                    continue;
                }
                for r in width::wrap(line, w.max(4)) {
                    out.push((line[r].to_string(), false));
                }
            }
            out.push((String::new(), false));
        }
        out
    }
}

impl Popup for PagesPopup {
    fn mode(&self) -> Mode {
        Mode::Pages
    }

    fn handle(&mut self, app: &mut App, a: Action) -> bool {
        let page = popup::list_height(self.area(app.size));
        if let Some(d) = popup::step(a, page) {
            let n = self
                .lines(
                    self.area(app.size).width.saturating_sub(2) as usize,
                    app.cfg.lang,
                )
                .len();
            self.scroll = popup::moved(self.scroll, d, n);
            return true;
        }
        !matches!(a, Action::Close | Action::Pages)
    }

    fn area(&self, screen: Rect) -> Rect {
        // Beside the record: the right part of the screen.
        let w = (screen.width / 2).max(40).min(screen.width);
        Rect::new(
            screen.x + screen.width - w,
            screen.y,
            w,
            screen.height.saturating_sub(1),
        )
    }

    fn wheel(&mut self, d: isize) {
        self.scroll = (self.scroll as isize + d).max(0) as usize;
    }

    fn render(&self, app: &App, buf: &mut Buffer, area: Rect) {
        let t = &app.cfg.theme;
        let ocr = self.pages.iter().filter(|p| p.is_ocr()).count();
        let lang = app.cfg.lang;
        let title = tr!(lang, PagesTitle, id = self.record_id);
        let info = tr!(lang, PagesInfo, n = self.pages.len(), ocr = ocr);
        let Some(list) = popup::frame(app, buf, area, &title, &info, Vec::new()) else {
            return;
        };
        let lines = self.lines(list.width as usize, lang);
        let h = list.height as usize;
        let first = self.scroll.min(lines.len().saturating_sub(1));
        for (y, (text, head)) in lines.iter().skip(first).take(h).enumerate() {
            let style = if *head { t.header } else { t.popup };
            put_line(
                buf,
                list.x,
                list.y + y as u16,
                list.width,
                vec![Span::styled(
                    width::truncate(text, list.width as usize),
                    style,
                )],
                t.popup,
            );
        }
    }
}
