//! Canonical forms of clinical names for matching.
//!
//! Three levels, each built on the previous one:
//! - [`normalize_name`]: width, brackets, Roman numerals, case, spaces
//!   (the exact-name key);
//! - [`Canon::fold`]: the synonym list applied (`很高危` → `极高危`,
//!   `冠心病` → `冠状动脉粥样硬化性心脏病`, `Ⅲ级` → `3级`);
//! - [`loose`]: punctuation and brackets dropped, so `高血压病（3级极高危）`
//!   and `高血压病3级(极高危)` meet.
//!
//! Table names and queries go through the same functions, so a rule only has
//! to state that two spellings mean the same thing.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::text::normalize_name;

/// The bundled variant list (our own; see the file's header for the format).
const SYNONYMS: &str = include_str!("synonyms.txt");

/// Leftmost-longest replacement of variant spellings by their canonical form.
#[derive(Debug, Default)]
pub struct Canon {
    /// Rules keyed by their first char; each list sorted longest first.
    /// Every canonical form is also a rule onto itself, so a canonical form
    /// already in the text is kept whole (`心房颤动` is not refolded by the
    /// `房颤` rule).
    rules: HashMap<char, Vec<(Vec<char>, String)>>,
}

impl Canon {
    /// The variant spellings written in Chinese (not the canonical forms'
    /// rules onto themselves), with their canonical form: `冠心病` →
    /// `冠状动脉粥样硬化性心脏病`. Lets pinyin initials of a common short
    /// name (`gxb`) find the table's long one.
    pub fn cjk_variants(&self) -> impl Iterator<Item = (String, &str)> + '_ {
        self.rules.values().flatten().filter_map(|(from, to)| {
            let from: String = from.iter().collect();
            (from != *to && crate::text::has_cjk(&from)).then_some((from, to.as_str()))
        })
    }

    /// Parses rules in the `variant => canonical` format. Blank lines and
    /// `#` comments are skipped; malformed lines are reported by number.
    pub fn parse(text: &str) -> Result<Canon, String> {
        let mut rules: HashMap<char, Vec<(Vec<char>, String)>> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((from, to)) = line.split_once("=>") else {
                return Err(format!(
                    "synonyms line {}: expected `variant => canonical`",
                    n + 1
                ));
            };
            let from: Vec<char> = normalize_name(from).chars().collect();
            let to = normalize_name(to);
            let Some(&first) = from.first() else {
                return Err(format!("synonyms line {}: empty variant", n + 1));
            };
            if let Some(t) = to.chars().next() {
                rules
                    .entry(t)
                    .or_default()
                    .push((to.chars().collect(), to.clone()));
            }
            rules.entry(first).or_default().push((from, to));
        }
        for list in rules.values_mut() {
            list.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
            list.dedup_by(|a, b| a.0 == b.0);
        }
        Ok(Canon { rules })
    }

    /// The bundled list, parsed once.
    pub fn bundled() -> &'static Canon {
        static CANON: OnceLock<Canon> = OnceLock::new();
        // The bundled file is checked by a unit test, so parsing cannot fail
        // at run time; an empty rule set is the safe fallback all the same.
        CANON.get_or_init(|| Canon::parse(SYNONYMS).unwrap_or_default())
    }

    /// Number of rules (canonical forms kept as themselves included).
    pub fn len(&self) -> usize {
        self.rules.values().map(Vec::len).sum()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Applies the rules to an already normalized string until nothing
    /// changes (a replacement can complete another variant: `继发性癌`).
    pub fn apply(&self, normalized: &str) -> String {
        let mut cur = self.apply_once(normalized);
        for _ in 0..3 {
            let next = self.apply_once(&cur);
            if next == cur {
                break;
            }
            cur = next;
        }
        cur
    }

    /// One leftmost-longest pass.
    fn apply_once(&self, normalized: &str) -> String {
        let chars: Vec<char> = normalized.chars().collect();
        self.rewrite(&chars).into_iter().map(|(c, _)| c).collect()
    }

    /// One leftmost-longest pass over chars; each output char comes with the
    /// range of input chars it replaces (a rule's output spans its whole
    /// input).
    fn rewrite(&self, chars: &[char]) -> Vec<(char, (usize, usize))> {
        let mut out = Vec::with_capacity(chars.len() + 8);
        let mut i = 0;
        while i < chars.len() {
            let hit = self.rules.get(&chars[i]).and_then(|list| {
                list.iter()
                    .find(|(from, _)| chars[i..].starts_with(from))
                    .map(|(from, to)| (from.len(), to))
            });
            match hit {
                Some((len, to)) => {
                    out.extend(to.chars().map(|c| (c, (i, i + len))));
                    i += len;
                }
                None => {
                    out.push((chars[i], (i, i + 1)));
                    i += 1;
                }
            }
        }
        out
    }

    /// The loose folded form of a text, with for each of its chars the byte
    /// range of the text it came from (for spans of names found inside a
    /// longer text).
    pub(crate) fn fold_with_spans(&self, text: &str) -> Vec<(char, (usize, usize))> {
        // normalize_name maps chars one by one, so it can run per char.
        let mut cur: Vec<(char, (usize, usize))> = Vec::with_capacity(text.len());
        let mut buf = [0u8; 4];
        for (b, c) in text.char_indices() {
            for n in normalize_name(c.encode_utf8(&mut buf)).chars() {
                cur.push((n, (b, b + c.len_utf8())));
            }
        }
        for _ in 0..4 {
            let chars: Vec<char> = cur.iter().map(|x| x.0).collect();
            let next: Vec<(char, (usize, usize))> = self
                .rewrite(&chars)
                .into_iter()
                .map(|(c, (from, to))| (c, (cur[from].1 .0, cur[to - 1].1 .1)))
                .collect();
            let done = next.len() == cur.len() && next.iter().zip(&cur).all(|(a, b)| a.0 == b.0);
            cur = next;
            if done {
                break;
            }
        }
        cur.retain(|x| x.0.is_alphanumeric());
        cur
    }

    /// Normalizes, then applies the rules.
    pub fn fold(&self, name: &str) -> String {
        self.apply(&normalize_name(name))
    }
}

