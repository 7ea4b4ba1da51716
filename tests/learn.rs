//! The learned model end to end: learning from coded records, the model
//! file and its guards, the stages using it (and saying so), and — on the
//! shared CCL25 records when ../shared/data is present — that learning
//! from keyword-extracted history, with the evaluated ids left out, codes
//! held-out full records far better than retrieval and rules alone.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use icdflow::learn::{learn, store, LearnInput, LearnOptions, LearnedHelper, LearnedModel};
use icdflow::pipeline::batch::{code_record, evaluate, Ablation};
use icdflow::pipeline::engine::with_quiet_control;
use icdflow::pipeline::{CodingContext, Engine, Flag, Origin, StageKind};
use icdflow::record::{Gold, GoldCode, Record, Track};
use icdflow::search::Matcher;
use icdflow::terminology::{CodeSystem, Terminology};

fn tables() -> (Terminology, Terminology) {
    let d = Terminology::from_pairs(
        CodeSystem::Icd10,
        "demo ICD-10",
        &[
            ("I20.000", "不稳定型心绞痛"),
            ("I21.401", "急性非ST段抬高型心肌梗死"),
            ("I25.103", "冠状动脉粥样硬化性心脏病"),
            ("I10.x00x032", "高血压病3级（极高危）"),
            ("E11.900", "2型糖尿病"),
            ("J18.900", "肺炎"),
        ],
    );
    let p = Terminology::from_pairs(
        CodeSystem::Icd9Cm3,
        "demo ICD-9-CM-3",
        &[
            ("88.5500", "单根导管的冠状动脉造影术"),
            ("36.0700", "药物洗脱冠状动脉支架置入"),
        ],
    );
    (d, p)
}

fn context() -> Arc<CodingContext> {
    let (d, p) = tables();
    Arc::new(CodingContext::new(
        Matcher::linear(Arc::new(d)),
        Matcher::linear(Arc::new(p)),
    ))
}

fn gold(codes: &[&str]) -> Option<Vec<GoldCode>> {
    Some(
        codes
            .iter()
            .map(|c| GoldCode {
                code: c.to_string(),
                name: None,
            })
            .collect(),
    )
}

/// Coded history where the admission list always says unstable angina but
/// the principal is NSTEMI exactly when troponin is raised, and diabetes is
/// coded when the history says so (it is never in the list).
fn history(n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let nstemi = i % 2 == 0;
            let diabetes = i % 3 == 0;
            let course = if nstemi {
                "入院后查肌钙蛋白I 2.3ng/ml，明显升高，行冠脉造影"
            } else {
                "入院后查肌钙蛋白正常，行冠脉造影"
            };
            let past = if diabetes {
                "2型糖尿病病史5年，口服二甲双胍"
            } else {
                "否认糖尿病病史"
            };
            let mut r = Record::new(format!("H{i:03}"))
                .with_section(
                    "入院诊断",
                    "1.冠心病 不稳定型心绞痛 2.高血压病3级（极高危）",
                )
                .with_section("既往史", past)
                .with_section("诊疗经过", course);
            let mut codes = vec![if nstemi { "I21.401" } else { "I20.000" }, "I10.x00x032"];
            if diabetes {
                codes.push("E11.900");
            }
            r.gold = Gold {
                diagnoses: gold(&codes),
                procedures: None,
            };
            r
        })
        .collect()
}

fn learned(ctx: &CodingContext, records: &[Record]) -> LearnedModel {
    learn(
        ctx,
        &LearnInput {
            records,
            ..Default::default()
        },
        &LearnOptions::default(),
    )
    .0
}

fn engine(ctx: Arc<CodingContext>, model: LearnedModel) -> Engine {
    icdflow::assemble::engine(
        ctx,
        Some(LearnedHelper::new(Some(Arc::new(model)), None)),
        None,
    )
}

