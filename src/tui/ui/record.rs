//! The record pane: sections, foldable, with the focused item's evidence
//! highlighted.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Widget};

use super::{put_line, put_row};
use crate::tui::app::{App, Focus};
use crate::tui::width;

pub fn render(buf: &mut Buffer, app: &App, area: Rect) {
    let t = &app.cfg.theme;
    let focused = app.focus == Focus::Record;
    let rec = app.record();
    let title = Line::from(vec![
        Span::styled(crate::tr!(app.cfg.lang, RecordPane), t.title),
        Span::styled(rec.id.clone(), t.title),
        Span::styled(
            format!(" {}/{} ", app.current + 1, app.records.len()),
            t.dim,
        ),
    ]);
    let block = Block::bordered()
        .border_style(if focused { t.border_focus } else { t.border })
        .title(title);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let lines = app.record_lines(inner.width as usize);
    let evidence = app.evidence();
    let w = inner.width as usize;
    for (row, l) in lines
        .iter()
        .skip(app.record_view.offset)
        .take(inner.height as usize)
        .enumerate()
    {
        let y = inner.y + row as u16;
        let sec = &rec.sections[l.section];
        match &l.range {
            None => {
                let open = app.section_open(l.section);
                let mut left = w;
                let mut spans = vec![super::fit_span(
                    if open { "▾ " } else { "▸ " },
                    &mut left,
                    t.dim,
                )];
                spans.push(super::fit_span(&sec.name, &mut left, t.header));
                if !open {
                    let n = sec.text.chars().count();
                    let chars = crate::tr!(app.cfg.lang, SectionChars, n = n);
                    spans.push(super::fit_span(&chars, &mut left, t.dim));
                }
                let selected = focused && app.record_view.cursor == l.section;
                let sel = selected.then_some(t.selected);
                put_row(buf, inner.x, y, inner.width, spans, t.base, sel);
            }
            Some(r) => {
                // Split the line where evidence starts and ends.
                let mut cuts = vec![r.start, r.end];
                for s in evidence.iter().filter(|s| s.section == l.section) {
                    for b in [s.start, s.end] {
                        if b > r.start && b < r.end && sec.text.is_char_boundary(b) {
                            cuts.push(b);
                        }
                    }
                }
                cuts.sort_unstable();
                cuts.dedup();
                let mut spans = vec![Span::raw("  ")];
                for pair in cuts.windows(2) {
                    let (a, b) = (pair[0], pair[1]);
                    let hit = evidence
                        .iter()
                        .any(|s| s.section == l.section && s.start <= a && b <= s.end);
                    let style: Style = if hit { t.evidence } else { t.base };
                    spans.push(Span::styled(sec.text[a..b].to_string(), style));
                }
                put_line(buf, inner.x, y, inner.width, spans, t.base);
            }
        }
    }
    // A scroll hint when there is more below.
    if lines.len() > app.record_view.offset + inner.height as usize && area.height > 2 {
        let more = lines.len() - app.record_view.offset - inner.height as usize;
        let s = width::truncate(&format!(" ↓{more} "), w);
        let x = area.x + area.width.saturating_sub(width::width(&s) as u16 + 1);
        buf.set_stringn(x, area.y + area.height - 1, s, w, t.dim);
    }
}
