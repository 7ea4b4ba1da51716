//! Key-sequence tests: the app driven by keys, with the real engine run
//! in-thread, checking what the coder would see and what is saved.

mod tui_support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use icdflow::i18n::Lang;
use icdflow::pipeline::{Origin, StageKind, Status};
use icdflow::record::Track;
use icdflow::session::SessionStore;
use icdflow::tui::action::Action;
use icdflow::tui::aliases::AliasPopup;
use icdflow::tui::app::{App, Focus, Level, Overlay};
use icdflow::tui::editor::EditPopup;
use icdflow::tui::picker::PickerPopup;
use icdflow::tui::sample;
use icdflow::tui::search::SearchPopup;
use icdflow::tui::similar::SimilarPopup;
use icdflow::tui::worker::InlineWorker;
use tui_support::*;

fn statuses(app: &App, t: Track) -> Vec<Status> {
    app.run().track(t).stages.iter().map(|s| s.status).collect()
}

fn runs(app: &App, t: Track) -> Vec<u32> {
    app.run().track(t).stages.iter().map(|s| s.runs).collect()
}

#[test]
fn step_runs_one_stage_at_a_time() {
    let mut h = harness(None, 160, 48);
    press(&mut h.app, "s");
    assert!(!h.app.busy());
    assert_eq!(runs(&h.app, Track::Diagnosis), [1, 0, 0, 0]);
    assert_eq!(runs(&h.app, Track::Procedure), [1, 0, 0, 0, 0, 0]);
    press(&mut h.app, "s");
    // Mining exists on the procedure track only.
    assert_eq!(runs(&h.app, Track::Diagnosis), [1, 0, 0, 0]);
    assert_eq!(runs(&h.app, Track::Procedure), [1, 1, 0, 0, 0, 0]);
    press(&mut h.app, "s s s s");
    assert!(h.app.run().is_complete());
    assert_eq!(runs(&h.app, Track::Diagnosis), [1, 1, 1, 1]);
    press(&mut h.app, "s");
    let (msg, _) = h.app.status.clone().unwrap();
    assert!(msg.contains("最新"), "{msg}");
}

/// The issue's scenario: run everything, edit a middle stage through the
/// editor, and check that only the later stages went stale and re-ran.
#[test]
fn editing_a_middle_stage_reruns_only_later_stages() {
    let mut h = harness(None, 160, 48);
    press(&mut h.app, "r");
    assert!(h.app.run().is_complete());
    let before_d = runs(&h.app, Track::Diagnosis);
    let before_p = runs(&h.app, Track::Procedure);
    assert!(before_p.iter().all(|&n| n >= 1), "{before_p:?}");

    // Procedures, stage 3 (Prioritized): replace the list in the editor.
    press(&mut h.app, "J 3 e");
    assert!(h.app.overlay.get::<EditPopup>().is_some());
    // Clear whatever the stage produced, then type two items.
    if let Some(ed) = h.app.overlay.get_mut::<EditPopup>() {
        ed.area.select_all();
        ed.area.cut();
    }
    type_text(
        &mut h.app,
        "药物洗脱冠状动脉支架置入 | 36.07\n冠状动脉血栓抽吸术",
    );
    press(&mut h.app, "ctrl-s");
    assert!(matches!(h.app.overlay, Overlay::None));

    let p = &h.app.run().procedure;
    let st: Vec<_> = p.stages.iter().map(|s| s.status).collect();
    assert_eq!(
        st,
        [
            Status::Fresh,
            Status::Fresh,
            Status::Edited,
            Status::Stale,
            Status::Stale,
            Status::Stale
        ]
    );
    let prio = &p.stages[2].items;
    assert_eq!(prio.len(), 2);
    assert_eq!(prio[0].code.as_deref(), Some("36.07"));
    assert_eq!(prio[1].text, "冠状动脉血栓抽吸术");
    // A new line is the coder's; a line left as the stage wrote it keeps
    // its item (origin, confidence, evidence).
    assert_eq!(prio[1].origin, Origin::Coder);
    assert!(statuses(&h.app, Track::Diagnosis)
        .iter()
        .all(|s| *s == Status::Fresh));

    // Re-run stale stages.
    press(&mut h.app, "R");
    assert!(h.app.run().is_complete());
    assert_eq!(
        runs(&h.app, Track::Diagnosis),
        before_d,
        "diagnoses untouched"
    );
    let after_p = runs(&h.app, Track::Procedure);
    assert_eq!(
        &after_p[..3],
        &before_p[..3],
        "earlier stages and the edited one did not run"
    );
    for i in 3..6 {
        assert_eq!(after_p[i], before_p[i] + 1, "stage {i} re-ran once");
    }
    assert_eq!(h.app.run().procedure.stages[2].status, Status::Edited);
    // The session on disk has the edit.
    let store = store_in(&h.dir);
    let saved = store.load("ZY-DEMO-0001").unwrap().unwrap();
    assert_eq!(saved.edits.len(), 1);
    // (Traces hold float timings that JSON does not round-trip bit-exactly.)
    for t in Track::ALL {
        for (a, b) in saved
            .run
            .track(t)
            .stages
            .iter()
            .zip(&h.app.run().track(t).stages)
        {
            assert_eq!((a.status, &a.items, a.runs), (b.status, &b.items, b.runs));
        }
    }
    assert_eq!(store.audit().unwrap().len(), 1);
}

