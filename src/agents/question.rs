//! One question to the model: the template context and the JSON schema of
//! its answer. Agents ask one short question per item, as parallel
//! sequences sharing the record prefix, rather than one long answer per
//! list: a small model then cannot drift into copying a pattern (`a, b, c`
//! or `y, n, n, n`), and each decision gets its own probability.

use serde::Serialize;

pub struct Question {
    pub context: minijinja::Value,
    pub schema: serde_json::Value,
}

impl Question {
    pub fn new(context: impl Serialize, schema: serde_json::Value) -> Self {
        Question {
            context: minijinja::Value::from_serialize(context),
            schema,
        }
    }
}

/// Schema of `{"<key>": one of <values>}`.
pub fn enum_answer(key: &str, values: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {key: {"type": "string", "enum": values}},
        "required": [key]
    })
}
