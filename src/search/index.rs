//! The tantivy index over one code table: BM25 over jieba words and char
//! bigrams of the folded names and aliases. It only proposes candidates for
//! the fuzzy tier; [`super::rank`] orders them.
//!
//! On disk an index lives in `<root>/<system>-<fingerprint prefix>/` with a
//! meta file naming the table fingerprint and the analyzer version; an index
//! whose meta does not match the loaded table is rebuilt (into a temporary
//! folder, then renamed into place, so a reader never sees half an index).

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tantivy::collector::{FilterCollector, TopDocs};
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{
    LowerCaser, NgramTokenizer, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term};
use tantivy_jieba::JiebaTokenizer;

use crate::error::{Error, Result};
use crate::terminology::{CodeSystem, Terminology};

use super::canon::{loose, Canon};

/// Bumped whenever the schema or what goes into a field changes.
const FORMAT: u32 = 3;
const META_FILE: &str = "icdflow-index.json";
const WORDS_TOKENIZER: &str = "icd_words";
const GRAMS_TOKENIZER: &str = "icd_grams";
/// BM25 weight of bigram hits relative to word hits: bigrams add recall for
/// words jieba splits differently, but are noisier.
const GRAM_BOOST: f32 = 0.5;

/// Figures about one index build.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndexStats {
    /// Table rows indexed.
    pub entries: usize,
    /// Segments in the committed index.
    pub segments: usize,
    /// Wall time of the build.
    pub build_time: Duration,
    /// Bytes on disk (0 for an in-memory index).
    pub bytes: u64,
}

/// Where an opened index came from.
#[derive(Debug, Clone)]
pub struct IndexInfo {
    /// The index folder; `None` for an in-memory index.
    pub dir: Option<PathBuf>,
    /// True when this open built the index (absent or stale); false when an
    /// existing index was reused.
    pub built: bool,
    /// Figures of the build that produced the index.
    pub stats: IndexStats,
}

/// Contents of the meta file written next to the index.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Meta {
    format: u32,
    /// Hash of the synonym rules: they change what is indexed.
    analyzer: String,
    system: CodeSystem,
    fingerprint: String,
    label: String,
    entries: usize,
    built_unix_ms: u128,
    stats: IndexStats,
}

#[derive(Clone, Copy)]
struct Fields {
    idx: Field,
    code: Field,
    words: Field,
    grams: Field,
    assignable: Field,
}

/// An opened index, ready for queries.
pub(crate) struct Engine {
    searcher: Searcher,
    // Kept so the searcher's segments stay alive for the engine's lifetime.
    _reader: IndexReader,
    fields: Fields,
    words: TextAnalyzer,
    grams: TextAnalyzer,
    /// Entry index of each doc, per segment ordinal.
    idx_columns: Vec<Column<u64>>,
    /// Whether each entry (by index) is assignable.
    assignable: Arc<Vec<bool>>,
    pub info: IndexInfo,
}

/// One query word with its inverse document frequency.
#[derive(Debug, Clone)]
pub(crate) struct WeightedWord {
    pub text: String,
    pub idf: f32,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
    };
    let fields = Fields {
        idx: b.add_u64_field("idx", FAST),
        code: b.add_text_field("code", STRING | STORED),
        words: b.add_text_field("words", text(WORDS_TOKENIZER)),
        grams: b.add_text_field("grams", text(GRAMS_TOKENIZER)),
        assignable: b.add_u64_field("assignable", INDEXED),
    };
    (b.build(), fields)
}

fn words_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(JiebaTokenizer::new())
        .filter(WordsOnly)
        .filter(LowerCaser)
        .build()
}

fn grams_analyzer() -> Result<TextAnalyzer> {
    // Single chars are indexed too, but queried only when nothing else
    // matches (their posting lists are long: 性 is in a third of the names).
    Ok(TextAnalyzer::builder(NgramTokenizer::new(1, 2, false)?)
        .filter(LowerCaser)
        .build())
}

fn register(index: &Index) -> Result<()> {
    index
        .tokenizers()
        .register(WORDS_TOKENIZER, words_analyzer());
    index
        .tokenizers()
        .register(GRAMS_TOKENIZER, grams_analyzer()?);
    Ok(())
}

