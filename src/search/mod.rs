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
mod memo;
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

/// A table name found inside a longer text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoundName {
    /// Byte offset of the first char of the name's spelling in the text.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
    /// The entry (tier `ExactName` when spelled as in the table, `Alias`
    /// when spelled as a variant).
    pub hit: Match,
}

/// Shortest name (in chars of its folded form) looked for inside a text.
const MIN_FOUND_CHARS: usize = 2;

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
    /// Free-text matches already computed (see [`memo`]).
    memo: memo::Memo,
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
            indexed: Some(Arc::new(Indexed {
                lex,
                engine,
                memo: memo::Memo::new(memo::GENERATION),
            })),
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
                let mut exact = Hits::new(&self.term, opts);
                self.exact_hits(q, &mut exact);
                for (i, tier, score) in exact.out {
                    hits.push(i, tier, score);
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
        // Common short names of the synonym list (冠心病 for the table's
        // 冠状动脉粥样硬化性心脏病) answer to their own initials.
        for (variant, _) in Canon::bundled().cjk_variants() {
            let ini = initials(&variant);
            if ini.starts_with(&q) {
                let s = if ini.len() == q.len() {
                    0.93
                } else {
                    0.6 + 0.3 * q.len() as f32 / ini.len() as f32
                };
                let mut exact = Hits::new(&self.term, hits.opts);
                self.exact_hits(&variant, &mut exact);
                for (i, _, _) in exact.out {
                    found.push((s, i));
                }
            }
        }
        // Best first, shorter names first on ties, so that only the hits
        // that can make the cut are kept (a two-letter query can start
        // thousands of names).
        found.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(name_len(&self.term, a.1).cmp(&name_len(&self.term, b.1)))
                .then(a.1.cmp(&b.1))
        });
        for (s, i) in found {
            if hits.full() {
                break;
            }
            hits.push(i, Tier::Pinyin, s);
        }
    }

    /// Maps free text (a disease or procedure name) to ranked codes.
    /// An indexed matcher remembers its answers (a bounded memo shared by
    /// its clones): a text asked again costs a lookup.
    pub fn match_text(&self, text: &str, opts: &MatchOptions) -> Vec<Match> {
        match &self.indexed {
            Some(ix) => {
                if let Some(hits) = ix.memo.get(text, opts.limit, opts.assignable_only) {
                    return hits;
                }
                let hits = self.match_indexed(ix, text, opts);
                ix.memo.put(text, opts.limit, opts.assignable_only, &hits);
                hits
            }
            None => self.match_linear(text, opts),
        }
    }

    /// Forgets the remembered matches (for timing a cold run).
    pub fn clear_memo(&self) {
        if let Some(ix) = &self.indexed {
            ix.memo.clear();
        }
    }

    /// Loads what the first query would otherwise load (the word
    /// segmenter's dictionary), so that no record pays for it.
    pub fn warm_up(&self) {
        if let Some(ix) = &self.indexed {
            let _ = ix.engine.query_words("高血压");
        }
    }

    /// Entries whose name or alias equals the text, as written or after
    /// folding variant spellings.
    fn exact_hits(&self, text: &str, hits: &mut Hits) {
        let norm = normalize_name(text);
        match &self.indexed {
            Some(ix) => {
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
            }
            None => {
                for (i, e) in self.term.entries().iter().enumerate() {
                    if normalize_name(&e.name) == norm {
                        hits.push(i, Tier::ExactName, SCORE_EXACT_NAME);
                    } else if e.aliases.iter().any(|a| normalize_name(a) == norm) {
                        hits.push(i, Tier::Alias, SCORE_ALIAS);
                    }
                }
            }
        }
    }

    fn match_indexed(&self, ix: &Indexed, text: &str, opts: &MatchOptions) -> Vec<Match> {
        let norm = normalize_name(text);
        if norm.is_empty() || opts.limit == 0 {
            return Vec::new();
        }
        let mut hits = Hits::new(&self.term, opts);
        self.exact_hits(text, &mut hits);
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
            let names = ix.lex.names(i);
            for (p, factor) in &queries {
                let mut s = p.score_name(&names[0]);
                for a in &names[1..] {
                    s = s.max(p.score_name(a));
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

    /// Finds the table names spelled inside a longer text, such as one
    /// item of a discharge diagnosis list that names several diseases
    /// (`冠状动脉粥样硬化性心脏病不稳定型心绞痛冠状动脉支架植入术后`).
    /// Spellings are compared after folding variants (`冠心病`,
    /// `很高危`); longer names win over names inside them; the result is
    /// in text order with byte spans into `text`. Only whole names are
    /// found: use [`Matcher::match_text`] for near spellings.
    pub fn find_names(&self, text: &str, opts: &MatchOptions) -> Vec<FoundName> {
        let folded = Canon::bundled().fold_with_spans(text);
        let chars: Vec<char> = folded.iter().map(|x| x.0).collect();
        let n = chars.len();
        // Every (start, end) whose folded spelling is some entry's key.
        let mut spans: Vec<(usize, usize, Vec<usize>)> = Vec::new();
        // Without an index the keys are made here, once per call.
        let linear_keys: Vec<String> = match &self.indexed {
            Some(_) => Vec::new(),
            None => self
                .term
                .entries()
                .iter()
                .map(|e| variant_key(&e.name))
                .collect(),
        };
        let max = match &self.indexed {
            Some(ix) => ix.lex.max_key_chars,
            None => linear_keys
                .iter()
                .map(|k| k.chars().count())
                .max()
                .unwrap_or(0),
        };
        let mut key = String::new();
        for i in 0..n {
            for j in (i + MIN_FOUND_CHARS..=n.min(i + max)).rev() {
                key.clear();
                key.extend(&chars[i..j]);
                // A name written with its final 术 (keys drop it) matches
                // only where the text ends there, not inside `阑尾炎术后`.
                let trimmed = if j == n { loose(&key) } else { key.clone() };
                let entries: Vec<usize> = match &self.indexed {
                    Some(ix) => ix
                        .lex
                        .variant(&trimmed)
                        .iter()
                        .map(|&e| e as usize)
                        .collect(),
                    None => linear_keys
                        .iter()
                        .enumerate()
                        .filter(|(_, k)| **k == trimmed)
                        .map(|(e, _)| e)
                        .collect(),
                };
                let entries: Vec<usize> = entries
                    .into_iter()
                    .filter(|&e| !opts.assignable_only || self.term.entry(e).assignable)
                    .collect();
                if !entries.is_empty() {
                    spans.push((i, j, entries));
                    // The longest name starting here; shorter ones inside
                    // it would lose to it anyway.
                    break;
                }
            }
        }
        // Longest first, then leftmost; keep those that overlap nothing kept.
        spans.sort_by(|a, b| (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.0.cmp(&b.0)));
        let mut taken = vec![false; n];
        let mut out = Vec::new();
        for (i, j, entries) in spans {
            if taken[i..j].iter().any(|t| *t) {
                continue;
            }
            taken[i..j].iter_mut().for_each(|t| *t = true);
            let (start, mut end) = (folded[i].1 .0, folded[j - 1].1 .1);
            // Punctuation is not part of the folded form; take the closing
            // bracket of a bracket the name opened (`高血压病（3级很高危）`).
            let open = normalize_name(&text[start..end]);
            let mut unclosed = open.matches('(').count() as i64 - open.matches(')').count() as i64;
            while unclosed > 0 {
                let Some(c) = text[end..].chars().next() else {
                    break;
                };
                if normalize_name(&c.to_string()) != ")" {
                    break;
                }
                end += c.len_utf8();
                unclosed -= 1;
            }
            let written = normalize_name(&text[start..end]);
            let mut hits = Hits::new(&self.term, opts);
            for &e in &entries {
                let exact = normalize_name(&self.term.entry(e).name) == written;
                let (tier, score) = if exact {
                    (Tier::ExactName, SCORE_EXACT_NAME)
                } else {
                    (Tier::Alias, SCORE_VARIANT)
                };
                hits.push(e, tier, score);
            }
            if let Some(hit) = hits.into_sorted().into_iter().next() {
                out.push(FoundName { start, end, hit });
            }
        }
        out.sort_by_key(|f| f.start);
        out.truncate(opts.limit);
        out
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

fn name_len(term: &Terminology, i: usize) -> usize {
    term.entry(i).name.chars().count()
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
/// Matches (with their cloned code and name) are made only for the hits
/// that survive the final cut.
struct Hits<'a> {
    term: &'a Terminology,
    opts: &'a MatchOptions,
    seen: HashSet<usize>,
    out: Vec<(usize, Tier, f32)>,
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
        if self.opts.assignable_only && !self.term.entry(i).assignable {
            return;
        }
        if self.seen.insert(i) {
            self.out.push((i, tier, score));
        }
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

    fn materialize(&self, hits: &[(usize, Tier, f32)]) -> Vec<Match> {
        hits.iter()
            .map(|&(i, tier, score)| {
                let e = self.term.entry(i);
                Match {
                    code: e.code.clone(),
                    name: e.name.clone(),
                    tier,
                    score,
                    entry: i,
                }
            })
            .collect()
    }

    /// In the order pushed.
    fn into_vec(self) -> Vec<Match> {
        let n = self.out.len().min(self.opts.limit);
        self.materialize(&self.out[..n])
    }

    /// Best first; among equal scores an assignable code before a heading,
    /// a table's main code before its extension codes (`I21.103` before
    /// `I21.100x002` for the same name), then the shorter name, then code
    /// order.
    fn into_sorted(self) -> Vec<Match> {
        let mut keyed: Vec<_> = self
            .out
            .iter()
            .map(|&(i, tier, score)| {
                let e = self.term.entry(i);
                let key = (!e.assignable, is_extension(&e.code), e.name.chars().count());
                (score, key, e.code.as_str(), (i, tier, score))
            })
            .collect();
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(b.2)));
        keyed.truncate(self.opts.limit);
        let hits: Vec<_> = keyed.into_iter().map(|k| k.3).collect();
        self.materialize(&hits)
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
    fn remembered_matches_equal_fresh_ones() {
        let term = Arc::new(Terminology::from_pairs(
            crate::terminology::CodeSystem::Icd10,
            "t",
            &[
                ("I10.x00", "特发性（原发性）高血压"),
                ("I10.x00x032", "高血压病3级（极高危）"),
                ("I25.103", "冠状动脉粥样硬化性心脏病"),
                ("E11.900", "2型糖尿病"),
            ],
        ));
        let m = Matcher::in_memory(term.clone()).unwrap();
        let opts = MatchOptions::default();
        let queries = ["高血压病（3级很高危）", "冠心病;2型糖尿病", "糖尿病"];
        let first: Vec<_> = queries.iter().map(|q| m.match_text(q, &opts)).collect();
        assert!(!first[0].is_empty());
        // A clone shares the memo; every answer is the one computed afresh.
        let clone = m.clone();
        let fresh = Matcher::in_memory(term).unwrap();
        for (q, hits) in queries.iter().zip(&first) {
            assert_eq!(&clone.match_text(q, &opts), hits);
            assert_eq!(&fresh.match_text(q, &opts), hits);
        }
        let one = MatchOptions {
            limit: 1,
            assignable_only: true,
        };
        assert_eq!(m.match_text(queries[1], &one).len(), 1);
    }

    #[test]
    fn matcher_is_shareable() {
        fn check<T: Send + Sync>() {}
        check::<Matcher>();
    }
}
