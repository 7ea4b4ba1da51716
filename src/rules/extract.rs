//! Count extraction from the operative report and course notes: number of
//! stents placed, number of vessels treated, bifurcation technique.
//!
//! Counts come from the sentences where devices were deployed, never from
//! the angiography findings: "前降支中段狭窄60%" names a vessel that was
//! seen, "于右冠近段植入…支架" one that was treated. The first section (in
//! evidence priority: 手术经过, 手术名称, 病程记录, 诊疗经过, …) that
//! yields a count wins, so a procedure retold in the course notes is not
//! counted twice.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use super::model::Site;
use super::scan::{clause_is_negated, is_history, RecordView, SectionView, Sentence};
use crate::pipeline::Span;

/// Confidence of a count read from an explicit number ("支架2枚").
pub const CONF_EXPLICIT: f32 = 0.9;
/// Confidence of a count read from distinct device sizes ("3.0×29mm").
pub const CONF_SIZES: f32 = 0.8;
/// Confidence of "a stent was placed" with no number or size (taken as one).
pub const CONF_IMPLIED: f32 = 0.45;
/// Confidence of vessels named in the clause where a device was deployed.
pub const CONF_VESSEL_CLAUSE: f32 = 0.85;
/// Confidence of vessels named elsewhere in a treatment sentence.
pub const CONF_VESSEL_SENTENCE: f32 = 0.6;

/// A count with the text supporting it.
#[derive(Debug, Clone, PartialEq)]
pub struct Counted {
    pub n: usize,
    pub spans: Vec<Span>,
    pub confidence: f32,
    /// How the count was read, for notes and the trace.
    pub how: String,
}

const NUM: &str = r"(\d{1,2}|[一二两三四五六七八九十])";

static STENT_EXPLICIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?:{NUM}\s*(?:枚|只)[^，,。；;：:]{{0,30}}?支架)|(?:{NUM}\s*个[^，,。；;：:]{{0,8}}?支架)|(?:支架[^，,。；;：:]{{0,16}}?{NUM}\s*(?:枚|只|根))"
    ))
    .expect("stent count pattern")
});
static STENT_TOTAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"共(?:计)?(?:植入|置入|放置)?(?:支架)?\s*{NUM}\s*(?:枚|个|只)"
    ))
    .expect("stent total pattern")
});
static SIZE: LazyLock<Regex> = LazyLock::new(|| {
    // Diameters 1–19.9 mm: a model number glued before the size
    // ("Firebird23.0×29mm") is not read as part of it.
    Regex::new(r"(1\d(?:\.\d{1,2})?|\d(?:\.\d{1,2})?)\s*(?:mm)?\s*[×xX*＊]\s*(\d+(?:\.\d+)?)\s*(?:mm|MM|毫米)")
        .expect("size pattern")
});
static PLACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"植入|置入|置于|释放|串联|送入|放置|定位|给予|予以").expect("place pattern")
});
/// A lesion treated in this clause. Bare "扩张" is not enough: "瘤样扩张",
/// "中段扩张" are angiographic findings (ectasia); a dilation needs a
/// balloon, an actor ("以…扩张") or its target ("扩张…病变").
static TREAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"植入|置入|置于|释放|预扩|后扩|球囊|抽吸|旋磨|旋切|开通|成形|取栓|PTCA|PCI|PTA|处理|(?:以|行|给予|予)[^，,；;。]{0,16}扩张|扩张[^，,；;。]{0,12}(?:病变|狭窄处|闭塞)",
    )
    .expect("treat pattern")
});
/// A device deployed somewhere in the sentence (for the sentence-level
/// vessel fallback, which must not start from findings).
static DEPLOY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"植入|置入|置于|释放|预扩|后扩|球囊|抽吸|旋磨|旋切|开通|取栓|PTCA|PCI|PTA")
        .expect("deploy pattern")
});
/// Clauses about access or deferred work never name treated vessels.
static NOT_TREATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"穿刺|鞘|未处理|未予处理|未干预|择期|二期|拟|建议|造影示|未见")
        .expect("not-treated pattern")
});
/// Finding clauses dropped from the sentence-level fallback.
static FINDING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"%|％|未见|通畅|狭窄\d|闭塞\d|造影示").expect("finding pattern"));

