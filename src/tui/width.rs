//! Display-width helpers. Chinese characters take two terminal columns, so
//! every column, truncation and wrap is measured in display width, never in
//! bytes or chars.

use std::ops::Range;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Terminal columns a string takes.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Terminal columns of one char (control characters count as zero).
pub fn char_width(c: char) -> usize {
    UnicodeWidthChar::width(c).unwrap_or(0)
}

/// Cuts `s` to at most `max` columns, ending with `…` when something was
/// cut. A double-width char that would straddle the limit is dropped whole.
pub fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = char_width(c);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// Truncates to `w` columns and pads with spaces to exactly `w` columns.
pub fn fit(s: &str, w: usize) -> String {
    let mut t = truncate(s, w);
    let tw = width(&t);
    t.extend(std::iter::repeat_n(' ', w.saturating_sub(tw)));
    t
}

/// Pads on the left to `w` columns (no truncation).
pub fn pad_left(s: &str, w: usize) -> String {
    let sw = width(s);
    let mut out: String = std::iter::repeat_n(' ', w.saturating_sub(sw)).collect();
    out.push_str(s);
    out
}

/// Splits `text` into byte ranges that each fit `max` columns, breaking at
/// newlines and wherever a line is full (Chinese has no spaces to break
/// at, so lines break between any two chars). Empty lines are kept.
pub fn wrap(text: &str, max: usize) -> Vec<Range<usize>> {
    let max = max.max(2);
    let mut out = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, c) in text.char_indices() {
        if c == '\n' {
            out.push(start..i);
            start = i + 1;
            used = 0;
            continue;
        }
        if c == '\r' {
            continue;
        }
        let w = char_width(c);
        if used + w > max {
            out.push(start..i);
            start = i;
            used = 0;
        }
        used += w;
    }
    if start < text.len() || out.is_empty() {
        out.push(start..text.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_by_columns_not_chars() {
        assert_eq!(truncate("不稳定型心绞痛", 8), "不稳定…");
        assert_eq!(width(&truncate("不稳定型心绞痛", 8)), 7);
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("I20.000 不稳定", 9), "I20.000 …");
        assert_eq!(fit("高血压", 8), "高血压  ");
        assert_eq!(width(&fit("高血压病3级", 7)), 7);
    }

    #[test]
    fn wraps_cjk_at_width() {
        let t = "冠状动脉粥样硬化性心脏病";
        let lines: Vec<_> = wrap(t, 10).into_iter().map(|r| &t[r]).collect();
        assert_eq!(lines, ["冠状动脉粥", "样硬化性心", "脏病"]);
        let t = "ab\n\ncd";
        let lines: Vec<_> = wrap(t, 10).into_iter().map(|r| &t[r]).collect();
        assert_eq!(lines, ["ab", "", "cd"]);
    }
}
