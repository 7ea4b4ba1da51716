//! `icdflow code` at scale, on tiny tables: the output is in input order
//! whatever the thread count, shards split the input without overlap, and
//! `--resume` finishes an interrupted output (a torn last line included)
//! into what one uninterrupted run writes.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

fn write_tables(dir: &Path) {
    std::fs::write(
        dir.join("d.dat"),
        "I20.000 不稳定型心绞痛\nI10.x00x032 高血压病3级（极高危）\nE11.900 2型糖尿病\nI25.103 冠状动脉粥样硬化性心脏病\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("p.dat"),
        "88.5500 单根导管的冠状动脉造影术\n36.0700 药物洗脱冠状动脉支架置入\n",
    )
    .unwrap();
}

const DIAGNOSES: [&str; 4] = [
    "不稳定型心绞痛",
    "高血压病（3级很高危）",
    "2型糖尿病",
    "冠心病",
];

/// `n` records in the project schema, one per line, with varied lists.
fn write_records(dir: &Path, n: usize) -> std::path::PathBuf {
    let mut text = String::new();
    for i in 0..n {
        let list: Vec<String> = (0..1 + i % 3)
            .map(|k| format!("{}.{}", k + 1, DIAGNOSES[(i + k) % 4]))
            .collect();
        let rec = serde_json::json!({
            "id": format!("R{i:03}"),
            "sections": [
                {"name": "主诉", "text": "胸痛3天"},
                {"name": "出院诊断", "text": list.join(" ")},
                {"name": "手术名称", "text": if i % 2 == 0 { "冠状动脉造影" } else { "" }}
            ]
        });
        text.push_str(&format!("{rec}\n"));
    }
    let p = dir.join("r.jsonl");
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `icdflow code INPUT ARGS…`; (success, stdout, stderr).
fn code(dir: &Path, input: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_icdflow"))
        .env("ICDFLOW_CONFIG", dir.join("none.toml"))
        .env("ICDFLOW_DATA_DIR", dir.join("data"))
        .args(["--diag-table", dir.join("d.dat").to_str().unwrap()])
        .args(["--proc-table", dir.join("p.dat").to_str().unwrap()])
        .args(["--index-dir", dir.join("index").to_str().unwrap()])
        .args(["--learned", "none"])
        .args(["code", input.to_str().unwrap(), "--no-agents"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ids(jsonl: &str) -> Vec<String> {
    jsonl
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn threads_shards_and_resume_agree_with_one_plain_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_tables(d);
    let input = write_records(d, 40);
    let (ok, one, err) = code(d, &input, &["--threads", "1"]);
    assert!(ok, "{err}");
    let all = ids(&one);
    assert_eq!(all.len(), 40);
    assert_eq!(all[0], "R000");
    assert!(one.contains("I20.000"), "records are coded: {one}");

    // Several threads: the same lines in the same order.
    let (ok, three, err) = code(d, &input, &["--threads", "3"]);
    assert!(ok, "{err}");
    assert_eq!(three, one);
    assert!(err.contains("on 3 threads"), "{err}");

    // Three shards: disjoint, together the whole input, each line as in
    // the plain run and in input order.
    let mut seen = HashSet::new();
    for i in 1..=3 {
        let (ok, part, err) = code(d, &input, &["--shard", &format!("{i}/3")]);
        assert!(ok, "{err}");
        assert!(err.contains(&format!("shard {i}/3")), "{err}");
        let part_ids = ids(&part);
        assert!(!part_ids.is_empty() && part_ids.len() < 40, "{part_ids:?}");
        let mut at = 0;
        for line in part.lines() {
            let pos = one
                .lines()
                .position(|l| l == line)
                .expect("a line of the plain run");
            assert!(pos >= at, "input order");
            at = pos;
        }
        for id in part_ids {
            assert!(seen.insert(id), "an id in two shards");
        }
    }
    assert_eq!(seen.len(), 40);
    let (ok, _, err) = code(d, &input, &["--shard", "4/3"]);
    assert!(!ok && err.contains("between 1 and N"), "{err}");

    // Resume: ten lines written, the eleventh torn by a kill.
    let out = d.join("out.jsonl");
    let lines: Vec<&str> = one.lines().collect();
    let torn = format!("{}\n{}", lines[..10].join("\n"), &lines[10][..25]);
    std::fs::write(&out, torn).unwrap();
    let (ok, _, err) = code(d, &input, &["--resume", "-o", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(err.contains("resumed: 10 records"), "{err}");
    assert!(err.contains("torn last line"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), one);
    // Resuming a finished output codes nothing and changes nothing.
    let (ok, _, err) = code(d, &input, &["--resume", "-o", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        err.contains("coded 0 records") && err.contains("resumed: 40"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), one);
    // --resume needs the file it resumes.
    let (ok, _, err) = code(d, &input, &["--resume"]);
    assert!(!ok && err.contains("--out"), "{err}");
}

#[test]
fn arrays_stream_and_unreadable_input_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_tables(d);
    let input = write_records(d, 5);
    let (ok, lines, err) = code(d, &input, &[]);
    assert!(ok, "{err}");
    // The same records as one JSON array (with a bad element in between).
    let mut items: Vec<String> = std::fs::read_to_string(&input)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    items.insert(2, "\"not a record\"".into());
    let arr = d.join("r.json");
    std::fs::write(&arr, format!("[\n{}\n]", items.join(",\n"))).unwrap();
    let (ok, from_array, err) = code(d, &arr, &[]);
    assert!(ok, "{err}");
    assert_eq!(from_array, lines);
    assert!(
        err.contains("item 3") && err.contains("1 unreadable skipped"),
        "{err}"
    );
    // Only some ids; one that is not there is named.
    let (ok, some, err) = code(d, &input, &["--record", "R003", "--record", "NOPE"]);
    assert!(ok, "{err}");
    assert_eq!(ids(&some), ["R003"]);
    assert!(err.contains("record NOPE not found"), "{err}");
    // Nothing readable at all is an error, as before.
    let junk = d.join("junk.jsonl");
    std::fs::write(&junk, "{broken\n").unwrap();
    let (ok, _, err) = code(d, &junk, &[]);
    assert!(!ok && err.contains("no records could be loaded"), "{err}");
}
