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

/// What every answer to `schema` begins with, when the schema is a
/// one-key object (`{"pick":"` for a string, `{"principal":` for a number):
/// the request hands it to the backend as a prefill, so the model does not
/// spend a decoding step on each of these tokens. Empty for other schemas.
pub fn answer_opening(schema: &serde_json::Value) -> String {
    let props = schema.get("properties").and_then(|p| p.as_object());
    let required = schema.get("required").and_then(|r| r.as_array());
    let (Some(props), Some(required)) = (props, required) else {
        return String::new();
    };
    let Some((key, value)) = props.iter().next() else {
        return String::new();
    };
    if props.len() != 1 || required.len() != 1 || required[0].as_str() != Some(key) {
        return String::new();
    }
    let quote = match value.get("type").and_then(|t| t.as_str()) {
        Some("string") => "\"",
        Some("integer") | Some("number") => "",
        _ => return String::new(),
    };
    format!("{{{}:{quote}", serde_json::Value::from(key.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_answers_have_an_opening_that_their_grammar_allows() {
        let pick = enum_answer("pick", &["a", "b", "x"]);
        assert_eq!(answer_opening(&pick), r#"{"pick":""#);
        let num = serde_json::json!({"type": "object",
            "properties": {"principal": {"type": "integer", "enum": [1, 2]}},
            "required": ["principal"]});
        assert_eq!(answer_opening(&num), r#"{"principal":"#);
        // The opening is where the grammar's own answers begin.
        for (schema, answer) in [(&pick, r#"{"pick":"b"}"#), (&num, r#"{"principal":2}"#)] {
            let opening = answer_opening(schema);
            assert!(answer.starts_with(&opening), "{answer} vs {opening}");
            crate::llm::grammar_from_json_schema(schema).expect("grammar");
        }
        // Anything else has none.
        let two = serde_json::json!({"type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "required": ["a", "b"]});
        assert_eq!(answer_opening(&two), "");
        assert_eq!(
            answer_opening(&serde_json::json!({"enum": ["yes", "no"]})),
            ""
        );
    }
}
