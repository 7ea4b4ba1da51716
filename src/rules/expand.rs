//! The Code Also stage: expand the prioritized procedure list by the Code
//! Also rules of its codes.
//!
//! Policy when the record does not tell a count: no code is added (a guessed
//! vessel or stent count is more often wrong than right, and every output
//! code must be supported); a note says what the coder must add by hand. A
//! stent placement described without any number or size is the one
//! exception: it is taken as one stent, added with low confidence, flagged
//! `LowConfidence` and explained in a `Flag::Note`.

use std::collections::{HashMap, HashSet};

use super::extract::{count_stents, count_vessels, is_treatment_sentence, Counted};
use super::model::{Basis, GroupKind, Pick, Site};
use super::resolve::{code_keys, ResolvedCode, ResolvedGroup, ResolvedRule, ResolvedRules};
use super::scan::{find_cue, RecordView};
use crate::pipeline::{Flag, Item, Origin, Span};
use crate::record::Record;
use crate::terminology::{normalize_code, CodeSystem, Terminology};

/// Confidence of an `any_of` code supported by a cue, for ICD-9-CM rules.
pub const CONF_CUE: f32 = 0.75;
/// Confidence of a bifurcation found in a treatment sentence.
pub const CONF_BIFURCATION: f32 = 0.75;
/// Confidence of a code proposed by a local-practice rule.
pub const CONF_PRACTICE: f32 = 0.5;
/// Items under this confidence are flagged `LowConfidence`.
pub const LOW_CONFIDENCE: f32 = 0.5;
/// At most this many evidence spans per added item.
const MAX_SPANS: usize = 4;

/// The source prefix of every item this stage adds:
/// `code also: <rule id> ← <trigger code>`.
pub const SOURCE_PREFIX: &str = "code also: ";

/// Output of the Code Also stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Expansion {
    /// The input items in order, then the added Code Also items.
    pub items: Vec<Item>,
    /// What the coder must look at: required codes the record does not
    /// support, codes missing from the loaded table.
    pub notes: Vec<String>,
}

impl Expansion {
    /// The items this stage added.
    pub fn added(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| is_code_also_item(i))
    }
}

/// True for an item added by this stage (origin `Rule`, source `code also: …`).
pub fn is_code_also_item(item: &Item) -> bool {
    item.origin == Origin::Rule
        && item
            .source
            .as_deref()
            .is_some_and(|s| s.starts_with(SOURCE_PREFIX))
}

/// The rule id and trigger code named by a Code Also item's source.
pub fn code_also_source(item: &Item) -> Option<(&str, &str)> {
    let s = item.source.as_deref()?.strip_prefix(SOURCE_PREFIX)?;
    let (id, trigger) = s.split_once(" ← ")?;
    Some((id.trim(), trigger.trim()))
}

/// Expands `items` (the prioritized procedure list) by the Code Also rules of
/// their codes. Each rule fires once, for the first item that triggers it;
/// items added here do not trigger further rules. A code (or, for counts and
/// alternatives, a code of the same family) already in the list is not added
/// again.
pub fn expand(
    record: &Record,
    items: &[Item],
    rules: &ResolvedRules,
    term: &Terminology,
) -> Expansion {
    let mut st = State {
        view: RecordView::new(record),
        term,
        out: items.to_vec(),
        notes: Vec::new(),
        stents: None,
        vessels: HashMap::new(),
    };
    let mut fired: HashSet<&str> = HashSet::new();
    for item in items {
        let Some(code) = item.code.as_deref() else {
            continue;
        };
        for rule in rules.rules_for(code) {
            if !fired.insert(rule.id()) {
                continue;
            }
            for group in &rule.groups {
                st.apply(rule, group, code);
            }
        }
    }
    Expansion {
        items: st.out,
        notes: st.notes,
    }
}

struct State<'a> {
    view: RecordView<'a>,
    term: &'a Terminology,
    out: Vec<Item>,
    notes: Vec<String>,
    /// Extraction results, computed once per record.
    stents: Option<Option<Counted>>,
    vessels: HashMap<Site, Option<Counted>>,
}

