//! The one interface through which anything helps a stage: the rule index
//! (Code Also), a model learned from coded history, LLM agents.
//!
//! Each stage first does its own honest work by retrieval over the code
//! table (`stages/`); then every helper the engine was built with, in the
//! order it was handed in, may refine that result for the tracks it serves.
//! The pipeline owns this trait and never imports its implementations
//! (`rules`, `learn`, `agents` import the pipeline, not the reverse), so a
//! helper is added by whoever builds the engine.

use std::any::Any;

use serde::{Deserialize, Serialize};

use super::context::CodingContext;
use super::engine::Control;
use super::item::Item;
use super::run::Trace;
use super::stage::StageKind;
use crate::record::{Record, Track};
use crate::Result;

/// The kinds of helper; `--ablate learned` (etc.) switches one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum HelperKind {
    /// Rule index (Code Also rules, redundancy checks).
    Rules,
    /// A model learned from coded history and coders' edits.
    Learned,
    /// LLM agents.
    Agents,
}

impl HelperKind {
    pub const ALL: [HelperKind; 3] = [HelperKind::Rules, HelperKind::Learned, HelperKind::Agents];

    pub fn label(self) -> &'static str {
        match self {
            HelperKind::Rules => "rules",
            HelperKind::Learned => "learned",
            HelperKind::Agents => "agents",
        }
    }

    pub fn parse(s: &str) -> Option<HelperKind> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.label() == s || (s == "agent" && *k == HelperKind::Agents))
    }
}

/// One track's work for a stage: its input, the current result (which a
/// helper refines) and the trace.
pub struct StageJob {
    pub track: Track,
    pub input: Vec<Item>,
    pub items: Vec<Item>,
    pub trace: Trace,
}

/// Something that helps stages. Implementations keep whatever they need
/// (a rule set, a learned model, an LLM backend); the engine calls them on
/// its one thread, so they need not be `Send`.
pub trait StageHelper {
    fn kind(&self) -> HelperKind;

    /// One line saying what this helper is (status bars, reports).
    fn describe(&self) -> String;

    /// True when the helper has work for this stage of this track.
    fn serves(&self, kind: StageKind, track: Track) -> bool;

    /// Refines the jobs of one stage (only the tracks it serves, all in
    /// one call so that a helper may batch them). A helper that cannot do
    /// its work keeps the result it was given and says so in the trace;
    /// an `Err` fails the stage.
    fn help(
        &mut self,
        ctx: &CodingContext,
        record: &Record,
        kind: StageKind,
        jobs: &mut [StageJob],
        ctl: &mut Control,
    ) -> Result<()>;

    /// Notes this helper holds about a code, shown next to it (e.g. the
    /// Code Also rules it triggers).
    fn notes_for(&self, _track: Track, _code: &str) -> Vec<String> {
        Vec::new()
    }

    /// For callers that need the concrete helper back (benchmarks read the
    /// agents' backend figures).
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_back() {
        for k in HelperKind::ALL {
            assert_eq!(HelperKind::parse(k.label()), Some(k));
        }
        assert_eq!(HelperKind::parse("Agent"), Some(HelperKind::Agents));
        assert_eq!(HelperKind::parse("validate"), None);
    }
}
