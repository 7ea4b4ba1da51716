//! Exact-name dictionary over a code table, for splitting run-together
//! items (`冠状动脉粥样硬化性心脏病不稳定型心绞痛` → two diseases) and for
//! spotting table names in narrative text.

use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};

use crate::terminology::Terminology;
use crate::text::normalize_name;

/// Words and marks that join names in one item: `心律失常伴阵发性心房颤动`.
const JOINERS: &str = "伴并合及和、，,;；";

/// Normalized name or alias → entry index (assignable entries only).
pub struct Lexicon {
    map: HashMap<String, usize>,
    /// Longest key in chars, bounds every scan.
    max_chars: usize,
    /// Shortest key worth matching inside longer text.
    min_chars: usize,
    /// One automaton over the keys for [`Lexicon::scan`], built on first use.
    scanner: OnceLock<Scanner>,
}

/// The keys worth finding in running text, as one leftmost-longest
/// automaton: scanning a record is one pass instead of a dictionary lookup
/// per substring.
struct Scanner {
    ac: AhoCorasick,
    entries: Vec<usize>,
}

/// A text normalized as the keys are, with the original char index of
/// every byte of the normalized text.
fn normalize_mapped(text: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len());
    for (ci, c) in text.chars().enumerate() {
        let before = out.len();
        push_normalized(&mut out, c);
        map.extend(std::iter::repeat_n(ci, out.len() - before));
    }
    (out, map)
}

/// Appends `normalize_name` of one char (it works char by char): a CJK
/// ideograph is itself and an ASCII letter or digit its lower case, without
/// the allocation of the general case.
fn push_normalized(out: &mut String, c: char) {
    if ('\u{4E00}'..='\u{9FFF}').contains(&c) {
        out.push(c);
    } else if c.is_ascii_alphanumeric() {
        out.push(c.to_ascii_lowercase());
    } else {
        let mut buf = [0u8; 4];
        out.push_str(&normalize_name(c.encode_utf8(&mut buf)));
    }
}

/// A piece of a partially segmented text: a known name, or text between names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg {
    Known(Hit),
    /// Char range not covered by a known name.
    Gap {
        start: usize,
        end: usize,
    },
}

/// A lexicon hit in a text: char range and entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub entry: usize,
}

impl Lexicon {
    pub fn new(term: &Terminology) -> Self {
        let mut map = HashMap::with_capacity(term.len() * 2);
        let mut max_chars = 0;
        for (i, e) in term.entries().iter().enumerate() {
            if !e.assignable {
                continue;
            }
            for n in std::iter::once(&e.name).chain(e.aliases.iter()) {
                let k = normalize_name(n);
                let len = k.chars().count();
                if len < 2 {
                    continue;
                }
                max_chars = max_chars.max(len);
                // Prefer the entry whose own name this is, then the shorter code
                // (the base code over its extensions).
                match map.get(&k) {
                    Some(&j) => {
                        let prev: &crate::terminology::CodeEntry = term.entry(j);
                        let own_prev = normalize_name(&prev.name) == k;
                        let own_new = normalize_name(&e.name) == k;
                        if (own_new && !own_prev)
                            || (own_new == own_prev && e.code.len() < prev.code.len())
                        {
                            map.insert(k, i);
                        }
                    }
                    None => {
                        map.insert(k, i);
                    }
                }
            }
        }
        Lexicon {
            map,
            max_chars,
            min_chars: 3,
            scanner: OnceLock::new(),
        }
    }

    /// Builds the scanning automaton now rather than on the first record.
    pub fn warm_up(&self) {
        let _ = self.scanner();
    }

