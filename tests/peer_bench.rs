//! `scripts/peer-bench.py` against a fake llama-server: seven sequential
//! calls per record on one cached record prompt, the gold codes left out,
//! and the server's own token counts summed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

/// Answers every `/completion` with fixed timings; keeps the bodies.
fn fake_server() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            let mut path = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if path.is_empty() {
                    path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(path, "/completion");
            seen.lock().unwrap().push(json);
            let answer =
                r#"{"content":"a","timings":{"prompt_n":10,"cache_n":100,"predicted_n":60}}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, bodies)
}

/// Runs the script with `args` on `records`.
fn peer_bench(args: &[&str], records: &Path) -> Output {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/peer-bench.py");
    Command::new("python3")
        .arg(script)
        .args(args)
        .arg(records)
        .output()
        .unwrap()
}

#[test]
fn seven_calls_per_record_on_one_cached_record_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records.json");
    std::fs::write(
        &records,
        r#"[{"病案标识":"R1","主诉":"胸痛3天","入院诊断":"冠心病","主要诊断编码":"I25.103"},
            {"病案标识":"R2","主诉":"咳嗽1周","入院诊断":"肺炎","主要诊断编码":"J18.900"},
            {"病案标识":"R3","主诉":"不读","入院诊断":"不读"}]"#,
    )
    .unwrap();
    let (url, bodies) = fake_server();
    let out = peer_bench(&["--server", &url, "--limit", "2"], &records);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["records"], 2);
    assert_eq!(report["prompt_tokens_per_record"], 70.0);
    assert_eq!(report["cached_tokens_per_record"], 700.0);
    assert_eq!(report["generated_tokens_per_record"], 420.0);
    assert_eq!(report["per_record"][1]["id"], "R2");

    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 14);
    for (i, b) in bodies.iter().enumerate() {
        assert_eq!(b["cache_prompt"], true);
        assert_eq!(b["ignore_eos"], true);
        assert_eq!(b["n_predict"], 60);
        let prompt = b["prompt"].as_str().unwrap();
        let (want, gold) = if i < 7 {
            ("【主诉】胸痛3天", "I25.103")
        } else {
            ("【主诉】咳嗽1周", "J18.900")
        };
        assert!(prompt.contains(want), "{prompt}");
        assert!(!prompt.contains(gold), "gold code in the prompt: {prompt}");
    }
    // The seven calls of a record differ only in their task line, after the
    // record: the server can reuse the record part.
    let head = |p: &str| p[..p.find("【任务】").unwrap()].to_string();
    let first = head(bodies[0]["prompt"].as_str().unwrap());
    assert!(bodies[..7]
        .iter()
        .all(|b| head(b["prompt"].as_str().unwrap()) == first));
    let tasks: std::collections::BTreeSet<&str> = bodies[..7]
        .iter()
        .map(|b| b["prompt"].as_str().unwrap())
        .collect();
    assert_eq!(tasks.len(), 7);
}

#[test]
fn a_file_that_is_not_a_list_of_records_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"not": "a list"}"#).unwrap();
    let out = peer_bench(&["--server", "http://127.0.0.1:9"], &bad);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json") && err.contains("list"), "{err}");
}
