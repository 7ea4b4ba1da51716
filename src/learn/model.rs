//! The learned coding model: what one `icdflow learn` produces and every
//! coding run may use.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::aliases::AliasMemory;
use super::cases::CaseBase;
use super::features::{Extractor, FeatureConfig, KeywordVocab, Vocabulary};
use super::linear::{Binary, Softmax, SparseVec};
use super::priors::Priors;
use crate::pipeline::CodingContext;
use crate::record::{Record, Track};

/// The file format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The code table a model was learned on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableTie {
    pub track: Track,
    pub label: String,
    /// SHA-256 of the table's assignable codes (see [`code_fingerprint`]).
    pub fingerprint: String,
}

/// What the model learned from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingSet {
    /// Record ids, sorted.
    pub ids: Vec<String>,
    /// SHA-256 over the ids and their gold codes.
    pub fingerprint: String,
    /// Files given to `icdflow learn`.
    pub sources: Vec<String>,
    /// Normalization pairs learned (alias memory).
    pub pairs: usize,
    /// Coder edits learned (alias memory).
    pub coder_edits: usize,
}

/// The model of one code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeModel {
    /// The table's own spelling.
    pub code: String,
    pub name: String,
    /// Training records that have the code.
    pub support: u32,
    /// … and have it as principal.
    pub principal_support: u32,
    pub model: Binary,
}

/// The principal-code classifier of a track: a softmax over the codes seen
/// as principal often enough, plus "other" for the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrincipalModel {
    /// Class labels (table spelling); `None` is "some other code".
    pub labels: Vec<Option<String>>,
    pub model: Softmax,
}

/// Cross-validated quality of one code (out-of-fold, at the threshold).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CodeQuality {
    pub code: String,
    pub support: u32,
    pub precision: f32,
    pub recall: f32,
    pub f1: f32,
}

/// Cross-validated quality of a track.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackQuality {
    pub folds: usize,
    pub principal_accuracy: f32,
    pub micro_precision: f32,
    pub micro_recall: f32,
    pub micro_f1: f32,
    pub per_code: Vec<CodeQuality>,
}

/// Everything learned for one track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackModel {
    pub track: Track,
    pub codes: Vec<CodeModel>,
    pub principal: Option<PrincipalModel>,
    /// Codes scored at or above this are proposed as candidates.
    pub add_threshold: f32,
    /// Items whose code scores under this are dropped in Validation.
    pub keep_threshold: f32,
    /// Gold codes the loaded table does not have (skipped in training).
    pub unknown_codes: Vec<String>,
    /// Categories (first three characters) of which the history never
    /// codes two codes in one record: hypertension grades, heart-function
    /// classes, angina types. At most one item of each is kept.
    pub exclusive: Vec<String>,
    // (No `skip_serializing_if` in the model: the binary format is not
    // self-describing and needs every field written.)
    pub quality: Option<TrackQuality>,
}

/// The category of a code: its first three characters.
pub fn category(code: &str) -> &str {
    let end = code
        .char_indices()
        .nth(3)
        .map(|(b, _)| b)
        .unwrap_or(code.len());
    &code[..end]
}

impl TrackModel {
    pub fn code(&self, code: &str) -> Option<&CodeModel> {
        self.codes.iter().find(|c| c.code == code)
    }

    /// The exclusive category of a code, if it has one.
    pub fn exclusive_category<'a>(&self, code: &'a str) -> Option<&'a str> {
        let c = category(code);
        self.exclusive.iter().any(|e| e == c).then_some(c)
    }
}

/// A learned coding model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedModel {
    pub format: u32,
    /// The icdflow version that wrote it.
    pub writer: String,
    /// RFC 3339 time of learning.
    pub created: String,
    pub tables: Vec<TableTie>,
    pub training: TrainingSet,
    pub config: FeatureConfig,
    pub keywords: KeywordVocab,
    pub vocab: Vocabulary,
    pub tracks: Vec<TrackModel>,
    pub cases: CaseBase,
    pub aliases: AliasMemory,
    pub priors: Priors,
}

/// What a model says about one record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prediction {
    pub vector: SparseVec,
    /// Per track: (code, probability) for every code the model knows.
    pub codes: BTreeMap<Track, Vec<(String, f32)>>,
    /// Per track: principal probabilities, best first (known codes only).
    pub principal: BTreeMap<Track, Vec<(String, f32)>>,
}

impl Prediction {
    pub fn prob(&self, track: Track, code: &str) -> Option<f32> {
        self.codes
            .get(&track)?
            .iter()
            .find(|(c, _)| c == code)
            .map(|x| x.1)
    }
    pub fn principal_prob(&self, track: Track, code: &str) -> Option<f32> {
        self.principal
            .get(&track)?
            .iter()
            .find(|(c, _)| c == code)
            .map(|x| x.1)
    }
}

