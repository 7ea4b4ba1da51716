//! Validation agent: the model keeps (y) or drops (n) each item of the
//! rule-checked list; items the coder wrote are never dropped.

use serde::Serialize;

use super::answer::{array_values, span_prob};
use crate::llm::Completion;
use crate::pipeline::{Flag, Item, Origin};
use crate::record::Track;

#[derive(Serialize)]
struct ItemView {
    text: String,
    note: String,
}

pub struct Task;

impl Task {
    pub fn new(items: &[Item]) -> Option<Task> {
        (!items.is_empty()).then_some(Task)
    }

    pub fn view(&self, track: Track, items: &[Item]) -> impl Serialize {
        let items: Vec<ItemView> = items
            .iter()
            .map(|i| ItemView {
                text: i.text.clone(),
                note: i
                    .flags
                    .iter()
                    .map(|f| match f {
                        Flag::Note(n) => n.clone(),
                        Flag::Conflict(c) => c.clone(),
                        Flag::NoEvidence => "病案中未找到原文".into(),
                        _ => String::new(),
                    })
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("；"),
            })
            .collect();
        minijinja::context! { track => track.label(), track_zh => track.label_zh(), items => items }
    }

    pub fn schema(&self, items: &[Item]) -> serde_json::Value {
        let n = items.len();
        serde_json::json!({
            "type": "object",
            "properties": {"keep": {"type": "array", "items": {"type": "string", "enum": ["y", "n"]}, "minItems": n, "maxItems": n}},
            "required": ["keep"]
        })
    }

    pub fn apply(&self, items: &[Item], c: &Completion, low: f32) -> Result<Vec<Item>, String> {
        let keep = array_values(&c.text, "keep")
            .ok_or_else(|| format!("answer is not {{\"keep\":[…]}}: {}", c.text))?;
        if keep.len() != items.len() {
            return Err(format!("{} answers for {} items", keep.len(), items.len()));
        }
        let mut out = Vec::new();
        for (it, (yn, range)) in items.iter().zip(keep) {
            let p = span_prob(c, &range);
            if yn == "n" && it.origin != Origin::Coder {
                continue;
            }
            let mut it = it.clone();
            if yn == "y" {
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
