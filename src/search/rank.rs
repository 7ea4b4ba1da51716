//! Re-ranking of fuzzy candidates: one score in 0..=1 from char-level
//! similarity, how much of the query the name explains, how much of the name
//! the query supports, and containment either way.

use std::collections::HashSet;

use rapidfuzz::fuzz::RatioBatchComparator;

use super::index::WeightedWord;

/// Feature weights (they sum to 1). Chosen on the tuning half of CHIP-CDN,
/// the CCL25 admission lists and perturbed 国临 names (see
/// `examples/mapping_quality.rs`, `examples/search_bench.rs`).
const W_RATIO: f32 = 0.20;
const W_WORDS: f32 = 0.25;
const W_NAME_GRAMS: f32 = 0.25;
const W_CONTAIN: f32 = 0.10;
const W_BAG: f32 = 0.20;
/// Share of a containing name's length at which the query inside it
/// counts fully (a query is often a fragment of the name it means).
const INSIDE: f32 = 0.3;

/// Words in a table name that say "no further detail" rather than name a
/// disease (`未特指的后天性纯红细胞再生障碍`); a query that names the rest
/// matches such a name fully.
const UNSPECIFIED: [&str; 4] = ["其他和未特指的", "其他和未特指", "未特指的", "未特指"];

/// A query prepared once and compared with many names.
pub(crate) struct Prepared {
    /// Loose folded query.
    text: String,
    chars: Vec<char>,
    bigrams: HashSet<(char, char)>,
    /// Words with their IDF.
    words: Vec<WeightedWord>,
    total_weight: f32,
    ratio: RatioBatchComparator<char>,
}

fn bigrams(chars: &[char]) -> HashSet<(char, char)> {
    if chars.len() == 1 {
        return HashSet::from([(chars[0], '\0')]);
    }
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// The name as compared: loose folded, "unspecified" words removed unless
/// nothing would be left.
fn comparison_form(name: &str) -> std::borrow::Cow<'_, str> {
    if !UNSPECIFIED.iter().any(|u| name.contains(u)) {
        return name.into();
    }
    let mut s = name.to_string();
    for u in UNSPECIFIED {
        s = s.replace(u, "");
    }
    if s.is_empty() {
        name.into()
    } else {
        s.into()
    }
}

impl Prepared {
    /// `loose_query` is the loose folded query; `words` its weighted words.
    pub fn new(loose_query: &str, words: Vec<WeightedWord>) -> Prepared {
        let chars: Vec<char> = loose_query.chars().collect();
        let total_weight = words.iter().map(|w| w.idf).sum();
        Prepared {
            bigrams: bigrams(&chars),
            ratio: RatioBatchComparator::new(chars.iter().copied()),
            text: loose_query.to_string(),
            chars,
            words,
            total_weight,
        }
    }

    /// Similarity of a loose folded name to the query, 0..=1.
    ///
    /// A name with "unspecified" words is compared both as written and
    /// without them (a little discounted), whichever is closer.
    pub fn score(&self, name: &str) -> f32 {
        if name.is_empty() || self.chars.is_empty() {
            return 0.0;
        }
        let mut s = self.score_form(name);
        let stripped = comparison_form(name);
        if stripped.as_ref() != name {
            s = s.max(UNSPECIFIED_FACTOR * self.score_form(&stripped));
        }
        let residual = name.contains(OTHER) && !name.contains("未特指");
        s *= CONFLICT_FACTOR.powi(conflicts(&self.text, name) as i32);
        if residual && !self.text.contains(OTHER) {
            s *= OTHER_FACTOR;
        }
        s
    }

    fn score_form(&self, name: &str) -> f32 {
        let nchars: Vec<char> = name.chars().collect();
        let ratio = self.ratio.similarity(nchars.iter().copied()) as f32;

        // Share of the query's words (IDF-weighted) the name contains.
        let words = if self.total_weight > 0.0 {
            let hit: f32 = self
                .words
                .iter()
                .filter(|w| name.contains(w.text.as_str()))
                .map(|w| w.idf)
                .sum();
            hit / self.total_weight
        } else {
            0.0
        };

        // Share of the name's bigrams the query supports.
        let nb = bigrams(&nchars);
        let shared = nb.iter().filter(|b| self.bigrams.contains(b)).count() as f32;
        let name_grams = shared / nb.len() as f32;

        // Containment either way, scaled by how much of the longer string
        // the shorter one is: a generic name inside a specific query
        // (脑血管病 in 缺血性脑血管病) must not beat the specific name.
        let (nl, ql) = (nchars.len() as f32, self.chars.len() as f32);
        let contain = if self.text.contains(name) {
            nl / ql
        } else if name.contains(self.text.as_str()) {
            INSIDE * ql / nl
        } else {
            0.0
        };

        let bag = bag_similarity(&self.chars, &nchars);

        W_RATIO * ratio
            + W_WORDS * words
            + W_NAME_GRAMS * name_grams
            + W_CONTAIN * contain
            + W_BAG * bag
    }
}

