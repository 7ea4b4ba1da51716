//! The seven agent roles and the stage and track each one serves.

use crate::pipeline::StageKind;
use crate::record::Track;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentRole {
    StandardizeDiagnosis,
    StandardizeProcedure,
    MineProcedure,
    PrioritizeDiagnosis,
    PrioritizeProcedure,
    ValidateDiagnosis,
    ValidateProcedure,
}

impl AgentRole {
    pub const ALL: [AgentRole; 7] = [
        AgentRole::StandardizeDiagnosis,
        AgentRole::StandardizeProcedure,
        AgentRole::MineProcedure,
        AgentRole::PrioritizeDiagnosis,
        AgentRole::PrioritizeProcedure,
        AgentRole::ValidateDiagnosis,
        AgentRole::ValidateProcedure,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AgentRole::StandardizeDiagnosis => "standardize_diagnosis",
            AgentRole::StandardizeProcedure => "standardize_procedure",
            AgentRole::MineProcedure => "mine_procedure",
            AgentRole::PrioritizeDiagnosis => "prioritize_diagnosis",
            AgentRole::PrioritizeProcedure => "prioritize_procedure",
            AgentRole::ValidateDiagnosis => "validate_diagnosis",
            AgentRole::ValidateProcedure => "validate_procedure",
        }
    }

    pub fn parse(s: &str) -> Option<AgentRole> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }

    /// Every agent's name, comma-separated (for messages about a wrong one).
    pub fn all_names() -> String {
        Self::ALL.map(AgentRole::name).join(", ")
    }

    /// The agent for a stage of a track, if that stage has one.
    pub fn for_stage(kind: StageKind, track: Track) -> Option<AgentRole> {
        Some(match (kind, track) {
            (StageKind::Standardize, Track::Diagnosis) => AgentRole::StandardizeDiagnosis,
            (StageKind::Standardize, Track::Procedure) => AgentRole::StandardizeProcedure,
            (StageKind::Mine, Track::Procedure) => AgentRole::MineProcedure,
            (StageKind::Prioritize, Track::Diagnosis) => AgentRole::PrioritizeDiagnosis,
            (StageKind::Prioritize, Track::Procedure) => AgentRole::PrioritizeProcedure,
            (StageKind::Validate, Track::Diagnosis) => AgentRole::ValidateDiagnosis,
            (StageKind::Validate, Track::Procedure) => AgentRole::ValidateProcedure,
            _ => return None,
        })
    }

    pub fn default_template(self) -> &'static str {
        match self {
            AgentRole::StandardizeDiagnosis | AgentRole::StandardizeProcedure => "standardize.j2",
            AgentRole::MineProcedure => "mine.j2",
            AgentRole::PrioritizeDiagnosis | AgentRole::PrioritizeProcedure => "prioritize.j2",
            AgentRole::ValidateDiagnosis | AgentRole::ValidateProcedure => "validate.j2",
        }
    }
}
