//! Search over a code table: exact code, code prefix, name, alias, pinyin
//! initials and fuzzy name matching, with a tier and a score per hit.
//!
//! [`Matcher`] is the one entry point the pipeline, the CLI and the TUI use.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::terminology::{normalize_code, Terminology};
use crate::text::normalize_name;

/// How a hit was found, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    ExactCode,
    CodePrefix,
    ExactName,
    Alias,
    Pinyin,
    Fuzzy,
}

impl Tier {
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
    pub code: String,
    pub name: String,
    pub tier: Tier,
    /// 0..=1, higher is better; comparable within one query.
    pub score: f32,
    /// Index of the entry in the terminology.
    #[serde(skip)]
    pub entry: usize,
}

#[derive(Debug, Clone)]
pub struct MatchOptions {
    pub limit: usize,
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

/// Ranked lookup over one terminology.
#[derive(Clone)]
pub struct Matcher {
    term: Arc<Terminology>,
}

impl Matcher {
    /// A matcher that scans the whole table for every query (no index).
    pub fn linear(term: Arc<Terminology>) -> Self {
        Matcher { term }
    }

    pub fn terminology(&self) -> &Terminology {
        &self.term
    }

    pub fn terminology_arc(&self) -> &Arc<Terminology> {
        &self.term
    }

    /// Interprets the query as a code, a code prefix or a name.
    pub fn lookup(&self, query: &str, opts: &MatchOptions) -> Vec<Match> {
        let q = query.trim();
        if let Some(e) = self.term.index_of(q) {
            let entry = self.term.entry(e);
            return vec![Match {
                code: entry.code.clone(),
                name: entry.name.clone(),
                tier: Tier::ExactCode,
                score: 1.0,
                entry: e,
            }];
        }
        if looks_like_code(q) {
            let key = normalize_code(self.term.system, q);
            let mut out: Vec<Match> = Vec::new();
            for (i, e) in self.term.entries().iter().enumerate() {
                if opts.assignable_only && !e.assignable {
                    continue;
                }
                if normalize_code(self.term.system, &e.code).starts_with(&key) {
                    out.push(Match {
                        code: e.code.clone(),
                        name: e.name.clone(),
                        tier: Tier::CodePrefix,
                        score: 0.9,
                        entry: i,
                    });
                }
                if out.len() >= opts.limit {
                    break;
                }
            }
            if !out.is_empty() {
                return out;
            }
        }
        self.match_text(q, opts)
    }

    /// Maps free text to ranked codes by name.
    pub fn match_text(&self, text: &str, opts: &MatchOptions) -> Vec<Match> {
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
                (Tier::Fuzzy, s * 0.9)
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
