//! No network connection is opened unless an inference server is
//! configured. The binary runs under `strace -f`, which logs every socket
//! the process and its threads create; an internet socket (AF_INET,
//! AF_INET6) without a configured server fails the test. The control run
//! with a server proves that the trace sees the connection when there is one.
//! (Local sockets, such as the C library's user lookup, are not network.)

use std::path::Path;
use std::process::{Command, Output};

mod cli_support;

fn write_inputs(dir: &Path) {
    cli_support::write_tables(dir);
    let rec = serde_json::json!({
        "id": "NET-1",
        "sections": [
            {"name": "主诉", "text": "胸痛3天"},
            {"name": "出院诊断", "text": "1.不稳定型心绞痛2.高血压病3级（极高危）"},
            {"name": "手术名称", "text": "冠状动脉造影"}
        ]
    });
    std::fs::write(dir.join("r.jsonl"), format!("{rec}\n")).unwrap();
}

/// Why strace cannot trace here (not installed, ptrace not permitted), if so.
fn strace_unavailable() -> Option<String> {
    match Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=socket", "true"])
        .output()
    {
        Err(e) => Some(format!("strace not runnable: {e}")),
        Ok(o) if !o.status.success() => Some(format!(
            "strace cannot trace here: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => None,
    }
}

/// Runs `icdflow code` under strace; returns its output and the traced
/// socket calls that concern internet sockets.
fn code_traced(dir: &Path, extra: &[&str]) -> (Output, Vec<String>) {
    let trace = dir.join(format!("trace-{}.txt", extra.len()));
    let tracer = [
        "-f",
        "-qq",
        "-e",
        "trace=socket,connect",
        "-o",
        trace.to_str().unwrap(),
        env!("CARGO_BIN_EXE_icdflow"),
    ];
    let out = cli_support::icdflow_in(dir, "strace", &tracer)
        .args(["code", dir.join("r.jsonl").to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&trace).expect("strace wrote its trace");
    let inet = text
        .lines()
        .filter(|l| l.contains("AF_INET") || l.contains("sin_port") || l.contains("sin6_port"))
        .map(str::to_string)
        .collect();
    (out, inet)
}

#[test]
fn coding_without_a_server_opens_no_network_socket() {
    if let Some(why) = strace_unavailable() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let (out, inet) = code_traced(dir.path(), &["--no-agents"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("NET-1"));
    assert!(inet.is_empty(), "internet sockets: {inet:#?}");
    // The default agent set-up (no server configured) opens none either,
    // whether or not it finds a local model.
    let (_, inet) = code_traced(dir.path(), &[]);
    assert!(inet.is_empty(), "internet sockets: {inet:#?}");
}

#[test]
fn a_configured_server_is_seen_by_the_trace() {
    if let Some(why) = strace_unavailable() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    // Nothing listens on port 9 of the loopback: the connection is refused,
    // and the trace must show the attempt.
    let (_, inet) = code_traced(dir.path(), &["--server", "http://127.0.0.1:9"]);
    assert!(
        inet.iter()
            .any(|l| l.contains("connect(") && l.contains("htons(9)")),
        "no connection to the server in the trace: {inet:#?}"
    );
}