/// Parses a digit string or one Chinese numeral.
pub fn parse_count(s: &str) -> Option<usize> {
    if let Ok(n) = s.parse::<usize>() {
        return Some(n);
    }
    let n = match s {
        "一" => 1,
        "二" | "两" => 2,
        "三" => 3,
        "四" => 4,
        "五" => 5,
        "六" => 6,
        "七" => 7,
        "八" => 8,
        "九" => 9,
        "十" => 10,
        _ => return None,
    };
    Some(n)
}

fn first_group_count(c: &regex::Captures<'_>) -> Option<usize> {
    c.iter()
        .skip(1)
        .flatten()
        .find_map(|m| parse_count(m.as_str()))
}

/// A sentence where a stent was placed: mentions 支架 with a placement verb,
/// and is neither history nor a plan.
fn stent_sentence(sec: &SectionView<'_>, sent: &Sentence) -> bool {
    let t = &sec.text[sent.start..sent.end];
    if !t.contains("支架") {
        return false;
    }
    sent.clauses.iter().any(|&c| {
        let ct = sec.slice(c);
        ct.contains("支架")
            && PLACE.is_match(ct)
            && !is_history(ct)
            && !ct.contains("支架内")
            && !clause_is_negated(ct)
    }) || (PLACE.is_match(t) && !clause_is_negated(t) && STENT_EXPLICIT.is_match(t))
}

/// "于LAD、RCA各植入支架1枚": a number after 各 applies to each vessel named
/// before it in the clause.
fn each_multiplier(sec: &SectionView<'_>, sent: &Sentence, at: usize) -> usize {
    let Some(&(cs, _)) = sent.clauses.iter().find(|&&(s, e)| at >= s && at <= e) else {
        return 1;
    };
    let before = &sec.text[cs..at];
    let Some(pos) = before.rfind('各') else {
        return 1;
    };
    let named = &before[..pos];
    let ids: BTreeSet<String> = vessels_in(named, Site::Coronary)
        .into_iter()
        .chain(vessels_in(named, Site::Peripheral))
        .map(|(id, _, _)| id)
        .collect();
    ids.len().max(1)
}

/// Number of stents placed, or `None` when no stent placement is described.
pub fn count_stents(view: &RecordView<'_>) -> Option<Counted> {
    view.sections.iter().find_map(count_stents_in)
}

