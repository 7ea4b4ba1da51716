//! Standardization agent: for each field item that retrieval cannot settle
//! by an exact name, the model picks among retrieved table names (or a split
//! into several names) by letter; `x` keeps the raw text unmapped.

use serde::Serialize;

use super::answer::{span_prob, string_value};
use super::evidence::{self, ContextMode};
use super::question::{enum_answer, Question};
use crate::llm::Completion;
use crate::pipeline::context::CodingContext;
use crate::pipeline::stages::split::split_field;
use crate::pipeline::stages::standardize::source_fields;
use crate::pipeline::{Flag, Item, Origin, Span};
use crate::record::{Record, Track};
use crate::search::{MatchOptions, Tier};
use crate::terminology::Terminology;

const LETTERS: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

/// One choice offered for an item: one or more table entries.
#[derive(Debug, Clone)]
pub struct Choice {
    pub entries: Vec<(usize, Span)>,
}

/// A field item: settled by retrieval, or open with choices for the model.
#[derive(Debug, Clone)]
pub enum Slot {
    Settled(Vec<Item>),
    Open {
        raw: String,
        span: Span,
        choices: Vec<Choice>,
    },
}

#[derive(Serialize)]
struct OptionView {
    letter: &'static str,
    text: String,
}

/// The prepared questions.
pub struct Task {
    pub field: String,
    pub slots: Vec<Slot>,
}

/// Splits the field and retrieves choices; `None` when the record lacks the field.
pub fn prepare(ctx: &CodingContext, record: &Record, track: Track, k: usize) -> Option<Task> {
    let (si, field) = source_fields(track).iter().find_map(|f| {
        record
            .section_index(f)
            .filter(|&i| !record.sections[i].text.trim().is_empty())
            .map(|i| (i, f.to_string()))
    })?;
    let matcher = ctx.matcher(track);
    let term = matcher.terminology();
    let lexicon = ctx.lexicon(track);
    let text = &record.sections[si].text;
    let mut slots = Vec::new();
    for p in split_field(text) {
        let span = Span {
            section: si,
            start: p.start,
            end: p.end,
        };
        if let Some(e) = lexicon.exact(&p.text) {
            slots.push(Slot::Settled(vec![item(term, e, 1.0, span, &p.text)]));
            continue;
        }
        let opts = MatchOptions {
            limit: k,
            assignable_only: true,
        };
        let hits = matcher.match_text(&p.text, &opts);
        // One table entry that the item names after folding variant
        // spellings (`…置入手术` = `…置入`): the table settles it, and asking
        // a small model only invites a wrong pick among near neighbours.
        let by_name = |t: &Tier| matches!(t, Tier::ExactName | Tier::Alias);
        if let [first, rest @ ..] = hits.as_slice() {
            if by_name(&first.tier) && !rest.iter().any(|h| by_name(&h.tier)) {
                let settled = item(term, first.entry, first.score, span, &p.text);
                slots.push(Slot::Settled(vec![settled]));
                continue;
            }
        }
        let mut choices: Vec<Choice> = Vec::new();
        if let Some(seg) = lexicon.segment(&p.text) {
            let starts: Vec<usize> = p
                .text
                .char_indices()
                .map(|(b, _)| b)
                .chain([p.text.len()])
                .collect();
            choices.push(Choice {
                entries: seg
                    .iter()
                    .map(|h| {
                        let sub = Span {
                            section: si,
                            start: p.start + starts[h.start],
                            end: p.start + starts[h.end],
                        };
                        (h.entry, sub)
                    })
                    .collect(),
            });
        }
        for m in hits {
            if choices.len() >= LETTERS.len() {
                break;
            }
            if !choices
                .iter()
                .any(|c| c.entries.len() == 1 && c.entries[0].0 == m.entry)
            {
                choices.push(Choice {
                    entries: vec![(m.entry, span)],
                });
            }
        }
        slots.push(Slot::Open {
            raw: p.text.clone(),
            span,
            choices,
        });
    }
    Some(Task { field, slots })
}

fn item(term: &Terminology, entry: usize, conf: f32, span: Span, raw: &str) -> Item {
    let e = term.entry(entry);
    let mut it = Item::new(e.name.clone(), Origin::Retrieval)
        .with_code(e.code.clone())
        .with_confidence(conf)
        .with_source(raw.to_string());
    it.evidence.push(span);
    it
}

