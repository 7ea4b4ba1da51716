//! The no-model stages: retrieval and rules.

use super::context::CodingContext;
use super::item::Item;
use super::run::{Method, Trace};
use super::stage::StageKind;
use crate::record::{Record, Track};
use crate::Result;

/// Runs one stage of one track without a model.
pub fn run_rule_stage(
    _ctx: &CodingContext,
    _record: &Record,
    _track: Track,
    kind: StageKind,
    input: &[Item],
) -> Result<(Vec<Item>, Trace)> {
    let mut trace = Trace::new(Method::Rules);
    trace.note(format!(
        "{}: not yet implemented, input passed through",
        kind.label()
    ));
    Ok((input.to_vec(), trace))
}
