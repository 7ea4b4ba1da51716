//! Search index and matcher: tiny fixtures everywhere, the real 国临 tables
//! from ../shared/data when present (those tests skip otherwise).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use icdflow::cli::lookup::{guess_system, run_with, LookupArgs, SystemChoice};
use icdflow::search::{initials, variant_key, MatchOptions, Matcher, Tier};
use icdflow::terminology::dat::read_dat;
use icdflow::terminology::{normalize_code, CodeEntry, CodeKind, CodeSystem, Terminology};

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data"))
}

/// The table's rows as a flat table (no synthetic headings: a code's path
/// is the code alone); `None` when the file is absent.
/// The table, or `None` when the file is absent; a file that is there but
/// does not parse fails the test (it must not pass as a skip).
fn load_dat(path: &Path, system: CodeSystem) -> Option<Arc<Terminology>> {
    if !path.exists() {
        return None;
    }
    let rows: Vec<_> = read_dat(path)
        .unwrap_or_else(|e| panic!("{} is there but does not parse: {e}", path.display()))
        .rows
        .into_iter()
        .map(|r| (r.code, r.name))
        .collect();
    Some(Arc::new(Terminology::from_pairs(
        system,
        path.display().to_string(),
        &rows,
    )))
}

fn shared(file: &str, system: CodeSystem) -> Option<&'static Matcher> {
    static GL2: OnceLock<Option<Matcher>> = OnceLock::new();
    static GL3: OnceLock<Option<Matcher>> = OnceLock::new();
    let cell = match system {
        CodeSystem::Icd10 => &GL2,
        CodeSystem::Icd9Cm3 => &GL3,
    };
    let m = cell.get_or_init(|| {
        let path = data_dir().join("terminology").join(file);
        let term = load_dat(&path, system)?;
        Some(Matcher::in_memory(term).expect("index builds"))
    });
    if m.is_none() {
        eprintln!("skipping: {file} not found under ../shared/data");
    }
    m.as_ref()
}

fn gl2() -> Option<&'static Matcher> {
    shared("gl2-diagnoses.dat", CodeSystem::Icd10)
}

fn gl3() -> Option<&'static Matcher> {
    shared("gl3-procedures.dat", CodeSystem::Icd9Cm3)
}

fn opts(limit: usize) -> MatchOptions {
    MatchOptions {
        limit,
        assignable_only: true,
    }
}

fn codes(hits: &[icdflow::search::Match]) -> Vec<&str> {
    hits.iter().map(|h| h.code.as_str()).collect()
}

// ---------------------------------------------------------------- real tables

#[test]
fn hypertension_grade_and_risk_map_to_the_extension_code() {
    let Some(m) = gl2() else { return };
    let hits = m.match_text("高血压病3级（极高危）", &opts(5));
    assert_eq!(hits[0].code, "I10.x00x032", "{:?}", codes(&hits));
    assert_eq!(hits[0].tier, Tier::ExactName);
    // The record's spelling: risk in the bracket, 很高危 for 极高危.
    let hits = m.match_text("高血压病（3级很高危）", &opts(5));
    assert_eq!(hits[0].code, "I10.x00x032", "{:?}", codes(&hits));
    assert_eq!(hits[0].tier, Tier::Alias);
    // A different stratum is not confused with it.
    let hits = m.match_text("高血压病3级（高危）", &opts(5));
    assert_eq!(hits[0].code, "I10.x00x031");
}

#[test]
fn abbreviation_finds_the_full_name() {
    let Some(m) = gl2() else { return };
    let hits = m.match_text("冠心病", &opts(5));
    let pos = hits.iter().position(|h| h.code == "I25.103");
    assert!(pos.is_some_and(|p| p < 3), "{:?}", codes(&hits));
}

