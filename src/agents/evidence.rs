//! What an agent question shows of the record.
//!
//! `record` context: the whole record (cut to the token budget) is the shared
//! prefix of every call. `spans` context (the default): the shared prefix is
//! the face sheet only — the coding fields and the chief complaint, which
//! every question needs — and each question carries the few record spans
//! that bear on it, with a window of text around each. A small model then
//! reads a few hundred tokens per record instead of thousands, and what it
//! reads is what the decision rests on.

use serde::Deserialize;

use crate::pipeline::Span;
use crate::record::{fields, Record};
use crate::text::last_chars;

/// How much of the record an agent's questions carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextMode {
    /// The face sheet plus the spans each question rests on.
    #[default]
    Spans,
    /// The whole record.
    Record,
}

impl ContextMode {
    pub fn name(self) -> &'static str {
        match self {
            ContextMode::Spans => "spans",
            ContextMode::Record => "record",
        }
    }
}

/// Sections the face sheet carries whole.
pub const FACE_SHEET: [&str; 4] = [
    fields::CHIEF_COMPLAINT,
    fields::ADMISSION_DIAGNOSIS,
    fields::DISCHARGE_DIAGNOSIS,
    fields::PROCEDURE_NAMES,
];

/// Characters of context on each side of a span in a question.
pub const WINDOW: usize = 30;
/// Spans shown per question at most.
pub const MAX_SPANS: usize = 2;

/// The record with only its face-sheet sections (same id), for the prefix.
pub fn face_sheet(record: &Record) -> Record {
    let mut r = Record::new(record.id.clone());
    r.sections = record
        .sections
        .iter()
        .filter(|s| FACE_SHEET.contains(&s.name.as_str()))
        .cloned()
        .collect();
    r
}

/// True when the span lies in a face-sheet section (already in the prefix).
pub fn in_face_sheet(record: &Record, s: &Span) -> bool {
    record
        .sections
        .get(s.section)
        .is_some_and(|sec| FACE_SHEET.contains(&sec.name.as_str()))
}

/// The span's text with `window` characters either side, prefixed by its
/// section name; empty when the span does not fit the record.
pub fn snippet(record: &Record, s: &Span, window: usize) -> String {
    match around(record, s, window) {
        Some((name, text)) => format!(
            "{name}：{}",
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
        None => String::new(),
    }
}

/// The span's section name, and its text with `window` characters either
/// side; `None` when the span does not fit the record.
fn around<'r>(record: &'r Record, s: &Span, window: usize) -> Option<(&'r str, String)> {
    let sec = record.sections.get(s.section)?;
    let t = &sec.text;
    if s.start > s.end
        || s.end > t.len()
        || !t.is_char_boundary(s.start)
        || !t.is_char_boundary(s.end)
    {
        return None;
    }
    let before = last_chars(&t[..s.start], window);
    let after: String = t[s.end..].chars().take(window).collect();
    Some((&sec.name, format!("{before}{}{after}", &t[s.start..s.end])))
}

/// Characters either side of a span that make two places "the same
/// sentence" when they are equal (see [`item_snippets`]).
const COPY_CORE: usize = 10;

/// Snippets of an item's own evidence outside the face sheet (`window`
/// characters either side), at most `max`, near neighbours merged. A place
/// whose sentence another section copies (入院情况 repeating 既往史, word for
/// word around the span) is shown once: the copy tells the model nothing
/// new and costs as many prompt tokens as the first.
pub fn item_snippets(record: &Record, spans: &[Span], window: usize, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cores: Vec<String> = Vec::new();
    let mut last: Option<Span> = None;
    for s in spans.iter().filter(|s| !in_face_sheet(record, s)) {
        if out.len() >= max {
            break;
        }
        if last.is_some_and(|l| l.section == s.section && s.start < l.end + window * 3) {
            continue;
        }
        // The sentence around the span, spaces aside, whatever the section.
        let core: String = around(record, s, COPY_CORE)
            .map(|(_, t)| t.split_whitespace().collect())
            .unwrap_or_default();
        if cores.contains(&core) {
            continue;
        }
        let text = snippet(record, s, window);
        if !text.is_empty() && !out.contains(&text) {
            out.push(text);
            cores.push(core);
            last = Some(*s);
        }
    }
    out
}

