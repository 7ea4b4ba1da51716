//! Snapshots of the main screens at 80×24 and 160×48. Every snapshot also
//! checks that CJK text keeps the grid: each row is exactly the terminal's
//! width in display columns and no wide char overwrites its neighbour.

mod tui_support;

use icdflow::i18n::Lang;
use icdflow::pipeline::{Event, StageKind};
use icdflow::record::Track;
use icdflow::tui::action::Action;
use icdflow::tui::sample;
use icdflow::tui::theme::Theme;
use icdflow::tui::worker::WorkerMsg;
use tui_support::*;

fn finished() -> Option<icdflow::pipeline::Run> {
    Some(sample::finished_run(&sample::record()))
}

#[test]
fn main_screen_wide_and_narrow() {
    let mut h = harness(finished(), 160, 48);
    insta::assert_snapshot!("main_160x48", screen(&h.app));
    h.app.handle(Action::Resize {
        width: 80,
        height: 24,
    });
    insta::assert_snapshot!("main_80x24", screen(&h.app));
}

#[test]
fn fresh_record_before_any_stage() {
    let h = harness(None, 80, 24);
    insta::assert_snapshot!("pending_80x24", screen(&h.app));
}

#[test]
fn edited_middle_stage_marks_later_stages_stale() {
    let mut h = harness(finished(), 160, 48);
    // Procedures, third stage (Prioritized): move the principal down.
    press(&mut h.app, "J 3 >");
    insta::assert_snapshot!("edited_160x48", screen(&h.app));
}

#[test]
fn running_stage_streams_tokens() {
    let (mut h, sw) = scripted(finished(), 160, 48);
    press(&mut h.app, "r");
    let job = sw.last_job().id;
    let (t, k) = (Track::Diagnosis, StageKind::Validate);
    sw.send(WorkerMsg::Event {
        job,
        event: Event::StageStarted { track: t, kind: k },
    });
    for piece in [
        "{\"keep\": [",
        "0, 1, 2",
        "], \"add\": [\"心功能III级\"",
        "]",
    ] {
        sw.send(WorkerMsg::Event {
            job,
            event: Event::Token {
                track: t,
                kind: k,
                piece: piece.into(),
            },
        });
    }
    h.app.pump();
    h.app.tick = 3;
    insta::assert_snapshot!("running_160x48", screen(&h.app));
}

#[test]
fn trainer_mode_shows_notes_and_changes() {
    let mut h = harness_with(vec![sample::record()], finished(), 160, 48, |c| {
        c.trainer = true
    });
    // Procedures, Validated: it dropped the PTCA that Code Also kept.
    press(&mut h.app, "J 5");
    insta::assert_snapshot!("trainer_160x48", screen(&h.app));
}

#[test]
fn help_overlay() {
    let mut h = harness(finished(), 80, 24);
    press(&mut h.app, "?");
    insta::assert_snapshot!("help_80x24", screen(&h.app));
}

#[test]
fn code_search_popup() {
    let mut h = harness(finished(), 160, 48);
    // Diagnoses, Codes, principal: the search starts from its name.
    press(&mut h.app, "/");
    insta::assert_snapshot!("search_160x48", screen(&h.app));
    h.app.handle(Action::Resize {
        width: 80,
        height: 24,
    });
    insta::assert_snapshot!("search_80x24", screen(&h.app));
}

#[test]
fn trace_popup() {
    let mut h = harness(finished(), 160, 48);
    press(&mut h.app, "2 t");
    insta::assert_snapshot!("trace_160x48", screen(&h.app));
}

#[test]
fn record_picker_opens_for_many_records() {
    let h = harness_with(
        vec![sample::record(), sample::second_record()],
        None,
        80,
        24,
        |_| {},
    );
    insta::assert_snapshot!("picker_80x24", screen(&h.app));
}

#[test]
fn list_editor() {
    let mut h = harness(finished(), 80, 24);
    press(&mut h.app, "J 3 e");
    insta::assert_snapshot!("edit_80x24", screen(&h.app));
}

