//! Text normalization shared by importers, search and the pipeline.
//!
//! Sources spell the same name differently: full-width vs ASCII brackets and
//! digits, Unicode Roman numerals (Ⅲ) vs ASCII (III), stray spaces. Matching
//! works on the normalized form; output keeps the table's own spelling.

/// Normalizes a clinical name for matching: full-width ASCII → half-width,
/// Unicode Roman numerals → ASCII letters, all brackets → `(`/`)`, lowercase,
/// whitespace removed.
pub fn normalize_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            // Full-width forms of ASCII.
            '\u{FF01}'..='\u{FF5E}' => {
                let h = char::from_u32(c as u32 - 0xFEE0).unwrap_or(c);
                push_folded(&mut out, h);
            }
            '\u{3000}' => {}
            'Ⅰ' | 'ⅰ' => out.push('i'),
            'Ⅱ' | 'ⅱ' => out.push_str("ii"),
            'Ⅲ' | 'ⅲ' => out.push_str("iii"),
            'Ⅳ' | 'ⅳ' => out.push_str("iv"),
            'Ⅴ' | 'ⅴ' => out.push('v'),
            'Ⅵ' | 'ⅵ' => out.push_str("vi"),
            'Ⅶ' | 'ⅶ' => out.push_str("vii"),
            'Ⅷ' | 'ⅷ' => out.push_str("viii"),
            'Ⅸ' | 'ⅸ' => out.push_str("ix"),
            'Ⅹ' | 'ⅹ' => out.push('x'),
            '【' | '〔' | '[' | '{' | '<' | '《' | '〈' => out.push('('),
            '】' | '〕' | ']' | '}' | '>' | '》' | '〉' => out.push(')'),
            '\\' => {} // backslash escapes in the .dat tables, e.g. `\[HIV\]`
            '、' => out.push(','),
            '。' => out.push('.'),
            '–' | '—' => out.push('-'),
            '·' | '•' => out.push('.'),
            c if c.is_whitespace() => {}
            c => push_folded(&mut out, c),
        }
    }
    out
}

fn push_folded(out: &mut String, c: char) {
    match c {
        '[' | '{' | '<' => out.push('('),
        ']' | '}' | '>' => out.push(')'),
        '\\' => {}
        c if c.is_whitespace() => {}
        c => out.extend(c.to_lowercase()),
    }
}

/// Characters of a string as a vector (for char-level fuzzy matching).
pub fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// True when the string holds at least one CJK ideograph.
pub fn has_cjk(s: &str) -> bool {
    s.chars().any(is_cjk)
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0xF900..=0xFAFF)
}

/// Byte range of the `n`th char boundary helpers: converts a char offset to a byte offset.
pub fn char_to_byte(s: &str, char_idx: usize) -> usize {
    s.char_indices()
        .nth(char_idx)
        .map(|(b, _)| b)
        .unwrap_or(s.len())
}

/// Truncates to at most `max_chars` characters, on a char boundary.
pub fn truncate_chars(s: &str, max_chars: usize) -> &str {
    &s[..char_to_byte(s, max_chars)]
}

/// The last `n` characters (all of `s` when it is shorter).
pub fn last_chars(s: &str, n: usize) -> &str {
    if n == 0 {
        return "";
    }
    let start = s.char_indices().rev().nth(n - 1).map_or(0, |(b, _)| b);
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_chars_counts_characters_not_bytes() {
        assert_eq!(last_chars("行冠状动脉造影", 4), "动脉造影");
        assert_eq!(last_chars("造影", 12), "造影");
        assert_eq!(last_chars("造影", 0), "");
        assert_eq!(last_chars("", 3), "");
    }

    #[test]
    fn folds_width_brackets_and_numerals() {
        assert_eq!(
            normalize_name("高血压病（3级 极高危）"),
            normalize_name("高血压病(3级极高危)")
        );
        assert_eq!(normalize_name("心功能Ⅲ级"), normalize_name("心功能III级"));
        assert_eq!(normalize_name("Ｉ度房室传导阻滞"), "i度房室传导阻滞");
        assert_eq!(
            normalize_name("获得性免疫缺陷综合征\\[HIV\\]"),
            "获得性免疫缺陷综合征(hiv)"
        );
        assert_ne!(normalize_name("心功能II级"), normalize_name("心功能III级"));
    }

    #[test]
    fn truncation_respects_chars() {
        assert_eq!(truncate_chars("高血压病", 2), "高血");
        assert_eq!(truncate_chars("ab", 5), "ab");
    }
}