/// Folded text for the word field: spaces kept between pieces so English
/// words stay apart; each piece normalized and synonym-folded.
pub(crate) fn words_text(name: &str) -> String {
    let canon = Canon::bundled();
    let mut out = String::with_capacity(name.len());
    for piece in name.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&canon.fold(piece));
    }
    out
}

/// Folded text for the bigram field: punctuation dropped.
pub(crate) fn grams_text(name: &str) -> String {
    loose(&Canon::bundled().fold(name))
}

fn analyzer_hash() -> String {
    let mut h = Sha256::new();
    h.update(include_str!("synonyms.txt").as_bytes());
    h.update(FORMAT.to_le_bytes());
    let d = h.finalize();
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn system_slug(system: CodeSystem) -> &'static str {
    match system {
        CodeSystem::Icd10 => "icd10",
        CodeSystem::Icd9Cm3 => "icd9cm3",
    }
}

/// Folder name of a table's index: `<system>-<first 16 fingerprint chars>`.
pub(crate) fn dir_name(term: &Terminology) -> String {
    let fp: String = term
        .fingerprint
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    let fp = if fp.is_empty() {
        "nofp".to_string()
    } else {
        fp
    };
    format!("{}-{fp}", system_slug(term.system))
}

fn add_docs(index: &Index, fields: Fields, term: &Terminology) -> Result<()> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let mut writer =
        index.writer_with_num_threads::<TantivyDocument>(threads, threads * 40_000_000)?;
    for (i, e) in term.entries().iter().enumerate() {
        let mut doc = TantivyDocument::new();
        doc.add_u64(fields.idx, i as u64);
        doc.add_text(fields.code, &e.code);
        doc.add_u64(fields.assignable, u64::from(e.assignable));
        doc.add_text(fields.words, words_text(&e.name));
        doc.add_text(fields.grams, grams_text(&e.name));
        for a in &e.aliases {
            doc.add_text(fields.words, words_text(a));
            doc.add_text(fields.grams, grams_text(a));
        }
        writer.add_document(doc)?;
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    Ok(())
}

fn dir_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// Builds the index of `term` into `dir` (created if needed; must not hold
/// another index) and writes the meta file last.
pub(crate) fn build_into(term: &Terminology, dir: &Path) -> Result<IndexStats> {
    let start = Instant::now();
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (schema, fields) = schema();
    let index = Index::create_in_dir(dir, schema)?;
    register(&index)?;
    add_docs(&index, fields, term)?;
    let segments = index.searchable_segment_metas()?.len();
    let stats = IndexStats {
        entries: term.len(),
        segments,
        build_time: start.elapsed(),
        bytes: dir_bytes(dir),
    };
    let meta = Meta {
        format: FORMAT,
        analyzer: analyzer_hash(),
        system: term.system,
        fingerprint: term.fingerprint.clone(),
        label: term.label.clone(),
        entries: term.len(),
        built_unix_ms: now_ms(),
        stats: stats.clone(),
    };
    let path = dir.join(META_FILE);
    let json = serde_json::to_vec_pretty(&meta).map_err(|e| Error::Index(e.to_string()))?;
    fs::write(&path, json).map_err(|e| Error::io(&path, e))?;
    Ok(stats)
}

