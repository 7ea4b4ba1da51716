//! The coders' alias memory in the workbench: what a coder accepts or
//! corrects in a Standardize list (raw text → code) is taught to it at once
//! (the engine's learned helper holds the same memory, so the next record
//! maps that text the same way), and a popup lists what was taught and
//! forgets an entry on request. Every change is saved and audited by
//! [`crate::learn::CoderAliases`].

use std::sync::MutexGuard;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;

use super::action::Action;
use super::app::{App, Level, Overlay};
use super::popup::{self, Popup};
use super::ui::{fit_span, put_line, put_row};
use super::width;
use crate::i18n::{self, Msg};
use crate::learn::{CoderAliases, SharedCoderAliases};
use crate::pipeline::{Item, Origin};
use crate::record::Track;
use crate::tr;

fn lock(shared: &SharedCoderAliases) -> MutexGuard<'_, CoderAliases> {
    // A panic elsewhere while holding the lock leaves the memory as it was
    // (teach and forget restore it on failure): keep using it.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// The (raw text, code) pairs an edit teaches: items of `items` that the
/// edit made (not in `before`), the coder's, with their raw source text
/// and a code.
pub fn teachable(items: &[Item], before: &[Item]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for i in items
        .iter()
        .filter(|i| i.origin == Origin::Coder && !before.contains(i))
    {
        if let (Some(src), Some(code)) = (&i.source, &i.code) {
            let pair = (src.trim().to_string(), code.clone());
            if !pair.0.is_empty() && !out.contains(&pair) {
                out.push(pair);
            }
        }
    }
    out
}

/// Teaches the coder alias memory each (raw text, code) pair whose code is
/// in the loaded table, and says so in front of the status line. A failed
/// save leaves the memory as it was and shows the error; the edit stands.
pub fn teach(app: &mut App, track: Track, pairs: &[(String, String)]) {
    let Some(shared) = app.cfg.coder_aliases.clone() else {
        return;
    };
    let Some(ctx) = app.ctx.clone() else { return };
    let tbl = ctx.matcher(track).terminology();
    let user = app.cfg.user.clone();
    let mut taught = Vec::new();
    for (text, code) in pairs {
        let Some(e) = tbl.get(code) else { continue };
        let res = lock(&shared).teach(track, text, vec![e.code.clone()], &user);
        match res {
            Ok(()) => taught.push(format!("“{text}” → {}", e.code)),
            Err(e) => {
                tracing::warn!(error = %e, "coder alias not taught");
                let msg = tr!(app.cfg.lang, AliasNotLearned, e = e);
                app.set_status(msg, Level::Warn);
                return;
            }
        }
    }
    if taught.is_empty() {
        return;
    }
    let list = taught.join(", ");
    let mut msg = if taught.len() == 1 {
        tr!(app.cfg.lang, AliasLearnedOne, list = list)
    } else {
        tr!(app.cfg.lang, AliasLearnedMany, list = list)
    };
    if let Some((prev, Level::Info)) = &app.status {
        msg.push_str(" · ");
        msg.push_str(prev);
    }
    app.set_status(msg, Level::Info);
}

/// One taught alias as the popup lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasRow {
    pub track: Track,
    pub text: String,
    pub codes: Vec<String>,
    pub user: Option<String>,
    /// RFC 3339.
    pub taught: Option<String>,
}

/// The taught-aliases popup.
#[derive(Debug, Clone)]
pub struct AliasPopup {
    pub rows: Vec<AliasRow>,
    pub cursor: usize,
}

impl AliasPopup {
    /// Opens the popup on the coder alias memory (or says why it cannot).
    pub fn open(app: &mut App) {
        let Some(shared) = app.cfg.coder_aliases.clone() else {
            app.say(Msg::AliasNoMemory, Level::Warn);
            return;
        };
        app.overlay = Overlay::Popup(Box::new(AliasPopup {
            rows: rows(&shared),
            cursor: 0,
        }));
    }

    /// The highlighted alias.
    pub fn selected(&self) -> Option<&AliasRow> {
        self.rows.get(self.cursor)
    }

    fn forget(&mut self, app: &mut App) {
        let Some(shared) = app.cfg.coder_aliases.clone() else {
            return;
        };
        let Some(row) = self.selected().cloned() else {
            app.say(Msg::AliasNothingToForget, Level::Info);
            return;
        };
        let res = lock(&shared).forget(row.track, &row.text, &app.cfg.user);
        let lang = app.cfg.lang;
        let (msg, level) = match res {
            Ok(true) => (
                tr!(
                    lang,
                    AliasForgot,
                    text = row.text,
                    track = i18n::track_name(lang, row.track)
                ),
                Level::Info,
            ),
            Ok(false) => (tr!(lang, AliasNoLonger, text = row.text), Level::Info),
            Err(e) => (tr!(lang, AliasNotForgotten, e = e), Level::Warn),
        };
        app.set_status(msg, level);
        self.rows = rows(&shared);
        self.cursor = self.cursor.min(self.rows.len().saturating_sub(1));
    }
}

/// The memory's aliases, newest first.
fn rows(shared: &SharedCoderAliases) -> Vec<AliasRow> {
    let c = lock(shared);
    let mut rows: Vec<AliasRow> = c
        .memory()
        .aliases()
        .iter()
        .map(|a| AliasRow {
            track: a.track,
            text: a.text.clone(),
            codes: a.best().to_vec(),
            user: a.user.clone(),
            taught: a.taught.clone(),
        })
        .collect();
    rows.sort_by(|a, b| b.taught.cmp(&a.taught));
    rows
}

/// `2026-01-05 14:03` of an RFC 3339 time (as stored: UTC).
fn when(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => rfc3339.chars().take(16).collect(),
    }
}

