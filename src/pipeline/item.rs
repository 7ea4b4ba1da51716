//! The unit every stage produces: an ordered list of [`Item`]s.

use serde::{Deserialize, Serialize};

/// Where an item came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Written or chosen by an LLM agent.
    Agent,
    /// Found by retrieval over the code table (no model).
    Retrieval,
    /// Produced by a rule (splitting, Code Also, ordering, evidence checks).
    Rule,
    /// Proposed or chosen by a model learned from coded history (or the
    /// coders' alias memory).
    Learned,
    /// Typed or changed by the coder.
    Coder,
}

impl Origin {
    /// One-letter tag shown beside each item.
    pub fn tag(self) -> char {
        match self {
            Origin::Agent => 'A',
            Origin::Retrieval => 'S',
            Origin::Rule => 'R',
            Origin::Learned => 'L',
            Origin::Coder => 'C',
        }
    }
}

/// A span of record text supporting an item: byte offsets into one section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    /// Index into `Record::sections`.
    pub section: usize,
    pub start: usize,
    pub end: usize,
}

/// A warning attached to an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Flag {
    /// Confidence under the configured threshold.
    LowConfidence,
    /// No supporting text was found in the record.
    NoEvidence,
    /// Conflicts with another item (e.g. two heart-function grades).
    Conflict(String),
    /// The name could not be mapped to a code in the loaded table.
    Unmapped,
    /// Any other note from a stage.
    Note(String),
}

/// One entry of a stage list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Canonical (or raw, before standardization) name.
    pub text: String,
    /// Code in the loaded table, when the stage knows one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Retrieval score or agent confidence, 0..=1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Span>,
    pub origin: Origin,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
    /// The raw source text this item was derived from (e.g. the split
    /// discharge-diagnosis item before standardization).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The learned model or agent model behind the item, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl Item {
    pub fn new(text: impl Into<String>, origin: Origin) -> Self {
        Item {
            text: text.into(),
            code: None,
            confidence: None,
            evidence: Vec::new(),
            origin,
            flags: Vec::new(),
            source: None,
            model: None,
        }
    }
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
    pub fn with_confidence(mut self, c: f32) -> Self {
        self.confidence = Some(c);
        self
    }
    pub fn with_source(mut self, s: impl Into<String>) -> Self {
        self.source = Some(s.into());
        self
    }
    pub fn has_flag(&self, f: &Flag) -> bool {
        self.flags.contains(f)
    }
    pub fn flag(&mut self, f: Flag) {
        if !self.flags.contains(&f) {
            self.flags.push(f);
        }
    }
}
