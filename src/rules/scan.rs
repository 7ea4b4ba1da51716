//! Record text cut into sentences and clauses, and cue search that skips
//! negated, planned and historical mentions.
//!
//! Code Also evidence must describe this stay's procedure: "拒绝气管插管",
//! "建议气管插管" and "既往于前降支植入支架" must not support a code.

use std::sync::LazyLock;

use regex::Regex;

use crate::pipeline::Span;
use crate::record::{fields, Record};

/// Sections that describe the past, the plan or the diagnoses rather than
/// what was done during the stay; never searched for evidence.
const SKIPPED_SECTIONS: &[&str] = &[
    fields::CHIEF_COMPLAINT,
    fields::PRESENT_ILLNESS,
    fields::PAST_HISTORY,
    "个人史",
    "婚姻史",
    "家族史",
    fields::ADMISSION_STATUS,
    fields::ADMISSION_DIAGNOSIS,
    fields::DISCHARGE_DIAGNOSIS,
    fields::DISCHARGE_ORDERS,
];

/// Sections searched first, in this order; the rest follow in record order.
const PRIORITY: &[&str] = &[
    fields::OPERATIVE_REPORT,
    fields::PROCEDURE_NAMES,
    fields::COURSE_NOTES,
    fields::TREATMENT_COURSE,
];

const SENTENCE_ENDS: &[char] = &['。', '；', ';', '！', '!', '？', '?', '\n', '\r'];
const CLAUSE_ENDS: &[char] = &['，', ',', '：', ':'];

/// Negators directly before a cue ("非体外循环", "未行", "无气管插管…").
const NEG_ADJACENT: &[char] = &['非', '未', '无', '不', '免', '拒', '否'];
/// Words earlier in the same clause that make the mention a plan or a refusal.
const NEG_BEFORE: &[&str] = &[
    "拒绝",
    "未行",
    "未予",
    "未能",
    "不同意",
    "暂不",
    "无需",
    "不宜",
    "建议",
    "拟行",
    "拟于",
    "拟",
    "必要时",
    "如需",
    "如有必要",
    "可早期",
    "可考虑",
    "择期",
    "待病情",
];
/// Words later in the same clause that make the mention a risk talk or consent.
const NEG_AFTER: &[&str] = &[
    "风险",
    "必要性",
    "指征",
    "的可能",
    "可能性",
    "禁忌",
    "知情同意",
    "告知",
];

// "支架植入术后改变" (a CT finding) and "原植入支架通畅" (an old stent)
// describe earlier procedures too.
static HISTORY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"既往|曾于|曾行|曾在|外院|\d+\s*(?:年|个月|月)前|多年前|年余前|病史|术后\d+\s*(?:年|月)|术后(?:改变|所见|状态)|(?:植入|置入|支架)术后|原植入|原支架|原有支架",
    )
    .expect("history pattern")
});

/// A sentence: byte range in its section and its clauses.
#[derive(Debug, Clone)]
pub(crate) struct Sentence {
    pub start: usize,
    pub end: usize,
    pub clauses: Vec<(usize, usize)>,
}

/// One searchable section.
#[derive(Debug, Clone)]
pub(crate) struct SectionView<'a> {
    /// Index into `Record::sections`.
    pub index: usize,
    pub name: &'a str,
    pub text: &'a str,
    pub sentences: Vec<Sentence>,
}

impl<'a> SectionView<'a> {
    pub fn slice(&self, (s, e): (usize, usize)) -> &'a str {
        &self.text[s..e]
    }
    pub fn span(&self, s: usize, e: usize) -> Span {
        Span {
            section: self.index,
            start: s,
            end: e,
        }
    }
}

/// The record's searchable sections in evidence priority order.
#[derive(Debug, Clone)]
pub(crate) struct RecordView<'a> {
    pub sections: Vec<SectionView<'a>>,
}

impl<'a> RecordView<'a> {
    pub fn new(record: &'a Record) -> Self {
        let mut order: Vec<usize> = Vec::new();
        for name in PRIORITY {
            order.extend(
                record
                    .sections
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.name == *name)
                    .map(|(i, _)| i),
            );
        }
        for (i, s) in record.sections.iter().enumerate() {
            if !order.contains(&i) && !SKIPPED_SECTIONS.contains(&s.name.as_str()) {
                order.push(i);
            }
        }
        let sections = order
            .into_iter()
            .filter(|&i| !record.sections[i].text.trim().is_empty())
            .map(|i| {
                let s = &record.sections[i];
                SectionView {
                    index: i,
                    name: &s.name,
                    text: &s.text,
                    sentences: split_sentences(&s.text),
                }
            })
            .collect();
        RecordView { sections }
    }
}

