//! Search over a code table: exact code, code prefix, name, alias, pinyin
//! initials and fuzzy name matching, with a tier and a score per hit.
//!
//! [`Matcher`] is the one entry point the pipeline, the CLI and the TUI use.
//! An indexed matcher ([`Matcher::open`], [`Matcher::in_memory`]) answers
//! the exact tiers from in-memory keys and the fuzzy tier from a tantivy
//! index (BM25 over jieba words and char bigrams, then re-ranked); the
//! linear matcher ([`Matcher::linear`]) scans the table for every query and
//! stays as the baseline and the fallback when no index can be built.

mod canon;
mod index;
mod lexicon;
mod pinyin;
mod rank;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::terminology::Terminology;
use crate::text::normalize_name;

pub use self::canon::{loose, variant_key, Canon};
pub use self::index::{IndexInfo, IndexStats};
pub use self::pinyin::{initials, looks_like_initials};

use self::index::Engine;
use self::lexicon::{prefix_key, Lexicon};
use self::rank::Prepared;

/// BM25 candidates re-ranked per free-text query.
const CANDIDATES: usize = 64;
/// Added to the fuzzy score of a base code: a query that does not state the
/// detail an extension code adds should get the base code.
const BASE_BONUS: f32 = 0.03;
/// Candidates per part of a text listing several diagnoses.
const SEGMENT_CANDIDATES: usize = 32;
/// A name matching one part of such a text ranks below one matching the
/// whole text well (table names have commas too: `休克，其他的`).
const SEGMENT_FACTOR: f32 = 0.75;
/// Parts of a text considered.
const MAX_SEGMENTS: usize = 6;
/// Fuzzy scores are scaled into 0..=FUZZY_MAX so that an exact or variant
/// hit always ranks above a fuzzy one.
const FUZZY_MAX: f32 = 0.9;
const SCORE_EXACT_NAME: f32 = 1.0;
const SCORE_ALIAS: f32 = 0.97;
const SCORE_VARIANT: f32 = 0.95;
const SCORE_PREFIX: f32 = 0.9;

/// How a hit was found, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// The query is the code (in any common spelling).
    ExactCode,
    /// The code starts with the query.
    CodePrefix,
    /// The normalized name equals the normalized query.
    ExactName,
    /// An alias equals the query, or the name does after folding known
    /// variant spellings (`很高危` = `极高危`) and punctuation.
    Alias,
    /// The name's pinyin initials equal or start with the query.
    Pinyin,
    /// Similar name.
    Fuzzy,
}

impl Tier {
    /// Stable snake_case label (as in JSON).
    pub fn label(self) -> &'static str {
        match self {
            Tier::ExactCode => "exact_code",
            Tier::CodePrefix => "code_prefix",
            Tier::ExactName => "exact_name",
            Tier::Alias => "alias",
            Tier::Pinyin => "pinyin",
            Tier::Fuzzy => "fuzzy",
        }
    }
}

/// One ranked hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// The code as the table spells it.
    pub code: String,
    /// The table's name for the code.
    pub name: String,
    /// How the hit was found.
    pub tier: Tier,
    /// 0..=1, higher is better; comparable within one query.
    pub score: f32,
    /// Index of the entry in the terminology.
    #[serde(skip)]
    pub entry: usize,
}

/// What to return.
#[derive(Debug, Clone)]
pub struct MatchOptions {
    /// Most hits returned.
    pub limit: usize,
    /// Only codes a coder may assign.
    pub assignable_only: bool,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions {
            limit: 10,
            assignable_only: true,
        }
    }
}

/// The index-backed parts of a matcher.
struct Indexed {
    lex: Lexicon,
    engine: Engine,
}

/// Ranked lookup over one terminology.
#[derive(Clone)]
pub struct Matcher {
    term: Arc<Terminology>,
    indexed: Option<Arc<Indexed>>,
}

impl Matcher {
    /// A matcher that scans the whole table for every query (no index).
    pub fn linear(term: Arc<Terminology>) -> Self {
        Matcher {
            term,
            indexed: None,
        }
    }

    /// Opens the on-disk index for this table under
    /// `index_root/<system>-<fingerprint prefix>/`, building it if absent or
    /// if its fingerprint (or the analyzer version) differs. Builds go into a
    /// temporary folder that is renamed into place.
    pub fn open(term: Arc<Terminology>, index_root: &Path) -> crate::Result<Matcher> {
        let engine = Engine::open(&term, index_root)?;
        Ok(Matcher::with_engine(term, engine))
    }

    /// Builds the index in memory (nothing written to disk).
    pub fn in_memory(term: Arc<Terminology>) -> crate::Result<Matcher> {
        let engine = Engine::in_memory(&term)?;
        Ok(Matcher::with_engine(term, engine))
    }

