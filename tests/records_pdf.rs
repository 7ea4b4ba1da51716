//! PDF records: a text PDF and a scan of it (image-only, read by OCR) of a
//! record written for this test, both generated here; an encrypted and a
//! damaged PDF. Skips with a message when poppler, Tesseract's Chinese model
//! or the fonts are missing (`.ci/run` installs them).

mod pdf_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use icdflow::pipeline::engine::with_quiet_control;
use icdflow::pipeline::{CodingContext, Engine, Flag, Run, StageKind};
use icdflow::record::{load, Record, RecordFormat, Track};
use icdflow::search::Matcher;
use icdflow::terminology::{CodeSystem, Terminology};

/// The record of this test: fictional, with a wrapped diagnosis list.
const LINES: &[&str] = &[
    "某某市人民医院 出院记录",
    "姓名：某某    住院号：PDF-0427    性别：男    年龄：67岁",
    "【主诉】",
    "反复胸闷、胸痛2年，加重1周。",
    "一、现病史",
    "患者2年前活动后出现胸骨后闷痛，休息3～5分钟可缓解。1周前症状加",
    "重，静息时亦有发作。",
    "出院诊断：",
    "1.冠状动脉粥样硬化性心脏病 不稳定型心",
    "绞痛",
    "2.高血压病3级（极高危）",
    "3.2型糖尿病",
    "手术名称：",
    "1.经皮冠状动脉药物洗脱支架置入术",
    "第 1 页 共 1 页",
];

fn tools_missing() -> Option<String> {
    for p in ["pdftotext", "pdftoppm", "pdfinfo", "tesseract"] {
        if !pdf_support::have(p) {
            return Some(format!("{p} is not installed"));
        }
    }
    let langs = std::process::Command::new("tesseract")
        .arg("--list-langs")
        .output()
        .ok()?;
    if !String::from_utf8_lossy(&langs.stdout)
        .lines()
        .any(|l| l.trim() == "chi_sim")
    {
        return Some("tesseract-ocr-chi-sim is not installed".into());
    }
    if pdf_support::cjk_font().is_none() {
        return Some("fonts-droid-fallback / fonts-dejavu-core are not installed".into());
    }
    None
}

macro_rules! need_tools {
    () => {
        if let Some(why) = tools_missing() {
            eprintln!("skipped: {why} (apt-get install poppler-utils tesseract-ocr tesseract-ocr-chi-sim fonts-droid-fallback fonts-dejavu-core)");
            return;
        }
    };
}

/// Writes the text PDF and its scan into `dir`.
fn make_pdfs(dir: &Path) -> (PathBuf, PathBuf) {
    let fonts = pdf_support::cjk_font().expect("fonts");
    let lines: Vec<String> = LINES.iter().map(|s| s.to_string()).collect();
    let text = dir.join("discharge-0427.pdf");
    std::fs::write(&text, pdf_support::text_pdf(&[lines], &fonts)).unwrap();
    let scan = dir.join("scan-0427.pdf");
    std::fs::write(&scan, pdf_support::scanned_pdf(&text, 200, dir)).unwrap();
    (text, scan)
}

fn only(path: &Path) -> Record {
    let rep = load(path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rep.format, RecordFormat::Pdf);
    assert!(rep.errors.is_empty(), "{:?}", rep.errors);
    assert_eq!(rep.records.len(), 1);
    rep.records.into_iter().next().unwrap()
}

/// Characters of `a` found in `b` in order (a crude OCR accuracy).
fn char_recall(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (
        a.chars().filter(|c| !c.is_whitespace()).collect(),
        b.chars().filter(|c| !c.is_whitespace()).collect(),
    );
    // Longest common subsequence.
    let mut prev = vec![0usize; b.len() + 1];
    for &x in &a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, &y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        prev = cur;
    }
    prev[b.len()] as f64 / a.len().max(1) as f64
}

