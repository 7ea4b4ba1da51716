//! A stage list as editable text — one item per line, `name | code` — and
//! back. Lines the coder did not touch keep their item as it was (origin,
//! confidence, evidence); changed or new lines become the coder's items.
//! A code not in the loaded table is never kept as a code.

use crate::pipeline::{CodingContext, Flag, Item, Origin};
use crate::record::Track;
use crate::text::normalize_name;

/// The editable line of an item.
pub fn item_line(item: &Item) -> String {
    match &item.code {
        Some(c) => format!("{} | {}", item.text, c),
        None => item.text.clone(),
    }
}

/// The result of reading edited lines back.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub items: Vec<Item>,
    pub warnings: Vec<String>,
}

/// Drops list numbering a coder may type or paste (`1.`, `2、`, `(3)`).
fn strip_numbering(s: &str) -> &str {
    let t = s.trim_start_matches(['★', '*', '-', '•']).trim_start();
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && digits < 3 {
        let rest = &t[digits..];
        for sep in ['.', '、', ')', '）', '．'] {
            if let Some(r) = rest.strip_prefix(sep) {
                return r.trim_start();
            }
        }
    }
    t
}

/// Reads edited lines into items (`old` is the list before editing).
pub fn parse_lines(
    lines: &[String],
    old: &[Item],
    track: Track,
    ctx: Option<&CodingContext>,
    lang: crate::i18n::Lang,
) -> Parsed {
    let mut used = vec![false; old.len()];
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    for raw in lines {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(j) = (0..old.len()).find(|&j| !used[j] && item_line(&old[j]) == line) {
            used[j] = true;
            items.push(old[j].clone());
            continue;
        }
        let line = strip_numbering(line);
        let (text, code) = match line.rsplit_once('|') {
            Some((t, c)) => (t.trim(), Some(c.trim()).filter(|c| !c.is_empty())),
            None => (line, None),
        };
        // Same name as an untouched-so-far item: keep where it came from.
        let prior = (0..old.len())
            .find(|&j| !used[j] && normalize_name(&old[j].text) == normalize_name(text))
            .map(|j| {
                used[j] = true;
                &old[j]
            });
        let mut item = Item::new(text, Origin::Coder).with_confidence(1.0);
        if let Some(p) = prior {
            item.evidence = p.evidence.clone();
            item.source = p.source.clone();
        }
        if let Some(code) = code {
            match ctx {
                Some(ctx) => match ctx.matcher(track).terminology().get(code) {
                    Some(e) => {
                        item.code = Some(e.code.clone());
                        if item.text.is_empty() {
                            item.text = e.name.clone();
                        }
                    }
                    None => {
                        warnings.push(crate::tr!(lang, EditNotInTable, code = code));
                        item.flag(Flag::Unmapped);
                    }
                },
                None => item.code = Some(code.to_string()),
            }
        }
        if item.text.is_empty() {
            continue;
        }
        items.push(item);
    }
    Parsed { items, warnings }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untouched_lines_keep_their_items() {
        let old = vec![
            Item::new("不稳定型心绞痛", Origin::Agent)
                .with_code("I20.000")
                .with_confidence(0.8),
            Item::new("高血压", Origin::Retrieval).with_confidence(0.5),
        ];
        let lines: Vec<String> = ["高血压", "不稳定型心绞痛 | I20.000", "2. 2型糖尿病", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = parse_lines(&lines, &old, Track::Diagnosis, None, Default::default());
        assert_eq!(p.items.len(), 3);
        assert_eq!(p.items[0], old[1]);
        assert_eq!(p.items[1], old[0]);
        assert_eq!(p.items[2].text, "2型糖尿病");
        assert_eq!(p.items[2].origin, Origin::Coder);
        assert_eq!(item_line(&old[0]), "不稳定型心绞痛 | I20.000");
    }
}