fn count_stents_in(sec: &SectionView<'_>) -> Option<Counted> {
    let mut total: Option<(usize, Span)> = None;
    let mut sum = 0usize;
    let mut spans = Vec::new();
    let mut seen_sizes: BTreeSet<String> = BTreeSet::new();
    let mut used_explicit = false;
    let mut used_sizes = false;
    let mut implied: Vec<Span> = Vec::new();
    for sent in &sec.sentences {
        if !stent_sentence(sec, sent) {
            continue;
        }
        let t = &sec.text[sent.start..sent.end];
        let mut total_ranges = Vec::new();
        for c in STENT_TOTAL.captures_iter(t) {
            let m = c.get(0).expect("match");
            total_ranges.push(m.range());
            if let Some(n) = first_group_count(&c) {
                let span = sec.span(sent.start + m.start(), sent.start + m.end());
                if total.is_none_or(|(best, _)| n > best) {
                    total = Some((n, span));
                }
            }
        }
        let mut explicit = 0;
        for c in STENT_EXPLICIT.captures_iter(t) {
            let m = c.get(0).expect("match");
            // "共植入支架2枚" restates the total; it is not another stent.
            if total_ranges
                .iter()
                .any(|r| r.start < m.end() && m.start() < r.end)
            {
                continue;
            }
            if let Some(n) = first_group_count(&c) {
                explicit += n * each_multiplier(sec, sent, sent.start + m.start());
                spans.push(sec.span(sent.start + m.start(), sent.start + m.end()));
            }
        }
        // Sizes of stents (not balloons) in this sentence, counted once per section.
        let mut sizes_here = Vec::new();
        for &cl in &sent.clauses {
            let ct = sec.slice(cl);
            if !ct.contains("支架")
                || ct.contains("球囊")
                || ct.contains("支架内")
                || is_history(ct)
            {
                continue;
            }
            for m in SIZE.find_iter(ct) {
                let key = SIZE
                    .captures(m.as_str())
                    .map(|c| format!("{}x{}", &c[1], &c[2]))
                    .unwrap_or_default();
                sizes_here.push((key, sec.span(cl.0 + m.start(), cl.0 + m.end())));
            }
        }
        if explicit > 0 {
            used_explicit = true;
            sum += explicit;
            for (k, _) in sizes_here {
                seen_sizes.insert(k);
            }
        } else if !sizes_here.is_empty() {
            for (k, span) in sizes_here {
                if seen_sizes.insert(k) {
                    used_sizes = true;
                    sum += 1;
                    spans.push(span);
                }
            }
        } else if let Some(&cl) = sent
            .clauses
            .iter()
            .find(|&&c| sec.slice(c).contains("支架"))
        {
            implied.push(sec.span(cl.0, cl.1));
        }
    }
    // A stated total ("本次共植入支架2枚") outranks counting the mentions.
    if let Some((n, span)) = total {
        return Some(Counted {
            n,
            spans: vec![span],
            confidence: CONF_EXPLICIT,
            how: format!("stated total of {n} stent(s) in {}", sec.name),
        });
    }
    if sum > 0 {
        let (confidence, how) = if used_explicit && !used_sizes {
            (CONF_EXPLICIT, "stated stent numbers")
        } else if used_explicit {
            (CONF_SIZES, "stated numbers and distinct stent sizes")
        } else {
            (CONF_SIZES, "distinct stent sizes")
        };
        return Some(Counted {
            n: sum,
            spans,
            confidence,
            how: format!("{how} in {}", sec.name),
        });
    }
    if !implied.is_empty() {
        return Some(Counted {
            n: 1,
            spans: implied.into_iter().take(3).collect(),
            confidence: CONF_IMPLIED,
            how: format!(
                "stent placement without a number in {}: taken as one",
                sec.name
            ),
        });
    }
    None
}

/// Coronary vessel names → canonical vessel id. Branches count as vessels
/// of their own, as ICD-9-CM counts each vessel treated.
const CORONARY: &[(&str, &str)] = &[
    ("左冠状动脉主干", "LM"),
    ("左主干", "LM"),
    ("LMCA", "LM"),
    ("LM", "LM"),
    ("左前降支", "LAD"),
    ("前降支", "LAD"),
    ("LAD", "LAD"),
    ("左回旋支", "LCX"),
    ("回旋支", "LCX"),
    ("LCX", "LCX"),
    ("右冠状动脉", "RCA"),
    ("右冠脉", "RCA"),
    ("右冠", "RCA"),
    ("RCA", "RCA"),
    ("第一对角支", "D1"),
    ("第二对角支", "D2"),
    ("第三对角支", "D3"),
    ("D1", "D1"),
    ("D2", "D2"),
    ("D3", "D3"),
    ("对角支", "D"),
    ("第一钝缘支", "OM1"),
    ("第二钝缘支", "OM2"),
    ("OM1", "OM1"),
    ("OM2", "OM2"),
    ("钝缘支", "OM"),
    ("OM", "OM"),
    ("中间支", "RI"),
    ("中间动脉", "RI"),
    ("后降支", "PDA"),
    ("PDA", "PDA"),
    ("左室后支", "PLV"),
    ("左心室后支", "PLV"),
    ("PLV", "PLV"),
    ("锐缘支", "AM"),
];