/// Where the first of `needles` that occurs outside the face sheet does,
/// as spans (at most [`MAX_SPANS`]): the narrative behind a field item.
pub fn find_in_narrative(record: &Record, needles: &[&str]) -> Vec<Span> {
    for needle in needles.iter().filter(|n| n.chars().count() >= 2) {
        let mut spans = Vec::new();
        for (i, sec) in record.sections.iter().enumerate() {
            if FACE_SHEET.contains(&sec.name.as_str()) {
                continue;
            }
            for (start, m) in sec.text.match_indices(needle) {
                spans.push(Span {
                    section: i,
                    start,
                    end: start + m.len(),
                });
                if spans.len() >= MAX_SPANS {
                    return spans;
                }
            }
        }
        if !spans.is_empty() {
            return spans;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record::new("r")
            .with_section("主诉", "胸痛3天")
            .with_section("出院诊断", "1.冠心病")
            .with_section(
                "诊疗经过",
                "入院后完善检查，冠脉造影示前降支狭窄90%，植入支架1枚。术后 恢复好。",
            )
    }

    #[test]
    fn the_face_sheet_keeps_the_coding_fields_and_the_complaint() {
        let f = face_sheet(&record());
        let names: Vec<&str> = f.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["主诉", "出院诊断"]);
        assert_eq!(f.id, "r");
    }

    #[test]
    fn narrative_spans_come_with_their_window_and_section() {
        let r = record();
        let spans = find_in_narrative(&r, &["冠心病", "造影"]);
        // 冠心病 is only in the face sheet: the next needle is looked for
        assert_eq!(spans.len(), 1);
        let s = item_snippets(&r, &spans, WINDOW, MAX_SPANS);
        assert_eq!(s.len(), 1);
        assert!(s[0].starts_with("诊疗经过："), "{}", s[0]);
        assert!(s[0].contains("冠脉造影示前降支狭窄"), "{}", s[0]);
        // spans in the face sheet are not repeated
        let face = Span {
            section: 1,
            start: 0,
            end: 3,
        };
        assert!(item_snippets(&r, &[face], WINDOW, MAX_SPANS).is_empty());
        // a span that does not fit gives nothing rather than a panic
        let bad = Span {
            section: 2,
            start: 1,
            end: 4,
        };
        assert_eq!(snippet(&r, &bad, 5), "");
    }

    #[test]
    fn a_sentence_copied_into_another_section_is_shown_once() {
        let r = Record::new("r")
            .with_section(
                "既往史",
                "平素既往血压控制尚可，“肺结节、甲状腺结节、子宫肌瘤”4年，否认糖尿病",
            )
            .with_section(
                "入院情况",
                "患者既往血压控制尚可，“肺结节、甲状腺结节、子宫肌瘤”4年，否认糖尿病等慢性病史",
            )
            .with_section("诊疗经过", "复查胸部CT：肺结节较前无变化。");
        let spans = find_in_narrative(&r, &["肺结节"]);
        assert_eq!(spans.len(), 2);
        let s = item_snippets(&r, &spans, WINDOW, MAX_SPANS);
        assert_eq!(s.len(), 1, "{s:?}");
        assert!(s[0].starts_with("既往史："), "{}", s[0]);
        // A different sentence naming the same thing is kept.
        let all: Vec<Span> = ["既往史", "诊疗经过"]
            .iter()
            .map(|name| {
                let i = r.section_index(name).unwrap();
                let start = r.sections[i].text.find("肺结节").unwrap();
                Span {
                    section: i,
                    start,
                    end: start + "肺结节".len(),
                }
            })
            .collect();
        assert_eq!(item_snippets(&r, &all, WINDOW, MAX_SPANS).len(), 2);
    }
}
