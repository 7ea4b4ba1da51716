//! `icdflow export`: the saved results of records as JSON Lines; with
//! `--redact`, record ids become stable salted pseudonyms and names, id and
//! phone numbers are cut from the text.

use std::path::Path;
use std::process::Output;

use icdflow::pipeline::{Item, Origin, StageKind};
use icdflow::record::Track;
use icdflow::redact::Redactor;
use icdflow::session::{Session, SessionStore};

mod cli_support;

fn setup(d: &Path) {
    cli_support::write_tables(d);
    let recs = [
        serde_json::json!({"id": "T-0001", "sections": [
            {"name": "主诉", "text": "姓名：张三丰，胸痛3天"},
            {"name": "出院诊断", "text": "1.不稳定型心绞痛"}]}),
        serde_json::json!({"id": "T-0002", "sections": [
            {"name": "出院诊断", "text": "高血压病3级（极高危）"}]}),
    ];
    let text: String = recs.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(d.join("r.jsonl"), text).unwrap();
    // The coder's saved session of T-0001: one code, and an unmapped item
    // that carries identifying text.
    let store = SessionStore::open(d.join("data/sessions")).unwrap();
    let mut s = Session::new("T-0001");
    s.source = Some("/records/张三丰.jsonl".into());
    let items = vec![
        Item::new("不稳定型心绞痛", Origin::Coder).with_code("I20.000"),
        Item::new("家属：王五 电话13812345678 住院号T-0001", Origin::Coder),
    ];
    s.edit(Track::Diagnosis, StageKind::Map, items, "coder1");
    store.save(&s).unwrap();
}

fn export(d: &Path, extra: &[&str]) -> Output {
    cli_support::succeed(
        cli_support::icdflow(d)
            .args(["export", d.join("r.jsonl").to_str().unwrap()])
            .args(extra),
    )
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn export_writes_the_saved_codes_of_each_record() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let out = export(d, &[]);
    let docs = lines(&out);
    assert_eq!(docs.len(), 1, "only T-0001 has a saved session");
    let doc = &docs[0];
    assert_eq!(doc["record_id"], "T-0001");
    assert_eq!(doc["diagnoses"]["codes"][0]["code"], "I20.000");
    assert_eq!(doc["diagnoses"]["codes"][0]["name"], "不稳定型心绞痛");
    assert_eq!(doc["source"], "/records/张三丰.jsonl");
    assert!(doc["homepage"].as_str().unwrap().starts_with("T-0001\t"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 records have no saved session") && err.contains("T-0002"),
        "{err}"
    );
}

#[test]
fn redacted_export_holds_no_id_name_or_number() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let out = export(d, &["--redact"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    for secret in ["T-0001", "T-0002", "王五", "张三丰", "13812345678"] {
        assert!(!text.contains(secret), "{secret} in the export: {text}");
        assert!(!err.contains(secret), "{secret} on stderr: {err}");
    }
    // The salt was made on first use, readable by its owner only.
    let salt_path = d.join("data/export-salt");
    let salt = std::fs::read(&salt_path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&salt_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let pseudonym = Redactor::new(salt).pseudonym("T-0001");
    let docs = lines(&out);
    assert_eq!(docs[0]["record_id"], pseudonym.as_str());
    assert!(docs[0]["homepage"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{pseudonym}\t")));
    // The codes stay; the identifying text is replaced, not dropped.
    assert_eq!(docs[0]["diagnoses"]["codes"][0]["code"], "I20.000");
    let unmapped = docs[0]["diagnoses"]["unmapped"][0].as_str().unwrap();
    assert_eq!(
        unmapped,
        format!("家属：[姓名] 电话：[编号] 住院号：[编号]")
    );
    assert!(docs[0].get("source").is_none());
    // Stable: a second export under the same salt gives the same pseudonym.
    let again = lines(&export(d, &["--redact"]));
    assert_eq!(again[0]["record_id"], docs[0]["record_id"]);
    // Another salt gives another one.
    std::fs::write(d.join("other-salt"), [7u8; 32]).unwrap();
    let other = lines(&export(
        d,
        &[
            "--redact",
            "--salt-file",
            d.join("other-salt").to_str().unwrap(),
        ],
    ));
    assert_ne!(other[0]["record_id"], docs[0]["record_id"]);
}
