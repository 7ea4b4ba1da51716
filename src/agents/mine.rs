//! Candidate-mining agent: retrieval finds procedure mentions in the
//! operative report and course notes; the model confirms, one candidate per
//! question, which were done this admission.

use super::answer::{span_prob, string_value};
use super::evidence::{self, ContextMode};
use super::question::{enum_answer, Question};
use crate::llm::Completion;
use crate::pipeline::{Flag, Item, Origin};
use crate::record::Record;
use crate::text::last_chars;

/// The listed procedures (the input) and the mined candidates after them.
pub struct Task {
    pub listed: usize,
}

impl Task {
    pub fn new(input_len: usize, mined: &[Item]) -> Option<Task> {
        (mined.len() > input_len).then_some(Task { listed: input_len })
    }

    pub fn questions(&self, record: &Record, items: &[Item], mode: ContextMode) -> Vec<Question> {
        let listed: Vec<&str> = items[..self.listed]
            .iter()
            .map(|i| i.text.as_str())
            .collect();
        items[self.listed..]
            .iter()
            .map(|c| {
                // The record is in the prefix with record context: a short
                // window places the mention; alone, the span needs more.
                let evidence = match mode {
                    ContextMode::Record => c.evidence.first().map(|s| context_snippet(record, s)).unwrap_or_default(),
                    ContextMode::Spans => evidence::item_snippets(record, &c.evidence, evidence::WINDOW, 1).pop().unwrap_or_default(),
                };
                Question::new(
                    minijinja::context! { listed => listed, candidate => c.text, evidence => evidence },
                    enum_answer("done", &["y", "n"]),
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
        let mut out = items[..self.listed].to_vec();
        for (it, c) in items[self.listed..].iter().zip(answers) {
            // No agreed answer: the candidate stays as retrieval mined it.
            let Some(c) = c else {
                out.push(it.clone());
                continue;
            };
            let (yn, range) = string_value(&c.text, "done")
                .filter(|(v, _)| v == "y" || v == "n")
                .ok_or_else(|| format!("answer is not {{\"done\":\"y\"|\"n\"}}: {}", c.text))?;
            if yn == "y" {
                let mut it = it.clone();
                let p = span_prob(c, &range);
                it.origin = Origin::Agent;
                it.confidence = Some(p);
                if p < low {
                    it.flag(Flag::LowConfidence);
                }
                out.push(it);
            }
        }
        Ok(out)
    }
}

/// The evidence with some text around it, for the prompt.
pub fn context_snippet(record: &Record, s: &crate::pipeline::Span) -> String {
    let Some(sec) = record.sections.get(s.section) else {
        return String::new();
    };
    let t = &sec.text;
    if s.end > t.len() || !t.is_char_boundary(s.start) || !t.is_char_boundary(s.end) {
        return String::new();
    }
    let before = last_chars(&t[..s.start], 12);
    let after: String = t[s.end..].chars().take(12).collect();
    format!("{before}{}{after}", &t[s.start..s.end])
}