impl Popup for AliasPopup {
    fn mode(&self) -> super::keymap::Mode {
        super::keymap::Mode::Aliases
    }

    fn handle(&mut self, app: &mut App, a: Action) -> bool {
        let page = popup::list_height(self.area(app.size));
        if let Some(d) = popup::step(a, page) {
            self.cursor = popup::moved(self.cursor, d, self.rows.len());
            return true;
        }
        match a {
            Action::Close => return false,
            Action::Forget => self.forget(app),
            _ => {}
        }
        true
    }

    fn area(&self, screen: Rect) -> Rect {
        popup::centered(screen, 120, 30)
    }

    fn click(&mut self, area: Rect, row: u16) {
        let h = popup::list_height(area);
        if let Some(i) = popup::clicked_row(area, row, self.cursor, h, self.rows.len()) {
            self.cursor = i;
        }
    }

    fn wheel(&mut self, d: isize) {
        self.cursor = popup::moved(self.cursor, d, self.rows.len());
    }

    fn render(&self, app: &App, buf: &mut Buffer, area: Rect) {
        let t = &app.cfg.theme;
        let lang = app.cfg.lang;
        let forget = app
            .cfg
            .keymap
            .hint(super::keymap::Mode::Aliases, Action::Forget)
            .unwrap_or_default();
        let info = tr!(lang, AliasInfo, n = self.rows.len(), forget = forget);
        // Columns: track, text → codes, user, when.
        let w = area.width.saturating_sub(2) as usize;
        let (user_w, when_w) = if w >= 90 { (10, 16) } else { (0, 0) };
        let rest = w.saturating_sub(7 + user_w + when_w + 4 * usize::from(user_w > 0));
        let text_w = (rest * 2 / 5).max(6);
        let mut left = w;
        let mut header = vec![
            fit_span(&width::fit(tr!(lang, AliasTrack), 6), &mut left, t.header),
            fit_span(
                &width::fit(tr!(lang, AliasText), text_w),
                &mut left,
                t.header,
            ),
            fit_span(" ", &mut left, t.header),
            fit_span(
                &width::fit(tr!(lang, AliasCodes), rest.saturating_sub(text_w)),
                &mut left,
                t.header,
            ),
        ];
        if user_w > 0 {
            header.push(fit_span(
                &format!("  {}", width::fit(tr!(lang, AliasUser), user_w)),
                &mut left,
                t.header,
            ));
            header.push(fit_span(tr!(lang, AliasWhen), &mut left, t.header));
        }
        let title = tr!(lang, AliasTitle);
        let Some(list) = popup::frame(app, buf, area, title, &info, header) else {
            return;
        };
        if self.rows.is_empty() {
            let msg = tr!(lang, AliasEmpty);
            put_line(
                buf,
                list.x,
                list.y,
                list.width,
                vec![Span::styled(
                    width::truncate(msg, list.width as usize),
                    t.dim,
                )],
                t.popup,
            );
            return;
        }
        let h = list.height as usize;
        let offset = popup::offset(self.cursor, h);
        for (y, (i, r)) in self
            .rows
            .iter()
            .enumerate()
            .skip(offset)
            .take(h)
            .enumerate()
        {
            let mut left = list.width as usize;
            let tbl = app.ctx.as_ref().map(|c| c.matcher(r.track).terminology());
            let mut codes = format!("→ {}", r.codes.join(" + "));
            if let ([code], Some(e)) = (r.codes.as_slice(), tbl.and_then(|tb| tb.get(&r.codes[0])))
            {
                codes = format!("→ {code} {}", e.name);
            }
            let mut spans = vec![
                fit_span(
                    &width::fit(i18n::track_name(lang, r.track), 6),
                    &mut left,
                    t.origin_coder,
                ),
                fit_span(&width::fit(&r.text, text_w), &mut left, t.popup),
                fit_span(" ", &mut left, t.popup),
                fit_span(
                    &width::fit(&codes, rest.saturating_sub(text_w)),
                    &mut left,
                    t.code,
                ),
            ];
            if user_w > 0 {
                let user = r.user.as_deref().unwrap_or("");
                let at = r.taught.as_deref().map(when).unwrap_or_default();
                spans.push(fit_span(
                    &format!("  {}", width::fit(user, user_w)),
                    &mut left,
                    t.dim,
                ));
                spans.push(fit_span(&format!("  {at}"), &mut left, t.dim));
            }
            put_row(
                buf,
                list.x,
                list.y + y as u16,
                list.width,
                spans,
                t.popup,
                (i == self.cursor).then_some(t.selected),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_new_coder_items_with_raw_text_and_code_teach() {
        let agent = Item::new("冠状动脉粥样硬化性心脏病", Origin::Agent)
            .with_code("I25.103")
            .with_source("冠心病");
        let mut accepted = agent.clone();
        accepted.origin = Origin::Coder;
        let typed = Item::new("心绞痛", Origin::Coder).with_code("I20.900");
        let uncoded = Item::new("胸痛", Origin::Coder).with_source("胸痛待查");
        let before = vec![agent.clone(), typed.clone()];
        let after = vec![accepted.clone(), typed, uncoded, accepted];
        assert_eq!(
            teachable(&after, &before),
            [("冠心病".to_string(), "I25.103".to_string())]
        );
        // Unchanged lists teach nothing.
        assert!(teachable(&before, &before).is_empty());
    }

    #[test]
    fn times_show_in_utc_minutes() {
        assert_eq!(when("2026-03-01T17:10:05+08:00"), "2026-03-01 09:10");
        assert_eq!(when("yesterday"), "yesterday");
    }
}