/// Builds the index of `term` under `root` in a temporary folder and moves
/// it into `root/<dir_name>`, replacing what was there.
pub(crate) fn rebuild(term: &Terminology, root: &Path) -> Result<IndexStats> {
    fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
    let tmp = root.join(format!(
        ".tmp-{}-{}-{}",
        dir_name(term),
        std::process::id(),
        now_ms()
    ));
    let stats = match build_into(term, &tmp) {
        Ok(s) => s,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    replace_dir(&tmp, &root.join(dir_name(term)))?;
    Ok(stats)
}

fn read_meta(dir: &Path) -> Option<Meta> {
    let bytes = fs::read(dir.join(META_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn meta_matches(meta: &Meta, term: &Terminology) -> bool {
    meta.format == FORMAT
        && meta.analyzer == analyzer_hash()
        && meta.system == term.system
        && meta.fingerprint == term.fingerprint
        && meta.entries == term.len()
}

impl Engine {
    /// Opens the index for `term` under `root`, building it when absent or
    /// stale.
    pub fn open(term: &Terminology, root: &Path) -> Result<Engine> {
        let dir = root.join(dir_name(term));
        if let Some(meta) = read_meta(&dir) {
            if meta_matches(&meta, term) {
                match Engine::open_dir(&dir, term, meta.stats.clone(), false) {
                    Ok(engine) => return Ok(engine),
                    Err(e) => tracing::warn!("index {} unusable, rebuilding: {e}", dir.display()),
                }
            }
        }
        let stats = rebuild(term, root)?;
        Engine::open_dir(&dir, term, stats, true)
    }

    /// Builds an index in memory.
    pub fn in_memory(term: &Terminology) -> Result<Engine> {
        let start = Instant::now();
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        register(&index)?;
        add_docs(&index, fields, term)?;
        let stats = IndexStats {
            entries: term.len(),
            segments: index.searchable_segment_metas()?.len(),
            build_time: start.elapsed(),
            bytes: 0,
        };
        let info = IndexInfo {
            dir: None,
            built: true,
            stats,
        };
        Engine::from_index(index, fields, term, info)
    }

    /// Opens an existing index folder. A damaged index is an error, never a
    /// panic: checksums are verified first, and a panic inside tantivy on
    /// data the checksums did not catch is turned into an error as well.
    fn open_dir(dir: &Path, term: &Terminology, stats: IndexStats, built: bool) -> Result<Engine> {
        let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Engine::open_dir_unchecked(dir, term, stats, built)
        }));
        opened.unwrap_or_else(|_| {
            Err(Error::Index(format!(
                "{}: index data is damaged",
                dir.display()
            )))
        })
    }

    fn open_dir_unchecked(
        dir: &Path,
        term: &Terminology,
        stats: IndexStats,
        built: bool,
    ) -> Result<Engine> {
        let index = Index::open_in_dir(dir)?;
        let bad = index.validate_checksum()?;
        if !bad.is_empty() {
            return Err(Error::Index(format!(
                "{}: {} file(s) fail their checksum",
                dir.display(),
                bad.len()
            )));
        }
        let (expected, _) = schema();
        if index.schema() != expected {
            return Err(Error::Index(format!("{}: schema differs", dir.display())));
        }
        let (_, fields) = schema();
        let info = IndexInfo {
            dir: Some(dir.to_path_buf()),
            built,
            stats,
        };
        Engine::from_index(index, fields, term, info)
    }

    fn from_index(
        index: Index,
        fields: Fields,
        term: &Terminology,
        info: IndexInfo,
    ) -> Result<Engine> {
        register(&index)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let searcher = reader.searcher();
        if searcher.num_docs() != term.len() as u64 {
            return Err(Error::Index(format!(
                "index holds {} docs, table has {} rows",
                searcher.num_docs(),
                term.len()
            )));
        }
        let idx_columns = searcher
            .segment_readers()
            .iter()
            .map(|s| s.fast_fields().u64("idx"))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(Engine {
            searcher,
            _reader: reader,
            fields,
            words: words_analyzer(),
            grams: grams_analyzer()?,
            idx_columns,
            assignable: Arc::new(term.entries().iter().map(|e| e.assignable).collect()),
            info,
        })
    }

    /// Word tokens of a query with their IDF in this table (duplicates
    /// removed, order kept).
    pub fn query_words(&self, query: &str) -> Vec<WeightedWord> {
        let n = self.searcher.num_docs() as f32;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for t in tokens(&mut self.words.clone(), &words_text(query)) {
            if !seen.insert(t.clone()) {
                continue;
            }
            let term = Term::from_field_text(self.fields.words, &t);
            let df = self.searcher.doc_freq(&term).unwrap_or(0) as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            out.push(WeightedWord { text: t, idf });
        }
        out
    }

    /// Up to `k` candidate entries by BM25, best first, with their score:
    /// by words and char bigrams, and by single chars when those find
    /// nothing (a garbled or one-char query).
    pub fn candidates(
        &self,
        words: &[WeightedWord],
        query: &str,
        assignable_only: bool,
        k: usize,
    ) -> Result<Vec<(u32, f32)>> {
        let found = self.search(words, query, assignable_only, k, false)?;
        if !found.is_empty() {
            return Ok(found);
        }
        self.search(words, query, assignable_only, k, true)
    }

    fn search(
        &self,
        words: &[WeightedWord],
        query: &str,
        assignable_only: bool,
        k: usize,
        unigrams: bool,
    ) -> Result<Vec<(u32, f32)>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in words {
            let t = Term::from_field_text(self.fields.words, &w.text);
            clauses.push((
                Occur::Should,
                Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs)),
            ));
        }
        let mut seen = HashSet::new();
        for g in tokens(&mut self.grams.clone(), &grams_text(query)) {
            if (g.chars().count() == 1) != unigrams || !seen.insert(g.clone()) {
                continue;
            }
            let t = Term::from_field_text(self.fields.grams, &g);
            let q = TermQuery::new(t, IndexRecordOption::WithFreqs);
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(q), GRAM_BOOST)),
            ));
        }
        if clauses.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let query = BooleanQuery::new(clauses);
        let top_docs = TopDocs::with_limit(k).order_by_score();
        let top = if assignable_only {
            // Filtered as documents are collected, by the entry's flag: the
            // same top k as intersecting with the flag's posting list
            // (scores are the text query's alone either way), without
            // paying for the intersection on every candidate.
            let assignable = self.assignable.clone();
            let filtered = FilterCollector::new(
                "idx".to_string(),
                move |i: u64| assignable.get(i as usize).copied().unwrap_or(false),
                top_docs,
            );
            self.searcher.search(&query, &filtered)?
        } else {
            self.searcher.search(&query, &top_docs)?
        };
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let col = self
                .idx_columns
                .get(addr.segment_ord as usize)
                .ok_or_else(|| Error::Index("segment out of range".into()))?;
            if let Some(i) = col.first(addr.doc_id) {
                out.push((i as u32, score));
            }
        }
        Ok(out)
    }
}