    /// (Re)builds the on-disk index of `term` under the index root `dir`
    /// (into [`Matcher::index_dir`]), replacing any index already there;
    /// for the `index` subcommand. [`Matcher::open`] then reuses it.
    pub fn build_index(term: &Terminology, dir: &Path) -> crate::Result<IndexStats> {
        index::rebuild(term, dir)
    }

    /// The folder under `index_root` that holds this table's index.
    pub fn index_dir(term: &Terminology, index_root: &Path) -> PathBuf {
        index_root.join(index::dir_name(term))
    }

    fn with_engine(term: Arc<Terminology>, engine: Engine) -> Matcher {
        let lex = Lexicon::build(&term);
        Matcher {
            term,
            indexed: Some(Arc::new(Indexed { lex, engine })),
        }
    }

    /// Where the index came from; `None` for a linear matcher.
    pub fn index_info(&self) -> Option<&IndexInfo> {
        self.indexed.as_ref().map(|i| &i.engine.info)
    }

    /// The table searched.
    pub fn terminology(&self) -> &Terminology {
        &self.term
    }

    /// The table searched, shared.
    pub fn terminology_arc(&self) -> &Arc<Terminology> {
        &self.term
    }

    /// Interprets the query as a code, a code prefix, pinyin initials or a
    /// name. The assignable filter applies to every tier.
    pub fn lookup(&self, query: &str, opts: &MatchOptions) -> Vec<Match> {
        let q = query.trim();
        if q.is_empty() || opts.limit == 0 {
            return Vec::new();
        }
        let mut hits = Hits::new(&self.term, opts);
        if let Some(e) = self.term.index_of(q) {
            hits.push(e, Tier::ExactCode, 1.0);
        }
        if looks_like_code(q) {
            let key = prefix_key(q);
            match &self.indexed {
                Some(ix) => {
                    for i in ix.lex.code_prefix(&key) {
                        if hits.full() {
                            break;
                        }
                        hits.push(i as usize, Tier::CodePrefix, SCORE_PREFIX);
                    }
                }
                None => {
                    for (i, e) in self.term.entries().iter().enumerate() {
                        if hits.full() {
                            break;
                        }
                        if prefix_key(&e.code).starts_with(&key) {
                            hits.push(i, Tier::CodePrefix, SCORE_PREFIX);
                        }
                    }
                }
            }
        }
        if !hits.is_empty() {
            // Code hits stay in code order (exact first).
            return hits.into_vec();
        }
        if looks_like_initials(q) {
            self.pinyin_hits(q, &mut hits);
            if !hits.is_empty() {
                // Text hits join only when they are exact (an English name
                // or alias such as `hiv`); fuzzy ones would be noise here.
                for m in self.match_text(q, opts) {
                    if m.tier < Tier::Pinyin {
                        hits.push(m.entry, m.tier, m.score);
                    }
                }
                return hits.into_sorted();
            }
        }
        self.match_text(q, opts)
    }

    /// Entries whose name's pinyin initials equal or start with `q`,
    /// exact first, then shorter names.
    fn pinyin_hits(&self, q: &str, hits: &mut Hits) {
        let q = q.to_ascii_lowercase();
        let mut found: Vec<(f32, usize)> = Vec::new();
        let mut consider = |ini: &str, i: usize| {
            if ini.starts_with(&q) {
                // Exact initials score highest; a prefix scores by how much
                // of the name the query spells out.
                let s = if ini.len() == q.len() {
                    0.92
                } else {
                    0.6 + 0.3 * q.len() as f32 / ini.len() as f32
                };
                found.push((s, i));
            }
        };
        match &self.indexed {
            Some(ix) => {
                for (ini, i) in ix.lex.initials_prefix(&q) {
                    consider(ini, i as usize);
                }
            }
            None => {
                for (i, e) in self.term.entries().iter().enumerate() {
                    consider(&initials(&e.name), i);
                }
            }
        }
        for (s, i) in found {
            hits.push(i, Tier::Pinyin, s);
        }
    }

    /// Maps free text (a disease or procedure name) to ranked codes.
    pub fn match_text(&self, text: &str, opts: &MatchOptions) -> Vec<Match> {
        match &self.indexed {
            Some(ix) => self.match_indexed(ix, text, opts),
            None => self.match_linear(text, opts),
        }
    }

