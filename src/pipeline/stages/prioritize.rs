//! Prioritization without a model: field order, corrected by coding rules.
//!
//! Diagnoses: the first listed item is usually the principal one, but a
//! general or chronic label (coronary heart disease I25.1, unspecified
//! arrhythmia I49.9, hypertension I10, status Z codes, symptom R codes) yields
//! to a specific or acute condition listed after it (unstable angina,
//! myocardial infarction, shock is kept high).
//! Procedures: definitive treatment first (stent, angioplasty, surgery,
//! device), then sustained support (ventilation, balloon pump, renal
//! replacement), then diagnostic and access procedures, and Code Also
//! adjuncts (00.4x counts) last.

use crate::pipeline::{Item, Method, Trace};
use crate::record::Track;

/// Lower is more important. `code` is any spelling; only its shape is used.
pub fn diagnosis_rank(code: &str, all: &[&str]) -> i32 {
    let c = code.to_ascii_uppercase();
    let has = |p: &str| all.iter().any(|o| o.to_ascii_uppercase().starts_with(p));
    let specific_cardiac = has("I20") || has("I21") || has("I22") || has("I24");
    if c.starts_with("I21") || c.starts_with("I22") {
        return -20;
    }
    if c.starts_with("R57")
        || c.starts_with("I46")
        || c.starts_with("I71.0")
        || c.starts_with("I26")
    {
        return -10;
    }
    if c.starts_with("I25.1") && specific_cardiac {
        return 30;
    }
    if c.starts_with("I49.9")
        && (has("I47") || has("I48") || has("I44") || has("I45") || has("I49."))
    {
        return 30;
    }
    if c.starts_with('Z') {
        return 60;
    }
    if c.starts_with('R') {
        return 40;
    }
    if c.starts_with("I10")
        || c.starts_with("E78")
        || c.starts_with("I69")
        || c.starts_with("E11.9")
    {
        return 20;
    }
    0
}

/// Lower is more important.
pub fn procedure_rank(code: &str) -> i32 {
    let c = code.to_ascii_uppercase();
    let p = |pre: &str| c.starts_with(pre);
    if p("00.4") {
        return 90; // vessel and stent counts: adjuncts of their procedure
    }
    if p("36.07")
        || p("36.06")
        || p("36.1")
        || p("35.")
        || p("37.3")
        || p("37.8")
        || p("00.5")
        || p("37.94")
        || p("39.") && !p("39.95")
    {
        return 0;
    }
    if p("00.66") {
        return 1;
    }
    if p("96.72") {
        return 5;
    }
    if p("96.71") {
        return 6;
    }
    if p("37.61") || p("39.95") || p("93.90") || p("37.78") {
        return 10;
    }
    if p("99.60") || p("99.62") || p("99.61") {
        return 12;
    }
    if p("88.5") || p("37.2") || p("00.24") || p("00.59") {
        return 20;
    }
    if p("38.9") || p("96.04") || p("00.68") {
        return 30;
    }
    25
}

/// Orders a list; items without a code keep their place relative to others.
pub fn run(track: Track, input: &[Item]) -> (Vec<Item>, Trace) {
    let mut trace = Trace::new(Method::Rules);
    let codes: Vec<&str> = input.iter().filter_map(|i| i.code.as_deref()).collect();
    let mut ranked: Vec<(i32, usize, Item)> = input
        .iter()
        .enumerate()
        .map(|(pos, it)| {
            let rank = match (&it.code, track) {
                (Some(c), Track::Diagnosis) => diagnosis_rank(c, &codes),
                (Some(c), Track::Procedure) => procedure_rank(c),
                (None, _) => 50,
            };
            (rank, pos, it.clone())
        })
        .collect();
    ranked.sort_by_key(|(r, pos, _)| (*r, *pos));
    let moved = ranked
        .iter()
        .enumerate()
        .filter(|(i, (_, pos, _))| i != pos)
        .count();
    if let Some((_, pos, first)) = ranked.first() {
        trace.note(format!(
            "principal: {} {} (was item {})",
            first.code.as_deref().unwrap_or("-"),
            first.text,
            pos + 1
        ));
    }
    trace.note(format!("{moved} items moved from field order"));
    let out: Vec<Item> = ranked.into_iter().map(|(_, _, it)| it).collect();
    (out, trace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Origin;

    fn items(codes: &[&str]) -> Vec<Item> {
        codes
            .iter()
            .map(|c| Item::new(*c, Origin::Rule).with_code(*c))
            .collect()
    }

    #[test]
    fn specific_cardiac_condition_leads() {
        let (out, _) = run(
            Track::Diagnosis,
            &items(&["I25.103", "I21.401", "I10.x00x032"]),
        );
        assert_eq!(out[0].code.as_deref(), Some("I21.401"));
        let (out, _) = run(Track::Diagnosis, &items(&["J18.903", "I10.x00x032"]));
        assert_eq!(out[0].code.as_deref(), Some("J18.903"));
    }

    #[test]
    fn definitive_procedure_first_adjuncts_last() {
        let (out, _) = run(
            Track::Procedure,
            &items(&["88.5500", "00.4000", "36.0700", "00.6600x004"]),
        );
        let order: Vec<_> = out.iter().map(|i| i.code.as_deref().unwrap()).collect();
        assert_eq!(order, ["36.0700", "00.6600x004", "88.5500", "00.4000"]);
    }
}
