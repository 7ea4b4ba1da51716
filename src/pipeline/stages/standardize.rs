//! Standardization without a model: split the field, then rewrite each
//! piece as a name of the code table by retrieval (exact name or alias,
//! segmentation into several known names, or the best fuzzy match).

use super::evidence;
use super::lexicon::Seg;
use super::split::{split_field, Piece};
use crate::pipeline::context::CodingContext;
use crate::pipeline::{Flag, Item, Method, Origin, Span, Trace};
use crate::record::{fields, Record, Track};
use crate::search::{MatchOptions, Tier};

/// Section names holding the list for a track, best first.
pub fn source_fields(track: Track) -> &'static [&'static str] {
    match track {
        Track::Diagnosis => &[
            fields::DISCHARGE_DIAGNOSIS,
            "出院诊断名称",
            fields::ADMISSION_DIAGNOSIS,
        ],
        Track::Procedure => &[fields::PROCEDURE_NAMES, "手术及操作名称", "手术操作名称"],
    }
}

/// Runs the stage for one track.
pub fn run(ctx: &CodingContext, record: &Record, track: Track) -> (Vec<Item>, Trace) {
    let mut trace = Trace::new(Method::Retrieval);
    let Some((si, name)) = source_fields(track).iter().find_map(|f| {
        record
            .section_index(f)
            .filter(|&i| !record.sections[i].text.trim().is_empty())
            .map(|i| (i, *f))
    }) else {
        trace.note(format!(
            "no {} field in the record",
            source_fields(track).join("/")
        ));
        return (Vec::new(), trace);
    };
    if track == Track::Diagnosis && name == fields::ADMISSION_DIAGNOSIS {
        trace.note("no 出院诊断 field: standardizing 入院诊断 instead");
    }
    let text = &record.sections[si].text;
    let pieces = split_field(text);
    trace.note(format!("split {name} into {} items", pieces.len()));
    let mut items = Vec::new();
    for p in &pieces {
        let span = Span {
            section: si,
            start: p.start,
            end: p.end,
        };
        for it in standardize_piece(ctx, track, p, span, &mut trace) {
            if !items
                .iter()
                .any(|x: &Item| x.code.is_some() && x.code == it.code)
            {
                items.push(it);
            }
        }
    }
    (items, trace)
}

/// The field's items as written, unstandardized: what the pipeline gets
/// when Standardization is switched off (the Map stage then looks the raw
/// text up directly).
pub fn raw_items(record: &Record, track: Track) -> Vec<Item> {
    let Some(si) = source_fields(track).iter().find_map(|f| {
        record
            .section_index(f)
            .filter(|&i| !record.sections[i].text.trim().is_empty())
    }) else {
        return Vec::new();
    };
    split_field(&record.sections[si].text)
        .into_iter()
        .map(|p| {
            let mut it = Item::new(p.text.clone(), Origin::Rule).with_source(p.text.clone());
            it.evidence.push(Span {
                section: si,
                start: p.start,
                end: p.end,
            });
            it
        })
        .collect()
}

/// A single fuzzy name scoring under this leaves the piece to a segmentation
/// into several table names, when one covers it.
pub const SEGMENT_BELOW: f32 = 0.9;
/// The confidence of each table name a segmentation finds.
pub const SEGMENT_CONFIDENCE: f32 = 0.9;

/// Rewrites one raw piece as one or more canonical items.
pub fn standardize_piece(
    ctx: &CodingContext,
    track: Track,
    p: &Piece,
    span: Span,
    trace: &mut Trace,
) -> Vec<Item> {
    let matcher = ctx.matcher(track);
    let term = matcher.terminology();
    let lexicon = ctx.lexicon(track);
    let make = |entry: usize, conf: f32, evidence: Span| {
        let e = term.entry(entry);
        let mut it = Item::new(e.name.clone(), Origin::Retrieval)
            .with_code(e.code.clone())
            .with_confidence(conf)
            .with_source(p.text.clone());
        it.evidence.push(evidence);
        it
    };
    if let Some(e) = lexicon.exact(&p.text) {
        return vec![make(e, 1.0, span)];
    }
    let hits = matcher.match_text(
        &p.text,
        &MatchOptions {
            limit: 5,
            assignable_only: true,
        },
    );
    let top = hits.first();
    if let Some(m) = top {
        if matches!(m.tier, Tier::ExactName | Tier::Alias) {
            return vec![make(m.entry, m.score.max(0.95), span)];
        }
    }
    if top.is_none_or(|m| m.score < SEGMENT_BELOW) {
        if let Some(segs) = lexicon.segment_partial(&p.text) {
            trace.note(format!("“{}” split into {} pieces", p.text, segs.len()));
            let starts: Vec<usize> = p
                .text
                .char_indices()
                .map(|(b, _)| b)
                .chain([p.text.len()])
                .collect();
            let mut out = Vec::new();
            for seg in segs {
                let (a, b) = match seg {
                    Seg::Known(h) => (h.start, h.end),
                    Seg::Gap { start, end } => (start, end),
                };
                let sub_span = Span {
                    section: span.section,
                    start: span.start + starts[a],
                    end: span.start + starts[b],
                };
                match seg {
                    Seg::Known(h) => out.push(make(h.entry, SEGMENT_CONFIDENCE, sub_span)),
                    Seg::Gap { .. } => {
                        let sub = Piece {
                            text: p.text[starts[a]..starts[b]].to_string(),
                            start: p.start + starts[a],
                            end: p.start + starts[b],
                        };
                        out.extend(standardize_gap(ctx, track, &sub, sub_span, trace));
                    }
                }
            }
            return out;
        }
    }
    if top.is_none_or(|m| m.score < ctx.settings.min_match_score) {
        if let Some(items) = split_in_two(ctx, track, p, span, trace) {
            return items;
        }
    }
    match top {
        Some(m) if m.score >= ctx.settings.min_match_score => {
            let mut it = make(m.entry, m.score, span);
            if m.score < ctx.settings.low_confidence {
                it.flag(Flag::LowConfidence);
            }
            vec![it]
        }
        _ => {
            trace.note(format!("“{}”: no table name close enough", p.text));
            let mut it = Item::new(p.text.clone(), Origin::Rule)
                .with_source(p.text.clone())
                .with_confidence(top.map(|m| m.score).unwrap_or(0.0));
            it.evidence.push(span);
            it.flag(Flag::Unmapped);
            vec![it]
        }
    }
}

