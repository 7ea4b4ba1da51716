//! Prioritization agent: the model names the principal item by number. The
//! items are shown in the rule order, so the first is the rules' choice and
//! the model overrides it only by naming another.

use super::answer::{int_value, span_prob};
use super::evidence::{self, ContextMode};
use super::question::Question;
use crate::llm::Completion;
use crate::pipeline::{Flag, Item};
use crate::record::{Record, Track};

/// Characters either side of an item's evidence line.
const LINE_WINDOW: usize = 15;

pub struct Task;

impl Task {
    pub fn new(items: &[Item]) -> Option<Task> {
        (items.len() >= 2).then_some(Task)
    }

    /// With span context each item comes with one line of its evidence.
    pub fn question(
        &self,
        track: Track,
        ruled: &[Item],
        record: &Record,
        mode: ContextMode,
    ) -> Question {
        let items: Vec<&str> = ruled.iter().map(|i| i.text.as_str()).collect();
        let evidence: Vec<String> = ruled
            .iter()
            .map(|i| match mode {
                ContextMode::Record => String::new(),
                ContextMode::Spans => evidence::item_snippets(record, &i.evidence, LINE_WINDOW, 1)
                    .pop()
                    .unwrap_or_default(),
            })
            .collect();
        let nums: Vec<usize> = (1..=ruled.len()).collect();
        Question::new(
            minijinja::context! { track => track.label(), track_zh => track.label_zh(), items => items, evidence => evidence },
            serde_json::json!({
                "type": "object",
                "properties": {"principal": {"type": "integer", "enum": nums}},
                "required": ["principal"]
            }),
        )
    }

    /// Moves the chosen item to the front of the rule-ordered list.
    /// `None` (no agreed answer) keeps the rule order.
    pub fn apply(
        &self,
        ruled: &[Item],
        c: Option<&Completion>,
        low: f32,
    ) -> Result<Vec<Item>, String> {
        let Some(c) = c else {
            return Ok(ruled.to_vec());
        };
        let (n, range) = int_value(&c.text, "principal")
            .ok_or_else(|| format!("answer is not {{\"principal\":N}}: {}", c.text))?;
        let idx = usize::try_from(n - 1)
            .ok()
            .filter(|&i| i < ruled.len())
            .ok_or_else(|| format!("principal {n} out of range"))?;
        let p = span_prob(c, &range);
        let mut out = ruled.to_vec();
        let mut first = out.remove(idx);
        first.confidence = Some(first.confidence.unwrap_or(1.0).min(p));
        if p < low {
            first.flag(Flag::LowConfidence);
        }
        out.insert(0, first);
        Ok(out)
    }
}