/// Drops everything but letters, digits and CJK ideographs (brackets,
/// commas, dashes, `?`), keeping the order, and a final `手术` or `术`:
/// procedure tables write `支架置入` and `支架置入术` for the same operation,
/// and records add `手术` (`药物洗脱冠状动脉支架置入手术`).
pub fn loose(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| c.is_alphanumeric()).collect();
    for suffix in ["手术", "术"] {
        if out.ends_with(suffix) && out.chars().count() > suffix.chars().count() + 1 {
            out.truncate(out.len() - suffix.len());
            break;
        }
    }
    out
}

/// The loose folded key of a name: [`Canon::fold`] then [`loose`].
pub fn variant_key(name: &str) -> String {
    loose(&Canon::bundled().fold(name))
}

/// Words in a query that say how sure the writer was, not what the disease
/// is (`？`, `待查`, `可能`); they are removed before fuzzy comparison.
const HEDGES: [&str; 7] = ["可能性大", "可能", "待查", "待排", "疑似", "考虑", "?"];

/// The query with hedging words removed (only when something is left).
pub fn strip_hedges(folded: &str) -> String {
    let mut s = folded.to_string();
    for h in HEDGES {
        if s.contains(h) {
            let t = s.replace(h, "");
            if t.chars().any(char::is_alphanumeric) {
                s = t;
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_rules_parse_and_are_idempotent() {
        let c = Canon::parse(SYNONYMS).expect("bundled synonyms parse");
        assert!(c.len() > 20);
        for list in c.rules.values() {
            for (_, to) in list {
                assert_eq!(&c.apply(to), to, "canonical form {to} is not stable");
            }
        }
    }

    #[test]
    fn folds_variants_to_one_key() {
        assert_eq!(
            variant_key("高血压病（3级很高危）"),
            variant_key("高血压病3级（极高危）")
        );
        assert_eq!(variant_key("心功能Ⅲ级"), variant_key("心功能3级"));
        assert_eq!(variant_key("冠心病"), "冠状动脉粥样硬化性心脏病");
        assert_eq!(variant_key("全心衰竭"), "全心力衰竭");
        assert_eq!(variant_key("支架植入"), variant_key("支架置入术"));
        assert_eq!(
            variant_key("药物洗脱冠状动脉支架置入手术"),
            variant_key("药物洗脱冠状动脉支架置入")
        );
        assert_eq!(loose("手术"), "手术");
        assert_eq!(variant_key("阑尾炎术后"), "阑尾炎术后");
        assert_ne!(
            variant_key("高血压病3级(高危)"),
            variant_key("高血压病3级(极高危)")
        );
    }

    #[test]
    fn canonical_forms_already_present_are_kept() {
        let c = Canon::bundled();
        for s in [
            "心房颤动",
            "脑梗死",
            "急性心力衰竭",
            "继发恶性肿瘤",
            "冠状动脉粥样硬化性心脏病",
        ] {
            assert_eq!(c.fold(s), s);
        }
        assert_eq!(c.fold("房颤"), "心房颤动");
        assert_eq!(c.fold("脑梗塞"), "脑梗死");
        assert_eq!(c.fold("肺继发性癌"), "肺继发恶性肿瘤");
        assert_eq!(c.fold("胃癌"), "胃恶性肿瘤");
    }

    #[test]
    fn spans_point_back_into_the_text() {
        let text = "1.冠心病 2.高血压病（3级很高危）";
        let folded = Canon::bundled().fold_with_spans(text);
        let s: String = folded.iter().map(|x| x.0).collect();
        assert_eq!(
            s,
            format!(
                "1{}2{}",
                variant_key("冠心病"),
                variant_key("高血压病（3级很高危）")
            )
        );
        let at = |c: char| folded.iter().find(|x| x.0 == c).unwrap().1;
        // The abbreviation's expansion spans the abbreviation.
        assert_eq!(&text[at('状').0..at('状').1], "冠心病");
        assert_eq!(&text[at('压').0..at('压').1], "压");
    }

    #[test]
    fn longest_rule_wins() {
        let c = Canon::parse("ab => x\nabc => y\n").unwrap();
        assert_eq!(c.apply("zabcab"), "zyx");
        assert!(Canon::parse("no arrow here").is_err());
    }

    #[test]
    fn hedges_are_dropped_but_never_everything() {
        assert_eq!(strip_hedges("上呼吸道感染?"), "上呼吸道感染");
        assert_eq!(strip_hedges("可能"), "可能");
    }
}
