//! A fictional record, two tiny code tables and filled runs, for the TUI's
//! tests, snapshots, benchmark and demo. Nothing here comes from a real
//! patient; the codes and names are the public classifications'.

use std::sync::Arc;

use crate::pipeline::{
    AgentCall, CodingContext, Engine, Flag, Item, Method, Origin, Run, Span, StageKind, Trace,
};
use crate::record::{fields, Gold, GoldCode, Record, Track};
use crate::search::Matcher;
use crate::terminology::{normalize_code, CodeEntry, CodeKind, CodeSystem, Terminology};

/// The demo record: a fictional PCI admission.
pub fn record() -> Record {
    Record::new("ZY-DEMO-0001")
        .with_section(fields::CHIEF_COMPLAINT, "反复胸闷、胸痛3月，加重1周。")
        .with_section(
            fields::PRESENT_ILLNESS,
            "患者3月前活动后出现胸闷、胸痛，位于胸骨后，呈压榨样，持续约5分钟，休息后缓解。\
             1周前症状加重，静息时亦有发作，为进一步诊治收入我科。",
        )
        .with_section(
            fields::PAST_HISTORY,
            "高血压病史10年，最高180/100mmHg，规律服用氨氯地平。2型糖尿病病史5年，口服二甲双胍。",
        )
        .with_section(
            fields::PROCEDURE_NAMES,
            "经皮冠状动脉支架置入术；冠状动脉造影术",
        )
        .with_section(
            fields::OPERATIVE_REPORT,
            "经右桡动脉穿刺，行左右冠状动脉造影：前降支近段狭窄约90%。\
             以球囊预扩张后，于前降支近段植入药物洗脱支架1枚，复查造影无残余狭窄，TIMI血流3级。",
        )
        .with_section(
            fields::DISCHARGE_DIAGNOSIS,
            "1.冠状动脉粥样硬化性心脏病\n2.不稳定型心绞痛\n3.高血压病3级（很高危）\n4.2型糖尿病",
        )
        .with_section(
            fields::DISCHARGE_STATUS,
            "患者胸痛缓解，穿刺处无出血，一般情况好。",
        )
}

/// Another short record, so that the record picker has a choice.
pub fn second_record() -> Record {
    Record::new("ZY-DEMO-0002")
        .with_section(fields::CHIEF_COMPLAINT, "头晕2天。")
        .with_section(
            fields::DISCHARGE_DIAGNOSIS,
            "1.高血压病3级（很高危）\n2.2型糖尿病",
        )
}

