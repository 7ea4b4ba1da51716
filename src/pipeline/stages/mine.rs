//! Candidate mining without a model: procedures done this admission but not
//! listed in 手术名称, found in the operative report and course notes by cue
//! phrases and by table names, skipping negated mentions.

use super::evidence::is_negated;
use crate::pipeline::context::CodingContext;
use crate::pipeline::{Item, Method, Origin, Span, Trace};
use crate::record::{fields, Record};
use crate::terminology::{normalize_code, Terminology};

/// Sections describing what was done during this stay (never the history).
pub const SOURCE_SECTIONS: [&str; 4] = [
    fields::OPERATIVE_REPORT,
    fields::COURSE_NOTES,
    fields::TREATMENT_COURSE,
    fields::DISCHARGE_STATUS,
];

/// The built-in cue table (phrase → code).
pub fn cues() -> Vec<(String, String)> {
    include_str!("procedure_cues.tsv")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(p, c)| (p.trim().to_string(), c.trim().to_string()))
        .collect()
}

/// The table's entry for a cue code: the code itself, else its base code.
pub fn resolve_code(term: &Terminology, code: &str) -> Option<usize> {
    if let Some(i) = term.index_of(code) {
        if term.entry(i).assignable {
            return Some(i);
        }
    }
    let key = normalize_code(term.system, code);
    let base = key.split('X').next().unwrap_or(&key);
    let base4 = if base.len() > 5 { &base[..5] } else { base };
    for candidate in [base.to_string(), format!("{base4}00"), base4.to_string()] {
        if let Some(i) = term.index_of(&candidate) {
            if term.entry(i).assignable {
                return Some(i);
            }
        }
    }
    None
}

/// Runs the stage: returns the standardized list plus mined additions.
pub fn run(
    ctx: &CodingContext,
    record: &Record,
    input: &[Item],
    cue_table: &[(String, String)],
) -> (Vec<Item>, Trace) {
    let mut trace = Trace::new(Method::Retrieval);
    let term = ctx.procedures.terminology();
    let lexicon = ctx.lexicon(crate::record::Track::Procedure);
    let mut items: Vec<Item> = input.to_vec();
    let have = |items: &[Item], code: &str| {
        let k = normalize_code(term.system, code);
        items.iter().any(|it| {
            it.code
                .as_deref()
                .is_some_and(|c| normalize_code(term.system, c) == k)
        })
    };
    let mut added = 0;
    for (si, sec) in record.sections.iter().enumerate() {
        if !SOURCE_SECTIONS.contains(&sec.name.as_str()) {
            continue;
        }
        let text = &sec.text;
        // 1. cue phrases
        for (phrase, code) in cue_table {
            let mut from = 0;
            while let Some(rel) = text[from..].find(phrase.as_str()) {
                let pos = from + rel;
                from = pos + phrase.len();
                if is_negated(text, pos) {
                    continue;
                }
                let Some(e) = resolve_code(term, code) else {
                    break;
                };
                let entry = term.entry(e);
                if have(&items, &entry.code) {
                    break;
                }
                let mut it = Item::new(entry.name.clone(), Origin::Retrieval)
                    .with_code(entry.code.clone())
                    .with_confidence(0.7)
                    .with_source(format!("mined: “{phrase}” in {}", sec.name));
                it.evidence.push(Span {
                    section: si,
                    start: pos,
                    end: pos + phrase.len(),
                });
                trace.note(format!("{} ← “{phrase}” in {}", entry.code, sec.name));
                items.push(it);
                added += 1;
                break;
            }
        }
        // 2. table names written out in the text
        let byte_of: Vec<usize> = text
            .char_indices()
            .map(|(b, _)| b)
            .chain([text.len()])
            .collect();
        for h in lexicon.scan(text) {
            if h.end - h.start < 5 {
                continue; // short names in running text are too ambiguous
            }
            let start = byte_of[h.start];
            if is_negated(text, start) {
                continue;
            }
            let entry = term.entry(h.entry);
            if have(&items, &entry.code) {
                continue;
            }
            let mut it = Item::new(entry.name.clone(), Origin::Retrieval)
                .with_code(entry.code.clone())
                .with_confidence(0.6)
                .with_source(format!("mined: table name in {}", sec.name));
            it.evidence.push(Span {
                section: si,
                start,
                end: byte_of[h.end],
            });
            trace.note(format!("{} ← table name in {}", entry.code, sec.name));
            items.push(it);
            added += 1;
        }
    }
    trace.note(format!(
        "{added} procedures mined from the operative report and course notes"
    ));
    (items, trace)
}
