//! Integration tests for the record importers: fixtures written for the
//! project, the shared data sets (skipped when absent), and malformed input.

use std::path::{Path, PathBuf};
use std::time::Instant;

use icdflow::record::{
    detect_format, load, load_many, read_text_file, GoldCode, Record, RecordFormat, Track,
    MAX_SECTION_BYTES,
};
use icdflow::Error;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/records")
        .join(name)
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/records")
        .join(name)
}

/// The shared records folder, or `None` (with a message) when absent.
fn shared(name: &str) -> Option<PathBuf> {
    let p = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/records"
    ))
    .join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIP: shared data file {} is absent", p.display());
        None
    }
}

fn codes(gold: Option<&[GoldCode]>) -> Vec<&str> {
    gold.unwrap_or_default()
        .iter()
        .map(|g| g.code.as_str())
        .collect()
}

fn by_id<'a>(records: &'a [Record], id: &str) -> &'a Record {
    records
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("record {id} not loaded"))
}

/// Asserts that exactly one error mentions every needle, and returns it.
fn one_error(errors: &[Error], needles: &[&str]) -> String {
    let hits: Vec<String> = errors
        .iter()
        .map(|e| e.to_string())
        .filter(|s| needles.iter().all(|n| s.contains(n)))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "want one error containing {needles:?}, got {hits:?}; all errors: {:#?}",
        errors.iter().map(|e| e.to_string()).collect::<Vec<_>>()
    );
    hits.into_iter().next().unwrap()
}

fn write_temp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

// ---------------------------------------------------------------- JointCoder

#[test]
fn jointcoder_fixture_loads_good_rows_and_reports_bad_ones() {
    let path = fixture("jointcoder-mini.xlsx");
    let report = load(&path).unwrap();
    assert_eq!(report.format, RecordFormat::JointCoderXlsx);
    let ids: Vec<&str> = report.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["1", "ZY0002", "1008"], "numeric ids print without .0");

    let r1 = by_id(&report.records, "1");
    let names: Vec<&str> = r1.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "主诉",
            "现病史",
            "入院诊断",
            "手术名称",
            "手术经过",
            "出院诊断"
        ]
    );
    // Stray spaces trimmed, full width folded, dagger form kept, gap skipped.
    assert_eq!(
        codes(r1.gold.track(Track::Diagnosis)),
        ["I21.001", "I10.x00x032", "E11.401+G63.2*"]
    );
    assert_eq!(
        r1.gold_principal(Track::Diagnosis).unwrap().name.as_deref(),
        Some("急性前壁心肌梗死")
    );
    // A code typed as a number comes back in its shortest spelling.
    assert_eq!(codes(r1.gold.track(Track::Procedure)), ["36.0700", "88.55"]);

    // Junk codes: diagnosis code dropped, record kept; the procedure track
    // has no usable principal, so its gold is ignored rather than promoted.
    let r2 = by_id(&report.records, "ZY0002");
    assert_eq!(codes(r2.gold.track(Track::Diagnosis)), ["I48.x01"]);
    assert_eq!(r2.gold.procedures, None);
    one_error(
        &report.errors,
        &[
            "jointcoder-mini.xlsx",
            "record ZY0002",
            "field 出院其他诊断编码1",
            "高血压",
        ],
    );
    one_error(
        &report.errors,
        &["record ZY0002", "field 其他手术操作编码1", "`??`"],
    );
    one_error(
        &report.errors,
        &["record ZY0002", "no usable principal procedure"],
    );

    // No procedure codes in a sheet that has procedure columns: empty list.
    assert_eq!(by_id(&report.records, "1008").gold.procedures, Some(vec![]));

    one_error(&report.errors, &["record ZY0003", "no text", "row 4"]);
    one_error(&report.errors, &["record 1", "duplicate", "row 2", "row 6"]);
    one_error(&report.errors, &["record row 7", "no id"]);
    assert_eq!(report.errors.len(), 6, "{:#?}", report.errors);
}