/// A handful of fictional past records with their final codes (gold), to
/// learn a small model from (similar cases). One of them carries a code the
/// demo table lacks.
pub fn history() -> Vec<Record> {
    let gold = |codes: &[(&str, &str)]| {
        (!codes.is_empty()).then(|| {
            codes
                .iter()
                .map(|(c, n)| GoldCode {
                    code: c.to_string(),
                    name: Some(n.to_string()),
                })
                .collect()
        })
    };
    let rec = |id: &str, cc: &str, dx: &str, px: &str, d: &[(&str, &str)], p: &[(&str, &str)]| {
        let mut r = Record::new(id)
            .with_section(fields::CHIEF_COMPLAINT, cc)
            .with_section(fields::DISCHARGE_DIAGNOSIS, dx);
        if !px.is_empty() {
            r = r.with_section(fields::PROCEDURE_NAMES, px);
        }
        r.gold = Gold {
            diagnoses: gold(d),
            procedures: gold(p),
        };
        r
    };
    vec![
        rec(
            "ZY-HIST-0101",
            "胸痛1周。",
            "1.不稳定型心绞痛\n2.冠状动脉粥样硬化性心脏病\n3.高血压病3级（很高危）",
            "经皮冠状动脉支架置入术；冠状动脉造影术",
            &[
                ("I20.000", "不稳定型心绞痛"),
                ("I25.103", "冠状动脉粥样硬化性心脏病"),
                ("I10.x00x032", "高血压病3级（很高危）"),
            ],
            &[
                ("36.07", "经皮冠状动脉支架置入术"),
                ("88.56", "冠状动脉造影术"),
                ("00.40", ""),
                ("00.45", ""),
            ],
        ),
        rec(
            "ZY-HIST-0102",
            "持续胸痛6小时。",
            "1.急性非ST段抬高型心肌梗死\n2.冠状动脉粥样硬化性心脏病\n3.2型糖尿病\n4.心功能不全",
            "经皮冠状动脉支架置入术；冠状动脉造影术",
            &[
                ("I21.401", "急性非ST段抬高型心肌梗死"),
                ("I25.103", "冠状动脉粥样硬化性心脏病"),
                ("E11.900", "2型糖尿病"),
                ("I50.900", "心功能不全"),
            ],
            &[
                ("36.07", "经皮冠状动脉支架置入术"),
                ("88.56", "冠状动脉造影术"),
            ],
        ),
        rec(
            "ZY-HIST-0103",
            "活动后胸闷2年。",
            "1.冠状动脉粥样硬化性心脏病\n2.心绞痛",
            "冠状动脉造影术",
            &[
                ("I25.103", "冠状动脉粥样硬化性心脏病"),
                ("I20.900", "心绞痛"),
            ],
            &[("88.55", "冠状动脉造影术")],
        ),
        rec(
            "ZY-HIST-0104",
            "头晕3天。",
            "1.高血压病1级\n2.2型糖尿病",
            "",
            &[("I10.x00x002", "高血压病1级"), ("E11.900", "2型糖尿病")],
            &[],
        ),
        rec(
            "ZY-HIST-0105",
            "反复胸闷1月。",
            "1.不稳定型心绞痛\n2.2型糖尿病",
            "经皮冠状动脉腔内血管成形术；冠状动脉造影术",
            &[("I20.000", "不稳定型心绞痛"), ("E11.900", "2型糖尿病")],
            &[
                ("00.66", "经皮冠状动脉腔内血管成形术"),
                ("88.56", "冠状动脉造影术"),
            ],
        ),
        rec(
            "ZY-HIST-0106",
            "发现血压升高5年。",
            "1.高血压病3级（很高危）",
            "",
            &[("I10.x00x032", "高血压病3级（很高危）")],
            &[],
        ),
    ]
}

/// A small model learned from [`history`] over the demo tables (no inner
/// cross-validation), for the similar-cases popup's tests and demo.
pub fn learned_model() -> Arc<crate::learn::LearnedModel> {
    let records = history();
    let input = crate::learn::LearnInput {
        records: &records,
        ..Default::default()
    };
    let opts = crate::learn::LearnOptions {
        inner_folds: 0,
        ..Default::default()
    };
    Arc::new(crate::learn::learn(&context(), &input, &opts).0)
}

fn entry(
    system: CodeSystem,
    code: &str,
    name: &str,
    kind: CodeKind,
    parent: Option<&str>,
) -> CodeEntry {
    CodeEntry {
        code: code.into(),
        name: name.into(),
        kind,
        aliases: Vec::new(),
        assignable: kind >= CodeKind::Code,
        parent: parent.map(|p| normalize_code(system, p)),
    }
}

/// A tiny ICD-10 table.
pub fn diagnoses_table() -> Terminology {
    use CodeKind::*;
    let s = CodeSystem::Icd10;
    let e = |c, n, k, p| entry(s, c, n, k, p);
    let mut v = vec![
        e("IX", "循环系统疾病", Chapter, None),
        e("I20-I25", "缺血性心脏病", Block, Some("IX")),
        e("I20", "心绞痛", Category, Some("I20-I25")),
        e("I20.000", "不稳定型心绞痛", Code, Some("I20")),
        e("I20.900", "心绞痛", Code, Some("I20")),
        e("I21", "急性心肌梗死", Category, Some("I20-I25")),
        e("I21.401", "急性非ST段抬高型心肌梗死", Code, Some("I21")),
        e("I25", "慢性缺血性心脏病", Category, Some("I20-I25")),
        e("I25.103", "冠状动脉粥样硬化性心脏病", Code, Some("I25")),
        e("I10-I15", "高血压病", Block, Some("IX")),
        e("I10", "特发性（原发性）高血压", Category, Some("I10-I15")),
        e("I10.x00x032", "高血压3级（极高危）", Extension, Some("I10")),
        e("I10.x00x002", "高血压1级", Extension, Some("I10")),
        e("IV", "内分泌、营养和代谢疾病", Chapter, None),
        e("E11", "2型糖尿病", Category, Some("IV")),
        e("E11.900", "2型糖尿病不伴有并发症", Code, Some("E11")),
    ];
    v[11].aliases.push("高血压病3级（很高危）".into());
    v[15].aliases.push("2型糖尿病".into());
    Terminology::from_entries(s, "demo ICD-10", "demo-icd10", v)
}

