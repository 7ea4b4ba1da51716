//! Standardization agent: for each field item that the table does not settle
//! (by an exact name, or by names that cover the item whole), the model picks
//! by letter among retrieval's own result for it, a split into several names
//! and the retrieved table names; `x` keeps the raw text unmapped.

use serde::Serialize;

use super::answer::{span_prob, string_value};
use super::evidence::{self, ContextMode};
use super::question::{enum_answer, Question};
use crate::llm::Completion;
use crate::pipeline::context::CodingContext;
use crate::pipeline::stages::split::split_field;
use crate::pipeline::stages::standardize::{source_fields, SEGMENT_BELOW, SEGMENT_CONFIDENCE};
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

/// Splits the field and retrieves choices; `None` when the record lacks the
/// field. `retrieval` is the no-model stage's list: what it made of an open
/// item is offered as a choice when no other choice says the same.
pub fn prepare(
    ctx: &CodingContext,
    record: &Record,
    track: Track,
    k: usize,
    retrieval: &[Item],
) -> Option<Task> {
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
            let entries: Vec<(usize, Span)> = seg
                .iter()
                .map(|h| {
                    let sub = Span {
                        section: si,
                        start: p.start + starts[h.start],
                        end: p.start + starts[h.end],
                    };
                    (h.entry, sub)
                })
                .collect();
            // Table names that cover the whole item, with no single name
            // close enough to compete (`冠状动脉粥样硬化性心脏病不稳定型心绞痛`
            // = two table names): the table settles it as retrieval does.
            // Untuned, the model's answers changed no such item on CCL25 dev
            // records 51–113, where such items were 16 of the 57 questions
            // of the first 29 records.
            if hits.first().is_none_or(|h| h.score < SEGMENT_BELOW) {
                let settled = entries
                    .iter()
                    .map(|&(e, sub)| item(term, e, SEGMENT_CONFIDENCE, sub, &p.text))
                    .collect();
                slots.push(Slot::Settled(settled));
                continue;
            }
            choices.push(Choice { entries });
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
        // Retrieval's own result (the names of a partial segmentation or of
        // a split in two) comes first when no choice offers it: the model
        // can then keep it, and agreeing with it, falling back to it and its
        // training label each have a letter.
        let kept = kept_for(retrieval, &p.text);
        let entries: Vec<(usize, Span)> = kept
            .iter()
            .filter_map(|i| {
                let e = term.index_of(i.code.as_deref()?)?;
                Some((e, i.evidence.first().copied().unwrap_or(span)))
            })
            .collect();
        if !entries.is_empty() && !choices.iter().any(|c| is_kept(term, c, &kept)) {
            choices.insert(0, Choice { entries });
            choices.truncate(LETTERS.len());
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
        self.first_letters(|_| {
            |c: &Choice| {
                !c.entries.is_empty()
                    && c.entries
                        .iter()
                        .all(|(e, _)| gold.contains(&term.entry(*e).code))
            }
        })
    }

    /// For each open item, in question order, the letter of the choice that
    /// retrieval's own list (`retrieval`, the no-model stage's list) kept
    /// for it: what the stage gives when the agent falls back (`None`:
    /// retrieval kept something no choice offers, or nothing).
    pub fn kept_letters(
        &self,
        ctx: &CodingContext,
        track: Track,
        retrieval: &[Item],
    ) -> Vec<Option<&'static str>> {
        let term = ctx.matcher(track).terminology();
        self.first_letters(|raw| {
            let kept = kept_for(retrieval, raw);
            move |c: &Choice| !kept.is_empty() && is_kept(term, c, &kept)
        })
    }

    /// For each open item, in question order, the letter of the first
    /// choice that fits, if any (`fits_item` makes the test from the item's
    /// raw text, once per item).
    fn first_letters<F: Fn(&Choice) -> bool>(
        &self,
        fits_item: impl Fn(&str) -> F,
    ) -> Vec<Option<&'static str>> {
        self.slots
            .iter()
            .filter_map(|s| match s {
                Slot::Open { raw, choices, .. } => {
                    let fits = fits_item(raw);
                    Some(
                        choices
                            .iter()
                            .zip(LETTERS)
                            .find(|(c, _)| fits(c))
                            .map(|(_, l)| l),
                    )
                }
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
        overrule: f32,
    ) -> Result<Vec<Item>, String> {
        let term = ctx.matcher(track).terminology();
        let mut answers = answers.iter();
        let mut out: Vec<Item> = Vec::new();
        for slot in &self.slots {
            let new: Vec<Item> = match slot {
                Slot::Settled(items) => items.clone(),
                Slot::Open { raw, span, choices } => {
                    let Some(c) = answers.next().ok_or("fewer answers than items")? else {
                        // No agreed answer: the earlier choice stays.
                        out_push(&mut out, kept_for(retrieval, raw));
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
                    // An unsure answer that differs from the earlier choice
                    // does not overrule it.
                    let kept = kept_for(retrieval, raw);
                    let agrees = chosen.is_some_and(|c| is_kept(term, c, &kept));
                    if p < overrule && !kept.is_empty() && !agrees {
                        out_push(&mut out, kept);
                        continue;
                    }
                    // An answer that agrees with the earlier choice adds to
                    // it: the item keeps the higher confidence of the two.
                    // (Taking the answer's own would flag exactly the items
                    // both agree on, while an unsure answer that disagrees
                    // leaves the earlier item unflagged.)
                    let earlier_conf = |code: &String| -> f32 {
                        if !agrees {
                            return 0.0;
                        }
                        kept.iter()
                            .filter(|k| k.code.as_ref() == Some(code))
                            .filter_map(|k| k.confidence)
                            .fold(0.0, f32::max)
                    };
                    match chosen {
                        Some(choice) => choice
                            .entries
                            .iter()
                            .map(|(e, s)| {
                                let conf = p.max(earlier_conf(&term.entry(*e).code));
                                let mut it = item(term, *e, conf, *s, raw);
                                it.origin = Origin::Agent;
                                if conf < low {
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
            out_push(&mut out, new);
        }
        Ok(out)
    }
}

/// Appends the items whose code is not listed yet.
fn out_push(out: &mut Vec<Item>, items: Vec<Item>) {
    for it in items {
        if it.code.is_none() || !out.iter().any(|o| o.code == it.code) {
            out.push(it);
        }
    }
}

/// What retrieval's own list (the no-model stage's) made of the item whose
/// raw text is `raw`.
fn kept_for(retrieval: &[Item], raw: &str) -> Vec<Item> {
    retrieval
        .iter()
        .filter(|i| i.source.as_deref() == Some(raw))
        .cloned()
        .collect()
}

/// Whether choice `c` names exactly the codes of `kept`, in any order.
fn is_kept(term: &Terminology, c: &Choice, kept: &[Item]) -> bool {
    let mut a: Vec<&str> = c
        .entries
        .iter()
        .map(|(e, _)| term.entry(*e).code.as_str())
        .collect();
    let mut b: Vec<&str> = kept.iter().filter_map(|i| i.code.as_deref()).collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::search::Matcher;
    use crate::terminology::CodeSystem;

    fn answer(letter: &str, p: f32) -> Option<Completion> {
        let text = format!("{{\"pick\":\"{letter}\"}}");
        Some(Completion {
            tokens: vec![text.clone()],
            token_probs: vec![p],
            text,
            ..Default::default()
        })
    }

    /// An answer that differs from the earlier (retrieval or learned) choice
    /// replaces it only when the model is sure enough.
    #[test]
    fn an_unsure_answer_does_not_overrule_the_earlier_choice() {
        let d = Terminology::from_pairs(
            CodeSystem::Icd10,
            "d",
            &[("I20.000", "不稳定型心绞痛"), ("I20.900", "心绞痛")],
        );
        let p = Terminology::from_pairs(CodeSystem::Icd9Cm3, "p", &[("88.5500", "冠脉造影")]);
        let ctx = CodingContext::new(
            Matcher::in_memory(Arc::new(d)).unwrap(),
            Matcher::in_memory(Arc::new(p)).unwrap(),
        );
        let term = ctx.matcher(Track::Diagnosis).terminology();
        let idx = |code: &str| {
            (0..term.len())
                .find(|&i| term.entry(i).code == code)
                .unwrap()
        };
        let span = Span {
            section: 0,
            start: 0,
            end: 9,
        };
        let task = Task {
            field: "出院诊断".into(),
            slots: vec![Slot::Open {
                raw: "心绞痛".into(),
                span,
                choices: vec![
                    Choice {
                        entries: vec![(idx("I20.900"), span)],
                    },
                    Choice {
                        entries: vec![(idx("I20.000"), span)],
                    },
                ],
            }],
        };
        let earlier = vec![item(term, idx("I20.900"), 0.8, span, "心绞痛")];
        let ask = |letter: &str, p: f32, earlier: &[Item]| {
            task.apply(
                &ctx,
                Track::Diagnosis,
                &[answer(letter, p)],
                earlier,
                0.5,
                0.9,
            )
            .unwrap()
        };
        let codes = |items: Vec<Item>| -> Vec<String> {
            items.into_iter().filter_map(|i| i.code).collect()
        };
        let unsure = ask("b", 0.6, &earlier);
        assert_eq!(codes(unsure), ["I20.900"]);
        let sure = ask("b", 0.95, &earlier);
        assert_eq!(codes(sure), ["I20.000"]);
        // agreeing with the earlier choice needs no such confidence
        let agree = ask("a", 0.6, &earlier);
        assert_eq!(codes(agree.clone()), ["I20.900"]);
        assert_eq!(agree[0].origin, Origin::Agent);
        // and an unsure agreeing answer does not lower the earlier 0.8 nor
        // flag the item; a sure one raises it
        let unsure_agree = ask("a", 0.3, &earlier);
        assert_eq!(unsure_agree[0].confidence, Some(0.8));
        assert!(!unsure_agree[0].flags.contains(&Flag::LowConfidence));
        let sure_agree = ask("a", 0.95, &earlier);
        assert_eq!(sure_agree[0].confidence, Some(0.95));
        // an item the model chose over nothing earlier keeps its own, flagged
        let fresh = ask("b", 0.3, &[]);
        assert_eq!(codes(fresh.clone()), ["I20.000"]);
        assert!(fresh[0].flags.contains(&Flag::LowConfidence));
        // what a fallback keeps, as a letter: retrieval's I20.900 is (a);
        // the gold I20.000 is (b)
        assert_eq!(
            task.kept_letters(&ctx, Track::Diagnosis, &earlier),
            [Some("a")]
        );
        let gold = ["I20.000".to_string()];
        assert_eq!(
            task.gold_letters(&ctx, Track::Diagnosis, &gold),
            [Some("b")]
        );
        let other = vec![item(term, idx("I20.000"), 0.8, span, "另一个")];
        assert_eq!(task.kept_letters(&ctx, Track::Diagnosis, &other), [None]);
    }
}
