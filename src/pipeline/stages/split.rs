//! Splitting a diagnosis or procedure field into items.
//!
//! Hospital fields number their items and often run them together:
//! `1.冠状动脉粥样硬化性心脏病2.高血压病（3级很高危）3.2型糖尿病`. Numbering is
//! found by looking for the *next expected* number (so the `2` of `2型糖尿病`
//! after `3.` is not taken for an item number), tolerating skipped numbers.
//! Inside an item, `；` `;` `、` `+` and line breaks separate further items,
//! but never inside brackets.

/// One raw item with its byte range in the field text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

const NUM_SEPS: [char; 4] = ['.', '、', '．', ')'];

/// Finds `n` followed by a numbering separator at or after `from`, not preceded
/// by another digit.
fn find_number(s: &str, n: usize, from: usize) -> Option<(usize, usize)> {
    let needle = n.to_string();
    let mut at = from;
    while let Some(rel) = s[at..].find(&needle) {
        let pos = at + rel;
        let after = pos + needle.len();
        let prev_digit = s[..pos]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_digit());
        let next = s[after..].chars().next();
        if !prev_digit {
            if let Some(c) = next {
                if NUM_SEPS.contains(&c) || c == '）' {
                    // `3.5cm`-style decimals are not numbering
                    let after_sep = &s[after + c.len_utf8()..];
                    let decimal = c == '.'
                        && after_sep.chars().next().is_some_and(|d| d.is_ascii_digit())
                        && {
                            // `9.2型` is numbering followed by a name starting with a digit;
                            // `1.5cm` is a decimal. Treat digit-then-unit as decimal.
                            let rest: String = after_sep
                                .chars()
                                .skip_while(|d| d.is_ascii_digit() || *d == '.')
                                .take(2)
                                .collect();
                            rest.starts_with("cm")
                                || rest.starts_with("mm")
                                || rest.starts_with('%')
                                || rest.starts_with("mg")
                        };
                    if !decimal {
                        return Some((pos, after + c.len_utf8()));
                    }
                }
            }
        }
        at = pos + needle.len();
    }
    None
}

/// Splits a numbered list into its items; falls back to the whole text.
fn split_numbered(s: &str) -> Vec<Piece> {
    let mut marks: Vec<(usize, usize)> = Vec::new(); // (number start, text start)
                                                     // Lists usually start at 1, but a continued list may start anywhere.
    let lead: String = s
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let mut expect = lead
        .parse::<usize>()
        .ok()
        .filter(|&n| n > 0 && n < 200)
        .unwrap_or(1);
    let mut from = 0;
    // The first number may be 1 (usual) or missing.
    while expect < 200 {
        let mut found = None;
        for skip in 0..3 {
            if let Some(m) = find_number(s, expect + skip, from) {
                // Accept only if no earlier expected number appears before it.
                found = Some((m, expect + skip));
                break;
            }
        }
        match found {
            Some(((a, b), n)) => {
                marks.push((a, b));
                from = b;
                expect = n + 1;
            }
            None => break,
        }
    }
    if marks.len() < 2 && !(marks.len() == 1 && marks[0].0 == 0) {
        return vec![Piece {
            text: s.to_string(),
            start: 0,
            end: s.len(),
        }];
    }
    let mut out = Vec::new();
    if marks[0].0 > 0 && !s[..marks[0].0].trim().is_empty() {
        out.push(Piece {
            text: s[..marks[0].0].to_string(),
            start: 0,
            end: marks[0].0,
        });
    }
    for (i, &(_, start)) in marks.iter().enumerate() {
        let end = marks.get(i + 1).map(|m| m.0).unwrap_or(s.len());
        out.push(Piece {
            text: s[start..end].to_string(),
            start,
            end,
        });
    }
    out
}

/// Splits an item at separators outside brackets.
fn split_separators(p: &Piece, seps: &[char]) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in p.text.char_indices() {
        match c {
            '(' | '（' | '[' | '【' | '［' => depth += 1,
            ')' | '）' | ']' | '】' | '］' => depth = (depth - 1).max(0),
            c if depth == 0 && seps.contains(&c) => {
                out.push(Piece {
                    text: p.text[start..i].to_string(),
                    start: p.start + start,
                    end: p.start + i,
                });
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(Piece {
        text: p.text[start..].to_string(),
        start: p.start + start,
        end: p.start + p.text.len(),
    });
    out
}

/// Trims whitespace and trailing punctuation, keeping byte offsets right.
fn clean(p: Piece) -> Option<Piece> {
    let trim = |c: char| {
        c.is_whitespace() || matches!(c, '。' | '，' | ',' | '；' | ';' | '：' | ':' | '.' | '、')
    };
    let lead = p.text.len() - p.text.trim_start_matches(trim).len();
    let text = p.text.trim_matches(trim);
    if text.chars().count() < 2 {
        return None;
    }
    Some(Piece {
        text: text.to_string(),
        start: p.start + lead,
        end: p.start + lead + text.len(),
    })
}

/// Splits a diagnosis or procedure field into raw items.
pub fn split_field(s: &str) -> Vec<Piece> {
    const SEPS: [char; 7] = ['；', ';', '、', '+', '＋', '\n', '\r'];
    split_numbered(s)
        .iter()
        .flat_map(|p| split_separators(p, &SEPS))
        .filter_map(clean)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        split_field(s).into_iter().map(|p| p.text).collect()
    }

    #[test]
    fn numbered_run_together() {
        assert_eq!(
            texts("1.冠状动脉粥样硬化性心脏病不稳定型心绞痛2.高血压病（3级很高危）3.高脂血症4.甲状腺术后"),
            ["冠状动脉粥样硬化性心脏病不稳定型心绞痛", "高血压病（3级很高危）", "高脂血症", "甲状腺术后"]
        );
    }

    #[test]
    fn digit_leading_names_and_skipped_numbers() {
        assert_eq!(
            texts("8.高血压病（3级很高危）9.2型糖尿病10.阑尾炎术后"),
            ["高血压病（3级很高危）", "2型糖尿病", "阑尾炎术后"]
        );
        assert_eq!(
            texts("1.冠心病2.不稳定型心绞痛3.冠状动脉支架植入术后5.心功能III级6.呼吸衰竭"),
            [
                "冠心病",
                "不稳定型心绞痛",
                "冠状动脉支架植入术后",
                "心功能III级",
                "呼吸衰竭"
            ]
        );
    }

    #[test]
    fn separators_and_offsets() {
        let s = "冠状动脉造影+支架植入术；气管插管";
        let ps = split_field(s);
        assert_eq!(ps.len(), 3);
        for p in &ps {
            assert_eq!(&s[p.start..p.end], p.text);
        }
        assert_eq!(
            texts("高血压病（1级、很高危）"),
            ["高血压病（1级、很高危）"]
        );
    }

    #[test]
    fn unnumbered_single_item() {
        assert_eq!(
            texts("药物洗脱冠状动脉支架置入手术"),
            ["药物洗脱冠状动脉支架置入手术"]
        );
        assert!(texts("").is_empty());
    }
}
