//! Re-ranking of fuzzy candidates: one score in 0..=1 from char-level
//! similarity, how much of the query the name explains, how much of the name
//! the query supports, and containment either way.

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
    /// The query's distinct bigrams, packed ([`pack`]) and sorted.
    bigrams: Vec<u64>,
    /// Words with their IDF.
    words: Vec<WeightedWord>,
    total_weight: f32,
    ratio: RatioBatchComparator<char>,
    quals: Qualifiers,
}

/// One spelling of a name as the scoring compares it.
#[derive(Debug)]
struct Form {
    text: String,
    chars: Vec<char>,
    /// Distinct bigrams, packed and sorted.
    bigrams: Vec<u64>,
}

impl Form {
    fn new(text: String) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let mut bigrams = Vec::with_capacity(chars.len());
        bigrams_into(&chars, &mut bigrams);
        Form {
            text,
            chars,
            bigrams,
        }
    }
}

/// A candidate name (loose folded) prepared once for every query it is
/// compared with: what depends on the name alone is worked out here.
#[derive(Debug)]
pub(crate) struct Name {
    form: Form,
    /// The name without its "unspecified" words, when it has some.
    stripped: Option<Form>,
    /// A residual category (`其他…`, not `未特指`).
    residual: bool,
    quals: Qualifiers,
}

impl Name {
    pub fn new(name: &str) -> Self {
        let stripped = match comparison_form(name) {
            std::borrow::Cow::Owned(s) => Some(Form::new(s)),
            std::borrow::Cow::Borrowed(_) => None,
        };
        Name {
            form: Form::new(name.to_string()),
            stripped,
            residual: name.contains(OTHER) && !name.contains("未特指"),
            quals: Qualifiers::of(name),
        }
    }
}

/// Two chars as one number.
fn pack(a: char, b: char) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// The distinct bigrams of a string (a one-char string is its char and
/// `\0`), packed and sorted, into `out`.
fn bigrams_into(chars: &[char], out: &mut Vec<u64>) {
    out.clear();
    if chars.len() == 1 {
        out.push(pack(chars[0], '\0'));
        return;
    }
    out.extend(chars.windows(2).map(|w| pack(w[0], w[1])));
    out.sort_unstable();
    out.dedup();
}