/// Two diagnoses written as one item with no separator, neither of them an
/// exact table name (`冠状动脉粥样硬化性心脏病不稳定型心绞痛` against a table
/// that says 动脉硬化性心脏病 and 不稳定性心绞痛): tries every cut leaving at
/// least four characters a side and keeps the one whose weaker half matches
/// best, if both halves clear the bar.
fn split_in_two(
    ctx: &CodingContext,
    track: Track,
    p: &Piece,
    span: Span,
    trace: &mut Trace,
) -> Option<Vec<Item>> {
    let chars: Vec<(usize, char)> = p.text.char_indices().collect();
    if chars.len() < 8 || chars.len() > 40 {
        return None;
    }
    let matcher = ctx.matcher(track);
    let opts = MatchOptions {
        limit: 1,
        assignable_only: true,
    };
    let bar = ctx.settings.min_match_score;
    let mut best: Option<(f32, usize, crate::search::Match, crate::search::Match)> = None;
    for &(at, _) in &chars[4..=chars.len() - 4] {
        let (a, b) = (&p.text[..at], &p.text[at..]);
        let (Some(ma), Some(mb)) = (
            matcher.match_text(a, &opts).into_iter().next(),
            matcher.match_text(b, &opts).into_iter().next(),
        ) else {
            continue;
        };
        let weaker = ma.score.min(mb.score);
        if weaker >= bar && ma.entry != mb.entry && best.as_ref().is_none_or(|x| weaker > x.0) {
            best = Some((weaker, at, ma, mb));
        }
    }
    let (_, at, ma, mb) = best?;
    trace.note(format!(
        "“{}” read as two names: {} + {}",
        p.text, ma.name, mb.name
    ));
    let term = matcher.terminology();
    let item = |m: &crate::search::Match, raw: &str, sub: Span| {
        let e = term.entry(m.entry);
        let mut it = Item::new(e.name.clone(), Origin::Retrieval)
            .with_code(e.code.clone())
            .with_confidence(m.score)
            .with_source(raw.to_string());
        it.evidence.push(sub);
        if m.score < ctx.settings.low_confidence {
            it.flag(Flag::LowConfidence);
        }
        it
    };
    let left = Span {
        section: span.section,
        start: span.start,
        end: span.start + at,
    };
    let right = Span {
        section: span.section,
        start: span.start + at,
        end: span.end,
    };
    Some(vec![
        item(&ma, &p.text[..at], left),
        item(&mb, &p.text[at..], right),
    ])
}

/// Standardizes the text left between known names: one fuzzy match, kept
/// only when it is close (a stricter bar than for whole items, since gaps
/// are often qualifiers such as `（中-重度）`).
fn standardize_gap(
    ctx: &CodingContext,
    track: Track,
    p: &Piece,
    span: Span,
    trace: &mut Trace,
) -> Vec<Item> {
    let matcher = ctx.matcher(track);
    let hits = matcher.match_text(
        &p.text,
        &MatchOptions {
            limit: 1,
            assignable_only: true,
        },
    );
    match hits.first() {
        Some(m) if m.score >= ctx.settings.min_match_score.max(0.6) => {
            let e = matcher.terminology().entry(m.entry);
            let mut it = Item::new(e.name.clone(), Origin::Retrieval)
                .with_code(e.code.clone())
                .with_confidence(m.score)
                .with_source(p.text.clone());
            it.evidence.push(span);
            if m.score < ctx.settings.low_confidence {
                it.flag(Flag::LowConfidence);
            }
            vec![it]
        }
        _ => {
            trace.note(format!("“{}”: left out, no close table name", p.text));
            Vec::new()
        }
    }
}

/// Evidence for a free-standing name anywhere in the record.
pub fn locate(record: &Record, name: &str) -> Vec<Span> {
    evidence::find_best(record, name, &[], 4)
        .map(|(s, _)| vec![s])
        .unwrap_or_default()
}
