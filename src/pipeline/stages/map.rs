//! Code mapping: every item gets a code that exists in the loaded table, or
//! is flagged unmapped and kept out of the final codes.

use crate::pipeline::context::CodingContext;
use crate::pipeline::{Flag, Item, Method, Trace};
use crate::record::Track;
use crate::search::MatchOptions;

pub fn run(ctx: &CodingContext, track: Track, input: &[Item]) -> (Vec<Item>, Trace) {
    let mut trace = Trace::new(Method::Retrieval);
    let matcher = ctx.matcher(track);
    let term = matcher.terminology();
    let mut out: Vec<Item> = Vec::new();
    for it in input {
        let mut it = it.clone();
        it.flags.retain(|f| *f != Flag::Unmapped);
        let valid = it
            .code
            .as_deref()
            .and_then(|c| term.get(c))
            .filter(|e| e.assignable);
        match valid {
            Some(e) => {
                it.code = Some(e.code.clone()); // the table's own spelling
            }
            None => {
                if let Some(c) = &it.code {
                    trace.note(format!("{c} is not an assignable code of {}", term.label));
                }
                let hits = matcher.match_text(
                    &it.text,
                    &MatchOptions {
                        limit: 1,
                        assignable_only: true,
                    },
                );
                match hits
                    .first()
                    .filter(|m| m.score >= ctx.settings.min_match_score)
                {
                    Some(m) => {
                        trace.note(format!(
                            "{} → {} {} ({:.2}, {})",
                            it.text,
                            m.code,
                            m.name,
                            m.score,
                            m.tier.label()
                        ));
                        it.code = Some(m.code.clone());
                        it.confidence = Some(it.confidence.unwrap_or(1.0).min(m.score));
                    }
                    None => {
                        trace.note(format!("{}: no code", it.text));
                        it.code = None;
                        it.flag(Flag::Unmapped);
                    }
                }
            }
        }
        if let Some(c) = &it.code {
            if out.iter().any(|o| o.code.as_ref() == Some(c)) {
                continue;
            }
        }
        if it
            .confidence
            .is_some_and(|c| c < ctx.settings.low_confidence)
        {
            it.flag(Flag::LowConfidence);
        }
        out.push(it);
    }
    (out, trace)
}

/// The final codes of a mapped list: items with a code, in order.
pub fn final_codes(items: &[Item]) -> Vec<(&str, &str)> {
    items
        .iter()
        .filter_map(|i| i.code.as_deref().map(|c| (c, i.text.as_str())))
        .collect()
}