#[test]
fn the_model_learns_what_rules_miss_and_says_so() {
    let ctx = context();
    let model = learned(&ctx, &history(60));
    assert_eq!(model.training.ids.len(), 60);
    let dx = model.track(Track::Diagnosis).unwrap();
    assert!(dx.principal.is_some());
    assert!(dx.quality.as_ref().unwrap().principal_accuracy > 0.9);
    let mut eng = engine(ctx.clone(), model);

    // a new record with raised troponin: NSTEMI first, though the list says angina
    let mut r = Record::new("new-1")
        .with_section(
            "入院诊断",
            "1.冠心病 不稳定型心绞痛 2.高血压病3级（极高危）",
        )
        .with_section("既往史", "2型糖尿病病史3年")
        .with_section("诊疗经过", "肌钙蛋白T 0.8ng/ml，升高");
    r.gold = Gold::default();
    let run = with_quiet_control(|c| code_record(&mut eng, &r, &Ablation::default(), c)).unwrap();
    let finals = run.final_items(Track::Diagnosis);
    assert_eq!(finals[0].code.as_deref(), Some("I21.401"), "{finals:?}");
    assert_eq!(finals[0].origin, Origin::Learned);
    assert!(finals[0].confidence.unwrap() > 0.5);
    assert!(finals[0].model.as_deref().unwrap().starts_with("learned v"));
    // diabetes, never listed, comes from the classifier with its evidence
    let dm = finals
        .iter()
        .find(|i| i.code.as_deref() == Some("E11.900"))
        .expect("diabetes proposed");
    assert_eq!(dm.origin, Origin::Learned);
    assert!(!dm.evidence.is_empty() && !dm.has_flag(&Flag::NoEvidence));
    // the trace names the features behind the decision
    let std = run.stage(Track::Diagnosis, StageKind::Standardize).unwrap();
    let notes = std.trace.as_ref().unwrap().notes.join("\n");
    assert!(
        notes.contains("learned: added I21.401") && notes.contains("cue:troponin_up"),
        "{notes}"
    );

    // switched off, the same record is coded by retrieval and rules alone
    let off = Ablation::parse(&["learned".into()]).unwrap();
    let run = with_quiet_control(|c| code_record(&mut eng, &r, &off, c)).unwrap();
    let finals = run.final_items(Track::Diagnosis);
    assert!(finals.iter().all(|i| i.origin != Origin::Learned));
    assert_ne!(finals[0].code.as_deref(), Some("I21.401"));
    assert!(!eng.describe().contains("learned"), "{}", eng.describe());
}

#[test]
fn held_out_history_scores_better_with_the_model() {
    let ctx = context();
    let all = history(80);
    let (train, test) = all.split_at(60);
    let mut with = engine(ctx.clone(), learned(&ctx, train));
    let base = with_quiet_control(|c| {
        evaluate(
            &mut with,
            test,
            &Ablation::parse(&["learned".into()]).unwrap(),
            c,
            |_| {},
        )
    });
    let full = with_quiet_control(|c| evaluate(&mut with, test, &Ablation::default(), c, |_| {}));
    assert!(
        full.diagnosis.ccl25_score > base.diagnosis.ccl25_score + 0.2,
        "learned {} vs rules {}",
        full.diagnosis.ccl25_score,
        base.diagnosis.ccl25_score
    );
    assert!(full.diagnosis.principal_accuracy > 0.9);
}

#[test]
fn the_model_file_round_trips_and_refuses_what_it_cannot_use() {
    let ctx = context();
    let model = learned(&ctx, &history(30));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.model");
    store::save(&model, &path).unwrap();
    let back = store::load(&path).unwrap();
    assert_eq!(back.training, model.training);
    assert_eq!(back.tracks, model.tracks);
    store::check_tables(&back, &ctx, &path).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    let err = |b: &[u8]| store::from_bytes(b, &path).unwrap_err().to_string();
    // truncated
    let e = err(&bytes[..bytes.len() / 2]);
    assert!(e.contains("m.model") && e.contains("corrupt"), "{e}");
    // one flipped byte
    let mut flipped = bytes.clone();
    let n = flipped.len();
    flipped[n - 10] ^= 0x55;
    assert!(err(&flipped).contains("corrupt"));
    // a newer format
    let mut newer = bytes.clone();
    newer[16..20].copy_from_slice(&(icdflow::learn::FORMAT_VERSION + 1).to_le_bytes());
    assert!(err(&newer).contains("newer icdflow"));
    // not a model at all
    assert!(err(b"{\"records\": 3}").contains("not an icdflow learned model"));

    // another diagnosis table
    let other = Terminology::from_pairs(CodeSystem::Icd10, "other", &[("I10.x00", "高血压")]);
    let (_, p) = tables();
    let ctx2 = CodingContext::new(
        Matcher::linear(Arc::new(other)),
        Matcher::linear(Arc::new(p)),
    );
    let e = store::check_tables(&back, &ctx2, &path)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("m.model") && e.contains("another diagnosis table"),
        "{e}"
    );
}