#[test]
fn xlsx_without_id_column_is_a_file_error() {
    let err = load(&fixture("jointcoder-no-id.xlsx"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("jointcoder-no-id.xlsx"), "{err}");
    assert!(err.contains("no ID column"), "{err}");
    assert!(err.contains("编号"), "shows the header it found: {err}");
}

#[test]
fn non_xlsx_bytes_in_xlsx_are_a_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = write_temp(&dir, "notes.xlsx", "这不是表格".as_bytes());
    let err = load(&text).unwrap_err().to_string();
    assert!(
        err.contains("notes.xlsx") && err.contains("not an xlsx workbook"),
        "{err}"
    );

    let empty = write_temp(&dir, "empty.xlsx", b"");
    let err = load(&empty).unwrap_err().to_string();
    assert!(err.contains("empty"), "{err}");

    let good = std::fs::read(fixture("jointcoder-mini.xlsx")).unwrap();
    let cut = write_temp(&dir, "cut.xlsx", &good[..good.len() / 2]);
    let err = load(&cut).unwrap_err().to_string();
    assert!(
        err.contains("cut.xlsx") && err.contains("cannot open"),
        "{err}"
    );
}

#[test]
fn xlsx_section_over_limit_skips_only_that_record() {
    let report = load(&fixture("jointcoder-huge-cell.xlsx")).unwrap();
    let ids: Vec<&str> = report.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["OK2"]);
    one_error(&report.errors, &["record BIG1", "field 病程记录", "5 MB"]);
    // A sheet without gold columns has no gold.
    assert!(report.records[0].gold.is_empty());
}

// ---------------------------------------------------------------- CCL25

#[test]
fn ccl25_fixture_loads_gold_in_order() {
    let report = load(&fixture("ccl25-mini.json")).unwrap();
    assert_eq!(report.format, RecordFormat::Ccl25Json);
    let ids: Vec<&str> = report.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["CCL-A1", "CCL-A2", "CCL-A3", "10006"]);

    let a1 = by_id(&report.records, "CCL-A1");
    let names: Vec<&str> = a1.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "主诉",
            "现病史",
            "既往史",
            "入院诊断",
            "诊疗经过",
            "出院医嘱"
        ],
        "sections keep the source's key order"
    );
    assert_eq!(
        codes(a1.gold.track(Track::Diagnosis)),
        ["I20.000", "I10.x00x032", "E78.500", "E11.900"]
    );
    assert_eq!(a1.gold.procedures, None, "CCL25 has no procedure gold");
    let a2 = by_id(&report.records, "CCL-A2");
    assert_eq!(codes(a2.gold.track(Track::Diagnosis)), ["I47.100"]);
    // pandas writes missing values as a bare NaN: read as absent.
    assert_eq!(a2.section_index("出院情况"), None);
    assert_eq!(
        codes(
            by_id(&report.records, "CCL-A3")
                .gold
                .track(Track::Diagnosis)
        ),
        ["I50.900x007", "I25.103"]
    );

    one_error(
        &report.errors,
        &["record CCL-A3", "field 其他诊断编码", "`??`"],
    );
    one_error(
        &report.errors,
        &["record CCL-A3", "field 其他诊断编码", "高血压"],
    );
    one_error(
        &report.errors,
        &["record CCL-A1", "duplicate", "item 1", "item 4"],
    );
    one_error(&report.errors, &["record CCL-A5", "no text"]);
    one_error(&report.errors, &["record item 7", "found a string"]);
    assert_eq!(report.errors.len(), 5, "{:#?}", report.errors);
}

#[test]
fn ccl25_unlabelled_has_no_gold() {
    let report = load(&fixture("ccl25-unlabelled-mini.json")).unwrap();
    assert_eq!(report.format, RecordFormat::Ccl25Json);
    assert_eq!(report.records.len(), 2);
    assert!(report.errors.is_empty());
    assert!(report.records.iter().all(|r| r.gold.is_empty()));
    assert_eq!(report.records[0].section("出院情况"), Some("好转。"));
}

