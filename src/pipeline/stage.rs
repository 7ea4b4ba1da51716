//! The six stages and which track each applies to.

use serde::{Deserialize, Serialize};

use crate::record::Track;

/// A stage of the coding workflow, in execution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Standardize,
    Mine,
    Prioritize,
    CodeAlso,
    Validate,
    Map,
}

impl StageKind {
    /// All stages in the order they run.
    pub const ORDER: [StageKind; 6] = [
        StageKind::Standardize,
        StageKind::Mine,
        StageKind::Prioritize,
        StageKind::CodeAlso,
        StageKind::Validate,
        StageKind::Map,
    ];

    /// Candidate mining and Code Also exist only on the procedure track.
    pub fn applies_to(self, track: Track) -> bool {
        match self {
            StageKind::Mine | StageKind::CodeAlso => track == Track::Procedure,
            _ => true,
        }
    }

    /// The stages of one track, in order.
    pub fn of_track(track: Track) -> Vec<StageKind> {
        Self::ORDER
            .into_iter()
            .filter(|k| k.applies_to(track))
            .collect()
    }

    pub fn label(self) -> &'static str {
        match self {
            StageKind::Standardize => "standardize",
            StageKind::Mine => "mine",
            StageKind::Prioritize => "prioritize",
            StageKind::CodeAlso => "code_also",
            StageKind::Validate => "validate",
            StageKind::Map => "map",
        }
    }

    /// Short title for pane headers.
    pub fn title(self) -> &'static str {
        match self {
            StageKind::Standardize => "Standardized",
            StageKind::Mine => "Mined",
            StageKind::Prioritize => "Prioritized",
            StageKind::CodeAlso => "Code Also",
            StageKind::Validate => "Validated",
            StageKind::Map => "Codes",
        }
    }

    pub fn title_zh(self) -> &'static str {
        match self {
            StageKind::Standardize => "标准化",
            StageKind::Mine => "候选挖掘",
            StageKind::Prioritize => "排序",
            StageKind::CodeAlso => "另编码",
            StageKind::Validate => "校验",
            StageKind::Map => "编码映射",
        }
    }

    pub fn parse(s: &str) -> Option<StageKind> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        Self::ORDER.into_iter().find(|k| {
            k.label() == s
                || (s == "codealso" && *k == StageKind::CodeAlso)
                || (s == "standardization" && *k == StageKind::Standardize)
                || (s == "mining" && *k == StageKind::Mine)
                || (s == "prioritization" && *k == StageKind::Prioritize)
                || (s == "validation" && *k == StageKind::Validate)
                || (s == "mapping" && *k == StageKind::Map)
        })
    }

    /// What a professional coder does at this stage (trainer mode).
    pub fn trainer_note(self, track: Track) -> &'static str {
        match (self, track) {
            (StageKind::Standardize, Track::Diagnosis) => {
                "Split the discharge diagnoses into items and rewrite each as the canonical disease name of the code table."
            }
            (StageKind::Standardize, Track::Procedure) => {
                "Split the listed operations into items and rewrite each as the canonical procedure name."
            }
            (StageKind::Mine, _) => {
                "Read the operative report for procedures done but not listed, such as the angiography before a stent."
            }
            (StageKind::Prioritize, Track::Diagnosis) => {
                "Put the principal diagnosis first: the condition chiefly responsible for this admission."
            }
            (StageKind::Prioritize, Track::Procedure) => {
                "Put the principal procedure first: the most definitive treatment, ahead of its adjuncts."
            }
            (StageKind::CodeAlso, _) => {
                "Follow the 'code also' notes of each procedure: vessels treated, stents inserted, bifurcation, devices."
            }
            (StageKind::Validate, Track::Diagnosis) => {
                "Check each diagnosis against the record: drop unsupported ones, recover omissions, fix the variant."
            }
            (StageKind::Validate, Track::Procedure) => {
                "Keep the Code Also additions the record supports and remove the redundant ones."
            }
            (StageKind::Map, _) => {
                "Look each final name up in the code table and assign the most specific valid code."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_have_their_stages() {
        assert_eq!(StageKind::of_track(Track::Diagnosis).len(), 4);
        assert_eq!(StageKind::of_track(Track::Procedure).len(), 6);
        for k in StageKind::ORDER {
            assert_eq!(StageKind::parse(k.label()), Some(k));
        }
    }
}