#[test]
fn reopening_restores_edits() {
    let rec = sample::record();
    let mut h = harness(Some(sample::finished_run(&rec)), 160, 48);
    // Diagnoses, Codes: delete the last item, move the second up, accept it.
    press(&mut h.app, "4 G x k <");
    press(&mut h.app, "a");
    let run = h.app.run().clone();
    let codes = &run.diagnosis.stages[3].items;
    assert_eq!(codes.len(), 3);
    assert_eq!(codes[0].code.as_deref(), Some("I25.103"));
    assert_eq!(codes[0].origin, Origin::Coder);
    assert_eq!(codes[0].confidence, Some(1.0));
    // A new app on the same session directory shows the same run.
    let store = SessionStore::open(h.dir.path().join("sessions")).unwrap();
    let again = App::new(
        vec![rec],
        store,
        Box::new(InlineWorker::new(sample::engine())),
        Box::new(h.clip.clone()),
        config(&h.dir),
        None,
    )
    .unwrap();
    for t in Track::ALL {
        for (a, b) in again.run().track(t).stages.iter().zip(&run.track(t).stages) {
            assert_eq!((a.status, &a.items, a.runs), (b.status, &b.items, b.runs));
        }
    }
    assert_eq!(again.session.edits.len(), 3);
}

#[test]
fn insert_opens_the_editor_on_a_new_line() {
    let rec = sample::record();
    let mut h = harness(Some(sample::finished_run(&rec)), 80, 24);
    press(&mut h.app, "J 2 i");
    type_text(&mut h.app, "冠状动脉血栓抽吸术");
    press(&mut h.app, "ctrl-s");
    let mined = &h.app.run().procedure.stages[1].items;
    assert_eq!(mined.len(), 4);
    assert_eq!(mined[1].text, "冠状动脉血栓抽吸术");
    assert_eq!(mined[1].origin, Origin::Coder);
    // Untouched lines keep their agent items.
    assert_eq!(mined[0].origin, Origin::Agent);
    // Escape discards.
    press(&mut h.app, "e");
    type_text(&mut h.app, "xyz");
    press(&mut h.app, "esc");
    assert_eq!(h.app.run().procedure.stages[1].items.len(), 4);
}

#[test]
fn code_search_looks_up_once_per_batch_and_clicks_land_on_scrolled_rows() {
    let rec = sample::record();
    // Short enough that the hit list scrolls (6 rows).
    let mut h = harness(Some(sample::finished_run(&rec)), 80, 14);
    press(&mut h.app, "4 /");
    let codes = |h: &Harness| -> Vec<String> {
        let s = h.app.overlay.get::<SearchPopup>().unwrap();
        s.hits.iter().map(|m| m.code.clone()).collect()
    };
    let prefilled = codes(&h);
    // Typed keys only edit the query; the lookup waits for the pump.
    for c in "I2".chars() {
        h.app
            .handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    assert_eq!(h.app.overlay.get::<SearchPopup>().unwrap().query, "I2");
    assert_eq!(codes(&h), prefilled, "no lookup before the pump");
    h.app.pump();
    let n = codes(&h).len();
    assert_ne!(codes(&h), prefilled);
    assert!(n >= 8, "{n} hits");
    // Scroll well down the list, then click the row two above the cursor.
    press(&mut h.app, &"down ".repeat(n - 1));
    let s = h.app.overlay.get::<SearchPopup>().unwrap();
    assert_eq!(s.cursor, n - 1);
    let want = s.hits[n - 3].code.clone();
    let text = screen(&h.app);
    let row = text
        .lines()
        .position(|l| l.contains(&format!("│{want} ")))
        .unwrap_or_else(|| panic!("{want} on screen:\n{text}"));
    h.app.handle(Action::Click {
        col: 10,
        row: row as u16,
    });
    let s = h.app.overlay.get::<SearchPopup>().unwrap();
    assert_eq!(s.hits[s.cursor].code, want);
}

#[test]
fn code_search_sets_the_focused_item() {
    let rec = sample::record();
    let mut h = harness(Some(sample::finished_run(&rec)), 160, 48);
    // Diagnoses, Codes, third item; search by code prefix.
    press(&mut h.app, "4 j j /");
    type_text(&mut h.app, "I10.x00x00");
    let Some(s) = h.app.overlay.get::<SearchPopup>() else {
        panic!("search is open")
    };
    assert_eq!(s.hits.first().map(|m| m.code.as_str()), Some("I10.x00x002"));
    press(&mut h.app, "enter");
    let item = &h.app.run().diagnosis.stages[3].items[2];
    assert_eq!(item.code.as_deref(), Some("I10.x00x002"));
    assert_eq!(item.text, "高血压1级");
    assert_eq!(item.origin, Origin::Coder);
    // Evidence stays with the item the coder corrected.
    assert!(!item.evidence.is_empty());
    // A heading cannot be chosen.
    press(&mut h.app, "/");
    type_text(&mut h.app, "I20-I25");
    press(&mut h.app, "enter");
    assert!(h.app.overlay.get::<SearchPopup>().is_some());
    press(&mut h.app, "esc");
    // Tab inserts below instead of replacing.
    press(&mut h.app, "/");
    type_text(&mut h.app, "E11.9");
    press(&mut h.app, "tab");
    assert_eq!(h.app.run().diagnosis.stages[3].items.len(), 5);
}

#[test]
fn copy_and_export_give_codes_with_table_names() {
    let rec = sample::record();
    let mut h = harness(Some(sample::finished_run(&rec)), 160, 48);
    press(&mut h.app, "y");
    let copies = h.clip.copies.lock().unwrap().clone();
    assert_eq!(
        copies[0],
        "I20.000 不稳定型心绞痛\nI25.103 冠状动脉粥样硬化性心脏病\nI10.x00x032 高血压3级（极高危）\n\
         E11.900 2型糖尿病不伴有并发症\n36.07 药物洗脱冠状动脉支架置入\n88.56 两根导管的冠状动脉造影术\n\
         00.40 单根血管操作\n00.45 置入一根血管的支架"
    );
    let (msg, _) = h.app.status.clone().unwrap();
    assert!(
        msg.contains("复制最终编码") && msg.contains("I20.000"),
        "{msg}"
    );
    press(&mut h.app, "Y w W");
    let out = h.dir.path().join("out");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("ZY-DEMO-0001.icdflow.json")).unwrap())
            .unwrap();
    assert_eq!(json["diagnoses"]["codes"][0]["code"], "I20.000");
    assert_eq!(json["diagnoses"]["codes"][0]["principal"], true);
    assert_eq!(json["procedures"]["codes"].as_array().unwrap().len(), 4);
    let line = std::fs::read_to_string(out.join("homepage.tsv")).unwrap();
    assert_eq!(
        line.trim_end(),
        "ZY-DEMO-0001\t主要诊断:I20.000 不稳定型心绞痛\t其他诊断:I25.103 冠状动脉粥样硬化性心脏病；\
         I10.x00x032 高血压3级（极高危）；E11.900 2型糖尿病不伴有并发症\t主要手术:36.07 药物洗脱冠状动脉支架置入\t\
         其他手术:88.56 两根导管的冠状动脉造影术；00.40 单根血管操作；00.45 置入一根血管的支架"
    );
    assert_eq!(h.clip.copies.lock().unwrap()[1], line.trim_end());
    // Exporting again replaces the record's line.
    press(&mut h.app, "W");
    let again = std::fs::read_to_string(out.join("homepage.tsv")).unwrap();
    assert_eq!(again.lines().count(), 1);
}