#[test]
fn gold_coded_items_become_aliases() {
    let ctx = context();
    let mut r = Record::new("A1").with_section("出院诊断", "1.冠心病 2.肺部感染");
    r.gold = Gold {
        diagnoses: gold(&["I25.103", "J18.900"]),
        procedures: None,
    };
    let model = learned(&ctx, &[r.clone(), r]);
    let a = model
        .aliases
        .exact(Track::Diagnosis, "肺部感染")
        .expect("aligned");
    assert_eq!(a.best(), ["J18.900".to_string()]);
    // the next record with the same raw text maps the same way, by the memory
    let mut eng = engine(ctx, model);
    let r = Record::new("B1").with_section("出院诊断", "1.肺部感染");
    let run = with_quiet_control(|c| code_record(&mut eng, &r, &Ablation::default(), c)).unwrap();
    let std = &run
        .stage(Track::Diagnosis, StageKind::Standardize)
        .unwrap()
        .items;
    let it = std
        .iter()
        .find(|i| i.code.as_deref() == Some("J18.900"))
        .unwrap();
    assert_eq!(it.origin, Origin::Learned);
}

// ---- shared data -------------------------------------------------------

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipped: {} is absent", p.display());
        None
    }
}

fn shared_context(data: &Path) -> Arc<CodingContext> {
    let t = data.join("terminology");
    let (d, _) =
        icdflow::terminology::load_table(&t.join("gl2-diagnoses.dat"), CodeSystem::Icd10).unwrap();
    let (p, _) =
        icdflow::terminology::load_table(&t.join("gl3-procedures.dat"), CodeSystem::Icd9Cm3)
            .unwrap();
    Arc::new(CodingContext::new(
        Matcher::in_memory(Arc::new(d)).unwrap(),
        Matcher::in_memory(Arc::new(p)).unwrap(),
    ))
}

#[test]
fn ccl25_keyword_history_codes_held_out_dev_records() {
    let Some(data) = shared() else { return };
    let recs = data.join("records");
    let (dev, e1) = icdflow::record::load_many(&[recs.join("ccl25-dev.json")]);
    let (kw, e2) = icdflow::record::load_many(&[recs.join("ccl25-train-keywords.json")]);
    assert!(e1.is_empty() && e2.is_empty());
    let dev_ids: std::collections::BTreeSet<&str> = dev.iter().map(|r| r.id.as_str()).collect();
    let train: Vec<Record> = kw
        .iter()
        .filter(|r| !dev_ids.contains(r.id.as_str()))
        .cloned()
        .collect();
    assert_eq!(
        train.len(),
        707 - 113,
        "the keyword file holds every dev id"
    );
    let ctx = shared_context(&data);
    let model = learned(&ctx, &train);
    assert!(
        dev.iter()
            .all(|r| model.training.ids.binary_search(&r.id).is_err()),
        "no evaluated id in training"
    );
    let mut eng = engine(ctx, model);
    let rules = with_quiet_control(|c| {
        evaluate(
            &mut eng,
            &dev,
            &Ablation::parse(&["learned".into()]).unwrap(),
            c,
            |_| {},
        )
    });
    let full = with_quiet_control(|c| evaluate(&mut eng, &dev, &Ablation::default(), c, |_| {}));
    let (s, b) = (full.diagnosis.ccl25_score, rules.diagnosis.ccl25_score);
    eprintln!("CCL25 dev, learned from keyword records minus dev: {s:.3} (rules alone {b:.3})");
    assert!(s > b + 0.2 && s > 0.6, "learned {s:.3} vs rules {b:.3}");
    assert!(full.diagnosis.principal_accuracy > 0.75);
}

// ---- the command line ----------------------------------------------------

