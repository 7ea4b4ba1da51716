//! Code Also (procedure track): the prioritized list plus the items that
//! its codes' "code also" notes call for (vessels treated, stents
//! inserted, bifurcation, devices).
//!
//! What the notes say lives in a rule index, which is a helper of this
//! stage (`rules::RuleHelper`, built in and overridable by a user rules
//! file). On its own, with no rule index loaded, the stage can only hand
//! its input on, and says so.

use crate::pipeline::{Item, Method, Trace};

pub fn run(input: &[Item]) -> (Vec<Item>, Trace) {
    let mut trace = Trace::new(Method::Rules);
    trace.note("no Code Also rule index loaded: the list passes through unchanged");
    (input.to_vec(), trace)
}