#[test]
fn unknown_codes_are_never_output() {
    let rec = sample::record();
    let mut h = harness(Some(sample::finished_run(&rec)), 160, 48);
    // The coder types a code the table does not have.
    press(&mut h.app, "4 e");
    if let Some(ed) = h.app.overlay.get_mut::<EditPopup>() {
        ed.area.select_all();
        ed.area.cut();
    }
    type_text(&mut h.app, "不存在的病 | Z99.999\n不稳定型心绞痛 | I20.000");
    press(&mut h.app, "ctrl-s");
    let (msg, _) = h.app.status.clone().unwrap();
    assert!(
        msg.contains("Z99.999") && msg.contains("不在编码表中"),
        "{msg}"
    );
    press(&mut h.app, "y");
    let copied = h.clip.copies.lock().unwrap()[0].clone();
    assert!(!copied.contains("Z99"), "{copied}");
    assert!(copied.starts_with("I20.000 不稳定型心绞痛"), "{copied}");
}

#[test]
fn switching_a_stage_off_and_on() {
    let mut h = harness(None, 160, 48);
    press(&mut h.app, "r J 4 o");
    let s = h
        .app
        .run()
        .stage(Track::Procedure, StageKind::CodeAlso)
        .unwrap();
    assert!(!s.enabled);
    assert_eq!(s.status, Status::Stale);
    press(&mut h.app, "R");
    assert!(h.app.run().is_complete());
    assert_eq!(
        h.app.run().disabled(),
        vec![(Track::Procedure, StageKind::CodeAlso)]
    );
    press(&mut h.app, "o");
    assert!(h.app.run().disabled().is_empty());
    let saved = store_in(&h.dir).load("ZY-DEMO-0001").unwrap().unwrap();
    assert_eq!(saved.edits.len(), 2);
}

#[test]
fn ctrl_c_cancels_and_leaves_the_run_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let mut worker = InlineWorker::new(sample::engine());
    worker.hold = true;
    let flag = worker.cancel_flag();
    let mut app = App::new(
        vec![sample::record()],
        store_in(&dir),
        Box::new(worker),
        Box::new(icdflow::tui::clipboard::MemoryClipboard::default()),
        config(&dir),
        None,
    )
    .unwrap();
    app.pump();
    let before = app.run().clone();
    press(&mut app, "r");
    assert!(app.busy());
    // While the job runs, edits wait and the keys still answer.
    press(&mut app, "J 3 x");
    assert!(app.status.clone().unwrap().0.contains("Ctrl-C"));
    press(&mut app, "ctrl-c");
    assert!(flag.load(std::sync::atomic::Ordering::SeqCst));
    assert!(app.job.as_ref().unwrap().cancelling);
    // … and the run is as it was: no edit slipped in, no stage half-done
    // (how the job then settles: `cancelled_job_reports_and_settles`).
    assert_eq!(app.run(), &before);
    let saved = store_in(&dir).load("ZY-DEMO-0001").unwrap();
    assert!(saved.is_none_or(|s| s.edits.is_empty()));
}

#[test]
fn cancelled_job_reports_and_settles() {
    // The engine sees the cancel flag before its first stage.
    let (mut h, sw) = scripted(None, 160, 48);
    press(&mut h.app, "r");
    let job = sw.last_job();
    press(&mut h.app, "ctrl-c");
    assert!(sw.cancelled.load(std::sync::atomic::Ordering::SeqCst));
    let cancel = std::sync::atomic::AtomicBool::new(true);
    let (tx, rx) = std::sync::mpsc::channel();
    let mut engine = sample::engine();
    icdflow::tui::worker::execute(&mut engine, job, &cancel, &tx);
    for m in rx.try_iter() {
        sw.send(m);
    }
    h.app.pump();
    assert!(!h.app.busy());
    let (msg, _) = h.app.status.clone().unwrap();
    assert!(msg.contains("已取消"), "{msg}");
    for t in Track::ALL {
        assert!(statuses(&h.app, t).iter().all(|s| *s == Status::Pending));
    }
}

