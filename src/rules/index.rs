//! The rule index: Code Also rules by code prefix, and a full-text search
//! over their notes, labels and code names (used by the code search popup to
//! show instructional notes next to a code).
//!
//! The text index is a small in-RAM tantivy index, one document per rule,
//! tokenized with jieba in search mode and lowercased, so "支架" finds
//! "药物洗脱冠状动脉支架置入" and "ffr" finds "FFR".

use std::collections::HashSet;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{LowerCaser, TextAnalyzer};
use tantivy::{Index, IndexReader, TantivyDocument, Term};

use super::model::code_stem;
use super::resolve::{ResolvedRule, ResolvedRules};
use crate::error::{Error, Result};

const TOKENIZER: &str = "icdflow_rules_jieba";
/// Trigger names indexed per rule; chapter-wide triggers (35.1x–35.9x) list
/// hundreds of codes and a sample is enough to find the rule by name.
const MAX_TRIGGER_NAMES: usize = 400;

/// Code Also rules with a prefix lookup and a text search.
pub struct RuleIndex {
    rules: ResolvedRules,
    reader: IndexReader,
    analyzer: TextAnalyzer,
    f_rule: Field,
    f_text: Field,
}

impl std::fmt::Debug for RuleIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleIndex")
            .field("rules", &self.rules.rules.len())
            .finish()
    }
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::new())
        .filter(LowerCaser)
        .build()
}

/// The text a rule is found by.
fn rule_text(rule: &ResolvedRule, names: &[String]) -> String {
    let r = &rule.rule;
    let mut parts: Vec<&str> = vec![&r.id, &r.note_en, &r.note_zh];
    parts.extend(r.triggers.iter().map(String::as_str));
    for g in &rule.groups {
        parts.push(&g.label);
        if let Some(z) = &g.label_zh {
            parts.push(z);
        }
        for c in g.all_codes() {
            parts.push(&c.written);
            if let Some(n) = &c.name {
                parts.push(n);
            }
        }
    }
    parts.extend(names.iter().map(String::as_str));
    parts.join("\n").replace('-', " ")
}

impl RuleIndex {
    /// Builds the index over resolved rules: notes, labels, candidate codes
    /// and names. [`RuleIndex::with_table`] also indexes the table names of
    /// the trigger codes.
    pub fn new(rules: ResolvedRules) -> Result<Self> {
        Self::build(rules, |_| Vec::new())
    }

    /// Builds the index, adding the table names of each rule's trigger codes
    /// so that a procedure name finds its rule.
    pub fn with_table(
        rules: ResolvedRules,
        term: &crate::terminology::Terminology,
    ) -> Result<Self> {
        Self::build(rules, |r| {
            r.trigger_codes
                .iter()
                .take(MAX_TRIGGER_NAMES)
                .filter_map(|c| term.get(c).map(|e| e.name.clone()))
                .collect()
        })
    }

    fn build(rules: ResolvedRules, names: impl Fn(&ResolvedRule) -> Vec<String>) -> Result<Self> {
        let mut sb = Schema::builder();
        let f_rule = sb.add_u64_field("rule", NumericOptions::default().set_stored());
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs);
        let f_text = sb.add_text_field(
            "text",
            TextOptions::default().set_indexing_options(indexing),
        );
        let index = Index::create_in_ram(sb.build());
        index.tokenizers().register(TOKENIZER, analyzer());
        let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 20_000_000)?;
        for (i, r) in rules.rules.iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_u64(f_rule, i as u64);
            doc.add_text(f_text, rule_text(r, &names(r)));
            writer.add_document(doc)?;
        }
        writer.commit()?;
        let reader = index.reader()?;
        Ok(RuleIndex {
            rules,
            reader,
            analyzer: analyzer(),
            f_rule,
            f_text,
        })
    }

    /// The resolved rules behind the index.
    pub fn rules(&self) -> &ResolvedRules {
        &self.rules
    }

    /// Rules fired by a code, by normalized prefix (`36.0700`, `36.07`,
    /// `36.0700x004` all find the stent rule).
    pub fn rules_for(&self, code: &str) -> Vec<&ResolvedRule> {
        self.rules.rules_for(code)
    }

    /// Rules whose notes, labels or code names match the query, best first
    /// (at most 20). A code-like query returns the rules it fires, then the
    /// rules that propose it. Errors are logged and give no result: this
    /// feeds a popup, not a decision.
    pub fn search(&self, query: &str) -> Vec<&ResolvedRule> {
        match self.search_scored(query, 20) {
            Ok(v) => v.into_iter().map(|(_, r)| r).collect(),
            Err(e) => {
                tracing::warn!("rule search {query:?}: {e}");
                Vec::new()
            }
        }
    }

    /// Like [`RuleIndex::search`], with scores (code hits score 1000).
    pub fn search_scored(&self, query: &str, limit: usize) -> Result<Vec<(f32, &ResolvedRule)>> {
        let q = query.trim();
        if q.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut out: Vec<(f32, &ResolvedRule)> = Vec::new();
        let mut seen: HashSet<usize> = HashSet::new();
        if let Some(stem) = code_stem(q) {
            for (i, r) in self.rules.rules.iter().enumerate() {
                if r.fires_for(q) && seen.insert(i) {
                    out.push((1000.0, r));
                }
            }
            for (i, r) in self.rules.rules.iter().enumerate() {
                let proposes = r
                    .groups
                    .iter()
                    .any(|g| g.all_codes().any(|c| c.stem == stem));
                if proposes && seen.insert(i) {
                    out.push((999.0, r));
                }
            }
        }
        let mut terms: Vec<Term> = Vec::new();
        let mut stream = self.analyzer.clone();
        let mut ts = stream.token_stream(q);
        while ts.advance() {
            let t = Term::from_field_text(self.f_text, &ts.token().text);
            if !ts.token().text.trim().is_empty() && !terms.contains(&t) {
                terms.push(t);
            }
        }
        if !terms.is_empty() {
            let clauses: Vec<(Occur, Box<dyn Query>)> = terms
                .into_iter()
                .map(|t| {
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs)) as Box<dyn Query>,
                    )
                })
                .collect();
            let query = BooleanQuery::new(clauses);
            let searcher = self.reader.searcher();
            let hits = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
            for (score, addr) in hits {
                let doc: TantivyDocument = searcher.doc(addr)?;
                let i = doc
                    .get_first(self.f_rule)
                    .and_then(|v| v.as_u64())
                    .ok_or_else(|| Error::Index("rule document without id".into()))?
                    as usize;
                if let Some(r) = self.rules.rules.get(i) {
                    if seen.insert(i) {
                        out.push((score, r));
                    }
                }
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}