impl Task {
    /// Items the model must decide.
    pub fn open_count(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s, Slot::Open { .. }))
            .count()
    }

    /// One question per open item; with span context each carries where
    /// the record's narrative speaks of the item (or of an offered name).
    pub fn questions(
        &self,
        ctx: &CodingContext,
        track: Track,
        record: &Record,
        mode: ContextMode,
    ) -> Vec<Question> {
        let term = ctx.matcher(track).terminology();
        self.slots
            .iter()
            .filter_map(|s| match s {
                Slot::Open { raw, choices, .. } => {
                    let evidence: Vec<String> = match mode {
                        ContextMode::Record => Vec::new(),
                        ContextMode::Spans => {
                            let mut needles = vec![raw.as_str()];
                            needles.extend(
                                choices.iter().flat_map(|c| c.entries.iter()).map(|(e, _)| term.entry(*e).name.as_str()),
                            );
                            let spans = evidence::find_in_narrative(record, &needles);
                            evidence::item_snippets(record, &spans, evidence::WINDOW, evidence::MAX_SPANS)
                        }
                    };
                    let options: Vec<OptionView> = choices
                        .iter()
                        .zip(LETTERS)
                        .map(|(c, letter)| OptionView {
                            letter,
                            text: c.entries.iter().map(|(e, _)| term.entry(*e).name.as_str()).collect::<Vec<_>>().join(" + "),
                        })
                        .collect();
                    let mut letters: Vec<&str> = LETTERS[..choices.len()].to_vec();
                    letters.push("x");
                    Some(Question::new(
                        minijinja::context! {
                            track => track.label(), track_zh => track.label_zh(), field => self.field,
                            raw => raw, options => options, evidence => evidence
                        },
                        enum_answer("pick", &letters),
                    ))
                }
                Slot::Settled(_) => None,
            })
            .collect()
    }

    /// For each open item, in question order, the letter of the first
    /// choice whose names are all gold codes (`None`: no choice is).
    pub fn gold_letters(
        &self,
        ctx: &CodingContext,
        track: Track,
        gold: &[String],
    ) -> Vec<Option<&'static str>> {
        let term = ctx.matcher(track).terminology();
        self.slots
            .iter()
            .filter_map(|s| match s {
                Slot::Open { choices, .. } => Some(
                    choices
                        .iter()
                        .zip(LETTERS)
                        .find(|(c, _)| {
                            !c.entries.is_empty()
                                && c.entries
                                    .iter()
                                    .all(|(e, _)| gold.contains(&term.entry(*e).code))
                        })
                        .map(|(_, l)| l),
                ),
                Slot::Settled(_) => None,
            })
            .collect()
    }

    /// Builds the list from the model's picks (one answer per open item); an
    /// open item without an agreed answer keeps what retrieval made of it
    /// (`retrieval`: the no-model stage's list).
    pub fn apply(
        &self,
        ctx: &CodingContext,
        track: Track,
        answers: &[Option<Completion>],
        retrieval: &[Item],
        low: f32,
    ) -> Result<Vec<Item>, String> {
        let term = ctx.matcher(track).terminology();
        let mut answers = answers.iter();
        let mut out: Vec<Item> = Vec::new();
        for slot in &self.slots {
            let new: Vec<Item> = match slot {
                Slot::Settled(items) => items.clone(),
                Slot::Open { raw, span, choices } => {
                    let Some(c) = answers.next().ok_or("fewer answers than items")? else {
                        let kept: Vec<Item> = retrieval
                            .iter()
                            .filter(|i| i.source.as_deref() == Some(raw.as_str()))
                            .cloned()
                            .collect();
                        for it in kept {
                            if it.code.is_none() || !out.iter().any(|o| o.code == it.code) {
                                out.push(it);
                            }
                        }
                        continue;
                    };
                    let (letter, range) = string_value(&c.text, "pick")
                        .ok_or_else(|| format!("answer is not {{\"pick\":…}}: {}", c.text))?;
                    let p = span_prob(c, &range);
                    if letter != "x" && !LETTERS[..choices.len()].contains(&letter.as_str()) {
                        return Err(format!("pick `{letter}` is not an offered option"));
                    }
                    let chosen = LETTERS
                        .iter()
                        .position(|l| *l == letter)
                        .and_then(|i| choices.get(i));
                    match chosen {
                        Some(choice) => choice
                            .entries
                            .iter()
                            .map(|(e, s)| {
                                let mut it = item(term, *e, p, *s, raw);
                                it.origin = Origin::Agent;
                                if p < low {
                                    it.flag(Flag::LowConfidence);
                                }
                                it
                            })
                            .collect(),
                        None => {
                            let mut it = Item::new(raw.clone(), Origin::Agent)
                                .with_confidence(p)
                                .with_source(raw.clone());
                            it.evidence.push(*span);
                            it.flag(Flag::Unmapped);
                            vec![it]
                        }
                    }
                }
            };
            for it in new {
                if it.code.is_none() || !out.iter().any(|o| o.code == it.code) {
                    out.push(it);
                }
            }
        }
        Ok(out)
    }
}