#[test]
fn mouse_clicks_focus_and_wheel_scrolls() {
    let rec = sample::record();
    let mut h = harness(Some(sample::finished_run(&rec)), 160, 48);
    let s = h.app.screen();
    let pane = s.tracks[1]
        .panes
        .iter()
        .find(|p| p.kind == StageKind::Mine)
        .unwrap();
    h.app.handle(Action::Click {
        col: pane.list.x + 2,
        row: pane.list.y + 2,
    });
    assert_eq!(h.app.focus, Focus::Stage(Track::Procedure, StageKind::Mine));
    assert_eq!(
        h.app.list_state(Track::Procedure, StageKind::Mine).cursor,
        2
    );
    // Click on a folded section header in the record pane unfolds it.
    let lines = h.app.record_lines(s.record.width as usize - 2);
    let y = lines
        .iter()
        .position(|l| l.section == 1 && l.range.is_none())
        .unwrap();
    h.app.handle(Action::Click {
        col: s.record.x + 3,
        row: s.record.y + 1 + y as u16,
    });
    assert_eq!(h.app.focus, Focus::Record);
    assert!(h.app.section_open(1));
    // The wheel scrolls the record (on a screen where it does not all fit).
    h.app.handle(Action::Resize {
        width: 80,
        height: 24,
    });
    let s = h.app.screen();
    h.app.handle(Action::Scroll {
        col: s.record.x + 3,
        row: s.record.y + 3,
        down: true,
    });
    assert_eq!(h.app.record_view.offset, 3);
}

#[test]
fn picker_filters_by_id_and_text_and_opens() {
    let mut h = harness_with(
        vec![sample::record(), sample::second_record()],
        None,
        80,
        24,
        |_| {},
    );
    assert!(h.app.overlay.get::<PickerPopup>().is_some());
    type_text(&mut h.app, "头晕");
    let Some(p) = h.app.overlay.get::<PickerPopup>() else {
        panic!()
    };
    assert_eq!(p.hits, [1]);
    press(&mut h.app, "enter");
    assert_eq!(h.app.record().id, "ZY-DEMO-0002");
    press(&mut h.app, "p");
    assert_eq!(h.app.record().id, "ZY-DEMO-0001");
    press(&mut h.app, "n");
    assert_eq!(h.app.record().id, "ZY-DEMO-0002");
}

#[test]
fn user_keys_override_defaults_and_show_in_help() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("keys.toml"),
        "[normal]\nstep = [\"n\", \"F5\"]\n",
    )
    .unwrap();
    let (km, warnings) = icdflow::tui::keymap::Keymap::load(None, Some(dir.path()));
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut h = harness_with(vec![sample::record()], None, 160, 48, |c| c.keymap = km);
    press(&mut h.app, "s");
    assert_eq!(runs(&h.app, Track::Diagnosis)[0], 0, "s no longer steps");
    press(&mut h.app, "F5");
    assert_eq!(runs(&h.app, Track::Diagnosis)[0], 1);
    let screen = screen(&h.app);
    assert!(screen.contains("n 单步"), "footer shows the user's key");
    // The user's binding is listed last among the panes' keys.
    press(&mut h.app, "? ctrl-d");
    assert!(tui_support::screen(&h.app).contains("n F5"));
}

#[test]
fn quit_key_quits() {
    let mut h = harness(None, 80, 24);
    press(&mut h.app, "q");
    assert!(h.app.should_quit);
}

#[test]
fn engine_failure_is_shown_and_editing_still_works() {
    let rec = sample::record();
    let (mut h, sw) = scripted(Some(sample::finished_run(&rec)), 80, 24);
    sw.send(icdflow::tui::worker::WorkerMsg::StartFailed(
        "no model at /m.gguf".into(),
    ));
    h.app.pump();
    assert!(screen(&h.app).contains("引擎失败"));
    press(&mut h.app, "s");
    let (msg, _) = h.app.status.clone().unwrap();
    assert!(msg.contains("/m.gguf"), "{msg}");
    assert!(sw.jobs.lock().unwrap().is_empty());
    // The saved lists can still be corrected.
    press(&mut h.app, "4 x");
    assert_eq!(h.app.run().diagnosis.stages[3].items.len(), 3);
}

// ----- the learned model and the coders' alias memory ----------------------

type Shared = icdflow::learn::SharedCoderAliases;

fn shared_aliases(path: &std::path::Path) -> Shared {
    std::sync::Arc::new(std::sync::Mutex::new(
        icdflow::learn::CoderAliases::open(path).unwrap(),
    ))
}

fn remembered(shared: &Shared, t: Track, text: &str) -> Option<Vec<String>> {
    let c = shared.lock().unwrap();
    c.memory().exact(t, text).map(|a| a.best().to_vec())
}

/// Moves the similar-cases popup's cursor to `code` (from the top).
fn highlight(app: &mut App, code: &str) {
    press(app, "g");
    for _ in 0..64 {
        let Some(p) = app.overlay.get::<SimilarPopup>() else {
            panic!("the similar-cases popup is open")
        };
        if p.selected().is_some_and(|(_, (c, _))| c == code) {
            return;
        }
        press(app, "j");
    }
    panic!("{code} is not among the similar cases' codes");
}

