//! Where every pane goes, as a pure function of the terminal size and a few
//! view settings. Rendering and mouse hit-testing both use it, so a click
//! always lands on what was drawn there.
//!
//! Wide terminals (≥ 120×30) put the record on the left and the two tracks
//! on the right; narrower ones stack record, diagnoses and procedures. A
//! track shows as many stage panes side by side as fit; the others stay
//! listed, with their status, in the track's title strip.

use ratatui::layout::Rect;

use crate::pipeline::StageKind;
use crate::record::Track;

/// One stage column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaneArea {
    pub kind: StageKind,
    /// The whole column (including its left separator, if any).
    pub area: Rect,
    /// First row: title and status.
    pub header: Rect,
    /// Trainer mode: the one-line note.
    pub note: Option<Rect>,
    /// The item rows.
    pub list: Rect,
    /// Whether the column has a separator on its left.
    pub separated: bool,
}

/// One track's block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackArea {
    pub track: Track,
    pub outer: Rect,
    pub panes: Vec<PaneArea>,
    /// Index (in the track's stage list) of the first visible pane.
    pub first: usize,
}

/// The whole screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    pub record: Rect,
    pub tracks: Vec<TrackArea>,
    pub status: Rect,
    pub footer: Rect,
    pub wide: bool,
}

/// View settings the layout depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayoutParams {
    pub trainer: bool,
    /// The record pane has focus (on narrow screens it then gets more rows).
    pub record_focused: bool,
    /// First visible stage of each track (diagnosis, procedure).
    pub first: [usize; 2],
}

/// True when the screen is big enough for the side-by-side layout.
pub fn is_wide(area: Rect) -> bool {
    area.width >= 120 && area.height >= 30
}

/// How many stage panes fit side by side in a track block of this width.
pub fn panes_fit(outer_width: u16) -> usize {
    let inner = outer_width.saturating_sub(2) as usize;
    let min = if inner >= 100 { 17 } else { 24 };
    (inner / min).max(1)
}

/// The first visible pane so that `focused` is shown, moving `first` as little as possible.
pub fn window_start(first: usize, focused: usize, fit: usize, total: usize) -> usize {
    let fit = fit.max(1);
    let mut f = first.min(total.saturating_sub(fit));
    if focused < f {
        f = focused;
    } else if focused >= f + fit {
        f = focused + 1 - fit;
    }
    f
}

fn split_h(area: Rect, weights: &[u16]) -> Vec<Rect> {
    let total: u32 = weights.iter().map(|&w| w as u32).sum::<u32>().max(1);
    let mut out = Vec::with_capacity(weights.len());
    let mut x = area.x;
    let mut acc = 0u32;
    for (i, &w) in weights.iter().enumerate() {
        acc += w as u32;
        let end = if i + 1 == weights.len() {
            area.x + area.width
        } else {
            area.x + (area.width as u32 * acc / total) as u16
        };
        out.push(Rect::new(x, area.y, end.saturating_sub(x), area.height));
        x = end;
    }
    out
}

fn track_area(track: Track, outer: Rect, first: usize, trainer: bool) -> TrackArea {
    let stages = StageKind::of_track(track);
    let inner = Rect::new(
        outer.x + 1,
        outer.y + 1,
        outer.width.saturating_sub(2),
        outer.height.saturating_sub(2),
    );
    let fit = panes_fit(outer.width).min(stages.len());
    let first = first.min(stages.len() - fit);
    let shown = &stages[first..first + fit];
    // The final codes carry code and name: give them more room.
    let weights: Vec<u16> = shown
        .iter()
        .map(|k| if *k == StageKind::Map { 3 } else { 2 })
        .collect();
    let cols = split_h(inner, &weights);
    let panes = shown
        .iter()
        .zip(cols)
        .enumerate()
        .map(|(i, (&kind, area))| {
            let separated = i > 0;
            let x = area.x + separated as u16;
            let w = area.width.saturating_sub(separated as u16);
            let header = Rect::new(x, area.y, w, area.height.min(1));
            let mut y = area.y + header.height;
            let note = if trainer && area.height > 2 {
                y += 1;
                Some(Rect::new(x, y - 1, w, 1))
            } else {
                None
            };
            let list = Rect::new(x, y, w, (area.y + area.height).saturating_sub(y));
            PaneArea {
                kind,
                area,
                header,
                note,
                list,
                separated,
            }
        })
        .collect();
    TrackArea {
        track,
        outer,
        panes,
        first,
    }
}