#[test]
fn focused_item_evidence_is_highlighted_in_the_record() {
    let mut h = harness(finished(), 160, 48);
    // Diagnoses, Standardized, second item: 不稳定型心绞痛, with evidence in
    // 出院诊断 and in the (folded) 现病史, which opens to show it.
    press(&mut h.app, "1 j");
    let bg = Theme::default().evidence.bg.unwrap();
    let lit = cells_with_bg(&h.app, bg);
    assert!(lit.contains("不稳定型心绞痛"), "{lit}");
    assert!(lit.contains("静息时亦有发作"), "{lit}");
    assert!(!lit.contains("冠状动脉粥样硬化"), "{lit}");
    let s = screen(&h.app);
    assert!(s.contains("▾ 现病史"), "{s}");
}

/// An alias memory with two taught entries at fixed times.
fn taught_aliases(dir: &std::path::Path) -> icdflow::learn::SharedCoderAliases {
    let path = dir.join("coder-aliases.json");
    let mut c = icdflow::learn::CoderAliases::open(&path).unwrap();
    c.teach(Track::Diagnosis, "冠心病", vec!["I25.103".into()], "lin")
        .unwrap();
    c.teach(
        Track::Procedure,
        "冠脉支架植入术（药物洗脱）",
        vec!["36.07".into()],
        "zhang.wei",
    )
    .unwrap();
    c.teach(
        Track::Diagnosis,
        "高血压3级很高危",
        vec!["I10.x00x032".into()],
        "lin",
    )
    .unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for (i, a) in v["aliases"].as_array_mut().unwrap().iter_mut().enumerate() {
        a["taught"] = format!("2026-03-0{}T09:1{i}:00+00:00", i + 1).into();
    }
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    std::sync::Arc::new(std::sync::Mutex::new(
        icdflow::learn::CoderAliases::open(&path).unwrap(),
    ))
}

#[test]
fn similar_cases_popup() {
    let mut h = harness_with(vec![sample::record()], finished(), 160, 48, |c| {
        c.learned = Some(sample::learned_model())
    });
    // Diagnoses, Codes: the popup lists the cases' diagnosis codes; ✓ marks
    // those the list already has.
    press(&mut h.app, "c j j");
    insta::assert_snapshot!("similar_160x48", screen(&h.app));
    h.app.handle(Action::Resize {
        width: 80,
        height: 24,
    });
    insta::assert_snapshot!("similar_80x24", screen(&h.app));
}

#[test]
fn taught_aliases_popup() {
    let dir = tempfile::tempdir().unwrap();
    let shared = taught_aliases(dir.path());
    let mut h = harness_with(vec![sample::record()], finished(), 160, 48, |c| {
        c.coder_aliases = Some(shared)
    });
    press(&mut h.app, "L j");
    insta::assert_snapshot!("aliases_160x48", screen(&h.app));
    h.app.handle(Action::Resize {
        width: 80,
        height: 24,
    });
    insta::assert_snapshot!("aliases_80x24", screen(&h.app));
}

#[test]
fn any_size_renders_on_the_grid() {
    for lang in Lang::ALL {
        any_size_renders_on_the_grid_in(lang);
    }
}

