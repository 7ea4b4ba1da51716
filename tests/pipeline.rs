//! Pipeline behaviour on small tables written here: edits re-run exactly the
//! later stages, and a killed process loses no completed edit.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use icdflow::pipeline::engine::with_quiet_control;
use icdflow::pipeline::{CodingContext, Engine, Item, Origin, Run, StageKind, Status};
use icdflow::record::{Record, Track};
use icdflow::search::Matcher;
use icdflow::session::{Session, SessionStore};
use icdflow::terminology::{CodeSystem, Terminology};

fn matcher(system: CodeSystem, rows: &[(&str, &str)]) -> Matcher {
    Matcher::linear(Arc::new(Terminology::from_pairs(system, "fixture", rows)))
}

fn engine() -> Engine {
    let ctx = CodingContext::new(
        matcher(
            CodeSystem::Icd10,
            &[
                ("I25.103", "冠状动脉粥样硬化性心脏病"),
                ("I21.401", "急性非ST段抬高型心肌梗死"),
                ("I10.x00x032", "高血压病3级（极高危）"),
                ("E11.900", "2型糖尿病"),
            ],
        ),
        matcher(
            CodeSystem::Icd9Cm3,
            &[
                ("36.0700", "药物洗脱冠状动脉支架置入"),
                ("88.5500", "单根导管的冠状动脉造影术"),
                ("00.4000", "单根血管操作"),
                ("00.4500", "置入一根血管的支架"),
                ("00.6600x004", "经皮冠状动脉球囊扩张成形术"),
            ],
        ),
    );
    icdflow::assemble::standard_engine(Arc::new(ctx))
}

fn record() -> Record {
    Record::new("PCI-1")
        .with_section("出院诊断", "1.冠状动脉粥样硬化性心脏病2.急性非ST段抬高型心肌梗死3.高血压病（3级很高危）")
        .with_section("手术名称", "药物洗脱冠状动脉支架置入术")
        .with_section("手术经过", "行冠状动脉造影示前降支近段狭窄90%，于前降支近段植入药物洗脱支架1枚，球囊扩张后造影满意。")
}

#[test]
fn editing_a_middle_stage_reruns_exactly_the_later_ones() {
    let mut eng = engine();
    let rec = record();
    let mut run = Run::new(&rec.id);
    with_quiet_control(|ctl| eng.run_pending(&rec, &mut run, ctl)).unwrap();
    assert!(run.is_complete());
    let before: Vec<(Track, StageKind, u32)> = Track::ALL
        .iter()
        .flat_map(|&t| run.track(t).stages.iter().map(move |s| (t, s.kind, s.runs)))
        .collect();
    assert!(before.iter().all(|(_, _, n)| *n == 1), "{before:?}");
    let procs = run.final_items(Track::Procedure);
    assert_eq!(procs[0].code.as_deref(), Some("36.0700"), "{procs:?}");
    assert!(
        procs.iter().any(|i| i.code.as_deref() == Some("88.5500")),
        "angiography mined: {procs:?}"
    );

    // The coder edits the prioritized procedure list.
    let mut edited = run
        .stage(Track::Procedure, StageKind::Prioritize)
        .unwrap()
        .items
        .clone();
    edited.push(Item::new("经皮冠状动脉球囊扩张成形术", Origin::Coder));
    run.edit(Track::Procedure, StageKind::Prioritize, edited);
    with_quiet_control(|ctl| eng.run_pending(&rec, &mut run, ctl)).unwrap();

    for (t, k, n) in before {
        let now = run.stage(t, k).unwrap().runs;
        let later = t == Track::Procedure && k > StageKind::Prioritize;
        let expected = if later { n + 1 } else { n };
        assert_eq!(now, expected, "{t:?} {k:?}");
    }
    assert_eq!(
        run.stage(Track::Procedure, StageKind::Prioritize)
            .unwrap()
            .status,
        Status::Edited
    );
    assert!(run
        .final_items(Track::Procedure)
        .iter()
        .any(|i| i.code.as_deref() == Some("00.6600x004")));
}

