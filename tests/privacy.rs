//! Patient data stays out of the log: at the default level, coding a record
//! writes nothing of its text to the log file (ids only).

use std::path::Path;

const MARKER: &str = "张三丰住院号甲乙丙";

fn write_tables(dir: &Path) {
    std::fs::write(
        dir.join("d.dat"),
        "I20.000 不稳定型心绞痛\nI10.x00x032 高血压病3级（极高危）\n",
    )
    .unwrap();
    std::fs::write(dir.join("p.dat"), "88.5500 单根导管的冠状动脉造影术\n").unwrap();
}

#[test]
fn record_text_never_reaches_the_log_at_the_default_level() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_tables(d);
    let rec = serde_json::json!({
        "id": "PRIV-1",
        "sections": [
            {"name": "主诉", "text": format!("{MARKER}，胸痛3天")},
            {"name": "出院诊断", "text": format!("1.不稳定型心绞痛2.{MARKER}病")},
            {"name": "手术名称", "text": "冠状动脉造影"}
        ]
    });
    std::fs::write(d.join("r.jsonl"), format!("{rec}\n")).unwrap();
    let log = d.join("icdflow.log");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_icdflow"))
        .env("ICDFLOW_CONFIG", d.join("none.toml"))
        .env("ICDFLOW_DATA_DIR", d.join("data"))
        .env_remove("ICDFLOW_LOG")
        .env_remove("RUST_LOG")
        .args(["--log-file", log.to_str().unwrap()])
        .args(["--diag-table", d.join("d.dat").to_str().unwrap()])
        .args(["--proc-table", d.join("p.dat").to_str().unwrap()])
        .args(["--index-dir", d.join("index").to_str().unwrap()])
        .args([
            "code",
            d.join("r.jsonl").to_str().unwrap(),
            "--no-agents",
            "--trace",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the record was coded and its text is in the output the user asked for
    assert!(String::from_utf8_lossy(&out.stdout).contains("PRIV-1"));
    let text = std::fs::read_to_string(&log).expect("a log file is written");
    assert!(!text.is_empty(), "the log says something");
    assert!(!text.contains(MARKER), "record text in the log:\n{text}");
    assert!(!text.contains("胸痛3天"), "record text in the log:\n{text}");
}
