//! Locating the text in a record that supports an item.

use crate::pipeline::Span;
use crate::record::Record;
use crate::text::last_chars;

/// Spans where `needle` occurs verbatim, preferring the given sections.
pub fn find_exact(record: &Record, needle: &str, sections: &[usize]) -> Vec<Span> {
    if needle.is_empty() {
        return Vec::new();
    }
    let order = section_order(record, sections);
    for si in order {
        let text = &record.sections[si].text;
        if let Some(pos) = text.find(needle) {
            return vec![Span {
                section: si,
                start: pos,
                end: pos + needle.len(),
            }];
        }
    }
    Vec::new()
}

/// Best supporting span for a name: the whole name if it occurs, otherwise
/// the longest piece of it (at least `min_chars` characters) that does.
pub fn find_best(
    record: &Record,
    name: &str,
    sections: &[usize],
    min_chars: usize,
) -> Option<(Span, usize)> {
    let exact = find_exact(record, name, sections);
    if let Some(s) = exact.first() {
        return Some((*s, name.chars().count()));
    }
    let chars: Vec<char> = name.chars().collect();
    let n = chars.len();
    let mut best: Option<(Span, usize)> = None;
    for len in (min_chars..n).rev() {
        for start in 0..=(n - len) {
            let piece: String = chars[start..start + len].iter().collect();
            if let Some(s) = find_exact(record, &piece, sections).first() {
                best = Some((*s, len));
                break;
            }
        }
        if best.is_some() {
            break;
        }
    }
    best
}

fn section_order(record: &Record, preferred: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = preferred
        .iter()
        .copied()
        .filter(|&i| i < record.sections.len())
        .collect();
    for i in 0..record.sections.len() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    order
}

/// Words that negate a finding when they open its clause: `否认高血压`,
/// `无胸痛`, `未行支架`, `排除心肌梗死`.
const NEGATIONS: [&str; 10] = [
    "否认",
    "无",
    "未",
    "排除",
    "不考虑",
    "未见",
    "未行",
    "拒绝",
    "不伴",
    "除外",
];

/// True when the text just before `byte_pos` (within its clause) negates it.
pub fn is_negated(text: &str, byte_pos: usize) -> bool {
    let before = &text[..byte_pos];
    let clause_start = before
        .char_indices()
        .rev()
        .find(|(_, c)| matches!(c, '。' | '，' | ',' | '；' | ';' | '\n' | '：' | ':'))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    let clause = &before[clause_start..];
    let clause = last_chars(clause, 12);
    NEGATIONS.iter().any(|n| clause.contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negation_is_clause_local() {
        let t = "否认高血压病史，有糖尿病史";
        assert!(is_negated(t, t.find("高血压").unwrap()));
        assert!(!is_negated(t, t.find("糖尿病").unwrap()));
        let t = "患者无胸痛，行冠状动脉造影";
        assert!(!is_negated(t, t.find("冠状动脉造影").unwrap()));
    }

    #[test]
    fn finds_longest_piece() {
        let r = Record::new("r").with_section("出院诊断", "1.冠状动脉粥硬化性心脏病");
        let (span, len) = find_best(&r, "冠状动脉粥样硬化性心脏病", &[0], 3).unwrap();
        assert_eq!(span.section, 0);
        assert!(len >= 5);
    }
}
