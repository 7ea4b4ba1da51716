//! In-memory keys over one table: exact names, aliases, variant spellings,
//! sorted codes and sorted pinyin initials. These answer the exact tiers in
//! O(1) or O(log n); the tantivy index only serves the fuzzy tier.
//!
//! Built from the terminology on every open (tens of milliseconds for the
//! 37k-row 国临2.0 table), so it can never disagree with the loaded table.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::terminology::{normalize_code, CodeSystem, Terminology};
use crate::text::normalize_name;

use super::canon::{loose, Canon};
use super::pinyin::initials;
use super::rank::Name;

/// Keys of every entry of one table.
#[derive(Debug)]
pub(crate) struct Lexicon {
    /// `normalize_name(name)` → entries.
    exact: HashMap<String, Vec<u32>>,
    /// `normalize_name(alias)` → entries.
    alias: HashMap<String, Vec<u32>>,
    /// Loose folded key of names and aliases → entries.
    variant: HashMap<String, Vec<u32>>,
    /// Prefix keys of codes, sorted.
    codes: Vec<(String, u32)>,
    /// Pinyin initials of names, sorted.
    initials: Vec<(String, u32)>,
    /// Loose folded name per entry (the fuzzy comparison form).
    pub folded: Vec<String>,
    /// Chars in the longest variant key.
    pub max_key_chars: usize,
    /// Loose folded aliases per entry (empty for most).
    pub folded_aliases: Vec<Box<[String]>>,
    /// The folded name and aliases of each entry as the fuzzy scoring
    /// compares them, made the first time the entry is a candidate.
    names: Vec<OnceLock<Box<[Name]>>>,
}

/// Key for code-prefix search: uppercase, dagger as `+`, no asterisk, and no
/// ICD-9 zero padding (so `36.07` is a prefix of `36.0700x004`).
pub(crate) fn prefix_key(code: &str) -> String {
    // The ICD-10 rules are exactly "normalize without padding".
    normalize_code(CodeSystem::Icd10, code)
}

impl Lexicon {
    /// Entry `i`'s folded name, then its folded aliases, prepared for scoring.
    pub fn names(&self, i: usize) -> &[Name] {
        self.names[i].get_or_init(|| {
            std::iter::once(&self.folded[i])
                .chain(self.folded_aliases[i].iter())
                .map(|n| Name::new(n))
                .collect()
        })
    }

    pub fn build(term: &Terminology) -> Lexicon {
        let canon = Canon::bundled();
        let n = term.len();
        let mut lex = Lexicon {
            exact: HashMap::with_capacity(n),
            alias: HashMap::new(),
            variant: HashMap::with_capacity(n),
            codes: Vec::with_capacity(n),
            initials: Vec::with_capacity(n),
            folded: Vec::with_capacity(n),
            max_key_chars: 0,
            folded_aliases: Vec::with_capacity(n),
            names: (0..n).map(|_| OnceLock::new()).collect(),
        };
        for (i, e) in term.entries().iter().enumerate() {
            let i = i as u32;
            let norm = normalize_name(&e.name);
            let folded = loose(&canon.apply(&norm));
            lex.exact.entry(norm).or_default().push(i);
            push_unique(lex.variant.entry(folded.clone()).or_default(), i);
            let mut aliases = Vec::with_capacity(e.aliases.len());
            for a in &e.aliases {
                let an = normalize_name(a);
                let af = loose(&canon.apply(&an));
                push_unique(lex.alias.entry(an).or_default(), i);
                push_unique(lex.variant.entry(af.clone()).or_default(), i);
                aliases.push(af);
            }
            lex.codes.push((prefix_key(&e.code), i));
            lex.initials.push((initials(&e.name), i));
            lex.folded.push(folded);
            lex.folded_aliases.push(aliases.into_boxed_slice());
        }
        lex.max_key_chars = lex
            .variant
            .keys()
            .map(|k| k.chars().count())
            .max()
            .unwrap_or(0);
        lex.codes.sort();
        lex.initials.sort();
        lex
    }

    pub fn exact(&self, normalized: &str) -> &[u32] {
        self.exact.get(normalized).map_or(&[], Vec::as_slice)
    }

    pub fn alias(&self, normalized: &str) -> &[u32] {
        self.alias.get(normalized).map_or(&[], Vec::as_slice)
    }

    pub fn variant(&self, key: &str) -> &[u32] {
        self.variant.get(key).map_or(&[], Vec::as_slice)
    }

    /// Entries whose code starts with the prefix key, in code order.
    pub fn code_prefix(&self, key: &str) -> impl Iterator<Item = u32> + '_ {
        prefix_range(&self.codes, key).map(|(_, i)| *i)
    }

    /// Entries whose initials start with the query, with their initials.
    pub fn initials_prefix<'a>(&'a self, q: &str) -> impl Iterator<Item = (&'a str, u32)> + 'a {
        prefix_range(&self.initials, q).map(|(s, i)| (s.as_str(), *i))
    }
}

/// The run of a sorted list whose keys start with `prefix`.
fn prefix_range<'a>(
    sorted: &'a [(String, u32)],
    prefix: &str,
) -> impl Iterator<Item = &'a (String, u32)> + 'a {
    let start = sorted.partition_point(|(k, _)| k.as_str() < prefix);
    let prefix = prefix.to_string();
    sorted[start..]
        .iter()
        .take_while(move |(k, _)| k.starts_with(&prefix))
}

fn push_unique(v: &mut Vec<u32>, i: u32) {
    if !v.contains(&i) {
        v.push(i);
    }
}
