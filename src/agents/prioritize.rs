//! Prioritization agent: the model names the principal item by number; the
//! rest keep the rule order.

use super::answer::{int_value, span_prob};
use crate::llm::Completion;
use crate::pipeline::{Flag, Item};
use crate::record::Track;

pub struct Task;

impl Task {
    pub fn new(items: &[Item]) -> Option<Task> {
        (items.len() >= 2).then_some(Task)
    }

    pub fn view(&self, track: Track, input: &[Item]) -> impl serde::Serialize {
        let items: Vec<&str> = input.iter().map(|i| i.text.as_str()).collect();
        minijinja::context! { track => track.label(), track_zh => track.label_zh(), items => items }
    }

    pub fn schema(&self, input: &[Item]) -> serde_json::Value {
        let nums: Vec<usize> = (1..=input.len()).collect();
        serde_json::json!({
            "type": "object",
            "properties": {"principal": {"type": "integer", "enum": nums}},
            "required": ["principal"]
        })
    }

    /// `input` is the list in field order (as shown to the model); `ruled`
    /// the rule-ordered list.
    pub fn apply(
        &self,
        input: &[Item],
        ruled: &[Item],
        c: &Completion,
        low: f32,
    ) -> Result<Vec<Item>, String> {
        let (n, range) = int_value(&c.text, "principal")
            .ok_or_else(|| format!("answer is not {{\"principal\":N}}: {}", c.text))?;
        let idx = usize::try_from(n - 1)
            .ok()
            .filter(|&i| i < input.len())
            .ok_or_else(|| format!("principal {n} out of range"))?;
        let chosen = &input[idx];
        let p = span_prob(c, &range);
        let mut out = Vec::with_capacity(ruled.len());
        let mut first = chosen.clone();
        first.confidence = Some(first.confidence.unwrap_or(1.0).min(p));
        if p < low {
            first.flag(Flag::LowConfidence);
        }
        out.push(first);
        let mut skipped = false;
        for it in ruled {
            if !skipped && it.text == chosen.text && it.code == chosen.code {
                skipped = true;
                continue;
            }
            out.push(it.clone());
        }
        Ok(out)
    }
}