/// Elements two sorted, deduplicated lists share.
fn shared_sorted(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
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
    if s.is_empty() || s == name {
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
        let mut grams = Vec::new();
        bigrams_into(&chars, &mut grams);
        Prepared {
            bigrams: grams,
            ratio: RatioBatchComparator::new(chars.iter().copied()),
            text: loose_query.to_string(),
            chars,
            words,
            total_weight,
            quals: Qualifiers::of(loose_query),
        }
    }

    /// Similarity of a loose folded name to the query, 0..=1.
    ///
    /// A name with "unspecified" words is compared both as written and
    /// without them (a little discounted), whichever is closer.
    #[cfg(test)]
    pub fn score(&self, name: &str) -> f32 {
        self.score_name(&Name::new(name))
    }

    /// [`Prepared::score`] of a name prepared once for many queries.
    pub fn score_name(&self, name: &Name) -> f32 {
        if name.form.text.is_empty() || self.chars.is_empty() {
            return 0.0;
        }
        let mut s = self.score_form(&name.form);
        if let Some(stripped) = &name.stripped {
            s = s.max(UNSPECIFIED_FACTOR * self.score_form(stripped));
        }
        let text = name.form.text.as_str();
        s *= CONFLICT_FACTOR.powi(conflicts_of(&self.text, &self.quals, text, &name.quals) as i32);
        if name.residual && !self.text.contains(OTHER) {
            s *= OTHER_FACTOR;
        }
        s
    }

    fn score_form(&self, form: &Form) -> f32 {
        let name = form.text.as_str();
        let nchars = &form.chars;
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
        let nb = &form.bigrams;
        let shared = shared_sorted(nb, &self.bigrams) as f32;
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

        let bag = bag_similarity(&self.chars, nchars);

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
    let mut stack = [false; 64];
    let mut heap = Vec::new();
    let used: &mut [bool] = if b.len() <= stack.len() {
        &mut stack[..b.len()]
    } else {
        heap.resize(b.len(), false);
        &mut heap
    };
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
    // ASCII digits are single bytes that never occur inside a multi-byte
    // char, so the number before a unit can be read from the bytes.
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    for (i, c) in s.char_indices() {
        if !GRADE_UNITS.contains(&c) {
            continue;
        }
        let mut j = i;
        while j > 0 && bytes[j - 1].is_ascii_digit() {
            j -= 1;
        }
        if j < i {
            if let Ok(n) = s[j..i].parse() {
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
#[cfg(test)]
fn conflicts(query: &str, name: &str) -> u32 {
    conflicts_of(query, &Qualifiers::of(query), name, &Qualifiers::of(name))
}

/// The qualifiers of one string that [`conflicts`] compares.
#[derive(Debug)]
struct Qualifiers {
    grades: Vec<(char, u32)>,
    risk: Option<u8>,
    acute: bool,
    chronic: bool,
    /// Times `非` occurs.
    negations: usize,
    /// A status after a procedure (`术后`).
    post: bool,
    /// `伴` without `不伴`.
    with: bool,
    without: bool,
}

/// A status after a procedure: 阑尾炎术后 is not 阑尾炎.
const POST: &str = "术后";

impl Qualifiers {
    fn of(s: &str) -> Self {
        Qualifiers {
            grades: grades(s),
            risk: risk(s),
            acute: s.contains("急性") && !s.contains("慢性"),
            chronic: s.contains("慢性") && !s.contains("急性"),
            negations: s.matches('非').count(),
            post: s.contains(POST),
            with: s.contains('伴') && !s.contains("不伴"),
            without: s.contains("不伴"),
        }
    }
}

/// [`conflicts`] with each side's qualifiers already read.
fn conflicts_of(query: &str, q: &Qualifiers, name: &str, nq: &Qualifiers) -> u32 {
    let mut n = 0;
    for unit in GRADE_UNITS {
        let mut a = q
            .grades
            .iter()
            .filter(|g| g.0 == unit)
            .map(|g| g.1)
            .peekable();
        let mut b = nq.grades.iter().filter(|g| g.0 == unit).map(|g| g.1);
        if a.peek().is_some() {
            let b: Vec<u32> = b.by_ref().collect();
            if !b.is_empty() && !a.any(|x| b.contains(&x)) {
                n += 1;
            }
        }
    }
    if let (Some(a), Some(b)) = (q.risk, nq.risk) {
        if a != b {
            n += 1;
        }
    }
    if (q.acute && nq.chronic) || (q.chronic && nq.acute) {
        n += 1;
    }
    if q.negations != nq.negations {
        n += 1;
    }
    // A query listing several diagnoses may still end in 术后 after naming
    // others, so only the name right before it conflicts.
    if nq.post {
        if !q.post {
            n += 1;
        }
    } else if q.post
        && query
            .match_indices(name)
            .any(|(i, _)| query[i + name.len()..].starts_with(POST))
    {
        n += 1;
    }
    if (q.without && nq.with) || (q.with && nq.without) {
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
    fn prepared_names_score_as_fresh_ones() {
        let p = Prepared::new("高血压病3级极高危", Vec::new());
        let exact = p.score("高血压病3级极高危");
        let other_risk = p.score("高血压病3级高危");
        let other_grade = p.score("高血压病2级极高危");
        assert!(exact > other_risk && exact > other_grade);
        // A contradicted qualifier costs the conflict factor.
        assert!(other_risk < exact * CONFLICT_FACTOR + 1e-6);
        for name in [
            "高血压病3级高危",
            "其他和未特指的高血压",
            "高血压病",
            "阑尾炎术后",
        ] {
            let prepared = Name::new(name);
            assert_eq!(p.score_name(&prepared), p.score(name), "{name}");
            // The same prepared name serves another query unchanged.
            let q = Prepared::new("阑尾炎", Vec::new());
            assert_eq!(q.score_name(&prepared), q.score(name), "{name}");
        }
        let q = Prepared::new("阑尾炎", Vec::new());
        assert!(q.score("阑尾炎") > q.score("阑尾炎术后"));
    }

    #[test]
    fn bag_ignores_order() {
        let a: Vec<char> = "小样儿足月".chars().collect();
        let b: Vec<char> = "足月小样儿".chars().collect();
        assert_eq!(bag_similarity(&a, &b), 1.0);
    }
}
