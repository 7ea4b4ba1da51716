//! Validation agent: the model keeps (y) or drops (n) the items in doubt —
//! those added by rules (Code Also, recovered omissions) or flagged (no
//! evidence, conflict, low confidence). Items read straight from the record's
//! own lists with support, and items the coder wrote, are not put in doubt.

use super::answer::{span_prob, string_value};
use super::evidence::{self, ContextMode};
use super::question::{enum_answer, Question};
use crate::llm::Completion;
use crate::pipeline::{Flag, Item, Origin};
use crate::record::{Record, Track};

pub struct Task {
    /// Indices of the items asked about.
    pub doubtful: Vec<usize>,
}

/// True when an item needs the model's check.
pub fn in_doubt(it: &Item) -> bool {
    it.origin != Origin::Coder
        && (it.origin == Origin::Rule
            || it.flags.iter().any(|f| {
                matches!(
                    f,
                    Flag::NoEvidence | Flag::Conflict(_) | Flag::LowConfidence
                )
            }))
}

fn note(it: &Item) -> String {
    let mut notes: Vec<String> = it
        .flags
        .iter()
        .filter_map(|f| match f {
            Flag::Note(n) | Flag::Conflict(n) => Some(n.clone()),
            Flag::NoEvidence => Some("病案中未找到原文".into()),
            _ => None,
        })
        .collect();
    if let Some(s) = &it.source {
        notes.push(s.clone());
    }
    notes.join("；")
}

impl Task {
    pub fn new(items: &[Item]) -> Option<Task> {
        let doubtful: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, i)| in_doubt(i))
            .map(|(k, _)| k)
            .collect();
        (!doubtful.is_empty()).then_some(Task { doubtful })
    }

    /// With span context each question carries the item's own evidence.
    pub fn questions(
        &self,
        track: Track,
        items: &[Item],
        record: &Record,
        mode: ContextMode,
    ) -> Vec<Question> {
        let others: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
        self.doubtful
            .iter()
            .map(|&k| {
                Question::new(
                    minijinja::context! {
                        track => track.label(), track_zh => track.label_zh(), others => others,
                        item => items[k].text, note => note(&items[k]),
                        evidence => match mode {
                            ContextMode::Record => Vec::new(),
                            ContextMode::Spans => evidence::item_snippets(record, &items[k].evidence, evidence::WINDOW, evidence::MAX_SPANS),
                        }
                    },
                    enum_answer("keep", &["y", "n"]),
                )
            })
            .collect()
    }

    pub fn apply(
        &self,
        items: &[Item],
        answers: &[Option<Completion>],
        low: f32,
    ) -> Result<Vec<Item>, String> {
        let mut keep = vec![true; items.len()];
        let mut prob = vec![None; items.len()];
        // No agreed answer: the item stays, as the no-model stage left it.
        for (&k, c) in self
            .doubtful
            .iter()
            .zip(answers)
            .filter_map(|(k, c)| c.as_ref().map(|c| (k, c)))
        {
            let (yn, range) = string_value(&c.text, "keep")
                .filter(|(v, _)| v == "y" || v == "n")
                .ok_or_else(|| format!("answer is not {{\"keep\":\"y\"|\"n\"}}: {}", c.text))?;
            keep[k] = yn == "y";
            prob[k] = Some(span_prob(c, &range));
        }
        let mut out = Vec::new();
        for (k, it) in items.iter().enumerate() {
            if !keep[k] {
                continue;
            }
            let mut it = it.clone();
            if let Some(p) = prob[k] {
                it.confidence = Some(it.confidence.unwrap_or(1.0).min(p));
                if p < low {
                    it.flag(Flag::LowConfidence);
                }
            }
            out.push(it);
        }
        Ok(out)
    }
}