/// A tiny ICD-9-CM-3 table.
pub fn procedures_table() -> Terminology {
    use CodeKind::*;
    let s = CodeSystem::Icd9Cm3;
    let e = |c, n, k, p| entry(s, c, n, k, p);
    let v = vec![
        // (One-digit subcategories such as 00.4 are left out: they share a
        // normalized key with 00.40.)
        e("00", "操作和介入，不能分类于他处", Category, None),
        e("00.40", "单根血管操作", Code, Some("00")),
        e("00.41", "两根血管操作", Code, Some("00")),
        e("00.45", "置入一根血管的支架", Code, Some("00")),
        e(
            "00.66",
            "经皮冠状动脉腔内血管成形术[PTCA]",
            Code,
            Some("00"),
        ),
        e("36", "心脏血管手术", Category, None),
        e("36.07", "药物洗脱冠状动脉支架置入", Code, Some("36")),
        e("88", "其他诊断性放射学和有关技术", Category, None),
        e("88.55", "单根导管的冠状动脉造影术", Code, Some("88")),
        e("88.56", "两根导管的冠状动脉造影术", Code, Some("88")),
    ];
    Terminology::from_entries(s, "demo ICD-9-CM-3", "demo-icd9", v)
}

/// The coding context over the two tiny tables.
pub fn context() -> Arc<CodingContext> {
    Arc::new(CodingContext::new(
        Matcher::linear(Arc::new(diagnoses_table())),
        Matcher::linear(Arc::new(procedures_table())),
    ))
}

/// An engine over the tiny tables (no model).
pub fn engine() -> Engine {
    crate::assemble::standard_engine(context())
}

/// Byte span of `needle` in a section of the record.
pub fn span(record: &Record, section: &str, needle: &str) -> Vec<Span> {
    let Some(i) = record.section_index(section) else {
        return Vec::new();
    };
    match record.sections[i].text.find(needle) {
        Some(start) => vec![Span {
            section: i,
            start,
            end: start + needle.len(),
        }],
        None => Vec::new(),
    }
}

fn it(text: &str, origin: Origin, conf: f32) -> Item {
    let mut i = Item::new(text, origin).with_confidence(conf);
    if conf < 0.6 {
        i.flag(Flag::LowConfidence);
    }
    i
}

fn agent_trace(agent: &str, prompt: &str, raw: &str, ms: f64) -> Trace {
    let mut t = Trace::new(Method::Agent {
        model: "demo-1.7B".into(),
    });
    t.started = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
    t.elapsed_ms = ms;
    t.note("4 candidates retrieved per item");
    t.calls.push(AgentCall {
        agent: agent.into(),
        prompt: prompt.into(),
        grammar: Some("root ::= \"[\" item (\",\" item)* \"]\"\nitem ::= [0-9]+".into()),
        raw_output: raw.into(),
        prompt_tokens: 812,
        cached_tokens: 640,
        generated_tokens: 9,
        elapsed_ms: ms,
        mean_prob: Some(0.91),
    });
    t
}