/// Peripheral, precerebral and intracranial vessel names; the side written
/// before them (左/右/双侧) makes separate vessels.
const PERIPHERAL: &[&str] = &[
    "髂总动脉",
    "髂外动脉",
    "髂内动脉",
    "髂动脉",
    "股总动脉",
    "股浅动脉",
    "股深动脉",
    "股动脉",
    "腘动脉",
    "胫前动脉",
    "胫后动脉",
    "胫腓干",
    "腓动脉",
    "足背动脉",
    "肾动脉",
    "锁骨下动脉",
    "腋动脉",
    "肱动脉",
    "桡动脉",
    "尺动脉",
    "颈总动脉",
    "颈内动脉",
    "颈外动脉",
    "颈动脉",
    "椎动脉",
    "基底动脉",
    "大脑中动脉",
    "大脑前动脉",
    "大脑后动脉",
    "肠系膜上动脉",
    "肠系膜下动脉",
    "腹腔干",
    "腹主动脉",
    "胸主动脉",
    "无名动脉",
    "头臂干",
    "脾动脉",
    "肝动脉",
    "髂总静脉",
    "髂外静脉",
    "髂静脉",
    "股静脉",
    "下腔静脉",
    "上腔静脉",
    "锁骨下静脉",
    "头臂静脉",
    "门静脉",
    "肝静脉",
    "肾静脉",
];

/// Vessel mentions in a piece of text: (canonical id, byte start, byte end).
fn vessels_in(text: &str, site: Site) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    'scan: while i < text.len() {
        let rest = &text[i..];
        match site {
            Site::Coronary => {
                let mut best: Option<(&str, &str)> = None;
                for &(alias, id) in CORONARY {
                    if starts_with_alias(text, i, alias)
                        && best.is_none_or(|(b, _)| alias.len() > b.len())
                    {
                        best = Some((alias, id));
                    }
                }
                if let Some((alias, id)) = best {
                    out.push((id.to_string(), i, i + alias.len()));
                    i += alias.len();
                    continue 'scan;
                }
            }
            Site::Peripheral => {
                let best = PERIPHERAL
                    .iter()
                    .filter(|n| rest.starts_with(**n))
                    .max_by_key(|n| n.len());
                if let Some(name) = best {
                    let before = &text[..i];
                    let sides: &[&str] = if before.ends_with("双侧") || before.ends_with("双") {
                        &["左", "右"]
                    } else if before.ends_with("左侧") || before.ends_with('左') {
                        &["左"]
                    } else if before.ends_with("右侧") || before.ends_with('右') {
                        &["右"]
                    } else {
                        &[""]
                    };
                    for side in sides {
                        out.push((format!("{side}{name}"), i, i + name.len()));
                    }
                    i += name.len();
                    continue 'scan;
                }
            }
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    out
}

