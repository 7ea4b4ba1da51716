//! Validation on its own: evidence checks, duplicates, conflicting
//! variants, and (diagnoses) omissions recovered from the narrative. The
//! rule index drops redundant Code Also items (a helper), the learned
//! model items it scores too low.

use super::evidence::{find_best, is_negated};
use crate::pipeline::context::CodingContext;
use crate::pipeline::{Flag, Item, Method, Origin, Span, Trace};
use crate::record::{fields, Record, Track};
use crate::terminology::normalize_code;

/// Narrative sections searched for omitted diagnoses. Measured on CCL25
/// dev (113 records): scanning the history sections for table names adds
/// about as many wrong codes as right ones, so recovery is off by default
/// (`Settings::recover_omissions`) and, when on, reads only the present
/// illness for long names; the agents decide recovered candidates better.
const RECOVERY_SECTIONS: [&str; 1] = [fields::PRESENT_ILLNESS];

/// Grade words whose different values must not both be coded.
const GRADED: [&str; 3] = ["心功能", "Killip", "高血压病"];

/// Runs the stage on one track.
pub fn run(
    ctx: &CodingContext,
    record: &Record,
    track: Track,
    input: &[Item],
) -> (Vec<Item>, Trace) {
    let mut trace = Trace::new(Method::Rules);
    let system = ctx.matcher(track).terminology().system;
    let mut out: Vec<Item> = Vec::new();
    for it in input {
        let key = it.code.as_deref().map(|c| normalize_code(system, c));
        if key.is_some()
            && out
                .iter()
                .any(|o| o.code.as_deref().map(|c| normalize_code(system, c)) == key)
        {
            trace.note(format!("dropped duplicate {}", it.text));
            continue;
        }
        let mut it = it.clone();
        if it.evidence.is_empty() && it.origin != Origin::Coder {
            match find_best(record, &it.text, &[], 4) {
                Some((span, _)) => it.evidence.push(span),
                None => {
                    it.flag(Flag::NoEvidence);
                    // A learned item's probability already weighs the
                    // whole record (its helper validates it); others
                    // without support and with little confidence go.
                    if it.origin != Origin::Learned && it.confidence.unwrap_or(1.0) < 0.5 {
                        trace.note(format!("dropped {}: no support in the record", it.text));
                        continue;
                    }
                }
            }
        }
        out.push(it);
    }
    flag_conflicts(&mut out, &mut trace);
    // A discharge-diagnosis field is the physician's own final list: coders
    // code from it. Without one (CCL25 records) the narrative must be read.
    let has_discharge_list = record.section(fields::DISCHARGE_DIAGNOSIS).is_some();
    if track == Track::Diagnosis && ctx.settings.recover_omissions && !has_discharge_list {
        recover_omissions(ctx, record, &mut out, &mut trace);
    }
    (out, trace)
}

/// Flags items that name different grades of the same scale.
fn flag_conflicts(items: &mut [Item], trace: &mut Trace) {
    for g in GRADED {
        let idx: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.text.contains(g))
            .map(|(k, _)| k)
            .collect();
        if idx.len() > 1 {
            let names: Vec<String> = idx.iter().map(|&k| items[k].text.clone()).collect();
            let msg = format!("several {g} grades: {}", names.join(" / "));
            trace.note(msg.clone());
            for &k in &idx[1..] {
                items[k].flag(Flag::Conflict(msg.clone()));
            }
        }
    }
}

/// Adds diagnoses named in the narrative (not negated) that the list lacks.
fn recover_omissions(
    ctx: &CodingContext,
    record: &Record,
    items: &mut Vec<Item>,
    trace: &mut Trace,
) {
    let term = ctx.diagnoses.terminology();
    let lexicon = ctx.lexicon(Track::Diagnosis);
    let sub = |c: &str| {
        let k = normalize_code(term.system, c);
        k.chars().take(5).collect::<String>()
    };
    let mut have: Vec<String> = items
        .iter()
        .filter_map(|i| i.code.as_deref().map(sub))
        .collect();
    for (si, sec) in record.sections.iter().enumerate() {
        if !RECOVERY_SECTIONS.contains(&sec.name.as_str()) {
            continue;
        }
        let text = &sec.text;
        let byte_of: Vec<usize> = text
            .char_indices()
            .map(|(b, _)| b)
            .chain([text.len()])
            .collect();
        for h in lexicon.scan(text) {
            if h.end - h.start < ctx.settings.recover_min_chars {
                continue;
            }
            let start = byte_of[h.start];
            if is_negated(text, start) {
                continue;
            }
            let e = term.entry(h.entry);
            let k = sub(&e.code);
            if have.contains(&k) {
                continue;
            }
            have.push(k);
            let mut it = Item::new(e.name.clone(), Origin::Rule)
                .with_code(e.code.clone())
                .with_confidence(0.5)
                .with_source(format!("recovered from {}", sec.name));
            it.evidence.push(Span {
                section: si,
                start,
                end: byte_of[h.end],
            });
            it.flag(Flag::Note(format!("omission recovered from {}", sec.name)));
            trace.note(format!("recovered {} {} from {}", e.code, e.name, sec.name));
            items.push(it);
        }
    }
}
