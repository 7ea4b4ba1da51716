//! Throughput figures for the embedded backend, printed, not asserted
//! (timings depend on the machine). Run:
//!   cargo test --release --test llm_bench -- --ignored --nocapture
//! With `ICDFLOW_BENCH_MODEL=/path/model.gguf` the real model is measured
//! as well as the tiny one.
#![cfg(feature = "llama")]

mod llm_common;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use icdflow::llm::llama::{LlamaConfig, LlamaCppBackend};
use icdflow::llm::{grammar_from_json_schema, Backend, GenRequest};
use serde_json::json;

/// A record-like prefix of about `tokens` tokens (Chinese clinical prose).
fn record_prefix(b: &LlamaCppBackend, tokens: usize) -> String {
    let para = "患者因发作性胸闷、气促半年余入院。入院后完善相关检查，冠状动脉造影提示前降支近段狭窄约90%，\
                于前降支植入支架一枚。术后予抗血小板、调脂、控制血压等治疗，症状好转出院。\n";
    let mut s =
        String::from("<|im_start|>system\n你是病案编码员。<|im_end|>\n<|im_start|>user\n病历：\n");
    while b.count_tokens(&s).unwrap() < tokens {
        s.push_str(para);
    }
    s
}

fn load(path: &Path, n_ctx: u32) -> LlamaCppBackend {
    let mut cfg = LlamaConfig::new(path);
    cfg.n_ctx = n_ctx;
    cfg.n_seq_max = 8;
    LlamaCppBackend::load(cfg).expect("model loads")
}

fn measure(label: &str, path: &Path, gen_tokens: usize) {
    let cancel = AtomicBool::new(false);
    let mut b = load(path, 4096);
    let prefix = record_prefix(&b, 1000);
    let n_prefix = b.count_tokens(&prefix).unwrap();
    println!(
        "== {label}: {} (load {:.0} ms, {} threads), prefix {n_prefix} tokens",
        b.model_name(),
        b.stats().model_load_ms,
        b.threads()
    );

    // Prompt speed: the prefix read cold.
    let t = Instant::now();
    b.generate(
        &prefix,
        &[GenRequest::new("问题：").max_tokens(1)],
        &cancel,
        &mut |_, _| {},
    )
    .unwrap();
    let cold = t.elapsed().as_secs_f64();
    println!(
        "prompt: {n_prefix} tokens in {cold:.2} s = {:.0} tok/s",
        n_prefix as f64 / cold
    );

    // Generation speed, one sequence, no grammar.
    let before = b.stats();
    b.generate(
        &prefix,
        &[GenRequest::new("答：").max_tokens(gen_tokens)],
        &cancel,
        &mut |_, _| {},
    )
    .unwrap();
    let s = b.stats();
    let gen = (s.generated_tokens - before.generated_tokens) as f64;
    println!(
        "generate 1 seq: {gen} tokens in {:.2} s = {:.1} tok/s",
        (s.gen_ms - before.gen_ms) / 1000.0,
        gen * 1000.0 / (s.gen_ms - before.gen_ms)
    );

    // Four sequences in one batch.
    let before = b.stats();
    let reqs: Vec<_> = (0..4)
        .map(|i| GenRequest::new(format!("问题{i}：")).max_tokens(gen_tokens))
        .collect();
    b.generate(&prefix, &reqs, &cancel, &mut |_, _| {}).unwrap();
    let s = b.stats();
    let gen = (s.generated_tokens - before.generated_tokens) as f64;
    println!(
        "generate 4 seqs: {gen} tokens in {:.2} s = {:.1} tok/s (all sequences)",
        (s.gen_ms - before.gen_ms) / 1000.0,
        gen * 1000.0 / (s.gen_ms - before.gen_ms)
    );

    // Grammar-constrained answers, greedy and sampled.
    let schema = json!({"type": "object",
        "properties": {"codes": {"type": "array", "maxItems": 3,
            "items": {"type": "string", "enum": ["I25.103", "I10.x00x032", "Z95.501"]}}},
        "required": ["codes"], "additionalProperties": false});
    let g = grammar_from_json_schema(&schema).unwrap();
    for temp in [0.0f32, 0.8] {
        let before = b.stats();
        let t = Instant::now();
        let reqs: Vec<_> = (0..4)
            .map(|i| {
                GenRequest::new(format!("编码{i}：<|im_end|>\n<|im_start|>assistant\n"))
                    .grammar(g.clone())
                    .max_tokens(40)
                    .temperature(temp)
            })
            .collect();
        b.generate(&prefix, &reqs, &cancel, &mut |_, _| {}).unwrap();
        let s = b.stats();
        let gen = (s.generated_tokens - before.generated_tokens) as f64;
        println!(
            "grammar, 4 seqs, temperature {temp}: {gen} tokens in {:.2} s = {:.1} tok/s",
            t.elapsed().as_secs_f64(),
            gen * 1000.0 / (s.gen_ms - before.gen_ms)
        );
    }

    // Shared prefix: 2 requests reading a 1,000-token prefix once (in one
    // call, parallel) vs each re-reading it (cache cleared between calls).
    let reqs = [
        GenRequest::new("问题A：").max_tokens(16),
        GenRequest::new("问题B：").max_tokens(16),
    ];
    b.clear_cache();
    let t = Instant::now();
    b.generate(&prefix, &reqs, &cancel, &mut |_, _| {}).unwrap();
    let shared = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for r in &reqs {
        b.clear_cache();
        b.generate(&prefix, std::slice::from_ref(r), &cancel, &mut |_, _| {})
            .unwrap();
    }
    let separate = t.elapsed().as_secs_f64();
    // And the next call on the same record: the prefix is already cached.
    let t = Instant::now();
    b.generate(&prefix, &reqs, &cancel, &mut |_, _| {}).unwrap();
    let warm = t.elapsed().as_secs_f64();
    println!(
        "2 requests, {n_prefix}-token prefix: shared {shared:.2} s, each re-reading {separate:.2} s, \
         prefix already cached {warm:.2} s"
    );
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn throughput() {
    let _g = llm_common::serial();
    if let Some(t) = llm_common::tiny() {
        measure("tiny random model", &t.model, 64);
    }
    if let Some(p) = std::env::var_os("ICDFLOW_BENCH_MODEL") {
        measure("real model", Path::new(&p), 32);
    }
}