#[test]
fn fuzzy_names_rank_the_right_code_first() {
    let Some(m) = gl2() else { return };
    for (text, code) in [
        ("急性非ST段抬高型心肌梗塞", "I21.401"),
        ("2型糖尿病酮症酸中毒", "E11.101"),
        ("III度房室传导阻滞", "I44.200"),
    ] {
        let hits = m.match_text(text, &opts(5));
        assert_eq!(
            hits.first().map(|h| h.code.as_str()),
            Some(code),
            "{text}: {:?}",
            codes(&hits)
        );
    }
}

#[test]
fn pinyin_initials_find_coronary_heart_disease_names() {
    let Some(m) = gl2() else { return };
    let hits = m.lookup("gxb", &opts(20));
    assert!(hits.iter().all(|h| h.tier == Tier::Pinyin));
    assert!(
        hits.iter().any(|h| h.name.starts_with("冠心病")),
        "{:?}",
        hits.iter().map(|h| &h.name).collect::<Vec<_>>()
    );
    let hits = m.lookup("gxy", &opts(5));
    assert!(hits[0].name.starts_with("高血压"), "{:?}", hits[0]);
}

#[test]
fn drug_eluting_stent_maps_to_its_procedure() {
    let Some(m) = gl3() else { return };
    let hits = m.match_text("药物洗脱支架", &opts(5));
    let pos = hits.iter().position(|h| h.code == "36.0700");
    assert!(pos.is_some_and(|p| p < 3), "{:?}", codes(&hits));
    // 植入 and 置入 are the same word here.
    let hits = m.match_text("药物洗脱冠状动脉支架植入", &opts(5));
    assert_eq!(hits[0].code, "36.0700");
}

#[test]
fn code_prefix_lists_every_code_under_it() {
    let Some(m) = gl2() else { return };
    let hits = m.lookup("I10.x00x0", &opts(1000));
    let expected = m
        .terminology()
        .entries()
        .iter()
        .filter(|e| e.code.to_uppercase().starts_with("I10.X00X0"))
        .count();
    assert!(expected > 10);
    assert_eq!(hits.len(), expected);
    assert!(hits
        .iter()
        .all(|h| h.tier == Tier::CodePrefix && h.code.starts_with("I10.x00x0")));
    let mut sorted = codes(&hits);
    sorted.sort();
    assert_eq!(sorted, codes(&hits), "prefix hits come in code order");
}

#[test]
fn short_icd9_code_is_exact() {
    let Some(m) = gl3() else { return };
    let hits = m.lookup("36.07", &opts(5));
    assert_eq!(hits[0].code, "36.0700");
    assert_eq!(hits[0].tier, Tier::ExactCode);
    assert!(hits[1..]
        .iter()
        .all(|h| h.code.starts_with("36.07") && h.tier == Tier::CodePrefix));
}

#[test]
fn dagger_codes_meet_in_any_spelling() {
    let Some(m) = gl2() else { return };
    let hits = m.lookup("E11.401+G63.2*", &opts(3));
    assert_eq!(hits[0].tier, Tier::ExactCode);
    assert_eq!(
        normalize_code(CodeSystem::Icd10, &hits[0].code),
        normalize_code(CodeSystem::Icd10, "E11.401†G63.2")
    );
}

