//! Items read from OCR'd text: a record page without a text layer was read
//! by OCR ([`crate::record::pdf`]), and OCR misreads characters, so every
//! item a stage derives from such a page is flagged low-confidence and says
//! which page, whatever the stage's own confidence.

use super::{Flag, Item, Origin};
use crate::record::Record;

/// Flags the items of a stage list that come from OCR'd pages: those with
/// evidence in a section printed on an OCR page, and those without evidence
/// when the record has any OCR page (their source cannot be told). The
/// coder's own items are left alone.
pub fn mark(record: &Record, items: &mut [Item]) {
    if !record.has_ocr() {
        return;
    }
    for it in items.iter_mut().filter(|i| i.origin != Origin::Coder) {
        let mut pages: Vec<(u32, u8)> = Vec::new();
        if it.evidence.is_empty() {
            pages.extend(
                record
                    .pages
                    .iter()
                    .filter_map(|p| p.ocr_confidence.map(|c| (p.number, c))),
            );
        }
        for s in &it.evidence {
            for p in record.ocr_pages_of(s.section) {
                let c = p.ocr_confidence.unwrap_or(0);
                if !pages.contains(&(p.number, c)) {
                    pages.push((p.number, c));
                }
            }
        }
        if pages.is_empty() {
            continue;
        }
        pages.sort_unstable();
        it.flag(Flag::LowConfidence);
        let which: Vec<String> = pages
            .iter()
            .map(|(n, c)| format!("page {n} ({c}%)"))
            .collect();
        it.flag(Flag::Note(format!("read by OCR: {}", which.join(", "))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Span;
    use crate::record::Page;

    #[test]
    fn items_from_ocr_pages_are_flagged() {
        let mut r = Record::new("r")
            .with_section("主诉", "胸痛")
            .with_section("出院诊断", "1.高血压病");
        r.pages = vec![
            Page {
                number: 1,
                text: "【主诉】胸痛".into(),
                ocr_confidence: None,
                ocr_ms: None,
                sections: vec!["主诉".into()],
            },
            Page {
                number: 2,
                text: "【出院诊断】1.高血压病".into(),
                ocr_confidence: Some(87),
                ocr_ms: Some(900),
                sections: vec!["出院诊断".into()],
            },
        ];
        let span = |section| Span {
            section,
            start: 0,
            end: 2,
        };
        let mut from_text = Item::new("胸痛", Origin::Rule);
        from_text.evidence.push(span(0));
        let mut from_scan = Item::new("高血压病", Origin::Rule);
        from_scan.evidence.push(span(1));
        let mut coder = Item::new("高血压病", Origin::Coder);
        coder.evidence.push(span(1));
        let mut items = vec![from_text, from_scan, coder, Item::new("x", Origin::Agent)];
        mark(&r, &mut items);
        assert!(!items[0].has_flag(&Flag::LowConfidence));
        assert!(items[1].has_flag(&Flag::LowConfidence));
        assert!(items[1].has_flag(&Flag::Note("read by OCR: page 2 (87%)".into())));
        assert!(!items[2].has_flag(&Flag::LowConfidence));
        assert!(items[3].has_flag(&Flag::LowConfidence));
    }
}
