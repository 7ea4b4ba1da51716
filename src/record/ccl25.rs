//! Importer for CCL25-Eval Task 8 records (JSON array of flat objects).
//!
//! `病案标识` is the id; every other field except the two code fields becomes
//! a section, in the order of the object's keys. Gold diagnoses are
//! `主要诊断编码` (the principal) followed by `其他诊断编码` (`;`-separated,
//! possibly empty). CCL25 has no procedure gold, so `procedures` is `None`;
//! unlabelled files have no code fields and get no gold at all.

use serde_json::Value;

use super::codes::RawGold;
use super::collect::Collector;
use super::json::{flatten_text, scalar_text};
use super::{Gold, Record, Section, Track};

/// The id field.
pub const ID_FIELD: &str = "病案标识";
/// The principal diagnosis code field.
pub const PRINCIPAL_FIELD: &str = "主要诊断编码";
/// The other diagnosis codes field (`;`-separated).
pub const OTHERS_FIELD: &str = "其他诊断编码";

/// Separators seen between codes in one cell (ASCII and full-width).
const CODE_SEPARATORS: &[char] = &[';', '；', ',', '，', '、', '\n'];

/// Converts one CCL25 object and hands it to the collector.
pub(crate) fn push_object(fields: &[(String, Value)], position: String, c: &mut Collector) {
    let mut record = Record::new(String::new());
    let mut principal: Option<&Value> = None;
    let mut others: Option<&Value> = None;
    for (key, value) in fields {
        match key.as_str() {
            ID_FIELD => record.id = scalar_text(value).unwrap_or_default(),
            PRINCIPAL_FIELD => principal = Some(value),
            OTHERS_FIELD => others = Some(value),
            _ => {
                let text = match value {
                    Value::Null => continue,
                    Value::Array(_) | Value::Object(_) => flatten_text(value),
                    v => scalar_text(v).unwrap_or_default(),
                };
                record.sections.push(Section {
                    name: key.clone(),
                    text,
                });
            }
        }
    }
    if principal.is_some() || others.is_some() {
        let label = if record.id.trim().is_empty() {
            position.clone()
        } else {
            record.id.trim().to_owned()
        };
        let mut principal_codes = principal.map(split_codes).unwrap_or_default();
        let mut other_codes = others.map(split_codes).unwrap_or_default();
        if principal_codes.len() > 1 {
            c.error(
                &label,
                Some(PRINCIPAL_FIELD),
                format!(
                    "holds {} codes; the first is taken as principal, the rest as other codes",
                    principal_codes.len()
                ),
            );
            let extra: Vec<String> = principal_codes.drain(1..).collect();
            other_codes.splice(0..0, extra);
        }
        let slot = |field: &str, code: String| RawGold {
            code_field: field.to_owned(),
            code,
            ..Default::default()
        };
        let principal = principal_codes
            .pop()
            .map(|code| slot(PRINCIPAL_FIELD, code));
        let others = other_codes
            .into_iter()
            .map(|code| slot(OTHERS_FIELD, code))
            .collect();
        record.gold = Gold {
            diagnoses: c.gold_track(&label, Track::Diagnosis, principal, others),
            procedures: None,
        };
    }
    c.push(record, position);
}

/// The non-blank codes of a code field (a string list or a JSON array).
fn split_codes(v: &Value) -> Vec<String> {
    let pieces: Vec<String> = match v {
        Value::Array(items) => items.iter().filter_map(scalar_text).collect(),
        other => scalar_text(other).into_iter().collect(),
    };
    pieces
        .iter()
        .flat_map(|p| p.split(CODE_SEPARATORS))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}