/// Runs the binary in an isolated config and data dir.
fn icdflow(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_icdflow"))
        .env("ICDFLOW_CONFIG", dir.join("none.toml"))
        .env("ICDFLOW_DATA_DIR", dir.join("data"))
        .args([
            "--diag-table",
            dir.join("d.dat").to_str().unwrap(),
            "--proc-table",
            dir.join("p.dat").to_str().unwrap(),
            "--index-dir",
            dir.join("index").to_str().unwrap(),
        ])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn cli_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (d, p) = tables();
    let dat = |t: &Terminology| {
        t.entries()
            .iter()
            .map(|e| format!("{} {}\n", e.code, e.name))
            .collect::<String>()
    };
    std::fs::write(dir.path().join("d.dat"), dat(&d)).unwrap();
    std::fs::write(dir.path().join("p.dat"), dat(&p)).unwrap();
    let lines: String = history(40)
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(dir.path().join("hist.jsonl"), lines).unwrap();
    std::fs::write(
        dir.path().join("pairs.json"),
        r#"[{"text":"冠心病","normalized_result":"冠状动脉粥样硬化性心脏病"},
            {"text":"肺部感染","normalized_result":"肺炎"},
            {"text":"肺部感染","normalized_result":"肺炎"}]"#,
    )
    .unwrap();
    dir
}

#[test]
fn cli_learns_guards_evaluation_and_cross_validates() {
    let dir = cli_fixture();
    let d = dir.path();
    let model = d.join("m.model");
    let hist = d.join("hist.jsonl");
    let (h, m) = (hist.to_str().unwrap(), model.to_str().unwrap());
    let (ok, out, err) = icdflow(d, &["learn", h, "-o", m, "--report"]);
    assert!(ok, "{err}");
    // The summary speaks Chinese unless told otherwise.
    assert!(
        out.contains("已从 40 份病案") && out.contains("I21.401"),
        "{out}"
    );

    // evaluating the records it learned from is refused, with the way out
    let (ok, _, err) = icdflow(d, &["eval", h, "--learned", m, "--no-agents"]);
    assert!(!ok && err.contains("learned from 40 of the 40"), "{err}");
    // … or shown, marked
    let (ok, out, err) = icdflow(
        d,
        &[
            "eval",
            h,
            "--learned",
            m,
            "--no-agents",
            "--allow-contaminated",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["provenance"]["contaminated"], 40);
    // … and in English with --lang en
    let (ok, out, err) = icdflow(
        d,
        &[
            "--lang",
            "en",
            "eval",
            h,
            "--learned",
            m,
            "--no-agents",
            "--allow-contaminated",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.starts_with("40 records (0 failed") && out.contains("CONTAMINATED: "),
        "{out}"
    );

    // cross-validation learns per fold; the learned row beats the rules row
    let (ok, out, err) = icdflow(
        d,
        &[
            "eval",
            h,
            "--cv",
            "4",
            "--no-agents",
            "--ablation-table",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let full = v["full"]["diagnosis"]["ccl25_score"].as_f64().unwrap();
    let off = v["-learned"]["diagnosis"]["ccl25_score"].as_f64().unwrap();
    assert!(full > off + 0.2, "cv: learned {full} vs rules {off}");
    assert_eq!(v["provenance"]["cv_folds"], 4);

    // a damaged model is named, and the run goes on without it
    std::fs::write(
        d.join("bad.model"),
        b"ICDFLOW-LEARNED\n\x01\x00\x00\x00garbage",
    )
    .unwrap();
    let bad = d.join("bad.model");
    let (ok, out, err) = icdflow(
        d,
        &["code", h, "--learned", bad.to_str().unwrap(), "--no-agents"],
    );
    assert!(ok, "{err}");
    assert!(
        err.contains("bad.model") && err.contains("learned model not used"),
        "{err}"
    );
    assert!(out.lines().count() == 40);
}

#[test]
fn cli_scores_standardization_on_a_pair_file() {
    let dir = cli_fixture();
    let d = dir.path();
    let pairs = d.join("pairs.json");
    let (ok, out, err) = icdflow(
        d,
        &[
            "eval",
            pairs.to_str().unwrap(),
            "--json",
            "--learned",
            "none",
            "--no-agents",
        ],
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let s = &v["standardization"];
    assert_eq!(s["n"], 3);
    for k in ["top1", "precision", "recall", "f1"] {
        assert!(s[k].as_f64().is_some(), "{k} in {s}");
    }
    // 冠心病 is a clinical alias of the table name; 肺部感染 is not 肺炎
    assert!(
        (s["top1"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9,
        "{s}"
    );
}
