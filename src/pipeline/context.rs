//! Everything the stages read besides the record: code tables, matchers
//! and settings. (What helps the stages — rule index, learned model,
//! agents — is handed to the engine, not kept here.)

use super::stages::lexicon::Lexicon;
use super::stages::mine;
use crate::record::Track;
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
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            low_confidence: 0.6,
            min_match_score: 0.5,
            recover_omissions: false,
            recover_min_chars: 6,
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
}

impl CodingContext {
    pub fn new(diagnoses: Matcher, procedures: Matcher) -> Self {
        CodingContext {
            diag_lexicon: Lexicon::new(diagnoses.terminology()),
            proc_lexicon: Lexicon::new(procedures.terminology()),
            diagnoses,
            procedures,
            settings: Settings::default(),
            cues: mine::cues(),
        }
    }

    /// Builds now what the first record would otherwise build (the
    /// lexicons' automata, the word segmenter's dictionary), so that a
    /// batch's first record costs what the others do.
    pub fn warm_up(&self) {
        for track in Track::ALL {
            self.lexicon(track).warm_up();
            self.matcher(track).warm_up();
        }
    }

    /// Forgets the matches the matchers remember, so that the next record
    /// is coded as in a fresh process (for timing).
    pub fn clear_memos(&self) {
        for track in Track::ALL {
            self.matcher(track).clear_memo();
        }
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
