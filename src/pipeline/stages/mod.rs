//! The no-model stages: retrieval and rules. Each returns the new list and a
//! trace that says which method did the work.

pub mod evidence;
pub mod lexicon;
pub mod map;
pub mod mine;
pub mod prioritize;
pub mod split;
pub mod standardize;
pub mod validate;

use super::context::CodingContext;
use super::item::Item;
use super::run::{Method, Trace};
use super::stage::StageKind;
use crate::record::{Record, Track};
use crate::Result;

/// Runs one stage of one track without a model.
pub fn run_rule_stage(
    ctx: &CodingContext,
    record: &Record,
    track: Track,
    kind: StageKind,
    input: &[Item],
) -> Result<(Vec<Item>, Trace)> {
    Ok(match kind {
        StageKind::Standardize => standardize::run(ctx, record, track),
        StageKind::Mine => mine::run(ctx, record, input, &ctx.cues),
        StageKind::Prioritize => prioritize::run(track, input, ctx.priors.as_ref()),
        StageKind::CodeAlso => {
            let mut trace = Trace::new(Method::Rules);
            let exp = crate::rules::expand(record, input, &ctx.rules, ctx.procedures.terminology());
            trace.notes = exp.notes;
            trace.note(format!(
                "{} Code Also items added",
                exp.items.len() - input.len()
            ));
            (exp.items, trace)
        }
        StageKind::Validate => validate::run(ctx, record, track, input),
        StageKind::Map => map::run(ctx, track, input),
    })
}