#[test]
fn similar_cases_adopt_a_code_into_the_focused_list() {
    let rec = sample::record();
    let mut h = harness_with(
        vec![rec.clone()],
        Some(sample::finished_run(&rec)),
        160,
        48,
        |c| c.learned = Some(sample::learned_model()),
    );
    // Diagnoses, Codes, first item.
    press(&mut h.app, "4 c");
    let Some(p) = h.app.overlay.get::<SimilarPopup>() else {
        panic!("the similar-cases popup is open")
    };
    assert_eq!(p.track, Track::Diagnosis);
    assert!(!p.cases.is_empty() && p.cases.len() <= 8);
    assert!(p.cases.iter().all(|c| c.id != rec.id));
    assert!(p
        .cases
        .windows(2)
        .all(|w| w[0].similarity >= w[1].similarity));
    // 心绞痛 (I20.900), from ZY-HIST-0103: goes in below the cursor.
    highlight(&mut h.app, "I20.900");
    press(&mut h.app, "enter");
    assert!(h.app.overlay.get::<SimilarPopup>().is_some(), "stays open");
    let codes = &h.app.run().diagnosis.stages[3];
    assert_eq!(codes.status, Status::Edited);
    assert_eq!(codes.items.len(), 5);
    let item = &codes.items[1];
    assert_eq!(item.code.as_deref(), Some("I20.900"));
    assert_eq!(item.text, "心绞痛");
    assert_eq!(item.origin, Origin::Coder);
    assert_eq!(item.source.as_deref(), Some("相似病例 ZY-HIST-0103"));
    let (msg, _) = h.app.status.clone().unwrap();
    assert!(
        msg.contains("采用 I20.900") && msg.contains("已保存"),
        "{msg}"
    );
    // Saved and audited like any edit.
    let saved = store_in(&h.dir).load("ZY-DEMO-0001").unwrap().unwrap();
    assert_eq!(saved.run.diagnosis.stages[3].items[1], *item);
    assert_eq!(store_in(&h.dir).audit().unwrap().len(), 1);
    // A code the loaded table lacks is refused.
    highlight(&mut h.app, "I50.900");
    press(&mut h.app, "enter");
    let (msg, level) = h.app.status.clone().unwrap();
    assert!(msg.contains("I50.900") && msg.contains("不在"), "{msg}");
    assert_eq!(level, icdflow::tui::app::Level::Warn);
    assert_eq!(h.app.run().diagnosis.stages[3].items.len(), 5);
    // So is one the list has already.
    highlight(&mut h.app, "I25.103");
    press(&mut h.app, "enter");
    assert!(h.app.status.clone().unwrap().0.contains("已在"));
    assert_eq!(h.app.run().diagnosis.stages[3].items.len(), 5);
    press(&mut h.app, "esc");
    assert!(matches!(h.app.overlay, Overlay::None));
    // Procedures: the popup shows that track's codes.
    press(&mut h.app, "J c");
    let Some(p) = h.app.overlay.get::<SimilarPopup>() else {
        panic!("the similar-cases popup is open")
    };
    assert_eq!(p.track, Track::Procedure);
    assert!(p.selected().is_some_and(|(_, (c, _))| c == "36.07"));
}

#[test]
fn similar_cases_need_a_learned_model() {
    let mut h = harness(None, 80, 24);
    press(&mut h.app, "c");
    assert!(matches!(h.app.overlay, Overlay::None));
    let (msg, _) = h.app.status.clone().unwrap();
    assert_eq!(msg, "没有学习模型：请运行 icdflow learn");
}

#[test]
fn accepted_standardize_items_teach_the_alias_memory() {
    let rec = sample::record();
    let mut run = sample::finished_run(&rec);
    // The Standardize stage coded its first item (as a learned or agent
    // stage may).
    run.diagnosis.stages[0].items[0].code = Some("I25.103".into());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coder-aliases.json");
    let shared = shared_aliases(&path);
    let mut h = harness_with(vec![rec], Some(run), 160, 48, |c| {
        c.coder_aliases = Some(shared.clone())
    });
    // The accept key.
    press(&mut h.app, "1 a");
    let d = Track::Diagnosis;
    assert_eq!(
        remembered(&shared, d, "冠状动脉粥样硬化性心脏病"),
        Some(vec!["I25.103".to_string()])
    );
    let (msg, _) = h.app.status.clone().unwrap();
    assert!(
        msg.starts_with("已学习：“冠状动脉粥样硬化性心脏病” → I25.103（以后的病案同样映射）"),
        "{msg}"
    );
    assert!(msg.contains("已保存"), "{msg}");
    // The code search's apply: 高血压3级（极高危）, raw text 高血压病3级（很高危）.
    press(&mut h.app, "j j /");
    type_text(&mut h.app, "I10.x00x002");
    press(&mut h.app, "enter");
    assert_eq!(
        remembered(&shared, d, "高血压病3级（很高危）"),
        Some(vec!["I10.x00x002".to_string()])
    );
    // The list editor: coding 2型糖尿病 on its line.
    press(&mut h.app, "e");
    if let Some(ed) = h.app.overlay.get_mut::<EditPopup>() {
        ed.area.move_cursor(ratatui_textarea::CursorMove::Bottom);
        ed.area.move_cursor(ratatui_textarea::CursorMove::End);
    }
    type_text(&mut h.app, " | E11.900");
    press(&mut h.app, "ctrl-s");
    let std_items = &h.app.run().diagnosis.stages[0].items;
    assert_eq!(std_items[3].code.as_deref(), Some("E11.900"));
    assert_eq!(
        remembered(&shared, d, "2型糖尿病"),
        Some(vec!["E11.900".to_string()])
    );
    // Saved, with an audit line per teaching.
    let again = icdflow::learn::CoderAliases::open(&path).unwrap();
    assert_eq!(again.memory().aliases().len(), 3);
    let audit = std::fs::read_to_string(again.audit_path()).unwrap();
    assert_eq!(audit.lines().count(), 3);
    assert!(audit.contains("tester"), "{audit}");
    // Accepting in a list that is not Standardize teaches nothing.
    press(&mut h.app, "4 a");
    assert_eq!(shared.lock().unwrap().memory().aliases().len(), 3);
    assert!(!h.app.status.clone().unwrap().0.contains("learned"));
}

