//! Everything the stages read besides the record: code tables, matchers,
//! Code Also rules and settings.

use super::stages::lexicon::Lexicon;
use super::stages::mine;
use crate::record::Track;
use crate::rules::{ResolvedRules, RuleSet};
use crate::search::Matcher;

/// Tunables of the no-model stages.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Below this confidence an item is flagged low-confidence.
    pub low_confidence: f32,
    /// Minimum retrieval score to accept a standardized name.
    pub min_match_score: f32,
    /// Validation adds diagnoses named in the narrative that the list lacks.
    pub recover_omissions: bool,
    /// Shortest table name (chars) accepted when recovering from narrative.
    pub recover_min_chars: usize,
    /// Map keeps only codes seen in the learned history (a closed label set,
    /// as in shared-task evaluations); needs priors.
    pub closed_label_set: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            low_confidence: 0.6,
            min_match_score: 0.5,
            recover_omissions: false,
            recover_min_chars: 6,
            closed_label_set: false,
        }
    }
}

/// Shared, read-only context of a coding run.
pub struct CodingContext {
    pub diagnoses: Matcher,
    pub procedures: Matcher,
    pub settings: Settings,
    diag_lexicon: Lexicon,
    proc_lexicon: Lexicon,
    /// Procedure cue phrases for candidate mining.
    pub cues: Vec<(String, String)>,
    /// Code Also rules resolved against the procedure table.
    pub rules: ResolvedRules,
    /// Principal-code priors from the hospital's coded history, if learned.
    pub priors: Option<super::priors::Priors>,
}

impl CodingContext {
    pub fn new(diagnoses: Matcher, procedures: Matcher) -> Self {
        CodingContext {
            rules: builtin_rules(procedures.terminology()),
            diag_lexicon: Lexicon::new(diagnoses.terminology()),
            proc_lexicon: Lexicon::new(procedures.terminology()),
            diagnoses,
            procedures,
            settings: Settings::default(),
            cues: mine::cues(),
            priors: None,
        }
    }

    /// Uses principal-code priors in Prioritization.
    pub fn with_priors(mut self, priors: super::priors::Priors) -> Self {
        self.priors = Some(priors);
        self
    }

    /// Replaces the Code Also rules (e.g. with a user rules file).
    pub fn with_rules(mut self, rules: ResolvedRules) -> Self {
        self.rules = rules;
        self
    }

    /// Exact-name dictionary of a track's table.
    pub fn lexicon(&self, track: Track) -> &Lexicon {
        match track {
            Track::Diagnosis => &self.diag_lexicon,
            Track::Procedure => &self.proc_lexicon,
        }
    }

    pub fn matcher(&self, track: Track) -> &Matcher {
        match track {
            Track::Diagnosis => &self.diagnoses,
            Track::Procedure => &self.procedures,
        }
    }
}

/// The shipped Code Also rules resolved against a procedure table.
pub fn builtin_rules(term: &crate::terminology::Terminology) -> ResolvedRules {
    RuleSet::builtin()
        .expect("the shipped rules file parses (tested)")
        .resolve(term)
}
