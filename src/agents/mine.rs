//! Candidate-mining agent: retrieval finds procedure mentions in the
//! operative report and course notes; the model confirms which were done.

use serde::Serialize;

use super::answer::{array_values, span_prob};
use crate::llm::Completion;
use crate::pipeline::{Flag, Item, Origin};
use crate::record::Record;

#[derive(Serialize)]
struct CandidateView {
    text: String,
    evidence: String,
}

/// The listed procedures (input) and the mined candidates after them.
pub struct Task {
    pub listed: usize,
}

impl Task {
    pub fn new(input_len: usize, mined: &[Item]) -> Option<Task> {
        (mined.len() > input_len).then_some(Task { listed: input_len })
    }

    pub fn view(&self, record: &Record, items: &[Item]) -> impl Serialize {
        let listed: Vec<&str> = items[..self.listed]
            .iter()
            .map(|i| i.text.as_str())
            .collect();
        let candidates: Vec<CandidateView> = items[self.listed..]
            .iter()
            .map(|i| CandidateView {
                text: i.text.clone(),
                evidence: i
                    .evidence
                    .first()
                    .map(|s| context_snippet(record, s))
                    .unwrap_or_default(),
            })
            .collect();
        minijinja::context! { listed => listed, candidates => candidates }
    }

    pub fn schema(&self, items: &[Item]) -> serde_json::Value {
        let n = items.len() - self.listed;
        serde_json::json!({
            "type": "object",
            "properties": {"done": {"type": "array", "items": {"type": "string", "enum": ["y", "n"]}, "minItems": n, "maxItems": n}},
            "required": ["done"]
        })
    }

    pub fn apply(&self, items: &[Item], c: &Completion, low: f32) -> Result<Vec<Item>, String> {
        let done = array_values(&c.text, "done")
            .ok_or_else(|| format!("answer is not {{\"done\":[…]}}: {}", c.text))?;
        if done.len() != items.len() - self.listed {
            return Err(format!(
                "{} answers for {} candidates",
                done.len(),
                items.len() - self.listed
            ));
        }
        let mut out = items[..self.listed].to_vec();
        for (it, (yn, range)) in items[self.listed..].iter().zip(done) {
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
    let before: String = t[..s.start]
        .chars()
        .rev()
        .take(12)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let after: String = t[s.end..].chars().take(12).collect();
    format!("{before}{}{after}", &t[s.start..s.end])
}
