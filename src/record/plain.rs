//! Importer for one record in plain text with section headings.
//!
//! A heading starts a line and takes one of three forms:
//! - `【出院诊断】` — any name of up to 20 characters;
//! - `[出院诊断]` — any name of up to 20 characters holding a Chinese
//!   character (so that `[1]` in running text is no heading);
//! - `出院诊断：` / `出院诊断:` — only for the known section names in
//!   [`HEADING_NAMES`], because `血压: 120/80mmHg` must stay text.
//!
//! Text after a heading on the same line belongs to that section. Text before
//! the first heading goes to a section named [`BODY`]. The record id is the
//! first token after the first `ID:` / `病案号：` / `住院号：` / `病案标识：`
//! at a line start (removed from the text), else the file stem. A text file holds exactly one record.

use std::sync::LazyLock;

use regex::Regex;

use super::{Record, Section};
use crate::text::has_cjk;

/// Section name for text before the first heading.
pub const BODY: &str = super::fields::BODY;

/// Names accepted in the `名称：` heading form.
pub const HEADING_NAMES: &[&str] = &[
    "主诉",
    "现病史",
    "既往史",
    "个人史",
    "婚姻史",
    "月经史",
    "婚育史",
    "生育史",
    "家族史",
    "体格检查",
    "专科检查",
    "专科情况",
    "辅助检查",
    "入院情况",
    "入院诊断",
    "初步诊断",
    "诊疗经过",
    "病程记录",
    "手术名称",
    "手术经过",
    "手术记录",
    "术前诊断",
    "术后诊断",
    "麻醉方式",
    "病理诊断",
    "影像学意见",
    "超声提示",
    "超声印象",
    "出院诊断",
    "出院情况",
    "出院医嘱",
    "出院带药",
];

static BRACKET_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:【([^】\n]{1,20})】|\[([^\]\n]{1,20})\])\s*[:：]?\s*(.*)$")
        .expect("valid bracket heading regex")
});

static COLON_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^\s*({})\s*[:：]\s*(.*)$",
        HEADING_NAMES.join("|")
    ))
    .expect("valid colon heading regex")
});

static ID_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?i:ID|病案号|住院号|病案标识)\s*[:：]\s*(\S+)\s*(.*)$")
        .expect("valid id line regex")
});

/// Splits a heading line into (section name, rest of the line).
pub(crate) fn heading(line: &str) -> Option<(String, &str)> {
    if let Some(caps) = BRACKET_HEADING.captures(line) {
        let rest = caps.get(3).map_or("", |m| m.as_str());
        if let Some(name) = caps.get(1) {
            return Some((name.as_str().trim().to_owned(), rest));
        }
        if let Some(name) = caps.get(2) {
            if has_cjk(name.as_str()) {
                return Some((name.as_str().trim().to_owned(), rest));
            }
        }
    }
    let caps = COLON_HEADING.captures(line)?;
    Some((caps[1].to_owned(), caps.get(2).map_or("", |m| m.as_str())))
}

/// Parses one record from decoded text; `fallback_id` is used when the text
/// has no id line.
pub fn parse_text(text: &str, fallback_id: &str) -> Record {
    let mut record = Record::new(fallback_id);
    let mut found_id = false;
    let mut current = Section {
        name: BODY.to_owned(),
        text: String::new(),
    };
    for line in text.lines() {
        if !found_id {
            if let Some(caps) = ID_LINE.captures(line) {
                record.id = caps[1].to_owned();
                found_id = true;
                // `住院号：123 床号：5`: the id is the first token; keep the rest.
                let rest = caps[2].trim();
                if !rest.is_empty() {
                    if !current.text.is_empty() {
                        current.text.push('\n');
                    }
                    current.text.push_str(rest);
                }
                continue;
            }
        }
        if let Some((name, rest)) = heading(line) {
            let done = std::mem::replace(
                &mut current,
                Section {
                    name,
                    text: String::new(),
                },
            );
            // An empty 正文 is not worth a section; empty named sections are
            // dropped later with all other blank sections.
            if done.name != BODY || !done.text.trim().is_empty() {
                record.sections.push(done);
            }
            current.text.push_str(rest);
            continue;
        }
        if !current.text.is_empty() {
            current.text.push('\n');
        }
        current.text.push_str(line);
    }
    record.sections.push(current);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_heading_forms_split_sections() {
        let text = "患者资料如下\nID： ZY123\n【主诉】胸痛2小时\n现病史：患者2小时前\n出现胸痛。\n[出院诊断]\n1.急性心肌梗死\n血压: 120/80mmHg";
        let r = parse_text(text, "stem");
        assert_eq!(r.id, "ZY123");
        let names: Vec<_> = r.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, [BODY, "主诉", "现病史", "出院诊断"]);
        assert_eq!(r.section("主诉"), Some("胸痛2小时"));
        assert_eq!(r.section("现病史"), Some("患者2小时前\n出现胸痛。"));
        // Not a heading: unknown name in the colon form.
        assert!(r.section("出院诊断").unwrap().contains("血压: 120/80mmHg"));
    }

    #[test]
    fn file_stem_is_the_fallback_id() {
        let r = parse_text("【主诉】心悸1天", "rec-7");
        assert_eq!(r.id, "rec-7");
        assert_eq!(r.sections.len(), 1);
    }

    #[test]
    fn id_is_the_first_token_of_its_line() {
        let r = parse_text("住院号：ZY77 床号：12\n【主诉】胸痛", "x");
        assert_eq!(r.id, "ZY77");
        assert_eq!(r.sections[0].name, BODY);
        assert_eq!(r.sections[0].text, "床号：12");
    }

    #[test]
    fn numeric_brackets_are_text() {
        let r = parse_text("[1] 参考文献", "x");
        assert_eq!(r.sections[0].name, BODY);
    }
}