    fn scanner(&self) -> &Scanner {
        self.scanner.get_or_init(|| {
            // Keys end in a character a name can end in (not a bracket or
            // a mark), as names found in running text must.
            let mut keys: Vec<(&String, usize)> = self
                .map
                .iter()
                .filter(|(k, _)| {
                    k.chars().count() >= self.min_chars
                        && k.chars()
                            .last()
                            .is_some_and(|c| crate::text::is_cjk(c) || c.is_ascii_alphanumeric())
                })
                .map(|(k, &e)| (k, e))
                .collect();
            keys.sort();
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(keys.iter().map(|(k, _)| k.as_str()))
                .expect("an automaton over table names builds");
            Scanner {
                ac,
                entries: keys.into_iter().map(|(_, e)| e).collect(),
            }
        })
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Entry whose name or alias equals the text (normalized).
    pub fn exact(&self, text: &str) -> Option<usize> {
        self.map.get(&normalize_name(text)).copied()
    }

    /// The cover of a text by known names that leaves the fewest characters
    /// uncovered, then uses the fewest names: (uncovered chars, names in order).
    fn best_cover(&self, chars: &[char]) -> Option<(usize, Vec<Hit>)> {
        // cell[i]: best (uncovered, names, name ending at i, where it started) for chars[..i]
        type Cell = Option<(usize, usize, Option<Hit>, usize)>;
        let n = chars.len();
        let better =
            |cur: &Cell, cand: (usize, usize)| cur.is_none_or(|(u, p, _, _)| cand < (u, p));
        let mut cell: Vec<Cell> = vec![None; n + 1];
        cell[0] = Some((0, 0, None, 0));
        // normalize_name works char by char, so the key of chars[i..j] is
        // the slice norm[at[i]..at[j]] of the whole text's normalization.
        let mut norm = String::with_capacity(chars.len() * 3);
        let mut at = Vec::with_capacity(n + 1);
        for &c in chars {
            at.push(norm.len());
            push_normalized(&mut norm, c);
        }
        at.push(norm.len());
        for i in 0..n {
            let Some((unc, names, _, _)) = cell[i] else {
                continue;
            };
            if better(&cell[i + 1], (unc + 1, names)) {
                cell[i + 1] = Some((unc + 1, names, None, i));
            }
            for j in (i + 2)..=(i + self.max_chars).min(n) {
                if let Some(&entry) = self.map.get(&norm[at[i]..at[j]]) {
                    if better(&cell[j], (unc, names + 1)) {
                        cell[j] = Some((
                            unc,
                            names + 1,
                            Some(Hit {
                                start: i,
                                end: j,
                                entry,
                            }),
                            i,
                        ));
                    }
                }
            }
        }
        let (unc, _, _, _) = cell[n]?;
        let mut hits = Vec::new();
        let mut at = n;
        while at > 0 {
            let (_, _, hit, prev) = cell[at]?;
            hits.extend(hit);
            at = prev;
        }
        hits.reverse();
        Some((unc, hits))
    }

    /// Splits a text entirely into known names, allowing short joining words
    /// (`伴`, `并`, `合并`, `及`) between them. Returns `None` unless at least two
    /// names cover the text.
    pub fn segment(&self, text: &str) -> Option<Vec<Hit>> {
        let chars: Vec<char> = text.chars().collect();
        if !(4..=80).contains(&chars.len()) {
            return None;
        }
        let (unc, hits) = self.best_cover(&chars)?;
        if hits.len() < 2 || unc > 2 {
            return None;
        }
        let mut last = 0;
        let mut gaps = String::new();
        for h in &hits {
            gaps.extend(&chars[last..h.start]);
            last = h.end;
        }
        gaps.extend(&chars[last..]);
        gaps.chars().all(|c| JOINERS.contains(c)).then_some(hits)
    }

    /// Splits a text into known names and the text between them, maximizing
    /// the characters covered by names (then preferring fewer, longer names).
    /// Returns `None` unless names cover at least half of the text and the
    /// result has at least two pieces worth keeping: joining words (`伴`,
    /// `并`, punctuation) and one- or two-character gaps are dropped.
    pub fn segment_partial(&self, text: &str) -> Option<Vec<Seg>> {
        let chars: Vec<char> = text.chars().collect();
        let n = chars.len();
        if !(4..=120).contains(&n) {
            return None;
        }
        let (unc, hits) = self.best_cover(&chars)?;
        if unc * 2 > n {
            return None;
        }
        let mut out = Vec::new();
        let mut last = 0;
        let push_gap = |out: &mut Vec<Seg>, a: usize, b: usize| {
            let content = chars[a..b]
                .iter()
                .filter(|c| !JOINERS.contains(**c) && !"。.()（）".contains(**c))
                .count();
            if content >= 3 {
                out.push(Seg::Gap { start: a, end: b });
            }
        };
        for h in &hits {
            push_gap(&mut out, last, h.start);
            out.push(Seg::Known(*h));
            last = h.end;
        }
        push_gap(&mut out, last, n);
        (out.len() >= 2 && !hits.is_empty()).then_some(out)
    }

    /// Finds known names inside running text, longest first, non-overlapping,
    /// left to right. Only names of at least `min_chars` characters are
    /// looked for. Hits are in chars of the original text.
    pub fn scan(&self, text: &str) -> Vec<Hit> {
        let sc = self.scanner();
        let (norm, map) = normalize_mapped(text);
        sc.ac
            .find_iter(&norm)
            .map(|m| Hit {
                start: map[m.start()],
                end: map[m.end() - 1] + 1,
                entry: sc.entries[m.pattern().as_usize()],
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminology::CodeSystem;

    fn term(rows: &[(&str, &str)]) -> Terminology {
        Terminology::from_pairs(CodeSystem::Icd10, "t", rows)
    }

    #[test]
    fn char_by_char_normalization_is_normalize_name() {
        let text = "高血压病（３级 很高危）ⅢＡＢ\\[HIV\\]、心功能Ⅱ级。\u{3000}x";
        let mut out = String::new();
        for c in text.chars() {
            push_normalized(&mut out, c);
        }
        assert_eq!(out, normalize_name(text));
        let (norm, map) = normalize_mapped(text);
        assert_eq!(norm, normalize_name(text));
        assert_eq!(map.len(), norm.len());
    }

    #[test]
    fn segments_run_together_names() {
        let t = term(&[
            ("I25.103", "冠状动脉粥样硬化性心脏病"),
            ("I20.000", "不稳定型心绞痛"),
            ("I49.900", "心律失常"),
            ("I48.x02", "阵发性心房颤动"),
        ]);
        let lx = Lexicon::new(&t);
        let hits = lx
            .segment("冠状动脉粥样硬化性心脏病不稳定型心绞痛")
            .unwrap();
        let codes: Vec<_> = hits
            .iter()
            .map(|h| t.entry(h.entry).code.as_str())
            .collect();
        assert_eq!(codes, ["I25.103", "I20.000"]);
        assert!(lx.segment("心律失常伴阵发性心房颤动").is_some());
        assert!(lx.segment("不稳定型心绞痛").is_none());
        assert!(lx.segment("心律失常右束支阻滞").is_none());
        let scan = lx.scan("既往心律失常病史，否认其他");
        assert_eq!(scan.len(), 1);
        assert_eq!(t.entry(scan[0].entry).code, "I49.900");
        assert_eq!((scan[0].start, scan[0].end), (2, 6));
        // the longest name wins; full-width and spacing are folded; char offsets
        let text = "ＡＢ 阵发性 心房颤动，心律失常";
        let hits = lx.scan(text);
        let codes: Vec<_> = hits
            .iter()
            .map(|h| t.entry(h.entry).code.as_str())
            .collect();
        assert_eq!(codes, ["I48.x02", "I49.900"]);
        let chars: Vec<char> = text.chars().collect();
        let first: String = chars[hits[0].start..hits[0].end].iter().collect();
        assert_eq!(first, "阵发性 心房颤动");
    }
}