#[test]
fn malformed_json_array_reports_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let body =
        "[{\"病案标识\": \"X1\", \"主诉\": \"胸痛\"},\n {\"病案标识\": \"X2\" \"主诉\": \"心悸\"}]";
    let p = write_temp(&dir, "broken.json", body.as_bytes());
    let err = load(&p).unwrap_err().to_string();
    assert!(err.contains("broken.json"), "{err}");
    assert!(err.contains("line 2 column"), "{err}");

    let p = write_temp(&dir, "cut.json", b"[{\"id\": \"A\", \"sections\": [");
    let err = load(&p).unwrap_err().to_string();
    assert!(
        err.contains("end of JSON") && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn ccl25_section_over_limit_and_gbk_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let big = "胸".repeat(MAX_SECTION_BYTES / 3 + 10);
    let body = format!(
        "[{{\"病案标识\": \"BIG\", \"主诉\": \"胸痛\", \"病程记录\": \"{big}\"}},\
         {{\"病案标识\": \"SMALL\", \"主诉\": \"心悸\", \"主要诊断编码\": \"I47.100\", \"其他诊断编码\": \"\"}}]"
    );
    // Written as GB18030, as older hospital systems export.
    let (gbk, _, _) = encoding_rs::GB18030.encode(&body);
    let p = write_temp(&dir, "gbk.json", &gbk);
    let report = load(&p).unwrap();
    assert_eq!(report.records.len(), 1);
    assert_eq!(report.records[0].id, "SMALL");
    assert_eq!(report.records[0].section("主诉"), Some("心悸"));
    one_error(&report.errors, &["record BIG", "field 病程记录", "skipped"]);
}

// ---------------------------------------------------------------- JSON Lines / array

#[test]
fn jsonl_fixture_loads_and_reports_each_bad_line() {
    let report = load(&fixture("project-mini.jsonl")).unwrap();
    assert_eq!(report.format, RecordFormat::Jsonl);
    let ids: Vec<&str> = report.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["P1", "P6", "P7", "P9"]);

    let p1 = by_id(&report.records, "P1");
    assert_eq!(
        codes(p1.gold.track(Track::Diagnosis)),
        ["I21.101", "I10.x00x032"]
    );
    assert_eq!(
        codes(p1.gold.track(Track::Procedure)),
        ["36.0700", "00.6600x004", "88.5500"],
        "spaces trimmed, bare strings accepted"
    );
    assert_eq!(
        codes(by_id(&report.records, "P6").gold.track(Track::Diagnosis)),
        ["I48.x01", "I10.x00x032"]
    );
    let p7 = by_id(&report.records, "P7");
    assert_eq!(codes(p7.gold.track(Track::Diagnosis)), ["I44.200"]);
    assert_eq!(p7.gold.procedures, None);
    assert_eq!(by_id(&report.records, "P9").gold.diagnoses, None);

    one_error(
        &report.errors,
        &["project-mini.jsonl", "record line 3", "line 3 column"],
    );
    one_error(
        &report.errors,
        &["record P1", "duplicate", "line 1", "line 4"],
    );
    one_error(&report.errors, &["record P5", "no text"]);
    one_error(
        &report.errors,
        &["record P6", "field gold.diagnoses[1].code", "`??`"],
    );
    one_error(
        &report.errors,
        &["record P7", "field gold.procedures[0].code", "高血压"],
    );
    one_error(
        &report.errors,
        &["record P7", "no usable principal procedure"],
    );
    one_error(&report.errors, &["record P8", "missing `sections`"]);
    assert_eq!(report.errors.len(), 7, "{:#?}", report.errors);
}

#[test]
fn json_array_of_project_records() {
    let report = load(&fixture("project-array.json")).unwrap();
    assert_eq!(report.format, RecordFormat::JsonArray);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.records.len(), 2);
    assert_eq!(report.records[1].id, "2", "numeric id kept as written");
    assert_eq!(
        codes(report.records[0].gold.track(Track::Diagnosis)),
        ["I25.103"]
    );
}

#[test]
fn serde_output_loads_back_identically() {
    let original = load(&example("cardiology.jsonl")).unwrap().records;
    let dir = tempfile::tempdir().unwrap();
    let mut rec = original[0].clone();
    rec.gold.diagnoses = Some(vec![GoldCode {
        code: "I20.000".into(),
        name: Some("不稳定型心绞痛".into()),
    }]);
    rec.gold.procedures = Some(vec![]);
    let lines: Vec<String> = [rec.clone(), original[1].clone()]
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    let p = write_temp(&dir, "out.jsonl", lines.join("\n").as_bytes());
    let back = load(&p).unwrap();
    assert!(back.errors.is_empty());
    assert_eq!(back.records, vec![rec.clone(), original[1].clone()]);

    // A pretty-printed single record in a .json file.
    let p = write_temp(
        &dir,
        "one.json",
        serde_json::to_string_pretty(&rec).unwrap().as_bytes(),
    );
    let one = load(&p).unwrap();
    assert_eq!(one.records, vec![rec]);
}

