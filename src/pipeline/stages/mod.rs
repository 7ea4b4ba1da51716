//! The six stages as they work on their own, by retrieval over the code
//! table and rules that need nothing but the table. Each returns the new
//! list and a trace that says which method did the work; the engine's
//! helpers (rule index, learned model, agents) refine it afterwards.

pub mod code_also;
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
use super::run::Trace;
use super::stage::StageKind;
use crate::record::{Record, Track};
use crate::Result;

/// Runs one stage of one track on its own (before any helper).
pub fn run_stage(
    ctx: &CodingContext,
    record: &Record,
    track: Track,
    kind: StageKind,
    input: &[Item],
) -> Result<(Vec<Item>, Trace)> {
    Ok(match kind {
        StageKind::Standardize => standardize::run(ctx, record, track),
        StageKind::Mine => mine::run(ctx, record, input, &ctx.cues),
        StageKind::Prioritize => prioritize::run(track, input),
        StageKind::CodeAlso => code_also::run(input),
        StageKind::Validate => validate::run(ctx, record, track, input),
        StageKind::Map => map::run(ctx, track, input),
    })
}