#[test]
fn lookup_command_prints_text_and_json() {
    let (Some(d), Some(p)) = (gl2(), gl3()) else {
        return;
    };
    let args = LookupArgs {
        term: "高血压病3级（极高危）".into(),
        json: false,
        limit: 3,
        all: false,
        system: None,
    };
    let mut out = Vec::new();
    run_with(&args, d, p, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.contains("I10.x00x032") && first.contains("exact_name") && first.contains("1.00"),
        "{text}"
    );

    let args = LookupArgs {
        json: true,
        term: "36.07".into(),
        ..args
    };
    let mut out = Vec::new();
    run_with(&args, d, p, &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let first = &v[0];
    assert_eq!(first["code"], "36.0700");
    assert_eq!(first["tier"], "exact_code");
    assert_eq!(first["system"], "procedure");
    assert_eq!(first["path"][0]["code"], "36.0700");
    assert!(first["score"].as_f64().unwrap() > 0.99);
}

// ---------------------------------------------------------------- fixtures

fn fixture(system: CodeSystem, fp: &str, rows: &[(&str, &str, bool)]) -> Arc<Terminology> {
    let entries = rows
        .iter()
        .map(|&(code, name, assignable)| CodeEntry {
            code: code.into(),
            name: name.into(),
            kind: CodeKind::Code,
            aliases: vec![],
            assignable,
            parent: None,
        })
        .collect();
    Arc::new(Terminology::from_entries(system, "fixture", fp, entries))
}

fn small() -> Arc<Terminology> {
    fixture(
        CodeSystem::Icd10,
        "fp-small-1",
        &[
            ("X10", "虚构循环病", false),
            ("X10.000", "虚构循环病", true),
            ("X10.001", "心力衰竭样虚构病", true),
            ("X11.100", "冠状动脉粥样硬化性心脏病", true),
            ("X11.101", "冠心病心律失常型", true),
            ("X12.000", "高血压病3级（极高危）", true),
            ("X12.001", "高血压病3级（高危）", true),
            ("X13.000", "Acute fictional syndrome", true),
        ],
    )
}

#[test]
fn pinyin_initials_of_names() {
    assert_eq!(initials("高血压"), "gxy");
    assert_eq!(initials("冠心病"), "gxb");
    assert_eq!(initials("2型糖尿病"), "2xtnb");
    let m = Matcher::in_memory(small()).unwrap();
    // 冠心病 (gxb) is the common short name of 冠状动脉粥样硬化性心脏病: its
    // initials find the full name first, then names that start with gxb.
    let hits = m.lookup("gxb", &opts(5));
    assert_eq!(codes(&hits), ["X11.100", "X11.101"]);
    assert!(hits.iter().all(|h| h.tier == Tier::Pinyin));
    // Exact initials rank above a longer name that starts with them.
    let hits = m.lookup("gxyb", &opts(5));
    assert!(hits.iter().all(|h| h.code.starts_with("X12")));
    // The linear baseline folds no variant spellings: initials of names only.
    let lin = Matcher::linear(small());
    assert_eq!(codes(&lin.lookup("gxb", &opts(5))), ["X11.101"]);
}

#[test]
fn synonyms_fold_variant_spellings() {
    assert_eq!(
        variant_key("高血压病（3级很高危）"),
        variant_key("高血压病3级(极高危)")
    );
    assert_eq!(variant_key("心衰"), variant_key("心力衰竭"));
    assert_eq!(variant_key("冠脉支架植入"), variant_key("冠脉支架置入"));
    let m = Matcher::in_memory(small()).unwrap();
    let hits = m.match_text("冠心病", &opts(3));
    assert_eq!(hits[0].code, "X11.100");
    assert_eq!(hits[0].tier, Tier::Alias);
    let hits = m.match_text("高血压病（3级很高危）", &opts(3));
    assert_eq!(hits[0].code, "X12.000");
}

#[test]
fn assignable_filter_applies_to_every_tier() {
    let m = Matcher::in_memory(small()).unwrap();
    let all = MatchOptions {
        limit: 10,
        assignable_only: false,
    };
    assert!(m.lookup("X10", &all).iter().any(|h| h.code == "X10"));
    assert!(m.lookup("X10", &opts(10)).iter().all(|h| h.code != "X10"));
    let names = m.match_text("虚构循环病", &all);
    assert_eq!(codes(&names)[..2], ["X10.000", "X10"]);
    let names = m.match_text("虚构循环病", &opts(10));
    assert!(names.iter().all(|h| h.code != "X10"));
    // Fuzzy candidates are filtered too.
    let fuzzy = m.match_text("虚构的循环系统疾病", &opts(10));
    assert!(!fuzzy.is_empty() && fuzzy.iter().all(|h| h.code != "X10"));
}

#[test]
fn english_names_are_tokenized_as_words() {
    let m = Matcher::in_memory(small()).unwrap();
    let hits = m.match_text("fictional syndrome", &opts(3));
    assert_eq!(hits[0].code, "X13.000");
    assert_eq!(
        m.match_text("ACUTE FICTIONAL SYNDROME", &opts(1))[0].tier,
        Tier::ExactName
    );
}

#[test]
fn indexed_and_linear_agree_on_exact_names() {
    let t = small();
    let idx = Matcher::in_memory(t.clone()).unwrap();
    let lin = Matcher::linear(t.clone());
    for e in t.entries().iter().filter(|e| e.assignable) {
        let a = idx.match_text(&e.name, &opts(1));
        let b = lin.match_text(&e.name, &opts(1));
        assert_eq!(a[0].tier, Tier::ExactName);
        assert_eq!(a[0].code, b[0].code, "{}", e.name);
    }
}

#[test]
fn empty_and_odd_queries_return_nothing_or_something_sane() {
    let m = Matcher::in_memory(small()).unwrap();
    assert!(m.lookup("", &opts(5)).is_empty());
    assert!(m.lookup("   ", &opts(5)).is_empty());
    assert!(m.match_text("（）", &opts(5)).is_empty());
    assert!(m.lookup("高血压", &opts(0)).is_empty());
    // Query syntax characters are plain text to the matcher.
    let _ = m.lookup("AND OR \"( * :", &opts(5));
}

// ---------------------------------------------------------------- on disk

fn meta_of(dir: &Path) -> serde_json::Value {
    let bytes = std::fs::read(dir.join("icdflow-index.json")).expect("meta file");
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn index_is_reused_when_the_table_is_unchanged_and_rebuilt_when_it_changes() {
    let root = tempfile::tempdir().unwrap();
    let t1 = small();
    let m = Matcher::open(t1.clone(), root.path()).unwrap();
    let info = m.index_info().unwrap();
    assert!(info.built);
    let dir = info.dir.clone().unwrap();
    assert_eq!(dir, Matcher::index_dir(&t1, root.path()));
    assert!(dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("icd10-fpsmall1"));
    let built_at = meta_of(&dir)["built_unix_ms"].clone();
    assert_eq!(m.match_text("冠心病", &opts(1))[0].code, "X11.100");
    drop(m);

    // Same table: reused, meta untouched.
    let m = Matcher::open(t1.clone(), root.path()).unwrap();
    assert!(!m.index_info().unwrap().built);
    assert_eq!(meta_of(&dir)["built_unix_ms"], built_at);
    assert_eq!(
        m.match_text("心力衰竭样的虚构病", &opts(1))[0].code,
        "X10.001"
    );

    // Changed table (new fingerprint): a new index, answering for the new rows.
    let t2 = fixture(
        CodeSystem::Icd10,
        "fp-small-2",
        &[("Y20.000", "虚构新病", true), ("Y20.001", "虚构旧病", true)],
    );
    let m2 = Matcher::open(t2.clone(), root.path()).unwrap();
    assert!(m2.index_info().unwrap().built);
    assert_ne!(m2.index_info().unwrap().dir.as_ref().unwrap(), &dir);
    assert_eq!(m2.match_text("虚构新病", &opts(1))[0].code, "Y20.000");

    // A stale meta in the expected folder (same name, other fingerprint) is rebuilt in place.
    let mut meta = meta_of(&dir);
    meta["fingerprint"] = "something-else".into();
    std::fs::write(
        dir.join("icdflow-index.json"),
        serde_json::to_vec(&meta).unwrap(),
    )
    .unwrap();
    let m = Matcher::open(t1.clone(), root.path()).unwrap();
    assert!(m.index_info().unwrap().built);
    assert_eq!(meta_of(&dir)["fingerprint"], "fp-small-1");

    // A damaged index is rebuilt too.
    for f in std::fs::read_dir(&dir).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_some_and(|e| e == "idx" || e == "term") {
            std::fs::write(&p, b"garbage").unwrap();
        }
    }
    let m = Matcher::open(t1.clone(), root.path()).unwrap();
    assert_eq!(m.match_text("冠心病", &opts(1))[0].code, "X11.100");

    // No temporary folders are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn build_index_for_the_index_command_is_reused_by_open() {
    let root = tempfile::tempdir().unwrap();
    let t = small();
    let stats = Matcher::build_index(&t, root.path()).unwrap();
    assert_eq!(stats.entries, t.len());
    assert!(stats.bytes > 0);
    let m = Matcher::open(t.clone(), root.path()).unwrap();
    assert!(!m.index_info().unwrap().built);
}

#[test]
fn system_is_guessed_from_the_term() {
    assert_eq!(guess_system("36.07"), SystemChoice::Procedure);
    assert_eq!(guess_system("I10.x00"), SystemChoice::Diagnosis);
    assert_eq!(guess_system("高血压"), SystemChoice::Both);
    assert_eq!(guess_system("gxy"), SystemChoice::Both);
}

#[test]
fn lookup_text_output_on_fixtures() {
    let d = Matcher::in_memory(small()).unwrap();
    let p = Matcher::in_memory(fixture(
        CodeSystem::Icd9Cm3,
        "fp-proc",
        &[("36.0700", "药物洗脱冠状动脉支架置入", true)],
    ))
    .unwrap();
    let args = LookupArgs {
        term: "不存在的东西".into(),
        json: false,
        limit: 5,
        all: false,
        system: Some(SystemChoice::Procedure),
    };
    let mut out = Vec::new();
    run_with(&args, &d, &p, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    // A fuzzy hit or the no-match line, never a panic.
    assert!(!text.is_empty());
    let args = LookupArgs {
        term: "支架植入".into(),
        ..args
    };
    let mut out = Vec::new();
    run_with(&args, &d, &p, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("36.0700"), "{text}");
    assert!(text.contains("fuzzy"));
}

// ---------------------------------------------------------------- names inside a text

#[test]
fn names_inside_a_diagnosis_list_item_are_found_with_spans() {
    let Some(m) = gl2() else { return };
    let text = "冠状动脉粥样硬化性心脏病不稳定型心绞痛冠状动脉支架植入术后";
    let found = m.find_names(text, &opts(10));
    let got: Vec<(&str, &str)> = found
        .iter()
        .map(|f| (&text[f.start..f.end], f.hit.code.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("冠状动脉粥样硬化性心脏病", "I25.103"),
            ("不稳定型心绞痛", "I20.000"),
            ("冠状动脉支架植入术后", "Z95.501"),
        ]
    );
    assert_eq!(found[0].hit.tier, Tier::ExactName);
    assert_eq!(found[2].hit.tier, Tier::Alias);
}

#[test]
fn names_inside_a_text_on_fixtures() {
    let t = small();
    for m in [
        Matcher::in_memory(t.clone()).unwrap(),
        Matcher::linear(t.clone()),
    ] {
        let text = "1.冠心病 2.高血压病（3级很高危） 3.不存在的病";
        let found = m.find_names(text, &opts(10));
        let got: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (&text[f.start..f.end], f.hit.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [("冠心病", "X11.100"), ("高血压病（3级很高危）", "X12.000")]
        );
        assert!(m.find_names("", &opts(10)).is_empty());
    }
}

#[test]
fn default_index_root_prefers_config_then_local_folder() {
    use icdflow::search::default_index_root;
    let given = Path::new("/somewhere/idx");
    assert_eq!(default_index_root(Some(given)), given);
    // Tests run in the package root, whose index/ folder exists.
    let root = default_index_root(None);
    assert!(root.ends_with("index"), "{}", root.display());
}