/// Discount on the score of a name compared without its "unspecified" words.
const UNSPECIFIED_FACTOR: f32 = 0.97;

/// `其他`: a residual category ("other specified"), not what a query that
/// does not say so means.
const OTHER: &str = "其他";
const OTHER_FACTOR: f32 = 0.92;

/// Score factor per qualifier the name contradicts.
const CONFLICT_FACTOR: f32 = 0.75;

/// Dice coefficient of the two strings as bags of chars (order ignored:
/// `小样儿足月` and `足月小样儿` are equal).
fn bag_similarity(a: &[char], b: &[char]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let mut used = vec![false; b.len()];
    let mut shared = 0;
    for c in a {
        if let Some(j) = (0..b.len()).find(|&j| !used[j] && b[j] == *c) {
            used[j] = true;
            shared += 1;
        }
    }
    2.0 * shared as f32 / (a.len() + b.len()) as f32
}

/// Grade-like qualifiers: a number before one of these units.
const GRADE_UNITS: [char; 4] = ['级', '度', '期', '型'];

/// `(unit, number)` pairs such as `3级`, `2型` (Roman numerals are already
/// folded to digits by the synonym list).
fn grades(s: &str) -> Vec<(char, u32)> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        if !GRADE_UNITS.contains(&c) {
            continue;
        }
        let mut j = i;
        while j > 0 && chars[j - 1].is_ascii_digit() {
            j -= 1;
        }
        if j < i {
            let num: String = chars[j..i].iter().collect();
            if let Ok(n) = num.parse() {
                out.push((c, n));
            }
        }
    }
    out
}

/// Risk stratum of a hypertension-style name, if it states one.
fn risk(s: &str) -> Option<u8> {
    if s.contains("极高危") {
        Some(4)
    } else if s.contains("高危") {
        Some(3)
    } else if s.contains("中危") {
        Some(2)
    } else if s.contains("低危") {
        Some(1)
    } else {
        None
    }
}

/// Number of qualifiers on which the name contradicts the query: a
/// different grade for the same unit (心功能3级 vs 2级), another risk
/// stratum, acute vs chronic, a status after a procedure vs the disease,
/// a negation (非ST段抬高 vs ST段抬高, 不伴 vs 伴). Such names are near in spelling and wrong in meaning.
pub(crate) fn conflicts(query: &str, name: &str) -> u32 {
    let mut n = 0;
    let (gq, gn) = (grades(query), grades(name));
    for unit in GRADE_UNITS {
        let a: Vec<u32> = gq.iter().filter(|g| g.0 == unit).map(|g| g.1).collect();
        let b: Vec<u32> = gn.iter().filter(|g| g.0 == unit).map(|g| g.1).collect();
        if !a.is_empty() && !b.is_empty() && !a.iter().any(|x| b.contains(x)) {
            n += 1;
        }
    }
    if let (Some(a), Some(b)) = (risk(query), risk(name)) {
        if a != b {
            n += 1;
        }
    }
    let acute = |s: &str| s.contains("急性") && !s.contains("慢性");
    let chronic = |s: &str| s.contains("慢性") && !s.contains("急性");
    if (acute(query) && chronic(name)) || (chronic(query) && acute(name)) {
        n += 1;
    }
    if query.matches('非').count() != name.matches('非').count() {
        n += 1;
    }
    // A status after a procedure is not the disease itself: 阑尾炎术后 is
    // not 阑尾炎 (a query listing several diagnoses may still end in 术后
    // after naming others, so only the name right before it conflicts).
    const POST: &str = "术后";
    if name.contains(POST) {
        if !query.contains(POST) {
            n += 1;
        }
    } else if query.contains(&format!("{name}{POST}")) {
        n += 1;
    }
    let with = |s: &str| s.contains('伴') && !s.contains("不伴");
    if (query.contains("不伴") && with(name)) || (with(query) && name.contains("不伴")) {
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifier_conflicts() {
        assert_eq!(conflicts("心功能3级", "心功能2级"), 1);
        assert_eq!(conflicts("心功能3级", "心功能3级"), 0);
        assert_eq!(conflicts("高血压病3级极高危", "高血压病3级高危"), 1);
        assert_eq!(conflicts("急性胰腺炎", "慢性胰腺炎"), 1);
        assert_eq!(conflicts("st段抬高型心肌梗死", "非st段抬高型心肌梗死"), 1);
        assert_eq!(conflicts("胎盘粘连伴出血", "胎盘粘连不伴出血"), 1);
        assert_eq!(conflicts("胰腺炎", "慢性胰腺炎"), 0);
        assert_eq!(conflicts("2型糖尿病", "1型糖尿病"), 1);
        assert_eq!(conflicts("阑尾炎术后", "阑尾炎"), 1);
    }

    #[test]
    fn bag_ignores_order() {
        let a: Vec<char> = "小样儿足月".chars().collect();
        let b: Vec<char> = "足月小样儿".chars().collect();
        assert_eq!(bag_similarity(&a, &b), 1.0);
    }
}