/// Lays out the screen.
pub fn screen(area: Rect, p: LayoutParams) -> Screen {
    let wide = is_wide(area);
    let status_h = area.height.min(1);
    let footer_h = (area.height - status_h).min(1);
    let body_h = area.height - status_h - footer_h;
    let status = Rect::new(area.x, area.y + body_h, area.width, status_h);
    let footer = Rect::new(area.x, area.y + body_h + status_h, area.width, footer_h);
    let (record, diag, proc_) = if wide {
        let rw = (area.width / 4).clamp(36, 56);
        let record = Rect::new(area.x, area.y, rw, body_h);
        let right_x = area.x + rw;
        let right_w = area.width - rw;
        let dh = body_h * 2 / 5;
        (
            record,
            Rect::new(right_x, area.y, right_w, dh),
            Rect::new(right_x, area.y + dh, right_w, body_h - dh),
        )
    } else {
        let rh = if p.record_focused {
            body_h / 2
        } else {
            (body_h / 4).clamp(4.min(body_h), 12)
        };
        let rest = body_h - rh;
        let dh = rest / 2;
        (
            Rect::new(area.x, area.y, area.width, rh),
            Rect::new(area.x, area.y + rh, area.width, dh),
            Rect::new(area.x, area.y + rh + dh, area.width, rest - dh),
        )
    };
    Screen {
        record,
        tracks: vec![
            track_area(Track::Diagnosis, diag, p.first[0], p.trainer),
            track_area(Track::Procedure, proc_, p.first[1], p.trainer),
        ],
        status,
        footer,
        wide,
    }
}

/// A centered popup of at most `w`×`h` inside `area`.
pub fn popup(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// True when the point is inside the rectangle.
pub fn contains(r: Rect, col: u16, row: u16) -> bool {
    col >= r.x && col < r.x + r.width && row >= r.y && row < r.y + r.height
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> LayoutParams {
        LayoutParams {
            trainer: false,
            record_focused: false,
            first: [0, 0],
        }
    }

    #[test]
    fn wide_layout_shows_every_stage() {
        let s = screen(Rect::new(0, 0, 160, 48), params());
        assert!(s.wide);
        assert_eq!(s.tracks[0].panes.len(), 4);
        assert_eq!(s.tracks[1].panes.len(), 6);
        assert_eq!(s.footer.y, 47);
        assert_eq!(s.status.y, 46);
        // Columns tile the track without gaps.
        let p = &s.tracks[1].panes;
        for w in p.windows(2) {
            assert_eq!(w[0].area.x + w[0].area.width, w[1].area.x);
        }
    }

    #[test]
    fn narrow_layout_windows_the_stages() {
        let s = screen(Rect::new(0, 0, 80, 24), params());
        assert!(!s.wide);
        assert_eq!(s.tracks[1].panes.len(), 3);
        assert_eq!(
            s.record.height + s.tracks[0].outer.height + s.tracks[1].outer.height,
            22
        );
        assert_eq!(window_start(0, 5, 3, 6), 3);
        assert_eq!(window_start(3, 1, 3, 6), 1);
        assert_eq!(window_start(2, 3, 3, 6), 2);
    }

    #[test]
    fn tiny_terminals_do_not_panic() {
        for (w, h) in [(1, 1), (10, 3), (20, 5), (0, 0), (200, 2)] {
            let _ = screen(Rect::new(0, 0, w, h), params());
        }
    }
}