#[test]
fn jsonl_section_over_limit_skips_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let big = "a".repeat(MAX_SECTION_BYTES + 1);
    let body = format!(
        "{{\"id\":\"BIG\",\"sections\":[{{\"name\":\"病程记录\",\"text\":\"{big}\"}}]}}\n\
         {{\"id\":\"OK\",\"sections\":[{{\"name\":\"主诉\",\"text\":\"胸痛\"}}]}}\n"
    );
    let p = write_temp(&dir, "big.jsonl", body.as_bytes());
    let report = load(&p).unwrap();
    assert_eq!(report.records.len(), 1);
    one_error(&report.errors, &["record BIG", "field 病程记录", "5 MB"]);

    // Exactly at the limit is accepted.
    let edge = "a".repeat(MAX_SECTION_BYTES);
    let body = format!("{{\"id\":\"EDGE\",\"sections\":[{{\"name\":\"x\",\"text\":\"{edge}\"}}]}}");
    let p = write_temp(&dir, "edge.jsonl", body.as_bytes());
    assert_eq!(load(&p).unwrap().records.len(), 1);
}

// ---------------------------------------------------------------- plain text

#[test]
fn text_fixture_with_bom_crlf_and_all_heading_forms() {
    let report = load(&fixture("text-headings.txt")).unwrap();
    assert_eq!(report.format, RecordFormat::Text);
    assert!(report.errors.is_empty());
    let r = &report.records[0];
    assert_eq!(r.id, "T-0001", "id line wins over the file stem");
    let names: Vec<&str> = r.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["正文", "主诉", "现病史", "手术名称", "出院诊断"]);
    assert_eq!(r.section("正文"), Some("外院转入，资料如下。"));
    assert_eq!(
        r.section("现病史"),
        Some("患者1周前出现胸闷。\n血压: 150/90mmHg")
    );
    assert_eq!(r.section("手术名称"), Some("冠状动脉造影术"));
    assert!(!r.full_text().contains('\r'));
}

#[test]
fn gbk_example_decodes() {
    let path = example("gbk-sample.txt");
    let raw = std::fs::read(&path).unwrap();
    assert!(
        std::str::from_utf8(&raw).is_err(),
        "the example must really be GB18030"
    );
    let text = read_text_file(&path).unwrap();
    assert!(text.contains("房室结折返性心动过速") && !text.contains('\r'));
    let report = load(&path).unwrap();
    assert_eq!(report.format, RecordFormat::Text);
    let r = &report.records[0];
    assert_eq!(r.id, "DEMO-GBK-004");
    assert_eq!(r.section("主诉"), Some("阵发性心悸2年，再发4小时。"));
    assert_eq!(
        r.section("出院诊断"),
        Some("1.阵发性室上性心动过速2.房室结折返性心动过速")
    );
}

#[test]
fn text_bad_cases() {
    let dir = tempfile::tempdir().unwrap();
    // No text at all.
    let p = write_temp(
        &dir,
        "blank.txt",
        "\u{feff}\r\n  \r\n【主诉】\r\n".as_bytes(),
    );
    let report = load(&p).unwrap();
    assert!(report.records.is_empty());
    one_error(&report.errors, &["blank.txt", "record blank", "no text"]);

    // Over the section limit.
    let big = format!("【病程记录】\n{}", "x".repeat(MAX_SECTION_BYTES + 1));
    let p = write_temp(&dir, "big.txt", big.as_bytes());
    let report = load(&p).unwrap();
    assert!(report.records.is_empty());
    one_error(&report.errors, &["record big", "field 病程记录"]);

    // UTF-16 with a BOM.
    let mut utf16 = vec![0xFF, 0xFE];
    for u in "【主诉】胸痛".encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let p = write_temp(&dir, "wide.txt", &utf16);
    assert_eq!(load(&p).unwrap().records[0].section("主诉"), Some("胸痛"));

    // Neither UTF-8 nor GB18030.
    let p = write_temp(&dir, "junk.txt", &[0x41, 0xFF, 0xFE, 0xFF, 0x42, 0x0A]);
    let err = load(&p).unwrap_err().to_string();
    assert!(err.contains("junk.txt") && err.contains("GB18030"), "{err}");
}