/// Splits text into trimmed, non-empty byte ranges at any of `ends`.
fn split_ranges(text: &str, start: usize, end: usize, ends: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = start;
    for (i, c) in text[start..end].char_indices() {
        if ends.contains(&c) {
            push_trimmed(text, from, start + i, &mut out);
            from = start + i + c.len_utf8();
        }
    }
    push_trimmed(text, from, end, &mut out);
    out
}

fn push_trimmed(text: &str, s: usize, e: usize, out: &mut Vec<(usize, usize)>) {
    let piece = &text[s..e];
    let lead = piece.len() - piece.trim_start().len();
    let trail = piece.len() - piece.trim_end().len();
    if lead + trail < piece.len() {
        out.push((s + lead, e - trail));
    }
}

fn split_sentences(text: &str) -> Vec<Sentence> {
    split_ranges(text, 0, text.len(), SENTENCE_ENDS)
        .into_iter()
        .map(|(s, e)| Sentence {
            start: s,
            end: e,
            clauses: split_ranges(text, s, e, CLAUSE_ENDS),
        })
        .collect()
}

/// True when the clause reports the past (before this stay).
pub(crate) fn is_history(clause: &str) -> bool {
    HISTORY.is_match(clause)
}

/// True when a whole clause is a plan, refusal, risk talk or history
/// ("患者拒绝植入支架", "建议择期处理回旋支").
pub(crate) fn clause_is_negated(clause: &str) -> bool {
    NEG_BEFORE.iter().any(|w| clause.contains(w))
        || NEG_AFTER.iter().any(|w| clause.contains(w))
        || is_history(clause)
}

/// True when a mention at `[ms, me)` of the sentence is negated, planned or
/// only discussed. `clause_of` gives the clause bounds holding a byte offset.
pub(crate) fn is_negated(text: &str, sentence: &Sentence, ms: usize, me: usize) -> bool {
    let clause_at = |pos: usize| {
        sentence
            .clauses
            .iter()
            .copied()
            .find(|&(s, e)| pos >= s && pos <= e)
            .unwrap_or((sentence.start, sentence.end))
    };
    let (cs, _) = clause_at(ms);
    let (_, ce) = clause_at(me.saturating_sub(1).max(ms));
    if let Some(prev) = text[sentence.start..ms].chars().next_back() {
        if NEG_ADJACENT.contains(&prev) {
            return true;
        }
    }
    let before = &text[cs.min(ms)..ms];
    let after = &text[me..ce.max(me)];
    NEG_BEFORE.iter().any(|w| before.contains(w))
        || NEG_AFTER.iter().any(|w| after.contains(w))
        || is_history(&text[cs.min(ms)..ce.max(me)])
}

/// True when a match that starts or ends with a Latin letter runs into
/// another Latin letter: the acronym cue `ICE` must not fire inside
/// "device", nor `DES` inside "describes".
/// Only literal letters at the pattern's edges count: a class such as
/// `[^物层]球囊` may well consume the `m` of "20mm球囊".
fn glued_to_latin(text: &str, ms: usize, me: usize, edges: (bool, bool)) -> bool {
    let m = &text[ms..me];
    let first = edges.0 && m.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    let last = edges.1
        && m.chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphabetic());
    (first
        && text[..ms]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphabetic()))
        || (last
            && text[me..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic()))
}

/// Whether a cue pattern starts / ends with a literal Latin letter (after
/// any leading flags or group openers, before any trailing group closers).
fn latin_edges(pattern: &str) -> (bool, bool) {
    let mut head = pattern;
    loop {
        let before = head;
        for opener in ["(?i)", "(?-u)", "(?:", "("] {
            head = head.strip_prefix(opener).unwrap_or(head);
        }
        if head == before {
            break;
        }
    }
    let mut tail = pattern.trim_end_matches(')').chars().rev();
    let (last, before_last) = (tail.next(), tail.next());
    let letter = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphabetic());
    // `\b` ends in a letter but is an escape, not a literal.
    (
        letter(head.chars().next()),
        letter(last) && before_last != Some('\\'),
    )
}

