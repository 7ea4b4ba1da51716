//! Everything the stages read besides the record: code tables, matchers,
//! Code Also rules and settings.

use crate::record::Track;
use crate::search::Matcher;

/// Tunables of the no-model stages.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Below this confidence an item is flagged low-confidence.
    pub low_confidence: f32,
    /// Minimum retrieval score to accept a standardized name.
    pub min_match_score: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            low_confidence: 0.6,
            min_match_score: 0.5,
        }
    }
}

/// Shared, read-only context of a coding run.
pub struct CodingContext {
    pub diagnoses: Matcher,
    pub procedures: Matcher,
    pub settings: Settings,
}

impl CodingContext {
    pub fn new(diagnoses: Matcher, procedures: Matcher) -> Self {
        CodingContext {
            diagnoses,
            procedures,
            settings: Settings::default(),
        }
    }

    pub fn matcher(&self, track: Track) -> &Matcher {
        match track {
            Track::Diagnosis => &self.diagnoses,
            Track::Procedure => &self.procedures,
        }
    }
}