#[test]
fn a_failed_teaching_is_shown_and_the_edit_stands() {
    let rec = sample::record();
    let mut run = sample::finished_run(&rec);
    run.diagnosis.stages[0].items[0].code = Some("I25.103".into());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coder-aliases.json");
    let shared = shared_aliases(&path);
    // A directory where the file goes: the save fails.
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("keep"), b"x").unwrap();
    let mut h = harness_with(vec![rec], Some(run), 160, 48, |c| {
        c.coder_aliases = Some(shared.clone())
    });
    press(&mut h.app, "1 a");
    let (msg, level) = h.app.status.clone().unwrap();
    assert_eq!(level, icdflow::tui::app::Level::Warn);
    assert!(msg.contains("coder-aliases.json"), "{msg}");
    assert!(shared.lock().unwrap().memory().is_empty());
    let item = &h.app.run().diagnosis.stages[0].items[0];
    assert_eq!(item.origin, Origin::Coder);
    assert_eq!(h.app.run().diagnosis.stages[0].status, Status::Edited);
}

#[test]
fn the_alias_popup_lists_and_forgets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coder-aliases.json");
    let shared = shared_aliases(&path);
    {
        let mut c = shared.lock().unwrap();
        c.teach(Track::Diagnosis, "冠心病", vec!["I25.103".into()], "lin")
            .unwrap();
        c.teach(Track::Procedure, "PCI", vec!["36.07".into()], "lin")
            .unwrap();
    }
    let rec = sample::record();
    let mut h = harness_with(
        vec![rec.clone()],
        Some(sample::finished_run(&rec)),
        160,
        48,
        |c| c.coder_aliases = Some(shared.clone()),
    );
    press(&mut h.app, "L");
    let Some(p) = h.app.overlay.get::<AliasPopup>() else {
        panic!("the alias popup is open")
    };
    assert_eq!(p.rows.len(), 2);
    let s = screen(&h.app);
    assert!(s.contains("冠心病") && s.contains("I25.103"), "{s}");
    // Forget the second row.
    press(&mut h.app, "j");
    let Some(p) = h.app.overlay.get::<AliasPopup>() else {
        panic!()
    };
    let gone = p.selected().unwrap().clone();
    press(&mut h.app, "d");
    let (msg, _) = h.app.status.clone().unwrap();
    assert!(msg.starts_with(&format!("已遗忘“{}”", gone.text)), "{msg}");
    assert!(remembered(&shared, gone.track, &gone.text).is_none());
    let Some(p) = h.app.overlay.get::<AliasPopup>() else {
        panic!("the popup stays open")
    };
    assert_eq!(p.rows.len(), 1);
    assert_eq!(p.cursor, 0);
    // Saved and audited.
    let again = icdflow::learn::CoderAliases::open(&path).unwrap();
    assert_eq!(again.memory().aliases().len(), 1);
    let audit = std::fs::read_to_string(again.audit_path()).unwrap();
    assert!(
        audit.lines().last().unwrap().contains("\"forget\"") && audit.contains("tester"),
        "{audit}"
    );
    press(&mut h.app, "d d");
    assert!(shared.lock().unwrap().memory().is_empty());
    assert!(screen(&h.app).contains("尚未教过"));
    press(&mut h.app, "esc");
    assert!(matches!(h.app.overlay, Overlay::None));
}

/// What the coder teaches, the engine's learned helper uses on the next run.
#[test]
fn a_taught_alias_applies_to_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let shared = shared_aliases(&dir.path().join("coder-aliases.json"));
    let helper = icdflow::learn::LearnedHelper::new(None, None).with_coder_aliases(shared.clone());
    let engine = icdflow::assemble::engine(sample::context(), Some(helper), None);
    let mut h = harness_engine(engine, vec![sample::record()], None, 160, 48, |c| {
        c.coder_aliases = Some(shared.clone())
    });
    press(&mut h.app, "r");
    let raw = "高血压病3级（很高危）";
    let find = |app: &App| {
        app.run().diagnosis.stages[0]
            .items
            .iter()
            .position(|i| i.source.as_deref() == Some(raw))
            .expect("the Standardize list has the item")
    };
    let i = find(&h.app);
    // The coder corrects its code in the Standardize list.
    press(&mut h.app, "1");
    for _ in 0..i {
        press(&mut h.app, "j");
    }
    press(&mut h.app, "/");
    type_text(&mut h.app, "I10.x00x002");
    press(&mut h.app, "enter");
    assert_eq!(
        remembered(&shared, Track::Diagnosis, raw),
        Some(vec!["I10.x00x002".to_string()])
    );
    // Everything again, with the coder's edits dropped: a fresh session.
    std::fs::remove_file(store_in(&h.dir).path_for("ZY-DEMO-0001")).unwrap();
    h.app.open_record(0);
    press(&mut h.app, "r");
    let item = &h.app.run().diagnosis.stages[0].items[find(&h.app)];
    assert_eq!(item.code.as_deref(), Some("I10.x00x002"));
    assert_eq!(item.origin, Origin::Learned);
}