/// Token texts of a string under an analyzer.
fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut ts = analyzer.token_stream(text);
    while ts.advance() {
        out.push(ts.token().text.clone());
    }
    out
}

/// Moves a freshly built index folder to its final place, replacing a stale
/// one. If another process put a valid index there first, that one is kept.
fn replace_dir(tmp: &Path, dir: &Path) -> Result<()> {
    if dir.exists() {
        let old = dir.with_extension(format!("old-{}-{}", std::process::id(), now_ms()));
        if let Err(e) = fs::rename(dir, &old) {
            let _ = fs::remove_dir_all(tmp);
            return Err(Error::io(dir, e));
        }
        let _ = fs::remove_dir_all(&old);
    }
    if let Err(e) = fs::rename(tmp, dir) {
        let _ = fs::remove_dir_all(tmp);
        // A concurrent build may have won the race; its index is as good.
        if read_meta(dir).is_some() {
            return Ok(());
        }
        return Err(Error::io(dir, e));
    }
    Ok(())
}

/// Drops tokens without any letter, digit or ideograph (brackets, commas,
/// the spaces jieba emits between words).
#[derive(Clone)]
struct WordsOnly;

impl TokenFilter for WordsOnly {
    type Tokenizer<T: Tokenizer> = WordsOnlyWrapper<T>;
    fn transform<T: Tokenizer>(self, tokenizer: T) -> WordsOnlyWrapper<T> {
        WordsOnlyWrapper(tokenizer)
    }
}

#[derive(Clone)]
struct WordsOnlyWrapper<T>(T);

impl<T: Tokenizer> Tokenizer for WordsOnlyWrapper<T> {
    type TokenStream<'a> = WordsOnlyStream<T::TokenStream<'a>>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        WordsOnlyStream(self.0.token_stream(text))
    }
}

struct WordsOnlyStream<T>(T);

impl<T: TokenStream> TokenStream for WordsOnlyStream<T> {
    fn advance(&mut self) -> bool {
        while self.0.advance() {
            if self.0.token().text.chars().any(char::is_alphanumeric) {
                return true;
            }
        }
        false
    }
    fn token(&self) -> &Token {
        self.0.token()
    }
    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}
