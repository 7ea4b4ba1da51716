//! JSON helpers shared by the CCL25 and project-schema importers.
//!
//! `serde_json::Value` keeps object keys sorted, but CCL25's section order is
//! the order of its keys, so objects are read through [`Item`], which keeps
//! the key order. Elements that are not objects are kept as a description so
//! the importer can report them per record instead of failing the file.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// One JSON value read with object key order preserved at the top level.
#[derive(Debug)]
pub(crate) enum Item {
    Object(Vec<(String, Value)>),
    /// Not an object: what it was (`array`, `string`, …).
    Other(&'static str),
}

impl Item {
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Item::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            Item::Other(_) => None,
        }
    }
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        let mut fields = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            fields.push((k, v));
        }
        Ok(Item::Object(fields))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Item::Other("an array"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Item, E> {
        Ok(Item::Other("a string"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Item, E> {
        Ok(Item::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Item, E> {
        Ok(Item::Other("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Item, E> {
        Ok(Item::Other("a number"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Item, E> {
        Ok(Item::Other("a boolean"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Item, E> {
        Ok(Item::Other("null"))
    }
}

/// A scalar as record text: strings as they are, numbers in their JSON
/// spelling (ids are sometimes numbers), `null` as absent.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Any value as readable text: nested objects become `key：value` lines and
/// arrays one line per element (CCL25's keyword file nests its extractions).
pub(crate) fn flatten_text(v: &Value) -> String {
    let mut out = String::new();
    flatten_into(v, &mut out);
    out.trim_end().to_owned()
}

fn flatten_into(v: &Value, out: &mut String) {
    match v {
        Value::Array(items) => {
            for item in items {
                flatten_into(item, out);
                if !out.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                out.push_str(k);
                out.push('：');
                flatten_into(item, out);
                if !out.ends_with('\n') {
                    out.push('\n');
                }
            }
        }
        other => out.push_str(&scalar_text(other).unwrap_or_default()),
    }
}

/// Describes a serde_json error with its line and column (1-based).
pub(crate) fn describe_error(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Eof => "unexpected end of JSON",
        serde_json::error::Category::Syntax => "malformed JSON",
        serde_json::error::Category::Data => "unexpected JSON content",
        serde_json::error::Category::Io => "cannot read JSON",
    };
    // serde_json's Display already ends with "at line L column C".
    format!("{what}: {e}")
}

/// Replaces the bare `NaN`, `Infinity` and `-Infinity` tokens that pandas
/// and Python's `json` write for missing values (not JSON, so serde_json
/// rejects them) with `null`, leaving string contents alone. Columns reported
/// for later errors on such a line shift by the length difference.
pub(crate) fn replace_non_finite(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return std::borrow::Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let token = [&b"NaN"[..], b"Infinity", b"-Infinity"]
            .into_iter()
            .find(|t| bytes[i..].starts_with(t));
        let boundary_before = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if let (Some(t), true) = (token, boundary_before) {
            let end = i + t.len();
            if end == bytes.len() || !bytes[end].is_ascii_alphanumeric() {
                out.push_str(&text[copied..i]);
                out.push_str("null");
                copied = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_tokens_become_null_outside_strings() {
        let s = r#"[{"a": NaN, "b": "NaN \" Infinity", "c": -Infinity, "d": [Infinity]}]"#;
        let fixed = replace_non_finite(s);
        assert_eq!(
            fixed,
            r#"[{"a": null, "b": "NaN \" Infinity", "c": null, "d": [null]}]"#
        );
        assert!(serde_json::from_str::<Value>(&fixed).is_ok());
        assert!(matches!(
            replace_non_finite("[1, 2]"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
