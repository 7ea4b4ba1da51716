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
    let Some((key, _, string)) = one_key(schema) else {
        return String::new();
    };
    let quote = if string { "\"" } else { "" };
    format!("{{{}:{quote}", serde_json::Value::from(key))
}

/// The texts that may follow [`answer_opening`] in an answer to `schema`,
/// when its one value is one of a list (`a"}` after `{"pick":"`): the
/// request hands them to the backend as its choices, so it can read the
/// answer off the model's distribution (or, a server, constrain the rest
/// with their grammar). Each is an answer the schema's grammar allows, in
/// its compact spelling (no space before `}`: a space would be one more
/// decoding step that says nothing). Empty when there is no opening or no
/// such list, or a value would need escaping in JSON.
pub fn answer_rest(schema: &serde_json::Value) -> Vec<String> {
    let Some((_, value, string)) = one_key(schema) else {
        return Vec::new();
    };
    let Some(values) = value.get("enum").and_then(|e| e.as_array()) else {
        return Vec::new();
    };
    let quote = if string { "\"" } else { "" };
    let mut rest = Vec::with_capacity(values.len());
    for v in values {
        let text = match (string, v) {
            (true, serde_json::Value::String(t)) => t.clone(),
            (false, serde_json::Value::Number(n)) => n.to_string(),
            _ => return Vec::new(),
        };
        // Without these, JSON spells the value as it is.
        let escaped = |c: char| c == '"' || c == '\\' || c.is_control();
        if text.is_empty() || text.chars().any(escaped) {
            return Vec::new();
        }
        rest.push(format!("{text}{quote}}}"));
    }
    rest
}

/// The key and value schema of a schema for a one-key object whose value
/// is a string (`true`) or a number (`false`).
fn one_key(schema: &serde_json::Value) -> Option<(&str, &serde_json::Value, bool)> {
    let props = schema.get("properties")?.as_object()?;
    let required = schema.get("required")?.as_array()?;
    let (key, value) = props.iter().next()?;
    if props.len() != 1 || required.len() != 1 || required[0].as_str() != Some(key) {
        return None;
    }
    let string = match value.get("type")?.as_str()? {
        "string" => true,
        "integer" | "number" => false,
        _ => return None,
    };
    Some((key.as_str(), value, string))
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
        assert!(answer_rest(&two).is_empty());
        assert_eq!(
            answer_opening(&serde_json::json!({"enum": ["yes", "no"]})),
            ""
        );
    }

    #[test]
    fn the_rest_after_the_opening_is_a_list_of_choices() {
        let pick = enum_answer("pick", &["a", "x"]);
        assert_eq!(answer_rest(&pick), ["a\"}", "x\"}"]);
        let num = serde_json::json!({"type": "object",
            "properties": {"principal": {"type": "integer", "enum": [1, 12]}},
            "required": ["principal"]});
        assert_eq!(answer_rest(&num), ["1}", "12}"]);
        // no list, or a value JSON would escape: the answer is generated whole
        let free = serde_json::json!({"type": "object",
            "properties": {"why": {"type": "string"}}, "required": ["why"]});
        assert!(answer_rest(&free).is_empty());
        assert!(answer_rest(&enum_answer("pick", &["a\"b"])).is_empty());
        assert!(answer_rest(&enum_answer("pick", &[])).is_empty());
    }
}