/// Diagnosis and procedure lists of every stage of the demo record, as a
/// finished run would hold them.
pub fn stage_lists(record: &Record) -> Vec<(Track, StageKind, Vec<Item>)> {
    let dd = fields::DISCHARGE_DIAGNOSIS;
    let ev = |needle: &str, section: &str| span(record, section, needle);
    let cad = || {
        let mut i = it("冠状动脉粥样硬化性心脏病", Origin::Agent, 0.93)
            .with_source("冠状动脉粥样硬化性心脏病");
        i.evidence = ev("冠状动脉粥样硬化性心脏病", dd);
        i
    };
    let ua = || {
        let mut i = it("不稳定型心绞痛", Origin::Agent, 0.88).with_source("不稳定型心绞痛");
        i.evidence = ev("不稳定型心绞痛", dd);
        i.evidence
            .extend(ev("静息时亦有发作", fields::PRESENT_ILLNESS));
        i
    };
    let htn = || {
        let mut i =
            it("高血压3级（极高危）", Origin::Retrieval, 0.71).with_source("高血压病3级（很高危）");
        i.evidence = ev("高血压病3级（很高危）", dd);
        i
    };
    let dm = || {
        let mut i = it("2型糖尿病", Origin::Agent, 0.54).with_source("2型糖尿病");
        i.evidence = ev("2型糖尿病", dd);
        i
    };
    let coded = |mut i: Item, code: &str, conf: f32| {
        i.code = Some(code.into());
        i.confidence = Some(conf);
        i.flags.retain(|f| *f != Flag::LowConfidence);
        if conf < 0.6 {
            i.flag(Flag::LowConfidence);
        }
        i
    };
    let or = fields::OPERATIVE_REPORT;
    let stent = || {
        let mut i = it("药物洗脱冠状动脉支架置入", Origin::Agent, 0.91)
            .with_source("经皮冠状动脉支架置入术");
        i.evidence = ev("植入药物洗脱支架1枚", or);
        i
    };
    let angio = || {
        let mut i =
            it("两根导管的冠状动脉造影术", Origin::Agent, 0.77).with_source("冠状动脉造影术");
        i.evidence = ev("行左右冠状动脉造影", or);
        i
    };
    let ptca = || {
        let mut i = it("经皮冠状动脉腔内血管成形术[PTCA]", Origin::Agent, 0.58);
        i.evidence = ev("以球囊预扩张", or);
        i
    };
    let vessel = || {
        let mut i = it("单根血管操作", Origin::Rule, 0.95).with_code("00.40");
        i.evidence = ev("前降支近段", or);
        i
    };
    let one_stent = || {
        let mut i = it("置入一根血管的支架", Origin::Rule, 0.95).with_code("00.45");
        i.evidence = ev("支架1枚", or);
        i
    };
    vec![
        (
            Track::Diagnosis,
            StageKind::Standardize,
            vec![cad(), ua(), htn(), dm()],
        ),
        (
            Track::Diagnosis,
            StageKind::Prioritize,
            vec![ua(), cad(), htn(), dm()],
        ),
        (
            Track::Diagnosis,
            StageKind::Validate,
            vec![ua(), cad(), htn(), dm()],
        ),
        (
            Track::Diagnosis,
            StageKind::Map,
            vec![
                coded(ua(), "I20.000", 0.97),
                coded(cad(), "I25.103", 0.96),
                coded(htn(), "I10.x00x032", 0.82),
                coded(dm(), "E11.900", 0.57),
            ],
        ),
        (
            Track::Procedure,
            StageKind::Standardize,
            vec![stent(), angio()],
        ),
        (
            Track::Procedure,
            StageKind::Mine,
            vec![stent(), angio(), ptca()],
        ),
        (
            Track::Procedure,
            StageKind::Prioritize,
            vec![stent(), ptca(), angio()],
        ),
        (
            Track::Procedure,
            StageKind::CodeAlso,
            vec![stent(), ptca(), angio(), vessel(), one_stent()],
        ),
        (
            Track::Procedure,
            StageKind::Validate,
            vec![stent(), angio(), vessel(), one_stent()],
        ),
        (
            Track::Procedure,
            StageKind::Map,
            vec![
                coded(stent(), "36.07", 0.95),
                coded(angio(), "88.56", 0.81),
                vessel(),
                one_stent(),
            ],
        ),
    ]
}

/// A finished run of the demo record, every stage fresh.
pub fn finished_run(record: &Record) -> Run {
    let mut run = Run::new(record.id.clone());
    for (t, k, items) in stage_lists(record) {
        let trace = agent_trace(
            &format!("{}-{}", k.label(), t.label()),
            &format!(
                "你是病案编码员。任务：{}。\n病历：{}",
                k.title_zh(),
                record.section(fields::DISCHARGE_DIAGNOSIS).unwrap_or("")
            ),
            "[1,0,2,3]",
            42.5,
        );
        run.set_output(t, k, items, trace);
    }
    run
}