#[test]
fn index_browser_walks_a_cross_reference_to_an_accepted_code() {
    let rec = sample::record();
    let mut h = harness_with(vec![rec.clone()], None, 160, 48, |c| {
        c.alpha = sample::alpha_indexes()
    });
    // Diagnoses, Codes (not run yet); the browser opens on the ICD-10 index.
    press(&mut h.app, "4 I");
    assert!(matches!(h.app.overlay, Overlay::Popup(_)));
    assert_eq!(h.app.mode(), icdflow::tui::keymap::Mode::Locate);
    // Pinyin initials of 梗死前综合征 (typed: g and j are letters here).
    type_text(&mut h.app, "gsq");
    let s = screen(&h.app);
    assert!(s.contains("梗死前综合征 - 见 心绞痛，不稳定型"), "{s}");
    // Open it, follow 见 with →, and land on 心绞痛 › 不稳定型.
    press(&mut h.app, "enter right");
    let status = h.app.status.clone().map(|(s, _)| s).unwrap_or_default();
    assert_eq!(status, "见 心绞痛，不稳定型 → 心绞痛 › 不稳定型");
    let s = screen(&h.app);
    assert!(s.contains("I20.0 → I20.000 不稳定型心绞痛"), "{s}");
    // The low-confidence row is marked.
    assert!(s.contains("⚠0.83"), "{s}");
    // ← goes back to the lead term, → follows again.
    press(&mut h.app, "left");
    assert!(screen(&h.app).contains("梗死前综合征"));
    press(&mut h.app, "right");
    // Enter takes the code into the focused list, below the cursor.
    press(&mut h.app, "enter");
    assert!(
        matches!(h.app.overlay, Overlay::None),
        "closes after accepting: {:?}",
        h.app.status
    );
    let codes = &h.app.run().diagnosis.stages[3];
    assert_eq!(codes.status, Status::Edited);
    let item = codes
        .items
        .iter()
        .find(|i| i.code.as_deref() == Some("I20.000") && i.origin == Origin::Coder)
        .expect("the accepted code");
    assert_eq!(item.text, "不稳定型心绞痛");
    assert_eq!(item.source.as_deref(), Some("字母索引 心绞痛 › 不稳定型"));
}

#[test]
fn index_browser_opens_the_tabular_view_and_refuses_what_it_cannot_take() {
    let rec = sample::record();
    let mut h = harness_with(
        vec![rec.clone()],
        Some(sample::finished_run(&rec)),
        160,
        48,
        |c| c.alpha = sample::alpha_indexes(),
    );
    press(&mut h.app, "4 I");
    type_text(&mut h.app, "心绞痛");
    press(&mut h.app, "enter down");
    // 变异型 I20.1: not in the demo table.
    press(&mut h.app, "enter");
    let status = h.app.status.clone().map(|(s, _)| s).unwrap_or_default();
    assert!(status.contains("I20.1 不在已加载的编码表"), "{status}");
    assert!(matches!(h.app.overlay, Overlay::Popup(_)), "stays open");
    // Tab: the lead term's code in the code search (hierarchy and notes).
    press(&mut h.app, "up tab");
    let Some(s) = h.app.overlay.get::<SearchPopup>() else {
        panic!("the code search is open")
    };
    assert_eq!(s.query, "I20.900");
    assert_eq!(s.target, Some((Track::Diagnosis, StageKind::Map, 0)));
    assert!(s.hits.iter().any(|m| m.code == "I20.900"));
    press(&mut h.app, "esc");
    // Ctrl-T: the procedure index; a heading code cannot be accepted.
    press(&mut h.app, "I ctrl-t");
    type_text(&mut h.app, "冠状动脉造影");
    press(&mut h.app, "enter right");
    assert!(screen(&h.app).contains("造影，冠状动脉"));
    // No index imported: the browser says how to get one.
    let mut h = harness_with(vec![rec], None, 160, 48, |_| {});
    press(&mut h.app, "I");
    assert!(matches!(h.app.overlay, Overlay::None));
    let status = h.app.status.clone().map(|(s, _)| s).unwrap_or_default();
    assert!(status.contains("icdflow import --index"), "{status}");
}

#[test]
fn page_text_of_a_pdf_record() {
    let mut rec = sample::record();
    rec.pages = vec![icdflow::record::Page {
        number: 1,
        text: "【出院诊断】\n1.冠状动脉粥样硬化性心脏病".into(),
        ocr_confidence: Some(84),
        ocr_ms: Some(2100),
        sections: vec!["出院诊断".into()],
    }];
    let mut h = harness_with(vec![rec], None, 160, 48, |_| {});
    press(&mut h.app, "P");
    let s = screen(&h.app);
    assert!(
        s.contains("第 1 页 · OCR 84% · 2.1 s · ⚠ 请对照扫描件核对 · 出院诊断"),
        "{s}"
    );
    press(&mut h.app, "P");
    assert!(matches!(h.app.overlay, Overlay::None));
    // A record not read from a PDF has no page text.
    let mut h = harness(None, 160, 48);
    press(&mut h.app, "P");
    assert!(matches!(h.app.overlay, Overlay::None));
}

