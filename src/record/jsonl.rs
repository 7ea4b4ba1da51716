//! Importer for the project's own record schema, as JSON Lines or a JSON array.
//!
//! # Record schema
//!
//! One record is one JSON object, exactly as serde serializes
//! [`Record`]:
//!
//! ```json
//! {"id": "ZY0001",
//!  "sections": [{"name": "主诉", "text": "反复胸闷3年，加重2天。"},
//!               {"name": "出院诊断", "text": "1.冠状动脉粥样硬化性心脏病2.高血压病（3级很高危）"}],
//!  "gold": {"diagnoses": [{"code": "I25.103", "name": "冠状动脉粥样硬化性心脏病"},
//!                         {"code": "I10.x00x032"}],
//!           "procedures": []}}
//! ```
//!
//! - `id` (string; a number is accepted and kept as written): unique within
//!   the input.
//! - `sections` (array, required): `{"name", "text"}` objects in reading
//!   order. Names are free, but the pipeline looks for the usual ones
//!   (主诉, 现病史, 既往史, 入院诊断, 诊疗经过, 手术名称, 手术经过, 出院诊断, …;
//!   see [`fields`](super::fields)). A name may repeat. Blank sections are
//!   dropped on import.
//! - `gold` (optional): `diagnoses` (ICD-10, 国临2.0) and `procedures`
//!   (ICD-9-CM-3, 国临3.0), each a list of `{"code", "name"?}` with the
//!   **principal code first**. A missing list means "no gold for this
//!   track"; an empty list means "gold says: no codes". A bare code string is
//!   accepted in place of an object.
//!
//! Files: `.jsonl` holds one record per line (blank lines ignored); a `.json`
//! file may hold an array of records, or a single record object. Text is
//! UTF-8 (a BOM, UTF-16 and GB18030 are also read). Other fields are ignored,
//! so the schema may grow. A JSON Lines line that holds a CCL25 object
//! (`病案标识`, no `sections`) is imported as CCL25.

use serde_json::Value;

use super::codes::RawGold;
use super::collect::Collector;
use super::json::{describe_error, scalar_text, Item};
use super::{ccl25, Gold, Record, Section, Track};

/// The id field.
pub const ID_FIELD: &str = "id";

/// Loads JSON Lines text. A malformed line is reported with its line and
/// column and skipped; the other lines still load.
pub(crate) fn load_lines(text: &str, c: &mut Collector) {
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        load_line(line, lineno, c);
    }
}

/// Loads one non-empty line, number `lineno`: its record, or an error with
/// line and column (the line is skipped). Shared by the whole-file and the
/// streaming readers.
pub(crate) fn load_line(line: &str, lineno: usize, c: &mut Collector) {
    let position = format!("line {lineno}");
    match serde_json::from_str::<Item>(line) {
        Ok(item) => push_item(item, position, c),
        Err(e) => c.error(
            &position,
            None,
            format!(
                "line {lineno} column {}: {}; line skipped",
                e.column(),
                describe_error(&e)
            ),
        ),
    }
}

/// Routes one parsed element: a project record, a CCL25 object, or an error.
pub(crate) fn push_item(item: Item, position: String, c: &mut Collector) {
    match item {
        Item::Other(kind) => c.error(
            &position,
            None,
            format!("expected a record object, found {kind}; skipped"),
        ),
        Item::Object(fields) => {
            let has = |k: &str| fields.iter().any(|(key, _)| key == k);
            if has("sections") || (has(ID_FIELD) && !has(ccl25::ID_FIELD)) {
                push_object(&fields, position, c);
            } else if has(ccl25::ID_FIELD) {
                ccl25::push_object(&fields, position, c);
            } else {
                c.error(
                    &position,
                    None,
                    format!(
                        "object has neither `id`+`sections` (icdflow schema) nor `{}` (CCL25); skipped",
                        ccl25::ID_FIELD
                    ),
                );
            }
        }
    }
}

/// Converts one object in the project schema and hands it to the collector.
pub(crate) fn push_object(fields: &[(String, Value)], position: String, c: &mut Collector) {
    let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v);
    let id = get(ID_FIELD).and_then(scalar_text).unwrap_or_default();
    let label = if id.trim().is_empty() {
        position.clone()
    } else {
        id.trim().to_owned()
    };
    let mut record = Record::new(id);

    match get("sections") {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match section_from(item) {
                    Ok(Some(s)) => record.sections.push(s),
                    Ok(None) => {}
                    Err(msg) => c.error(&label, Some(&format!("sections[{i}]")), msg),
                }
            }
        }
        Some(other) => {
            c.error(
                &label,
                Some("sections"),
                format!(
                    "`sections` must be an array, found {}; record skipped",
                    kind(other)
                ),
            );
            return;
        }
        None => {
            c.error(
                &label,
                Some("sections"),
                "missing `sections`; record skipped",
            );
            return;
        }
    }

    match get("gold") {
        None | Some(Value::Null) => {}
        Some(Value::Object(gold)) => {
            record.gold = Gold {
                diagnoses: gold_list(c, &label, Track::Diagnosis, gold.get("diagnoses")),
                procedures: gold_list(c, &label, Track::Procedure, gold.get("procedures")),
            }
        }
        Some(other) => c.error(
            &label,
            Some("gold"),
            format!(
                "`gold` must be an object, found {}; gold ignored",
                kind(other)
            ),
        ),
    }
    c.push(record, position);
}

fn section_from(item: &Value) -> Result<Option<Section>, String> {
    let Value::Object(map) = item else {
        return Err(format!(
            "expected {{\"name\", \"text\"}}, found {}; section skipped",
            kind(item)
        ));
    };
    let name = match map.get("name").and_then(scalar_text) {
        Some(n) if !n.trim().is_empty() => n,
        _ => return Err("section has no `name`; section skipped".to_owned()),
    };
    match map.get("text") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match scalar_text(v) {
            Some(text) => Ok(Some(Section { name, text })),
            None => Err(format!(
                "section `{name}`: `text` must be a string, found {}; section skipped",
                kind(v)
            )),
        },
    }
}

fn gold_list(
    c: &mut Collector,
    label: &str,
    track: Track,
    value: Option<&Value>,
) -> Option<Vec<super::GoldCode>> {
    let key = match track {
        Track::Diagnosis => "diagnoses",
        Track::Procedure => "procedures",
    };
    let items = match value {
        None | Some(Value::Null) => return None,
        Some(Value::Array(items)) => items,
        Some(other) => {
            c.error(
                label,
                Some(&format!("gold.{key}")),
                format!(
                    "must be an array, found {}; {key} gold ignored",
                    kind(other)
                ),
            );
            return None;
        }
    };
    let mut slots = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("gold.{key}[{i}]");
        let (code, name) = match item {
            Value::Object(m) => (
                m.get("code").and_then(scalar_text).unwrap_or_default(),
                m.get("name").and_then(scalar_text).unwrap_or_default(),
            ),
            // A bare code; anything else is spelled out so the shape check
            // reports it (and a bad principal still voids the track).
            other => (
                scalar_text(other).unwrap_or_else(|| other.to_string()),
                String::new(),
            ),
        };
        slots.push(RawGold {
            code_field: format!("{field}.code"),
            code,
            name_field: Some(format!("{field}.name")),
            name,
        });
    }
    let mut slots = slots.into_iter();
    let principal = slots.next();
    c.gold_track(label, track, principal, slots.collect())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