/// A run with `n` items in every list of both tracks (benchmarks).
pub fn bulk_run(record: &Record, n: usize) -> Run {
    let names = [
        "冠状动脉粥样硬化性心脏病",
        "不稳定型心绞痛",
        "高血压3级（极高危）",
        "2型糖尿病不伴有并发症",
        "药物洗脱冠状动脉支架置入",
        "两根导管的冠状动脉造影术",
    ];
    let codes = [
        "I25.103",
        "I20.000",
        "I10.x00x032",
        "E11.900",
        "36.07",
        "88.56",
    ];
    let mut run = Run::new(record.id.clone());
    for t in Track::ALL {
        for k in StageKind::of_track(t) {
            let items = (0..n)
                .map(|i| {
                    let j = (i + k as usize) % names.len();
                    let mut item = it(
                        &format!("{}（第{}项）", names[j], i + 1),
                        [
                            Origin::Agent,
                            Origin::Retrieval,
                            Origin::Rule,
                            Origin::Coder,
                        ][i % 4],
                        0.4 + (i % 6) as f32 * 0.1,
                    );
                    item.evidence = span(record, fields::DISCHARGE_DIAGNOSIS, "不稳定型心绞痛");
                    if k == StageKind::Map || k == StageKind::CodeAlso {
                        item.code = Some(codes[j].into());
                    }
                    item
                })
                .collect();
            run.set_output(t, k, items, Trace::new(Method::Rules));
        }
    }
    run
}

/// A tiny alphabetic index of each system (fictional rows in the printed
/// index's form, one with a low OCR confidence), for the index browser.
pub fn alpha_indexes() -> crate::terminology::alphabetic::AlphaIndexes {
    use crate::terminology::alphabetic::{AlphaIndex, AlphaIndexes, IndexEntry};
    let e = |depth: u8, text: &str, english: &str, code: &str, conf: f32| IndexEntry {
        depth,
        text: text.into(),
        english: english.into(),
        code: code.into(),
        confidence: Some(conf),
        page: Some(1199),
        neoplasm: Default::default(),
        parent: None,
        end: 0,
    };
    let icd10 = vec![
        e(
            0,
            "动脉硬化(弥漫性)(老年性)",
            "Arteriosclerosis",
            "I70.9",
            0.95,
        ),
        e(1, "冠状(动脉)", "coronary (artery)", "I25.1", 0.94),
        e(0, "高血压(原发性)(良性)", "Hypertension", "I10", 0.96),
        e(
            1,
            "心脏(病)(伴有心力衰竭)",
            "heart (disease)",
            "I11.9",
            0.90,
        ),
        e(
            0,
            "梗死前综合征 - 见 心绞痛，不稳定型",
            "Preinfarction syndrome - see Angina, unstable",
            "",
            0.94,
        ),
        e(
            0,
            "心绞痛(发作)(心)(胸)",
            "Angina (attack) (cardiac) (chest)",
            "I20.9",
            0.97,
        ),
        e(1, "变异型", "variant", "I20.1", 0.83),
        e(1, "不稳定型", "unstable", "I20.0", 0.96),
        e(
            1,
            "动脉硬化性-见动脉硬化，冠状",
            "arteriosclerotic - see Arteriosclerosis, coronary",
            "",
            0.92,
        ),
        e(1, "梗死前", "preinfarctional", "I20.0", 0.95),
    ];
    let icd9 = vec![
        e(0, "造影，冠状动脉", "Arteriography, coronary", "88.57", 1.0),
        e(1, "单根导管", "single catheter", "88.55", 1.0),
        e(1, "两根导管", "double catheter", "88.56", 1.0),
        e(
            0,
            "冠状动脉造影术 - 见 造影，冠状动脉",
            "Coronary arteriography - see Arteriography, coronary",
            "",
            1.0,
        ),
    ];
    AlphaIndexes {
        icd10: Some(Arc::new(AlphaIndex::from_entries(
            CodeSystem::Icd10,
            "demo ICD-10 index".into(),
            icd10,
        ))),
        icd9cm3: Some(Arc::new(AlphaIndex::from_entries(
            CodeSystem::Icd9Cm3,
            "demo ICD-9-CM-3 index".into(),
            icd9,
        ))),
    }
}