/// A second app on the same sessions, as a second coder on the server.
fn second_coder(h: &Harness) -> App {
    let mut app = App::new(
        vec![sample::record()],
        store_in(&h.dir),
        Box::new(InlineWorker::new(sample::engine())),
        Box::new(icdflow::tui::clipboard::MemoryClipboard::default()),
        config(&h.dir),
        None,
    )
    .unwrap();
    app.pump();
    app
}

#[test]
fn a_second_coder_gets_the_record_read_only_until_the_first_closes_it() {
    let rec = sample::record();
    let h = harness(Some(sample::finished_run(&rec)), 160, 48);
    assert!(h.app.read_only.is_none(), "the first coder holds it");
    let mut second = second_coder(&h);
    let holder = second.read_only.clone().expect("the second is kept out");
    assert_eq!(holder.pid, std::process::id());
    let before = second.run().clone();
    press(&mut second, "4 a");
    assert_eq!(second.run(), &before, "nothing changed");
    let (msg, _) = second.status.clone().unwrap();
    assert!(msg.contains("只读") && msg.contains("pid"), "{msg}");
    // the first coder closes the record: the next edit takes it over
    let Harness { app, dir, .. } = h;
    drop(app);
    press(&mut second, "a");
    assert!(second.read_only.is_none());
    assert_ne!(second.run(), &before, "the accept went through");
    let saved = store_in(&dir).load("ZY-DEMO-0001").unwrap().unwrap();
    assert_eq!(saved.edits.len(), 1);
}

#[test]
fn an_edit_that_cannot_be_saved_is_not_applied_and_the_next_try_saves() {
    let rec = sample::record();
    let mut h = harness(Some(sample::finished_run(&rec)), 160, 48);
    let path = store_in(&h.dir).path_for("ZY-DEMO-0001");
    let saved_before = std::fs::read(&path).unwrap();
    // the session file cannot be replaced (as on a full or read-only disk)
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("block"), b"x").unwrap();
    let before = h.app.run().clone();
    press(&mut h.app, "4 a");
    let (msg, level) = h.app.status.clone().unwrap();
    assert!(
        msg.contains("未保存") && msg.contains("编辑未生效"),
        "{msg}"
    );
    assert_eq!(level, icdflow::tui::app::Level::Error);
    assert_eq!(h.app.run(), &before, "the run stays as it was");
    // the disk recovers: the same edit saves, and what was saved is intact
    std::fs::remove_dir_all(&path).unwrap();
    std::fs::write(&path, &saved_before).unwrap();
    press(&mut h.app, "a");
    assert_ne!(h.app.run(), &before);
    let s = store_in(&h.dir).load("ZY-DEMO-0001").unwrap().unwrap();
    assert_eq!(s.edits.len(), 1);
}

#[test]
fn the_interface_speaks_the_configured_language() {
    let rec = sample::record();
    for (lang, current, pane, hint) in [
        (Lang::Zh, "各阶段均为最新", " 诊断 ", "s 单步"),
        (Lang::En, "every stage is current", " Diagnoses ", "s step"),
    ] {
        let run = Some(sample::finished_run(&rec));
        let mut h = harness_with(vec![rec.clone()], run, 160, 48, |c| c.lang = lang);
        let s = screen(&h.app);
        assert!(s.contains(pane) && s.contains(hint), "{lang}:\n{s}");
        press(&mut h.app, "s");
        let (msg, _) = h.app.status.clone().unwrap();
        assert!(msg.starts_with(current), "{lang}: {msg}");
    }
    // English leaves no Chinese of the interface: what is left on screen is
    // the record's own text (and the table's names).
    let mut h = harness_with(vec![rec], None, 80, 24, |c| c.lang = Lang::En);
    press(&mut h.app, "?");
    let s = screen(&h.app);
    for zh in ["按键", "主界面", "图例", "诊断", "待运行"] {
        assert!(!s.contains(zh), "{zh} in the English help:\n{s}");
    }
}

#[test]
fn an_edit_that_cannot_be_saved_is_not_applied_and_the_next_save_retries() {
    let rec = sample::record();
    let mut h = harness(Some(sample::finished_run(&rec)), 160, 48);
    let path = h.app.store.path_for(&rec.id);
    let codes = |h: &Harness| -> usize { h.app.run().diagnosis.stages[3].items.len() };
    let n = codes(&h);
    press(&mut h.app, "4 x");
    assert_eq!(codes(&h), n - 1);
    let saved = std::fs::read(&path).unwrap();
    // The data dir goes away under the app (a failing disk, an unmounted
    // share): a plain file where the directory was makes every write fail.
    let sessions = path.parent().unwrap().to_path_buf();
    let away = sessions.with_extension("away");
    std::fs::rename(&sessions, &away).unwrap();
    std::fs::write(&sessions, b"not a directory").unwrap();
    press(&mut h.app, "x");
    let (msg, level) = h.app.status.clone().unwrap();
    assert_eq!(level, Level::Error, "{msg}");
    assert!(
        msg.contains("未保存") && msg.contains("编辑未生效"),
        "{msg}"
    );
    assert_eq!(codes(&h), n - 1, "the run stays as it was");
    // Back again: what was saved is untouched, and the next edit saves.
    std::fs::remove_file(&sessions).unwrap();
    std::fs::rename(&away, &sessions).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), saved);
    press(&mut h.app, "x");
    assert_eq!(codes(&h), n - 2);
    let on_disk = h.app.store.load(&rec.id).unwrap().unwrap();
    assert_eq!(on_disk.run.diagnosis.stages[3].items.len(), n - 2);
}