#[test]
fn full_text_reads_back_as_the_same_sections() {
    let records = load(&example("cardiology.jsonl")).unwrap().records;
    let dir = tempfile::tempdir().unwrap();
    for r in &records {
        let p = write_temp(&dir, &format!("{}.txt", r.id), r.full_text().as_bytes());
        let back = load(&p).unwrap();
        assert!(back.errors.is_empty());
        assert_eq!(back.records[0].sections, r.sections, "{}", r.id);
        assert_eq!(back.records[0].id, r.id);
    }
}

// ---------------------------------------------------------------- general

#[test]
fn missing_file_names_the_file() {
    let err = load(Path::new("/no/such/dir/records.jsonl")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(
        err.to_string().contains("/no/such/dir/records.jsonl"),
        "{err}"
    );
}

#[test]
fn examples_load_cleanly() {
    let report = load(&example("cardiology.jsonl")).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.records.len(), 3);
    let pci = by_id(&report.records, "DEMO-PCI-001");
    let op = pci.section("手术经过").unwrap();
    assert!(op.contains("冠状动脉造影") && op.contains("支架"));
    for r in &report.records {
        for name in [
            "主诉",
            "现病史",
            "既往史",
            "入院诊断",
            "诊疗经过",
            "出院诊断",
        ] {
            assert!(r.section(name).is_some(), "{} lacks {name}", r.id);
        }
    }
    // The heart-failure record has no procedure: its blank sections are dropped.
    assert_eq!(
        by_id(&report.records, "DEMO-HF-002").section_index("手术名称"),
        None
    );
}

#[test]
fn load_many_dedups_across_files_and_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_temp(&dir, "a.txt", "ID: SAME\n【主诉】胸痛".as_bytes());
    let b = write_temp(&dir, "b.txt", "ID: SAME\n【主诉】心悸".as_bytes());
    let missing = dir.path().join("missing.json");
    let (records, errors) = load_many(&[a.clone(), missing, b, fixture("project-array.json")]);
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["SAME", "A1", "2"]);
    assert_eq!(records[0].section("主诉"), Some("胸痛"), "the first wins");
    one_error(&errors, &["missing.json"]);
    one_error(&errors, &["b.txt", "record SAME", "duplicate", "a.txt"]);
    assert_eq!(errors.len(), 2);
}

#[test]
fn detection_by_extension_and_content() {
    let d = |name: &str, head: &[u8]| detect_format(Path::new(name), head);
    assert_eq!(d("x.xlsx", b""), Some(RecordFormat::JointCoderXlsx));
    assert_eq!(
        d("x.bin", b"PK\x03\x04rest"),
        Some(RecordFormat::JointCoderXlsx)
    );
    assert_eq!(
        d("x.json", "[{\"病案标识\": \"1\"}]".as_bytes()),
        Some(RecordFormat::Ccl25Json)
    );
    assert_eq!(
        d("x.json", b"[{\"id\": \"1\", \"sections\": []}]"),
        Some(RecordFormat::JsonArray)
    );
    assert_eq!(
        d("x.json", b"{\"id\": \"1\"}\n{\"id\": \"2\"}"),
        Some(RecordFormat::Jsonl)
    );
    assert_eq!(d("x.jsonl", b""), Some(RecordFormat::Jsonl));
    assert_eq!(
        d("x.txt", "[出院诊断]\n1.冠心病".as_bytes()),
        Some(RecordFormat::Text)
    );
    assert_eq!(d("x", "【主诉】胸痛".as_bytes()), Some(RecordFormat::Text));
    assert_eq!(d("x.dat", b"\x00\x01\x02"), None);
    // A UTF-8 BOM does not hide JSON.
    assert_eq!(
        d("x", b"\xEF\xBB\xBF [ {\"id\":1,\"sections\":[]}]"),
        Some(RecordFormat::JsonArray)
    );
}

#[test]
fn garbage_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    // A small deterministic generator: no extra crates needed.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let seeds: Vec<Vec<u8>> = vec![
        std::fs::read(fixture("jointcoder-mini.xlsx")).unwrap(),
        std::fs::read(fixture("project-mini.jsonl")).unwrap(),
        std::fs::read(fixture("ccl25-mini.json")).unwrap(),
        std::fs::read(example("gbk-sample.txt")).unwrap(),
    ];
    for (i, seed) in seeds.iter().enumerate() {
        for round in 0..25 {
            let mut bytes = seed.clone();
            for _ in 0..(1 + next() % 8) {
                let at = (next() as usize) % bytes.len();
                bytes[at] = next() as u8;
            }
            if round % 5 == 0 {
                bytes.truncate((next() as usize) % bytes.len());
            }
            for ext in ["xlsx", "jsonl", "json", "txt"] {
                let p = write_temp(&dir, &format!("g{i}-{round}.{ext}"), &bytes);
                // Either outcome is fine; a panic fails the test.
                let _ = load(&p);
            }
        }
    }
}