impl State<'_> {
    fn apply(&mut self, rule: &ResolvedRule, group: &ResolvedGroup, trigger: &str) {
        let exclusive = group.kind != GroupKind::AnyOf || group.pick == Pick::First;
        if exclusive && group.all_codes().any(|c| self.has_stem(&c.stem)) {
            return;
        }
        match group.kind {
            GroupKind::CountStents => {
                let found = self
                    .stents
                    .get_or_insert_with(|| count_stents(&self.view))
                    .clone();
                self.add_count(rule, group, trigger, found, "number of stents");
            }
            GroupKind::CountVessels => {
                let view = &self.view;
                let found = self
                    .vessels
                    .entry(group.site)
                    .or_insert_with(|| count_vessels(view, group.site))
                    .clone();
                self.add_count(rule, group, trigger, found, "number of vessels treated");
            }
            GroupKind::Bifurcation => {
                let filter: &dyn Fn(&str) -> bool = &is_treatment_sentence;
                let spans: Vec<Span> = group
                    .cues
                    .iter()
                    .flat_map(|cue| find_cue(&self.view, cue, &[], Some(filter), MAX_SPANS))
                    .take(MAX_SPANS)
                    .collect();
                if let (Some(code), false) = (group.codes.first(), spans.is_empty()) {
                    let conf = self.conf(group, CONF_BIFURCATION);
                    self.push(rule, group, trigger, code, conf, spans, None);
                } else if group.required {
                    self.note(
                        rule,
                        trigger,
                        group,
                        "no bifurcation technique found in the record",
                    );
                }
            }
            GroupKind::AnyOf => {
                let mut added = false;
                for cand in &group.candidates {
                    if cand.code.code.is_none() || self.has_candidate(&cand.code) {
                        continue;
                    }
                    let mut spans: Vec<Span> = Vec::new();
                    for cue in &cand.cues {
                        for s in find_cue(&self.view, cue, &cand.not_cues, None, MAX_SPANS) {
                            if !spans.contains(&s) {
                                spans.push(s);
                            }
                        }
                        if spans.len() >= MAX_SPANS {
                            break;
                        }
                    }
                    spans.truncate(MAX_SPANS);
                    if spans.is_empty() {
                        continue;
                    }
                    let conf = self.conf(group, CONF_CUE);
                    added |= self.push(rule, group, trigger, &cand.code, conf, spans, None);
                    if added && group.pick == Pick::First {
                        break;
                    }
                }
                if !added && group.required {
                    self.note(
                        rule,
                        trigger,
                        group,
                        "not documented in the record; add it by hand when it was done",
                    );
                }
            }
        }
    }

    fn add_count(
        &mut self,
        rule: &ResolvedRule,
        group: &ResolvedGroup,
        trigger: &str,
        found: Option<Counted>,
        what: &str,
    ) {
        let Some(c) = found else {
            if group.required {
                self.note(
                    rule,
                    trigger,
                    group,
                    &format!(
                        "{what} not found in the operative report or course notes; add it by hand"
                    ),
                );
            }
            return;
        };
        let Some(code) = group.code_for_count(c.n) else {
            return;
        };
        let conf = self.conf(group, c.confidence);
        self.push(
            rule,
            group,
            trigger,
            code,
            conf,
            c.spans,
            Some(format!("{what} = {} ({})", c.n, c.how)),
        );
    }

    /// Local-practice groups never claim more than `CONF_PRACTICE`.
    fn conf(&self, group: &ResolvedGroup, base: f32) -> f32 {
        if group.basis == Basis::LocalPractice {
            base.min(CONF_PRACTICE)
        } else {
            base
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        rule: &ResolvedRule,
        group: &ResolvedGroup,
        trigger: &str,
        code: &ResolvedCode,
        confidence: f32,
        evidence: Vec<Span>,
        how: Option<String>,
    ) -> bool {
        let entry = code.code.as_deref().and_then(|c| self.term.get(c));
        let Some(entry) = entry else {
            self.note(
                rule,
                trigger,
                group,
                &format!(
                    "code {} is not in the loaded table {}",
                    code.written, self.term.label
                ),
            );
            return false;
        };
        let mut item = Item::new(entry.name.clone(), Origin::Rule)
            .with_code(entry.code.clone())
            .with_confidence(confidence)
            .with_source(format!("{SOURCE_PREFIX}{} ← {trigger}", rule.id()));
        item.evidence = evidence;
        if confidence < LOW_CONFIDENCE {
            item.flag(Flag::LowConfidence);
        }
        if let Some(how) = how {
            item.flag(Flag::Note(how));
        }
        if group.basis == Basis::LocalPractice {
            item.flag(Flag::Note(
                "local coding practice, not an ICD-9-CM instruction".into(),
            ));
        }
        self.out.push(item);
        true
    }

    fn note(&mut self, rule: &ResolvedRule, trigger: &str, group: &ResolvedGroup, msg: &str) {
        let label = group.label_zh.as_deref().unwrap_or(&group.label);
        self.notes.push(format!(
            "code also {} ({trigger}): {label} — {msg}",
            rule.id()
        ));
    }

    /// Some listed code shares the ICD-9-CM stem (same family).
    fn has_stem(&self, stem: &str) -> bool {
        self.out.iter().filter_map(|i| i.code.as_deref()).any(|c| {
            let (raw, norm) = code_keys(c);
            raw.starts_with(stem) || norm.starts_with(stem)
        })
    }

    /// For `pick = "all"` groups: the code itself is listed, or the plain
    /// base code of its family is listed, or it is the base and any code of
    /// its family is listed. Sibling extensions (旋磨 vs 血栓抽吸) stay apart.
    fn has_candidate(&self, code: &ResolvedCode) -> bool {
        let Some(c) = code.code.as_deref() else {
            return false;
        };
        let key = normalize_code(CodeSystem::Icd9Cm3, c);
        let base = normalize_code(CodeSystem::Icd9Cm3, &code.stem);
        self.out
            .iter()
            .filter_map(|i| i.code.as_deref())
            .any(|listed| {
                let lk = normalize_code(CodeSystem::Icd9Cm3, listed);
                lk == key || lk == base || (key == base && self.has_stem(&code.stem))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fields;
    use crate::rules::RuleSet;

    fn table() -> Terminology {
        let rows = [
            ("36.0700", "药物洗脱冠状动脉支架置入"),
            ("00.4000", "单根血管操作"),
            ("00.4100", "两根血管操作"),
            ("00.4200", "三根血管操作"),
            ("00.4300", "四根或更多根血管操作"),
            ("00.4400", "分支血管操作"),
            ("00.4500", "置入一根血管的支架"),
            ("00.4600", "置入两根血管的支架"),
            ("00.4700", "置入三根血管的支架"),
            ("00.4800", "置入四根或更多根血管的支架"),
            ("00.6600", "经皮冠状动脉腔内血管成形术[PTCA]"),
            ("00.6600x004", "经皮冠状动脉球囊扩张成形术"),
            ("00.6600x008", "经皮冠状动脉药物球囊扩张成形术"),
            ("96.0400", "气管内插管"),
            ("96.7201", "呼吸机治疗[大于等于96小时]"),
        ];
        Terminology::from_pairs(CodeSystem::Icd9Cm3, "mini", &rows)
    }

    fn codes(e: &Expansion) -> Vec<&str> {
        e.added().filter_map(|i| i.code.as_deref()).collect()
    }

    #[test]
    fn stent_record_gets_counts_and_balloon() {
        let t = table();
        let rules = RuleSet::builtin().unwrap().resolve(&t);
        let text = "造影示前降支中段狭窄90%，回旋支狭窄50%。以2.5×15mm球囊预扩前降支病变，\
                    于前降支中段植入3.0×29mm药物洗脱支架，于前降支近段串联植入3.5×18mm支架。";
        let r = Record::new("f").with_section(fields::OPERATIVE_REPORT, text);
        let items = [Item::new("药物洗脱冠状动脉支架置入", Origin::Agent).with_code("36.0700")];
        let e = expand(&r, &items, &rules, &t);
        assert_eq!(codes(&e), ["00.4000", "00.4600", "00.6600x004"], "{:#?}", e);
        let vessel = &e.items[1];
        assert_eq!(vessel.origin, Origin::Rule);
        assert_eq!(vessel.text, "单根血管操作");
        assert_eq!(
            vessel.source.as_deref(),
            Some("code also: coronary-stent ← 36.0700")
        );
        for s in &vessel.evidence {
            assert_eq!(&text[s.start..s.end], "前降支");
        }
        assert!(e.notes.is_empty(), "{:?}", e.notes);
    }

    #[test]
    fn listed_codes_are_not_added_twice_and_missing_counts_become_notes() {
        let t = table();
        let rules = RuleSet::builtin().unwrap().resolve(&t);
        let r = Record::new("f").with_section(fields::OPERATIVE_REPORT, "于前降支植入支架1枚。");
        let items = [
            Item::new("药物洗脱冠状动脉支架置入", Origin::Agent).with_code("36.0700"),
            Item::new("单根血管操作", Origin::Coder).with_code("00.40"),
        ];
        let e = expand(&r, &items, &rules, &t);
        assert_eq!(codes(&e), ["00.4500"]);

        let r = Record::new("f").with_section(fields::COURSE_NOTES, "患者病情稳定。");
        let e = expand(&r, &items[..1], &rules, &t);
        assert!(codes(&e).is_empty());
        assert_eq!(e.notes.len(), 2, "{:?}", e.notes);
        assert!(e.notes[0].contains("coronary-stent"));
    }

    #[test]
    fn airway_of_ventilation_and_refusals() {
        let t = table();
        let rules = RuleSet::builtin().unwrap().resolve(&t);
        let items = [Item::new("呼吸机治疗", Origin::Agent).with_code("96.7201")];
        let r =
            Record::new("f").with_section(fields::COURSE_NOTES, "家属拒绝气管插管，予无创通气。");
        let e = expand(&r, &items, &rules, &t);
        assert!(codes(&e).is_empty());
        assert_eq!(e.notes.len(), 1);
        let r = Record::new("f")
            .with_section(fields::COURSE_NOTES, "于今日02:28行气管插管术，接呼吸机。");
        let e = expand(&r, &items, &rules, &t);
        assert_eq!(codes(&e), ["96.0400"]);
        let (id, trig) = code_also_source(&e.items[1]).unwrap();
        assert_eq!((id, trig), ("mechanical-ventilation", "96.7201"));
    }
}
