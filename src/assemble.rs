//! The engine as the product runs it: the stages, then their helpers in a
//! fixed order — the rule index (always), the learned model (when one is
//! given), the agents (when a model is configured). This is the one place
//! that knows every helper; the pipeline knows none of them.

use std::sync::Arc;

use crate::agents::Agents;
use crate::learn::LearnedHelper;
use crate::pipeline::{CodingContext, Engine};
use crate::rules::RuleHelper;

/// Stages plus the built-in Code Also rules: the engine with no learned
/// model and no LLM.
pub fn standard_engine(ctx: Arc<CodingContext>) -> Engine {
    engine(ctx, None, None)
}

/// Stages plus the rule index, a learned model and agents where given.
pub fn engine(
    ctx: Arc<CodingContext>,
    learned: Option<LearnedHelper>,
    agents: Option<Agents>,
) -> Engine {
    let rules = RuleHelper::builtin(ctx.procedures.terminology());
    let mut engine = Engine::new(ctx).with_helper(Box::new(rules));
    if let Some(l) = learned {
        engine.add_helper(Box::new(l));
    }
    if let Some(a) = agents {
        engine.add_helper(Box::new(a));
    }
    engine
}