    fn match_indexed(&self, ix: &Indexed, text: &str, opts: &MatchOptions) -> Vec<Match> {
        let norm = normalize_name(text);
        if norm.is_empty() || opts.limit == 0 {
            return Vec::new();
        }
        let mut hits = Hits::new(&self.term, opts);
        for &i in ix.lex.exact(&norm) {
            hits.push(i as usize, Tier::ExactName, SCORE_EXACT_NAME);
        }
        for &i in ix.lex.alias(&norm) {
            hits.push(i as usize, Tier::Alias, SCORE_ALIAS);
        }
        let key = loose(&Canon::bundled().apply(&norm));
        for &i in ix.lex.variant(&key) {
            hits.push(i as usize, Tier::Alias, SCORE_VARIANT);
        }
        if hits.len() >= opts.limit {
            return hits.into_sorted();
        }
        // The whole text, and each part when it lists several diagnoses
        // (`头痛;头晕;高血压`): a name that matches one part well is a good
        // answer even though it matches the whole text poorly.
        let mut queries: Vec<(Prepared, f32)> = Vec::new();
        let mut cands: Vec<u32> = Vec::new();
        let parts = segments(text);
        let whole = std::iter::once((text, 1.0, CANDIDATES));
        let parts_iter = parts
            .iter()
            .map(|p| (*p, SEGMENT_FACTOR, SEGMENT_CANDIDATES));
        for (q, factor, k) in whole.chain(parts_iter) {
            let words = ix.engine.query_words(q);
            match ix.engine.candidates(&words, q, opts.assignable_only, k) {
                Ok(c) => cands.extend(c.into_iter().map(|(i, _)| i)),
                Err(e) => {
                    tracing::warn!("index query failed, scanning instead: {e}");
                    return self.match_linear(text, opts);
                }
            }
            let qkey = loose(&Canon::bundled().fold(q));
            if factor < 1.0 {
                // A part that is exactly a name.
                for &i in ix.lex.variant(&qkey) {
                    cands.push(i);
                }
            }
            queries.push((Prepared::new(&canon::strip_hedges(&qkey), words), factor));
        }
        for i in cands {
            let i = i as usize;
            if hits.contains(i) {
                continue;
            }
            let mut best = 0.0f32;
            for (p, factor) in &queries {
                let mut s = p.score(&ix.lex.folded[i]);
                for a in ix.lex.folded_aliases[i].iter() {
                    s = s.max(p.score(a));
                }
                best = best.max(s * factor);
            }
            if is_base_code(&self.term.entry(i).code) {
                best += BASE_BONUS;
            }
            hits.push(i, Tier::Fuzzy, FUZZY_MAX * best.min(1.0));
        }
        hits.into_sorted()
    }

    /// The baseline: compares the query with every name.
    fn match_linear(&self, text: &str, opts: &MatchOptions) -> Vec<Match> {
        let q = normalize_name(text);
        if q.is_empty() {
            return Vec::new();
        }
        let qc: Vec<char> = q.chars().collect();
        let mut out: Vec<Match> = Vec::new();
        for (i, e) in self.term.entries().iter().enumerate() {
            if opts.assignable_only && !e.assignable {
                continue;
            }
            let n = normalize_name(&e.name);
            let (tier, score) = if n == q {
                (Tier::ExactName, 1.0)
            } else if e.aliases.iter().any(|a| normalize_name(a) == q) {
                (Tier::Alias, 0.95)
            } else {
                let s = rapidfuzz::fuzz::ratio(qc.iter().copied(), n.chars()) as f32;
                (Tier::Fuzzy, s * FUZZY_MAX)
            };
            out.push(Match {
                code: e.code.clone(),
                name: e.name.clone(),
                tier,
                score,
                entry: i,
            });
        }
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.code.cmp(&b.code)));
        out.truncate(opts.limit);
        out
    }
}

/// Splits a text that lists several diagnoses at list punctuation;
/// returns nothing for a single name.
fn segments(text: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    for (k, &(b, c)) in chars.iter().enumerate() {
        let sep = match c {
            ';' | '；' | ',' | '，' | '、' | '/' | '。' | '\\' | '＼' => true,
            // A full stop between words, not a decimal point.
            '.' => {
                let before = k.checked_sub(1).map(|j| chars[j].1);
                let after = chars.get(k + 1).map(|x| x.1);
                !(before.is_some_and(|x| x.is_ascii_digit())
                    && after.is_some_and(|x| x.is_ascii_digit()))
            }
            c => c.is_whitespace(),
        };
        if sep {
            parts.push(&text[start..b]);
            start = b + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    let parts: Vec<&str> = parts
        .into_iter()
        .map(str::trim)
        .filter(|p| p.chars().any(char::is_alphanumeric))
        .take(MAX_SEGMENTS)
        .collect();
    if parts.len() < 2 {
        Vec::new()
    } else {
        parts
    }
}

/// Hits of one query: deduplicated by entry, filtered by assignability.
struct Hits<'a> {
    term: &'a Terminology,
    opts: &'a MatchOptions,
    seen: HashSet<usize>,
    out: Vec<Match>,
}

impl<'a> Hits<'a> {
    fn new(term: &'a Terminology, opts: &'a MatchOptions) -> Self {
        Hits {
            term,
            opts,
            seen: HashSet::new(),
            out: Vec::new(),
        }
    }

    fn push(&mut self, i: usize, tier: Tier, score: f32) {
        let e = self.term.entry(i);
        if self.opts.assignable_only && !e.assignable {
            return;
        }
        if !self.seen.insert(i) {
            return;
        }
        self.out.push(Match {
            code: e.code.clone(),
            name: e.name.clone(),
            tier,
            score,
            entry: i,
        });
    }

    fn contains(&self, i: usize) -> bool {
        self.seen.contains(&i)
    }

    fn len(&self) -> usize {
        self.out.len()
    }

    fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    fn full(&self) -> bool {
        self.out.len() >= self.opts.limit
    }

    fn into_vec(mut self) -> Vec<Match> {
        self.out.truncate(self.opts.limit);
        self.out
    }

    /// Best first; among equal scores an assignable code before a heading,
    /// a table's main code before its
    /// extension codes (`I21.103` before `I21.100x002` for the same name),
    /// then the shorter name, then code order.
    fn into_sorted(mut self) -> Vec<Match> {
        self.out.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(
                    self.term
                        .entry(b.entry)
                        .assignable
                        .cmp(&self.term.entry(a.entry).assignable),
                )
                .then(is_extension(&a.code).cmp(&is_extension(&b.code)))
                .then(a.name.chars().count().cmp(&b.name.chars().count()))
                .then(a.code.cmp(&b.code))
        });
        self.out.truncate(self.opts.limit);
        self.out
    }
}