// ---------------------------------------------------------------- shared data

#[test]
fn shared_jointcoder_samples() {
    let Some(path) = shared("jointcoder-samples.xlsx") else {
        return;
    };
    let t = Instant::now();
    let report = load(&path).unwrap();
    eprintln!(
        "jointcoder-samples.xlsx: {} records in {:.1} ms",
        report.records.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.format, RecordFormat::JointCoderXlsx);
    let ids: Vec<&str> = report.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"]);

    let r1 = &report.records[0];
    assert_eq!(r1.gold_principal(Track::Diagnosis).unwrap().code, "I21.401");
    assert_eq!(
        r1.gold_count(Track::Diagnosis),
        Some(15),
        "principal + 14 others"
    );
    assert_eq!(r1.gold_principal(Track::Procedure).unwrap().code, "36.0700");
    assert_eq!(
        r1.gold_count(Track::Procedure),
        Some(7),
        "principal + 6 others"
    );
    assert!(r1.section("手术经过").unwrap().contains("冠状动脉造影"));
    assert_eq!(r1.sections[0].name, "主诉");

    let r2 = &report.records[1];
    assert_eq!(r2.gold_principal(Track::Diagnosis).unwrap().code, "J18.903");
    assert_eq!(r2.gold_count(Track::Diagnosis), Some(19));
    assert_eq!(r2.gold_count(Track::Procedure), Some(8));
    assert!(codes(r2.gold.track(Track::Diagnosis)).contains(&"E11.401+G63.2*"));
    let r3 = &report.records[2];
    assert_eq!(r3.gold_principal(Track::Diagnosis).unwrap().code, "I21.900");
    assert_eq!(r3.gold_count(Track::Diagnosis), Some(28));
    assert_eq!(r3.gold_count(Track::Procedure), Some(10));
}

#[test]
fn shared_ccl25_dev() {
    let Some(path) = shared("ccl25-dev.json") else {
        return;
    };
    let t = Instant::now();
    let report = load(&path).unwrap();
    eprintln!(
        "ccl25-dev.json: {} records in {:.1} ms",
        report.records.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.format, RecordFormat::Ccl25Json);
    assert_eq!(report.records.len(), 113);
    for r in &report.records {
        assert!(r.gold_count(Track::Diagnosis).unwrap_or(0) >= 1, "{}", r.id);
        assert_eq!(r.gold.procedures, None);
    }
    let first = &report.records[0];
    assert_eq!(first.id, "ZY010001147574");
    assert_eq!(
        codes(first.gold.track(Track::Diagnosis)),
        ["I20.800x007", "I10.x00x032", "E11.900", "E78.500"]
    );
    assert_eq!(first.sections[0].name, "主诉");
    assert_eq!(first.sections.last().unwrap().name, "出院医嘱");
}

#[test]
fn shared_ccl25_unlabelled() {
    let Some(path) = shared("ccl25-unlabelled.json") else {
        return;
    };
    let t = Instant::now();
    let report = load(&path).unwrap();
    eprintln!(
        "ccl25-unlabelled.json: {} records in {:.1} ms",
        report.records.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(report.records.len(), 200);
    assert!(report.records.iter().all(|r| r.gold.is_empty()));
}

#[test]
fn shared_ccl25_train_keywords() {
    // Not a target format, but its nested keyword fields must not break loading.
    let Some(path) = shared("ccl25-train-keywords.json") else {
        return;
    };
    let t = Instant::now();
    let report = load(&path).unwrap();
    eprintln!(
        "ccl25-train-keywords.json: {} records, {} errors in {:.1} ms",
        report.records.len(),
        report.errors.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(report.records.len() + report.errors.len(), 707);
    assert!(report
        .records
        .iter()
        .all(|r| r.gold_count(Track::Diagnosis).unwrap_or(0) >= 1));
}