/// No catalogue placeholder (`{name}`) was left unfilled on the screen.
fn assert_filled(s: &str) {
    for (i, _) in s.match_indices('{') {
        let rest = &s[i + 1..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(
            name.is_empty() || !rest[name.len()..].starts_with('}'),
            "unfilled {{{name}}}:\n{s}"
        );
    }
}

fn any_size_renders_on_the_grid_in(lang: Lang) {
    let dir = tempfile::tempdir().unwrap();
    let shared = taught_aliases(dir.path());
    let mut h = harness_with(vec![sample::record()], finished(), 160, 48, |c| {
        c.learned = Some(sample::learned_model());
        c.coder_aliases = Some(shared);
        c.alpha = sample::alpha_indexes();
        c.lang = lang;
    });
    for (w, hh) in [
        (80, 24),
        (100, 30),
        (120, 30),
        (119, 40),
        (200, 60),
        (60, 16),
        (40, 12),
        (20, 6),
        (12, 4),
    ] {
        h.app.handle(Action::Resize {
            width: w,
            height: hh,
        });
        let s = screen(&h.app);
        assert_eq!(s.lines().count(), hh as usize);
        for popup in ["?", "/", "t", "J 3 e", "f", "c", "L", "I"] {
            press(&mut h.app, popup);
            assert_filled(&screen(&h.app));
            press(&mut h.app, "esc");
        }
    }
}

#[test]
fn every_shipped_theme_renders() {
    for name in Theme::builtin_names() {
        let (theme, warnings) = Theme::load(Some(name), None);
        assert!(warnings.is_empty(), "{warnings:?}");
        let mut h = harness_with(vec![sample::record()], finished(), 80, 24, |c| {
            c.theme = theme.clone()
        });
        press(&mut h.app, "1 j");
        let bg = theme.evidence.bg.unwrap();
        assert!(
            cells_with_bg(&h.app, bg).contains("不稳定型心绞痛"),
            "{name}"
        );
    }
}

#[test]
fn real_engine_results_show_in_the_codes_panes() {
    let mut h = harness(None, 160, 48);
    press(&mut h.app, "r");
    assert!(h.app.run().is_complete());
    let s = screen(&h.app);
    for t in Track::ALL {
        for item in h.app.run().final_items(t) {
            if let Some(code) = &item.code {
                assert!(s.contains(code.as_str()), "{code} not on screen:\n{s}");
            }
        }
    }
}

#[test]
fn narrow_trainer_and_focused_record() {
    let mut h = harness_with(vec![sample::record()], finished(), 80, 24, |c| {
        c.trainer = true
    });
    press(&mut h.app, "J 5");
    insta::assert_snapshot!("trainer_80x24", screen(&h.app));
    press(&mut h.app, "h h h h h h j j enter");
    insta::assert_snapshot!("record_focused_80x24", screen(&h.app));
}

#[test]
fn alphabetic_index_browser() {
    let mut h = harness_with(vec![sample::record()], finished(), 160, 48, |c| {
        c.alpha = sample::alpha_indexes()
    });
    // From the Codes list: a lead term by pinyin initials, opened, its
    // cross-reference followed.
    press(&mut h.app, "4 I");
    type_text(&mut h.app, "xjt");
    insta::assert_snapshot!("locate_leads_160x48", screen(&h.app));
    press(&mut h.app, "enter down down");
    insta::assert_snapshot!("locate_tree_160x48", screen(&h.app));
    h.app.handle(Action::Resize {
        width: 80,
        height: 24,
    });
    insta::assert_snapshot!("locate_tree_80x24", screen(&h.app));
}

/// The English interface (`--lang en`): the same screens as the Chinese
/// default above, so a string that outgrows its place shows in either.
#[test]
fn english_screens() {
    let en = |c: &mut icdflow::tui::app::AppConfig| c.lang = Lang::En;
    let mut h = harness_with(vec![sample::record()], finished(), 160, 48, en);
    insta::assert_snapshot!("main_en_160x48", screen(&h.app));
    h.app.handle(Action::Resize {
        width: 80,
        height: 24,
    });
    insta::assert_snapshot!("main_en_80x24", screen(&h.app));
    press(&mut h.app, "?");
    insta::assert_snapshot!("help_en_80x24", screen(&h.app));
    press(&mut h.app, "esc /");
    insta::assert_snapshot!("search_en_80x24", screen(&h.app));

    let mut h = harness_with(vec![sample::record()], finished(), 160, 48, |c| {
        c.trainer = true;
        c.lang = Lang::En;
    });
    press(&mut h.app, "J 5");
    insta::assert_snapshot!("trainer_en_160x48", screen(&h.app));
    let mut h = harness_with(vec![sample::record()], finished(), 80, 24, |c| {
        c.trainer = true;
        c.lang = Lang::En;
    });
    press(&mut h.app, "J 5");
    insta::assert_snapshot!("trainer_en_80x24", screen(&h.app));

    let mut h = harness_with(vec![sample::record()], finished(), 80, 24, |c| {
        c.alpha = sample::alpha_indexes();
        c.lang = Lang::En;
    });
    press(&mut h.app, "4 I");
    type_text(&mut h.app, "xjt");
    press(&mut h.app, "enter down down");
    insta::assert_snapshot!("locate_tree_en_80x24", screen(&h.app));
}