/// SHA-256 over a table's assignable codes in table order: a model depends
/// on which codes exist, not on the names or aliases a table carries.
pub fn code_fingerprint(term: &crate::terminology::Terminology) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for e in term.entries().iter().filter(|e| e.assignable) {
        h.update(e.code.as_bytes());
        h.update(b"\n");
    }
    format!("{:x}", h.finalize())
}

/// The extractor over a coding context's tables.
pub fn extractor(ctx: &CodingContext) -> Extractor<'_> {
    Extractor {
        diagnoses: ctx.lexicon(Track::Diagnosis),
        diag_table: ctx.diagnoses.terminology(),
        procedures: ctx.lexicon(Track::Procedure),
        proc_table: ctx.procedures.terminology(),
    }
}

impl LearnedModel {
    pub fn track(&self, track: Track) -> Option<&TrackModel> {
        self.tracks.iter().find(|t| t.track == track)
    }

    /// Rebuilds lookups after loading.
    pub fn reindex(&mut self) {
        self.vocab.reindex();
        self.aliases.reindex();
    }

    /// One line for status bars and reports.
    pub fn describe(&self) -> String {
        let codes: usize = self.tracks.iter().map(|t| t.codes.len()).sum();
        format!(
            "learned model ({} records, {codes} codes, {} aliases)",
            self.training.ids.len(),
            self.aliases.len()
        )
    }

    pub fn tie(&self, track: Track) -> Option<&TableTie> {
        self.tables.iter().find(|t| t.track == track)
    }

    /// Builds what feature extraction builds on first use (the jieba
    /// dictionary, the name and keyword automata), so that the first
    /// record coded does not pay for it.
    pub fn warm_up(&self, ctx: &CodingContext) {
        let r = Record::new("warm-up")
            .with_section("入院诊断", "冠心病")
            .with_section("诊疗经过", "冠脉造影");
        let _ = self.feature_names(ctx, &r);
    }

    /// The feature names of a record.
    pub fn feature_names(&self, ctx: &CodingContext, record: &Record) -> BTreeSet<String> {
        extractor(ctx).names(&self.config, &self.keywords, record)
    }

    /// The unit feature vector of a record.
    pub fn vector(&self, ctx: &CodingContext, record: &Record) -> SparseVec {
        self.vocab.vectorize(&self.feature_names(ctx, record))
    }

    /// Scores every known code and principal for a record.
    pub fn predict(&self, ctx: &CodingContext, record: &Record) -> Prediction {
        let vector = self.vector(ctx, record);
        self.predict_vector(vector)
    }

    pub fn predict_vector(&self, vector: SparseVec) -> Prediction {
        let mut p = Prediction {
            vector,
            ..Default::default()
        };
        for t in &self.tracks {
            let codes = t
                .codes
                .iter()
                .map(|c| (c.code.clone(), c.model.prob(&p.vector)))
                .collect();
            p.codes.insert(t.track, codes);
            if let Some(pm) = &t.principal {
                let probs = pm.model.probs(&p.vector);
                let mut v: Vec<(String, f32)> = pm
                    .labels
                    .iter()
                    .zip(probs)
                    .filter_map(|(l, p)| l.clone().map(|l| (l, p)))
                    .collect();
                v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                p.principal.insert(t.track, v);
            }
        }
        p
    }

    /// The features that pushed a code's score most, as readable names
    /// with their contribution to the margin.
    pub fn explain(
        &self,
        track: Track,
        code: &str,
        vector: &[(u32, f32)],
        k: usize,
    ) -> Vec<(String, f32)> {
        let Some(cm) = self.track(track).and_then(|t| t.code(code)) else {
            return Vec::new();
        };
        cm.model
            .top_features(vector, k)
            .into_iter()
            .map(|(i, c)| (self.vocab.name(i).to_string(), c))
            .collect()
    }

    /// The features that favoured a code as principal most.
    pub fn explain_principal(
        &self,
        track: Track,
        code: &str,
        vector: &[(u32, f32)],
        k: usize,
    ) -> Vec<(String, f32)> {
        let Some(pm) = self.track(track).and_then(|t| t.principal.as_ref()) else {
            return Vec::new();
        };
        let Some(c) = pm.labels.iter().position(|l| l.as_deref() == Some(code)) else {
            return Vec::new();
        };
        pm.model
            .top_features(vector, c, k)
            .into_iter()
            .map(|(i, c)| (self.vocab.name(i).to_string(), c))
            .collect()
    }
}