/// True for national extension codes (`I10.x00x032`, `36.0700x004`): an `x`
/// after the dot other than the ICD-10 placeholder right after it (`I10.x00`).
fn is_extension(code: &str) -> bool {
    code.split_once('.').is_some_and(|(_, tail)| {
        tail.char_indices()
            .any(|(i, c)| (c == 'x' || c == 'X') && i > 0)
    })
}

/// True for the classification's own codes as opposed to national
/// additions: no `x` extension, and a subdivision that ends in `00`
/// (`I10.x00`, `I21.900`, `36.0700`). Tables without national
/// subdivisions (`A00.0`, `A00.001`) have no base codes in this sense.
fn is_base_code(code: &str) -> bool {
    if is_extension(code) {
        return false;
    }
    match code.split_once('.') {
        None => true,
        Some((_, tail)) => {
            let tail = tail.split(['+', '†', '*']).next().unwrap_or(tail);
            tail.len() >= 3 && tail.ends_with("00")
        }
    }
}

/// True for strings shaped like an ICD code or a code prefix (`I10`, `36.07`, `I10.x00x0`).
pub fn looks_like_code(q: &str) -> bool {
    let q = q.trim();
    let mut cs = q.chars();
    match cs.next() {
        Some(c) if c.is_ascii_alphabetic() || c.is_ascii_digit() => {}
        _ => return false,
    }
    q.len() >= 2
        && q.chars().any(|c| c.is_ascii_digit())
        && q.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '*' | '†' | '/'))
}

/// Where indexes live when the config names no folder: `./index/` when it
/// exists in the current directory (the repository's own folder), else the
/// user data dir (`…/icdflow/index`).
pub fn default_index_root(cfg_index_dir: Option<&Path>) -> PathBuf {
    if let Some(d) = cfg_index_dir {
        return d.to_path_buf();
    }
    let local = Path::new("index");
    if local.is_dir() {
        return std::env::current_dir()
            .map(|c| c.join(local))
            .unwrap_or_else(|_| local.to_path_buf());
    }
    match directories::ProjectDirs::from("", "", "icdflow") {
        Some(p) => p.data_dir().join("index"),
        None => std::env::temp_dir().join("icdflow-index"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_codes() {
        assert!(is_extension("I10.x00x032"));
        assert!(is_extension("36.0700x004"));
        assert!(is_extension("I21.100x002"));
        assert!(!is_extension("I10.x00"));
        assert!(!is_extension("I21.103"));
        assert!(!is_extension("36.0700"));
        assert!(is_base_code("36.0700"));
        assert!(is_base_code("I10.x00"));
        assert!(!is_base_code("A00.0"));
        assert!(!is_base_code("36.0701"));
        assert!(!is_base_code("I10.x00x032"));
        assert!(!is_base_code("E11.401†G63.2*"));
    }

    #[test]
    fn lists_split_into_parts() {
        assert_eq!(segments("头痛.头晕.高血压"), ["头痛", "头晕", "高血压"]);
        assert_eq!(segments("发热;上呼吸道感染?"), ["发热", "上呼吸道感染?"]);
        assert!(segments("高血压病3级（极高危）").is_empty());
        assert!(segments("TBSA 1.5%").len() == 2);
        assert!(segments("体重指数2.5").is_empty());
    }

    #[test]
    fn matcher_is_shareable() {
        fn check<T: Send + Sync>() {}
        check::<Matcher>();
    }
}