/// Where a cue is found, at most `limit` mentions: each match in a sentence
/// that no `not_cues` pattern hits, not negated, not historical. When
/// `sentence_filter` is given only sentences it accepts are searched.
pub(crate) fn find_cue(
    view: &RecordView<'_>,
    cue: &Regex,
    not_cues: &[Regex],
    sentence_filter: Option<&dyn Fn(&str) -> bool>,
    limit: usize,
) -> Vec<Span> {
    let mut out = Vec::new();
    let edges = latin_edges(cue.as_str());
    // Without anchors or word boundaries a match inside a sentence is a
    // match inside its section: a section the cue does not match at all
    // has no sentence to search.
    let local = !["^", "$", "\\b", "\\B", "\\A", "\\z", "\\<", "\\>"]
        .iter()
        .any(|a| cue.as_str().contains(a));
    for sec in &view.sections {
        if local && !cue.is_match(sec.text) {
            continue;
        }
        for sent in &sec.sentences {
            let stext = &sec.text[sent.start..sent.end];
            // The sentence checks cost more than the cue search and matter
            // only where the cue is found: made at the first match.
            let mut checked = false;
            for m in cue.find_iter(stext) {
                if m.start() == m.end() {
                    continue;
                }
                if !checked {
                    if sentence_filter.is_some_and(|f| !f(stext))
                        || not_cues.iter().any(|n| n.is_match(stext))
                    {
                        break;
                    }
                    checked = true;
                }
                let (ms, me) = (sent.start + m.start(), sent.start + m.end());
                if glued_to_latin(sec.text, ms, me, edges) || is_negated(sec.text, sent, ms, me) {
                    continue;
                }
                out.push(sec.span(ms, me));
                if out.len() >= limit {
                    return out;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(text: &str) -> Record {
        Record::new("t").with_section(fields::COURSE_NOTES, text)
    }

    #[test]
    fn anchored_cues_still_match_at_sentence_starts() {
        // The whole section does not start with the cue, its second
        // sentence does: the section-level shortcut must not skip it.
        let r = record("患者入院。行冠脉造影术，过程顺利。");
        let v = RecordView::new(&r);
        let anchored = Regex::new("^行冠脉造影").unwrap();
        assert_eq!(find_cue(&v, &anchored, &[], None, 5).len(), 1);
        let plain = Regex::new("冠脉造影").unwrap();
        assert_eq!(find_cue(&v, &plain, &[], None, 5).len(), 1);
        let absent = Regex::new("球囊扩张").unwrap();
        assert!(find_cue(&v, &absent, &[], None, 5).is_empty());
    }

    #[test]
    fn sentences_and_clauses() {
        let v = split_sentences("甲，乙。丙；\n 丁");
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].clauses.len(), 2);
    }

    #[test]
    fn negated_planned_and_past_mentions_are_skipped() {
        let cue = Regex::new("气管插管").unwrap();
        for text in [
            "患者家属拒绝气管插管。",
            "建议气管插管避免呼吸衰竭。",
            "告知再次气管插管风险。",
            "既往曾行气管插管。",
            "无气管插管拔管指征。",
        ] {
            let r = record(text);
            let v = RecordView::new(&r);
            assert!(find_cue(&v, &cue, &[], None, 5).is_empty(), "{text}");
        }
        let r = record("家属拒绝气管插管。次日于02:28行气管插管术，过程顺利。");
        let v = RecordView::new(&r);
        let spans = find_cue(&v, &cue, &[], None, 5);
        assert_eq!(spans.len(), 1);
        assert_eq!(
            &r.sections[0].text[spans[0].start..spans[0].end],
            "气管插管"
        );
    }

    #[test]
    fn not_cues_cancel_the_sentence_and_history_sections_are_skipped() {
        let cue = Regex::new("体外循环").unwrap();
        let not = [Regex::new("非体外循环").unwrap()];
        let r = Record::new("t")
            .with_section(fields::PAST_HISTORY, "体外循环下瓣膜置换术。")
            .with_section(fields::OPERATIVE_REPORT, "在非体外循环下行冠状动脉搭桥。");
        let v = RecordView::new(&r);
        assert!(find_cue(&v, &cue, &not, None, 5).is_empty());
        let r =
            Record::new("t").with_section(fields::OPERATIVE_REPORT, "建立体外循环，行二尖瓣置换。");
        let v = RecordView::new(&r);
        assert_eq!(find_cue(&v, &cue, &not, None, 5).len(), 1);
    }

    #[test]
    fn latin_acronyms_match_whole_words_only() {
        let cue = Regex::new("(?i)ICE").unwrap();
        let r = record("the device was checked twice。");
        assert!(find_cue(&RecordView::new(&r), &cue, &[], None, 5).is_empty());
        let r = record("在ICE指导下行房间隔穿刺。");
        assert_eq!(find_cue(&RecordView::new(&r), &cue, &[], None, 5).len(), 1);
        // A class at the edge may take a letter: "20mm球囊" still matches.
        let cue = Regex::new("[^物层]球囊").unwrap();
        let r = record("取2.0×20mm球囊扩张。");
        assert_eq!(find_cue(&RecordView::new(&r), &cue, &[], None, 5).len(), 1);
        assert_eq!(latin_edges("(?:IABP|主动脉)[^。]{0,6}拔除"), (true, false));
        assert_eq!(latin_edges(r"\dFTIG"), (false, true));
        assert_eq!(latin_edges(r"\bX\b"), (false, false));
    }
}
