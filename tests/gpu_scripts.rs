//! The parts of the GPU check that run without a GPU: the input check of
//! `scripts/gpu-check.sh`, and `scripts/gpu-figures.py` on the real shape
//! of `icdflow bench --json` (made here by the binary) and of llama-bench's
//! JSON.

use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_check_names_what_is_missing_and_plans_when_complete() {
    let dir = tempfile::tempdir().unwrap();
    let run = |inputs: &Path| {
        Command::new("bash")
            .arg(repo().join("scripts/gpu-check.sh"))
            .arg("--plan")
            .env("GPU_INPUTS", inputs)
            .output()
            .unwrap()
    };
    let out = run(dir.path());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bundle/run.sh") && err.contains("ccl25-unlabelled.json"),
        "{err}"
    );
    assert!(err.contains("gpu-prepare.sh"), "{err}");
    for p in [
        "bundle/run.sh",
        "bundle/bin/icdflow",
        "llama.cpp-src.tar.gz",
        "py/gguf/__init__.py",
        "shared-gpu/synth_gguf.py",
        "shared-gpu/build-llama-tools.sh",
        "shared-gpu/build-ggml-cuda.sh",
        "shared-gpu/qwen2-vocab.gguf",
        "data/gl2-diagnoses.dat",
        "data/gl3-procedures.dat",
        "data/ccl25-unlabelled.json",
    ] {
        let f = dir.path().join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, "").unwrap();
    }
    let out = run(dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("200 records"));
}

#[test]
fn figures_combine_both_benchmarks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("d.dat"), "I10.x00x032 高血压病3级（极高危）\n").unwrap();
    std::fs::write(d.join("p.dat"), "88.5500 单根导管的冠状动脉造影术\n").unwrap();
    // The real report of `icdflow bench --json` (no model here), its
    // figures then set as a GPU run would.
    let out = Command::new(env!("CARGO_BIN_EXE_icdflow"))
        .env("ICDFLOW_CONFIG", d.join("none.toml"))
        .env("ICDFLOW_DATA_DIR", d.join("data"))
        .args(["--diag-table", d.join("d.dat").to_str().unwrap()])
        .args(["--proc-table", d.join("p.dat").to_str().unwrap()])
        .args(["--index-dir", d.join("index").to_str().unwrap()])
        .args(["--learned", "none", "bench", "--json", "--no-agents"])
        .arg(repo().join("examples/records/cardiology.jsonl"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut ours: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let shared = &mut ours["shared"];
    shared["latency_ms_mean"] = 250.0.into();
    shared["records_per_s"] = 12.5.into();
    shared["prompt_tok_per_s"] = 9000.0.into();
    shared["gen_tok_per_s"] = 300.0.into();
    shared["decoded_tokens_per_record"] = 2.5.into();
    ours["gpu_memory_mb"] = 2048.0.into();
    std::fs::write(d.join("ours.json"), ours.to_string()).unwrap();
    let llama = serde_json::json!([
        {"model_filename": "m.gguf", "n_prompt": 512, "n_gen": 0, "avg_ts": 20000.0},
        {"model_filename": "m.gguf", "n_prompt": 2048, "n_gen": 0, "avg_ts": 18000.0},
        {"model_filename": "m.gguf", "n_prompt": 0, "n_gen": 128, "avg_ts": 600.0}
    ]);
    std::fs::write(d.join("llama.json"), llama.to_string()).unwrap();
    let out = Command::new("python3")
        .arg(repo().join("scripts/gpu-figures.py"))
        .args([
            d.join("llama.json"),
            d.join("ours.json"),
            d.join("fig.json"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("latency_s: 0.250 (aim ≤ 0.3: met)"), "{text}");
    assert!(
        text.contains("records_per_s: 12.500 (aim ≥ 10.0: met)"),
        "{text}"
    );
    assert!(text.contains("0.45 × llama-bench's 20000"), "{text}");
    assert!(text.contains("0.50 × llama-bench's 600"), "{text}");
    let fig: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("fig.json")).unwrap()).unwrap();
    assert_eq!(fig["gpu_memory_gb"], 2.0);
    // every answer read off the prompt's logits: no decoding rate to compare
    ours["shared"]["decoded_tokens_per_record"] = 0.0.into();
    ours["shared"]["gen_tok_per_s"] = 0.0.into();
    std::fs::write(d.join("ours.json"), ours.to_string()).unwrap();
    let out = Command::new("python3")
        .arg(repo().join("scripts/gpu-figures.py"))
        .args([d.join("llama.json"), d.join("ours.json")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("generation: no decoding step"), "{text}");
    // a llama-bench file without a generation run is an error, not a ratio of nothing
    std::fs::write(
        d.join("llama.json"),
        r#"[{"n_prompt": 512, "n_gen": 0, "avg_ts": 1.0}]"#,
    )
    .unwrap();
    let out = Command::new("python3")
        .arg(repo().join("scripts/gpu-figures.py"))
        .args([d.join("llama.json"), d.join("ours.json")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("generation-only"));
}