/// Matches an alias at byte `i`; ASCII aliases (LAD, OM) need non-alphanumeric
/// neighbours and match case-insensitively.
fn starts_with_alias(text: &str, i: usize, alias: &str) -> bool {
    if alias.is_ascii() {
        let end = i + alias.len();
        if end > text.len() || !text.is_char_boundary(end) {
            return false;
        }
        if !text[i..end].eq_ignore_ascii_case(alias) {
            return false;
        }
        let before_ok = text[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        let after_ok = text[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        before_ok && after_ok
    } else {
        text[i..].starts_with(alias)
    }
}

/// Number of distinct vessels treated, or `None` when no treated vessel is named.
pub fn count_vessels(view: &RecordView<'_>, site: Site) -> Option<Counted> {
    view.sections
        .iter()
        .find_map(|s| vessels_clause_level(s, site))
        .or_else(|| {
            view.sections
                .iter()
                .find_map(|s| vessels_sentence_level(s, site))
        })
}

fn finish(found: Vec<(String, Span)>, confidence: f32, how: String) -> Option<Counted> {
    if found.is_empty() {
        return None;
    }
    let mut ids: BTreeSet<String> = found.iter().map(|(id, _)| id.clone()).collect();
    // An unnumbered "对角支"/"钝缘支" next to a numbered one is the same branch family.
    for (generic, prefix) in [("D", "D"), ("OM", "OM")] {
        if ids.contains(generic) && ids.iter().any(|x| x != generic && x.starts_with(prefix)) {
            ids.remove(generic);
        }
    }
    let mut spans: Vec<Span> = Vec::new();
    for (_, s) in &found {
        if !spans.contains(s) {
            spans.push(*s);
        }
    }
    Some(Counted {
        n: ids.len(),
        spans,
        confidence,
        how: format!("{how}: {}", ids.into_iter().collect::<Vec<_>>().join(", ")),
    })
}

fn vessels_clause_level(sec: &SectionView<'_>, site: Site) -> Option<Counted> {
    let mut found = Vec::new();
    for sent in &sec.sentences {
        for &cl in &sent.clauses {
            let ct = sec.slice(cl);
            if !TREAT.is_match(ct) || NOT_TREATED.is_match(ct) || is_history(ct) {
                continue;
            }
            if clause_is_negated(ct) {
                continue;
            }
            for (id, s, e) in vessels_in(ct, site) {
                found.push((id, sec.span(cl.0 + s, cl.0 + e)));
            }
        }
    }
    finish(
        found,
        CONF_VESSEL_CLAUSE,
        format!("vessels in deployment clauses of {}", sec.name),
    )
}

fn vessels_sentence_level(sec: &SectionView<'_>, site: Site) -> Option<Counted> {
    let mut found = Vec::new();
    for sent in &sec.sentences {
        // The deployment must be this stay's ("支架植入术后改变" is not).
        let deployed = sent.clauses.iter().any(|&cl| {
            let ct = sec.slice(cl);
            DEPLOY.is_match(ct) && !clause_is_negated(ct)
        });
        if !deployed {
            continue;
        }
        for &cl in &sent.clauses {
            let ct = sec.slice(cl);
            // "术中见：", "造影示：" open a list of findings up to the sentence end.
            if ["示", "见", "提示", "结果"].iter().any(|w| ct.ends_with(w)) {
                break;
            }
            if FINDING.is_match(ct) || NOT_TREATED.is_match(ct) || is_history(ct) {
                continue;
            }
            for (id, s, e) in vessels_in(ct, site) {
                found.push((id, sec.span(cl.0 + s, cl.0 + e)));
            }
        }
    }
    finish(
        found,
        CONF_VESSEL_SENTENCE,
        format!("vessels in treatment sentences of {}", sec.name),
    )
}

/// Sentence filter for bifurcation cues: a device was deployed or a lesion
/// treated in the sentence.
pub fn is_treatment_sentence(s: &str) -> bool {
    TREAT.is_match(s) && !is_history(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{fields, Record};

    fn op(text: &str) -> Record {
        Record::new("t").with_section(fields::OPERATIVE_REPORT, text)
    }

    fn stents(text: &str) -> Option<usize> {
        let r = op(text);
        count_stents(&RecordView::new(&r)).map(|c| c.n)
    }

    fn vessels(text: &str) -> Option<usize> {
        let r = op(text);
        count_vessels(&RecordView::new(&r), Site::Coronary).map(|c| c.n)
    }

    #[test]
    fn numerals() {
        assert_eq!(parse_count("2"), Some(2));
        assert_eq!(parse_count("两"), Some(2));
        assert_eq!(parse_count("三"), Some(3));
        assert_eq!(parse_count("x"), None);
    }

    #[test]
    fn stent_numbers_in_common_phrasings() {
        assert_eq!(stents("于前降支近段植入支架2枚，造影满意。"), Some(2));
        assert_eq!(stents("于回旋支置入2枚药物洗脱支架。"), Some(2));
        assert_eq!(stents("右冠串联植入两枚支架。"), Some(2));
        assert_eq!(stents("于前降支植入支架1枚。"), Some(1));
        assert_eq!(stents("于右冠植入3个支架。"), Some(3));
        assert_eq!(stents("前降支置入三枚支架，回旋支置入一枚支架。"), Some(4));
        assert_eq!(
            stents("于前降支植入支架1枚。于回旋支植入支架1枚。本次共植入支架2枚。"),
            Some(2)
        );
    }

    #[test]
    fn stent_sizes_are_counted_once_and_balloons_ignored() {
        let t = "取2.0×20mm球囊扩张前降支病变，于前降支中段植入3.0×29mm药物洗脱支架，\
                 于近段串联植入3.5×18mm支架，以3.5×15mm非顺应性球囊后扩。重复造影示3.0×29mm支架扩张满意。";
        let r = op(t);
        let c = count_stents(&RecordView::new(&r)).unwrap();
        assert_eq!(c.n, 2);
        assert!((c.confidence - CONF_SIZES).abs() < 1e-6);
        for s in &c.spans {
            assert!(t[s.start..s.end].contains('×'));
        }
    }

    #[test]
    fn findings_and_history_do_not_count_stents() {
        assert_eq!(stents("前降支近段支架内未见明显狭窄，中段狭窄60%。"), None);
        assert_eq!(stents("既往于前降支植入支架2枚。"), None);
        assert_eq!(stents("患者拒绝植入支架，仅行球囊扩张。"), None);
        // A placement without any number: one stent, low confidence.
        let r = op("行冠状动脉造影+支架植入术。");
        let c = count_stents(&RecordView::new(&r)).unwrap();
        assert_eq!(c.n, 1);
        assert!(c.confidence < 0.5);
    }

    #[test]
    fn vessels_come_from_deployment_clauses_not_findings() {
        let t = "造影示：左主干未见明显狭窄；前降支中段狭窄60%，第二对角支狭窄80%；回旋支中段狭窄50%；\
                 右冠近段狭窄90%。送导丝至右冠远端，取球囊扩张右冠病变，于右冠近段植入3.0×29mm支架。";
        assert_eq!(vessels(t), Some(1));
        assert_eq!(vessels("于LAD植入支架1枚，于RCA植入支架1枚。"), Some(2));
        assert_eq!(
            vessels("于前降支-第一对角支分叉处行对吻扩张，前降支植入支架。"),
            Some(2)
        );
        assert_eq!(
            vessels("前降支狭窄90%，回旋支狭窄70%，建议择期处理回旋支。"),
            None
        );
        // Vessel named in the sentence, device verb in another clause.
        assert_eq!(
            vessels("前降支中段病变，导丝通过后，植入支架1枚。"),
            Some(1)
        );
        // Old stents and ectasia are findings, not treatment.
        assert_eq!(
            vessels("回旋支至钝缘支原植入支架通畅，于前降支植入支架1枚。"),
            Some(1)
        );
        assert_eq!(
            vessels("第二对角支开口后瘤样扩张，回旋支中段扩张，血流缓慢。"),
            None
        );
        assert_eq!(stents("冠状动脉CTA：冠状动脉多发支架植入术后改变。"), None);
        assert_eq!(stents("LAD中段狭窄病变处给予2个药物洗脱支架。"), Some(2));
        assert_eq!(
            vessels("行冠状动脉造影+支架植入术，术中见：前降支近段钙化，对角支多发狭窄。"),
            None
        );
        assert_eq!(
            vessels("冠状动脉支架植入术后所见，左前降支心肌桥形成。"),
            None
        );
    }

    #[test]
    fn peripheral_vessels_keep_their_side() {
        let r = op("于左髂总动脉植入支架1枚，于右髂总动脉植入支架1枚；经右股动脉穿刺置入鞘管。");
        let c = count_vessels(&RecordView::new(&r), Site::Peripheral).unwrap();
        assert_eq!(c.n, 2, "{}", c.how);
        let r = op("双侧髂总动脉对吻支架植入。");
        assert_eq!(
            count_vessels(&RecordView::new(&r), Site::Peripheral)
                .unwrap()
                .n,
            2
        );
    }
}
