//! Code Also rules for ICD-9-CM-3 procedures, their index, and the Code
//! Also stage of the procedure track.
//!
//! - [`RuleSet`]: the rules file (`code_also.toml`, built in; a user file
//!   overrides rules by id), parsed and checked.
//! - [`RuleSet::resolve`] → [`ResolvedRules`]: triggers and candidate codes
//!   mapped onto the loaded table's spelling (`00.45` → `00.4500`), with
//!   what the table lacks listed.
//! - [`RuleIndex`]: rules by code prefix and a tantivy text search over
//!   their notes (the code search popup shows them).
//! - [`RuleHelper`]: the rule index as a helper of the Code Also and
//!   Validation stages.
//! - [`expand`]: what the Code Also stage gets from the rules — the prioritized procedure list plus the
//!   Code Also items its codes call for, counts read from the operative
//!   report (stents, vessels treated, bifurcation).
//! - [`redundant`]: for Validation, the Code Also items the list no longer
//!   supports.

mod expand;
mod extract;
mod helper;
mod index;
mod model;
mod redundant;
mod resolve;
mod scan;

pub use expand::{
    code_also_source, expand, is_code_also_item, Expansion, CONF_BIFURCATION, CONF_CUE,
    CONF_PRACTICE, LOW_CONFIDENCE, SOURCE_PREFIX,
};
pub use extract::{
    parse_count, Counted, CONF_EXPLICIT, CONF_IMPLIED, CONF_SIZES, CONF_VESSEL_CLAUSE,
    CONF_VESSEL_SENTENCE,
};
pub use helper::RuleHelper;
pub use index::RuleIndex;
pub use model::{
    code_stem, trigger_prefix, Basis, Candidate, Group, GroupKind, Pick, Rule, RuleSet, Site,
    BUILTIN_TOML,
};
pub use redundant::{redundant, Redundant};
pub use resolve::{
    ResolutionSummary, ResolvedCandidate, ResolvedCode, ResolvedGroup, ResolvedRule, ResolvedRules,
    Unresolved,
};

/// Count extraction on a record, for tools and tests: number of stents
/// placed and number of vessels treated (by site), as the stage reads them.
pub fn extract_counts(
    record: &crate::record::Record,
    site: Site,
) -> (Option<Counted>, Option<Counted>) {
    let view = scan::RecordView::new(record);
    (
        extract::count_stents(&view),
        extract::count_vessels(&view, site),
    )
}
