//! Agent training examples from coded history: the prompts are the agents'
//! own, the answers follow the gold codes and the grammar, and a record's
//! questions stay on one side of the split.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use icdflow::agents::prompt::Prompts;
use icdflow::agents::sft::Exporter;
use icdflow::agents::AgentsConfig;
use icdflow::pipeline::CodingContext;
use icdflow::record::{Gold, GoldCode, Record};
use icdflow::search::Matcher;
use icdflow::terminology::{CodeSystem, Terminology};

fn context() -> Arc<CodingContext> {
    let d = Terminology::from_pairs(
        CodeSystem::Icd10,
        "d",
        &[
            ("I20.000", "不稳定型心绞痛"),
            ("I21.401", "急性非ST段抬高型心肌梗死"),
            ("I25.103", "冠状动脉粥样硬化性心脏病"),
            ("I10.x00x032", "高血压病3级（极高危）"),
            ("I10.x00x028", "高血压病2级（极高危）"),
        ],
    );
    let p = Terminology::from_pairs(
        CodeSystem::Icd9Cm3,
        "p",
        &[
            ("36.0700", "药物洗脱冠状动脉支架置入"),
            ("88.5500", "单根导管的冠状动脉造影术"),
        ],
    );
    Arc::new(CodingContext::new(
        Matcher::in_memory(Arc::new(d)).unwrap(),
        Matcher::in_memory(Arc::new(p)).unwrap(),
    ))
}

fn codes(c: &[&str]) -> Option<Vec<GoldCode>> {
    Some(
        c.iter()
            .map(|c| GoldCode {
                code: c.to_string(),
                name: None,
            })
            .collect(),
    )
}

fn records() -> Vec<Record> {
    (0..30)
        .map(|i| {
            let mut r = Record::new(format!("S{i:02}"))
                .with_section(
                    "出院诊断",
                    "1.冠心病 2.急性非ST段抬高型心梗 3.高血压病（3级很高危）",
                )
                .with_section("手术名称", "冠脉药物支架置入")
                .with_section("手术经过", "行冠状动脉造影，于前降支植入药物洗脱支架1枚。")
                // records i and i + 20 differ only by id: the same questions
                .with_section("主诉", format!("反复胸痛{}小时", i % 20));
            r.gold = Gold {
                diagnoses: codes(&["I21.401", "I25.103", "I10.x00x032"]),
                procedures: codes(&["36.0700", "88.5500"]),
            };
            r
        })
        .collect()
}

#[test]
fn examples_follow_gold_codes_prompts_and_grammar() {
    let ctx = context();
    let cfg = AgentsConfig::for_model("unused.gguf".into(), ".".into());
    let prompts = Prompts::load(None).unwrap();
    let mut engine = icdflow::assemble::standard_engine(ctx);
    let ex = Exporter {
        prompts: &prompts,
        cfg: &cfg,
        budget: 4000,
        val_every: 5,
    };
    let out = ex.export(&mut engine, &records()).unwrap();
    assert_eq!(out.records, 30);
    let by_role: BTreeMap<&str, Vec<_>> = out.examples.iter().fold(BTreeMap::new(), |mut m, e| {
        m.entry(e.role).or_insert_with(Vec::new).push(e);
        m
    });
    // the principal is NSTEMI, listed second after coronary heart disease
    // in rule order or first: the answer names its number in the list shown
    let prio = &by_role["prioritize_diagnosis"];
    for e in prio {
        let n: usize = e
            .answer
            .trim_start_matches("{\"principal\":")
            .trim_end_matches('}')
            .parse()
            .unwrap();
        let line = e
            .prompt
            .lines()
            .find(|l| l.starts_with(&format!("{n}. ")))
            .expect("the answer names a listed item");
        assert!(line.contains("急性非ST段抬高型心肌梗死"), "{line}");
    }
    // every prompt starts with the shared record prefix and ends where the
    // agent's answer starts
    for e in &out.examples {
        assert!(e.prompt.starts_with("<|im_start|>system"));
        assert!(e.prompt.contains("【病案 S"));
        assert!(
            e.prompt.trim_end().ends_with("<|im_start|>assistant"),
            "{}",
            e.role
        );
        let v: serde_json::Value = serde_json::from_str(&e.answer).unwrap();
        assert!(v.is_object());
        // the record prefix ends before the question, and the answer's
        // schema names the answer's key
        let prefix: String = e.prompt.chars().take(e.prefix_chars).collect();
        assert!(
            prefix.contains("【病案 S") && !prefix.contains("【任务】"),
            "{prefix}"
        );
        let key = v.as_object().unwrap().keys().next().unwrap();
        assert!(e.schema["properties"].get(key).is_some(), "{}", e.schema);
    }
    // what each stage answers without its agent: the rules' first item,
    // the mined candidate and the item in doubt kept, retrieval's pick
    for e in &out.examples {
        let default = e.default.as_deref();
        match e.role {
            "prioritize_diagnosis" | "prioritize_procedure" => {
                assert_eq!(default, Some("{\"principal\":1}"))
            }
            "mine_procedure" => assert_eq!(default, Some("{\"done\":\"y\"}")),
            "validate_diagnosis" | "validate_procedure" => {
                assert_eq!(default, Some("{\"keep\":\"y\"}"))
            }
            _ => assert!(
                default.is_none_or(|d| d.starts_with("{\"pick\":\"")),
                "{default:?}"
            ),
        }
    }
    // the mined angiography is gold: done = y
    assert!(by_role["mine_procedure"]
        .iter()
        .all(|e| e.answer == "{\"done\":\"y\"}"));
    // one record's questions stay in one split
    let mut split: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &out.examples {
        split
            .entry(e.record_id.as_str())
            .or_default()
            .insert(e.split);
    }
    assert!(split.values().all(|s| s.len() == 1));
    assert!(split.values().any(|s| s.contains("val")));
    // records that differ only by id give the same questions: dropped, counted
    let stats = &out.stats["prioritize_diagnosis"];
    assert_eq!((stats.examples, stats.duplicates), (20, 10));
}