#[test]
fn final_codes_exist_in_the_table() {
    let mut eng = engine();
    let rec = record().with_section("既往史", "否认糖尿病史。2型糖尿病病史5年。");
    let mut run = Run::new(&rec.id);
    with_quiet_control(|ctl| eng.run_pending(&rec, &mut run, ctl)).unwrap();
    for t in Track::ALL {
        let term = eng.context().matcher(t).terminology();
        for c in run.final_items(t).iter().filter_map(|i| i.code.as_deref()) {
            assert!(term.is_assignable(c), "{c}");
        }
    }
}

/// Child half of the kill test: applies edits one by one, saving after each
/// and printing `saved N` once the save returned.
#[test]
fn session_child_process() {
    let Ok(dir) = std::env::var("ICDFLOW_KILL_TEST_DIR") else {
        return; // only runs as the child of `killed_process_loses_no_completed_edit`
    };
    let store = SessionStore::open(&dir).unwrap();
    let mut s = Session::new("KILL-1");
    for n in 1..=100_000u32 {
        s.edit(
            Track::Diagnosis,
            StageKind::Prioritize,
            vec![Item::new(format!("edit {n}"), Origin::Coder)],
            "tester",
        );
        store.save_with_audit(&s).unwrap();
        println!("saved {n}");
    }
}

#[test]
fn killed_process_loses_no_completed_edit() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "session_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ICDFLOW_KILL_TEST_DIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut last = 0u32;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if let Some(n) = line.strip_prefix("saved ") {
            last = n.trim().parse().unwrap();
            if last >= 40 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no flush
    child.wait().unwrap();
    assert!(last >= 40, "child stopped early at {last}");
    let store = SessionStore::open(dir.path()).unwrap();
    let s = store.load("KILL-1").unwrap().expect("session on disk");
    assert!(
        s.edits.len() as u32 >= last,
        "{} edits on disk, {last} confirmed",
        s.edits.len()
    );
    let items = &s
        .run
        .stage(Track::Diagnosis, StageKind::Prioritize)
        .unwrap()
        .items;
    assert_eq!(items[0].text, format!("edit {}", s.edits.len()));
    assert!(store.audit().unwrap().len() as u32 >= last);
}

#[test]
fn a_record_that_fails_is_scored_as_a_miss() {
    use icdflow::pipeline::batch::{Ablation, Scorer};
    use icdflow::pipeline::engine::Control;
    use icdflow::record::{Gold, GoldCode};
    let mut eng = engine();
    let mut rec = record();
    rec.gold = Gold {
        diagnoses: Some(vec![GoldCode {
            code: "I21.401".into(),
            name: None,
        }]),
        procedures: None,
    };
    let mut ok = Scorer::default();
    with_quiet_control(|c| {
        ok.evaluate(
            &mut eng,
            std::slice::from_ref(&rec),
            &Ablation::default(),
            c,
            |_| {},
        )
    });
    // a cancelled run fails the record
    let cancel = std::sync::atomic::AtomicBool::new(true);
    let mut sink = |_e| {};
    let mut ctl = Control::new(&cancel, &mut sink);
    let mut s = Scorer::default();
    s.evaluate(
        &mut eng,
        &[rec.clone(), rec],
        &Ablation::default(),
        &mut ctl,
        |_| {},
    );
    let r = s.report(&Ablation::default());
    assert_eq!((r.records, r.failed), (2, 2));
    // both stay in the denominators, with nothing predicted
    assert_eq!(r.diagnosis.records, 2);
    assert_eq!(r.diagnosis.gold, 2);
    assert_eq!(r.diagnosis.recall, 0.0);
    assert_eq!(ok.report(&Ablation::default()).diagnosis.recall, 1.0);
}