#[test]
fn text_pdf_is_read_with_sections_and_joined_lines() {
    need_tools!();
    let dir = tempfile::tempdir().unwrap();
    let (text, _) = make_pdfs(dir.path());
    let r = only(&text);
    assert_eq!(r.id, "PDF-0427", "the id the text names");
    let names: Vec<_> = r.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["正文", "主诉", "现病史", "出院诊断", "手术名称"]);
    assert_eq!(
        r.section("出院诊断"),
        Some("1.冠状动脉粥样硬化性心脏病 不稳定型心绞痛\n2.高血压病3级（极高危）\n3.2型糖尿病")
    );
    assert_eq!(
        r.section("现病史"),
        Some("患者2年前活动后出现胸骨后闷痛，休息3～5分钟可缓解。1周前症状加重，静息时亦有发作。")
    );
    assert!(!r.section("手术名称").unwrap().contains("第 1 页"));
    assert!(!r.has_ocr());
    assert_eq!(r.pages.len(), 1);
}

#[test]
fn scanned_pdf_is_read_by_ocr_and_marked() {
    need_tools!();
    let dir = tempfile::tempdir().unwrap();
    let (text, scan) = make_pdfs(dir.path());
    let t0 = std::time::Instant::now();
    let r = only(&scan);
    let secs = t0.elapsed().as_secs_f64();
    let typed = only(&text);
    assert!(r.has_ocr());
    let page = &r.pages[0];
    eprintln!(
        "OCR: page 1 in {} ms (load {secs:.2} s), confidence {}%",
        page.ocr_ms.unwrap(),
        page.ocr_confidence.unwrap()
    );
    let recall = char_recall(&typed.full_text(), &r.full_text());
    eprintln!("OCR character recall {recall:.3}\n{}", r.full_text());
    assert!(recall > 0.85, "OCR recall {recall:.3}");
    assert!(r.section("出院诊断").is_some(), "{:?}", r.sections);
    assert!(page.sections.contains(&"出院诊断".to_string()));
    // Items coded from the scan carry the low-confidence mark.
    let m = |system, rows: &[(&str, &str)]| {
        Matcher::linear(Arc::new(Terminology::from_pairs(system, "t", rows)))
    };
    let diag = m(
        CodeSystem::Icd10,
        &[
            ("I25.103", "冠状动脉粥样硬化性心脏病"),
            ("I20.000", "不稳定型心绞痛"),
            ("I10.x00x032", "高血压病3级（极高危）"),
            ("E11.900", "2型糖尿病"),
        ],
    );
    let proc = m(
        CodeSystem::Icd9Cm3,
        &[("36.0700", "经皮冠状动脉药物洗脱支架置入术")],
    );
    let ctx = Arc::new(CodingContext::new(diag, proc));
    let mut engine = Engine::new(ctx);
    for rec in [&typed, &r] {
        let mut run = Run::new(&rec.id);
        with_quiet_control(|ctl| engine.run_pending(rec, &mut run, ctl)).unwrap();
        let items = &run.stage(Track::Diagnosis, StageKind::Map).unwrap().items;
        assert!(!items.is_empty());
        let flagged = items
            .iter()
            .filter(|i| i.has_flag(&Flag::LowConfidence))
            .count();
        if rec.has_ocr() {
            assert_eq!(flagged, items.len(), "every item from the scan");
            assert!(items[0]
                .flags
                .iter()
                .any(|f| matches!(f, Flag::Note(n) if n.starts_with("read by OCR: page 1"))));
        } else {
            assert_eq!(flagged, 0);
        }
    }
}

#[test]
fn encrypted_and_damaged_pdfs_are_named() {
    need_tools!();
    let dir = tempfile::tempdir().unwrap();
    let enc = dir.path().join("locked.pdf");
    std::fs::write(&enc, pdf_support::encrypted_pdf()).unwrap();
    let e = load(&enc).unwrap_err().to_string();
    assert!(e.contains("locked.pdf") && e.contains("encrypted"), "{e}");

    let (text, _) = make_pdfs(dir.path());
    let bytes = std::fs::read(&text).unwrap();
    let broken = dir.path().join("broken.pdf");
    std::fs::write(&broken, &bytes[..bytes.len() / 3]).unwrap();
    let e = load(&broken).unwrap_err().to_string();
    assert!(e.contains("broken.pdf") && e.contains("damaged"), "{e}");

    let junk = dir.path().join("junk.pdf");
    std::fs::write(&junk, b"%PDF-1.4\nnot really a pdf at all").unwrap();
    let e = load(&junk).unwrap_err().to_string();
    assert!(e.contains("junk.pdf") && e.contains("damaged"), "{e}");
}
