//! The embedded llama.cpp backend on a tiny random-weight model: grammar,
//! parallel sequences, prefix cache, LoRA, cancel, and bad inputs.
//! Run: `cargo test --release --test llm` (the `llama` feature is default).
#![cfg(feature = "llama")]

mod llm_common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use icdflow::llm::llama::{LlamaConfig, LlamaCppBackend};
use icdflow::llm::{grammar_from_json_schema, Backend, Completion, FinishReason, GenRequest};
use serde_json::{json, Value};

/// The app moves the backend into its worker thread.
#[test]
fn backend_is_send() {
    fn send<T: Send>() {}
    send::<LlamaCppBackend>();
}

fn load(model: &Path, edit: impl FnOnce(&mut LlamaConfig)) -> LlamaCppBackend {
    let mut cfg = LlamaConfig::new(model);
    cfg.n_ctx = 2048;
    edit(&mut cfg);
    LlamaCppBackend::load(cfg).expect("tiny model loads")
}

fn run(b: &mut LlamaCppBackend, prefix: &str, reqs: &[GenRequest]) -> Vec<Completion> {
    let cancel = AtomicBool::new(false);
    b.generate(prefix, reqs, &cancel, &mut |_, _| {})
        .expect("generate")
}

const PREFIX: &str = "<|im_start|>system\nYou code diagnoses.<|im_end|>\n<|im_start|>user\n\
出院诊断：1.冠状动脉粥样硬化性心脏病 2.高血压病3级（极高危）\n";

fn schemas() -> Vec<Value> {
    vec![
        json!({"type": "object",
               "properties": {"code": {"type": "string", "enum": ["I25.1", "I10.x", "E11.9"]},
                              "confidence": {"type": "integer", "minimum": 0, "maximum": 100}},
               "required": ["code", "confidence"], "additionalProperties": false}),
        json!({"type": "array", "items": {"type": "integer"}, "maxItems": 4}),
        json!({"type": "object",
               "properties": {"items": {"type": "array", "maxItems": 3,
                   "items": {"type": "object",
                             "properties": {"name": {"type": "string", "maxLength": 8},
                                            "keep": {"type": "boolean"}},
                             "required": ["name", "keep"], "additionalProperties": false}}},
               "required": ["items"], "additionalProperties": false}),
        json!({"enum": ["yes", "no", "unknown"]}),
        json!({"type": "object",
               "properties": {"order": {"type": "array", "items": {"type": "integer"},
                                        "minItems": 1, "maxItems": 3}},
               "required": ["order"], "additionalProperties": false}),
    ]
}

#[test]
fn grammar_constrained_output_always_matches_the_schema() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let mut b = load(&tiny.model, |c| c.n_seq_max = 8);
    let mut finished = 0;
    let mut total = 0;
    for (si, schema) in schemas().iter().enumerate() {
        let grammar = grammar_from_json_schema(schema).expect("schema converts");
        let mut reqs = Vec::new();
        for seed in 0..4u64 {
            for &t in &[0.0f32, 0.8, 1.6] {
                reqs.push(
                    GenRequest::new(format!("<|im_end|>\n<|im_start|>assistant\n{seed}"))
                        .grammar(grammar.clone())
                        .max_tokens(120)
                        .temperature(t)
                        .seed(seed * 31 + si as u64),
                );
            }
        }
        for (r, c) in reqs.iter().zip(run(&mut b, PREFIX, &reqs)) {
            total += 1;
            assert_eq!(c.tokens.len(), c.token_probs.len());
            assert!(c.token_probs.iter().all(|p| (0.0..=1.0).contains(p)));
            if c.finish == FinishReason::MaxTokens {
                continue; // cut mid-JSON: allowed, but must be rare
            }
            assert_eq!(c.finish, FinishReason::EndOfText, "{r:?}");
            assert!(
                !c.text.contains(['\n', '\t']),
                "whitespace not compacted: {:?}",
                c.text
            );
            finished += 1;
            let v: Value = serde_json::from_str(&c.text)
                .unwrap_or_else(|e| panic!("schema {si}: {:?} is not JSON: {e}", c.text));
            llm_common::validate(schema, &v)
                .unwrap_or_else(|e| panic!("schema {si}: {:?}: {e}", c.text));
        }
    }
    assert!(
        finished * 10 >= total * 8,
        "only {finished} of {total} grammar runs completed within the budget"
    );
}

#[test]
fn an_invalid_grammar_is_an_error_not_a_crash() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let mut b = load(&tiny.model, |_| {});
    let cancel = AtomicBool::new(false);
    let e = b
        .generate(
            PREFIX,
            &[GenRequest::new("x").grammar("root ::= (unclosed")],
            &cancel,
            &mut |_, _| {},
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("grammar"), "{e}");
    // The backend still works afterwards.
    assert_eq!(
        run(&mut b, PREFIX, &[GenRequest::new("y").max_tokens(3)]).len(),
        1
    );
}

fn suffixes() -> Vec<GenRequest> {
    ["诊断一", "Question two?", "第三个问题：手术名称\n", "4"]
        .iter()
        .map(|s| GenRequest::new(*s).max_tokens(20))
        .collect()
}

#[test]
fn parallel_sequences_match_running_each_alone() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let mut b = load(&tiny.model, |c| c.n_seq_max = 4);
    let together = run(&mut b, PREFIX, &suffixes());
    for (i, req) in suffixes().into_iter().enumerate() {
        let mut fresh = load(&tiny.model, |c| c.n_seq_max = 1);
        let alone = run(&mut fresh, PREFIX, &[req]);
        assert_eq!(together[i].text, alone[0].text, "request {i}");
        assert_eq!(together[i].tokens, alone[0].tokens, "request {i}");
        for (p, q) in together[i].token_probs.iter().zip(&alone[0].token_probs) {
            assert!((p - q).abs() < 1e-3, "request {i}: prob {p} vs {q}");
        }
        assert_eq!(together[i].generated_tokens, 20);
        assert_eq!(together[i].finish, FinishReason::MaxTokens);
        assert!(together[i].truncated);
    }
}

/// Questions of one stage share their task text and differ at the end:
/// the shared part is decoded once, and every answer is what the question
/// gets alone.
#[test]
fn suffixes_that_begin_alike_are_read_once_with_the_same_answers() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let task = "【任务】诊断校验：本病案的诊断列表为：冠心病；高血压病；高脂血症。待核对的一项：";
    let reqs: Vec<GenRequest> = ["“冠心病”", "“高血压病”", "“高脂血症”", "“冠心病”"]
        .iter()
        .map(|item| GenRequest::new(format!("{task}{item}")).max_tokens(6))
        .collect();
    let mut b = load(&tiny.model, |c| c.n_seq_max = 4);
    let prefix_tokens = b.count_tokens(PREFIX).unwrap();
    let together = run(&mut b, PREFIX, &reqs);
    let evaluated = b.stats().prompt_tokens as usize;
    let mut each_alone = prefix_tokens;
    for (i, req) in reqs.iter().enumerate() {
        let mut fresh = load(&tiny.model, |c| c.n_seq_max = 1);
        let alone = run(&mut fresh, PREFIX, std::slice::from_ref(req));
        assert_eq!(together[i].tokens, alone[0].tokens, "request {i}");
        for (p, q) in together[i].token_probs.iter().zip(&alone[0].token_probs) {
            assert!((p - q).abs() < 1e-3, "request {i}: prob {p} vs {q}");
        }
        each_alone += alone[0].prompt_tokens - prefix_tokens;
    }
    let task_tokens = b.count_tokens(task).unwrap().saturating_sub(1);
    assert!(
        evaluated + 3 * task_tokens <= each_alone + 3,
        "{evaluated} evaluated, {each_alone} one suffix at a time, task {task_tokens} tokens"
    );
    // The first request pays for the shared part, the identical fourth for
    // none of its suffix.
    assert_eq!(together[0].cached_tokens, 0);
    assert!(together[1].cached_tokens >= task_tokens.saturating_sub(2));
    assert_eq!(
        together[3].cached_tokens,
        together[3].prompt_tokens - prefix_tokens
    );
    // Cut into batches of 32 tokens, the tree gives the same answers.
    let mut narrow = load(&tiny.model, |c| {
        c.n_seq_max = 4;
        c.n_batch = Some(32);
    });
    let cut = run(&mut narrow, PREFIX, &reqs);
    for (i, (a, b)) in together.iter().zip(&cut).enumerate() {
        assert_eq!(a.tokens, b.tokens, "request {i}");
    }
}

/// A prefill is read as prompt: the answer starts with it, the grammar goes
/// on from its end, and only the rest is generated.
#[test]
fn a_prefill_is_read_not_generated_and_must_fit_the_grammar() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let schema = json!({"type": "object",
        "properties": {"pick": {"type": "string", "enum": ["a", "b"]}},
        "required": ["pick"]});
    let grammar = grammar_from_json_schema(&schema).unwrap();
    let mut b = load(&tiny.model, |c| c.n_seq_max = 2);
    let reqs = [
        GenRequest::new("Q1")
            .grammar(grammar.clone())
            .max_tokens(12)
            .prefill("{\"pick\":\""),
        GenRequest::new("Q2")
            .grammar(grammar.clone())
            .max_tokens(12),
    ];
    let out = run(&mut b, PREFIX, &reqs);
    let v: Value = serde_json::from_str(&out[0].text).expect(&out[0].text);
    assert!(out[0].text.starts_with("{\"pick\":\""), "{}", out[0].text);
    assert!(["a", "b"].contains(&v["pick"].as_str().unwrap()));
    // The opening's tokens were read with the prompt, not generated.
    assert!(out[0].generated_tokens <= 4, "{:?}", out[0].tokens);
    assert_eq!(out[0].tokens.concat(), out[0].text);
    let without: Value = serde_json::from_str(&out[1].text).expect(&out[1].text);
    assert!(without["pick"].is_string());
    assert!(out[1].generated_tokens > out[0].generated_tokens);

    let wrong = GenRequest::new("Q").grammar(grammar).prefill("[");
    let cancel = AtomicBool::new(false);
    let err = b
        .generate(PREFIX, &[wrong], &cancel, &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("prefill"), "{err}");
}

/// What a server sees when a request's prefill goes as prompt text: the
/// grammar of the rest alone keeps the answer, opening included, to the
/// schema's values.
#[test]
fn the_grammar_after_an_opening_completes_only_answers_of_the_schema() {
    use icdflow::agents::question::{answer_opening, answer_rest, enum_answer};
    use icdflow::llm::choices_grammar;
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let mut b = load(&tiny.model, |c| c.n_seq_max = 4);
    let principal = json!({"type": "object",
        "properties": {"principal": {"type": "integer", "enum": [1, 2, 3]}},
        "required": ["principal"]});
    for (schema, key) in [
        (enum_answer("pick", &["a", "b", "x"]), "pick"),
        (principal, "principal"),
    ] {
        let opening = answer_opening(&schema);
        let rest = choices_grammar(&answer_rest(&schema));
        let allowed = &schema["properties"][key]["enum"];
        let reqs: Vec<GenRequest> = ["Q1", "Q2", "Q3", "Q4"]
            .iter()
            .map(|q| {
                GenRequest::new(format!("{q}{opening}"))
                    .grammar(rest.clone())
                    .max_tokens(8)
            })
            .collect();
        for c in run(&mut b, PREFIX, &reqs) {
            let whole = format!("{opening}{}", c.text);
            let v: Value = serde_json::from_str(&whole).expect(&whole);
            assert_eq!(v.as_object().unwrap().len(), 1, "{whole}");
            assert!(allowed.as_array().unwrap().contains(&v[key]), "{whole}");
        }
    }
}

/// The backend's decoding figures count what the model evaluated: letters
/// read off the prompt's logits are generated text but no decoding step,
/// so `gen_tok_per_s` is not inflated by them.
#[test]
fn answers_read_off_the_prompt_cost_no_decoded_tokens() {
    use icdflow::agents::question::{answer_opening, answer_rest, enum_answer};
    use icdflow::llm::choices_grammar;
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let mut b = load(&tiny.model, |c| c.n_seq_max = 8);
    let schema = enum_answer("pick", &["a", "b", "c", "x"]);
    let (opening, rest) = (answer_opening(&schema), answer_rest(&schema));
    let req = |q: &str| {
        GenRequest::new(format!("{q}{opening}"))
            .grammar(choices_grammar(&rest))
            .max_tokens(8)
    };
    let before = b.stats();
    let out = run(
        &mut b,
        PREFIX,
        &[
            req("Q1").choices(rest.clone()),
            req("Q2").choices(rest.clone()),
        ],
    );
    let after = b.stats();
    assert!(out.iter().all(|c| rest.contains(&c.text)));
    assert!(after.generated_tokens > before.generated_tokens);
    assert_eq!(after.decoded_tokens, before.decoded_tokens);
    // decoded under the grammar, every token but the last is evaluated
    let out = run(&mut b, PREFIX, &[req("Q1"), req("Q2")]);
    let decoded = b.stats().decoded_tokens - after.decoded_tokens;
    let generated: usize = out.iter().map(|c| c.generated_tokens).sum();
    assert!(
        decoded > 0 && decoded as usize <= generated,
        "{decoded} of {generated}"
    );
}

/// A greedy request that lists its choices is answered from the logits
/// over their tokens: the same answer, first token and probability as the
/// choices' grammar gives, without decoding what can only follow.
#[test]
fn choices_give_the_grammars_greedy_answer_with_fewer_decoding_steps() {
    use icdflow::agents::question::{answer_opening, answer_rest, enum_answer};
    use icdflow::llm::choices_grammar;
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let mut b = load(&tiny.model, |c| c.n_seq_max = 8);
    let principal = json!({"type": "object",
        "properties": {"principal": {"type": "integer", "enum": (1..=12).collect::<Vec<_>>()}},
        "required": ["principal"]});
    let (mut by_grammar, mut by_choices) = (0, 0);
    for schema in [enum_answer("pick", &["a", "b", "c", "d", "x"]), principal] {
        let opening = answer_opening(&schema);
        let rest = answer_rest(&schema);
        let grammar = choices_grammar(&rest);
        let mut reqs = Vec::new();
        for q in ["Q1", "Q2", "甲", "乙", "\n", "3", "x", "Q8"] {
            let req = GenRequest::new(format!("{q}{opening}"))
                .grammar(grammar.clone())
                .max_tokens(8);
            reqs.push(req.clone());
            reqs.push(req.choices(rest.clone()));
        }
        let out = run(&mut b, PREFIX, &reqs);
        for pair in out.chunks(2) {
            let (g, c) = (&pair[0], &pair[1]);
            assert_eq!(c.text, g.text);
            assert!(rest.contains(&c.text), "{}", c.text);
            assert_eq!(c.tokens[0], g.tokens[0]);
            assert!((c.token_probs[0] - g.token_probs[0]).abs() < 1e-4);
            assert_eq!(c.tokens.concat(), c.text);
            assert_eq!(c.finish, FinishReason::EndOfText);
            assert!(c.generated_tokens <= g.generated_tokens);
            by_grammar += g.generated_tokens;
            by_choices += c.generated_tokens;
        }
        // A letter is settled by its first token.
        if opening.ends_with('"') {
            assert!(out
                .iter()
                .skip(1)
                .step_by(2)
                .all(|c| c.generated_tokens == 1));
        }
    }
    assert!(by_choices < by_grammar, "{by_choices} vs {by_grammar}");

    // With a temperature the grammar samples as before; the answer is still one of the choices.
    let schema = enum_answer("pick", &["a", "b"]);
    let rest = answer_rest(&schema);
    let hot = GenRequest::new(format!("Q{}", answer_opening(&schema)))
        .grammar(choices_grammar(&rest))
        .choices(rest.clone())
        .temperature(1.5)
        .seed(7)
        .max_tokens(8);
    let out = run(&mut b, PREFIX, &[hot]);
    assert!(rest.contains(&out[0].text), "{}", out[0].text);
}

#[test]
fn more_requests_than_sequences_run_in_chunks() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let mut wide = load(&tiny.model, |c| c.n_seq_max = 4);
    let mut narrow = load(&tiny.model, |c| c.n_seq_max = 1);
    let a = run(&mut wide, PREFIX, &suffixes());
    let b = run(&mut narrow, PREFIX, &suffixes());
    let texts = |v: &[Completion]| v.iter().map(|c| c.text.clone()).collect::<Vec<_>>();
    assert_eq!(texts(&a), texts(&b));
    // The narrow backend read the prefix once and reused it for later chunks.
    assert!(b[3].cached_tokens > 0);
}

#[test]
fn prefix_cache_is_reused_and_gives_the_same_answers() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let mut b = load(&tiny.model, |_| {});
    let prefix_tokens = b.count_tokens(PREFIX).unwrap();
    let first = run(&mut b, PREFIX, &[GenRequest::new("A").max_tokens(8)]);
    assert_eq!(first[0].cached_tokens, 0);
    assert_eq!(first[0].prompt_tokens, prefix_tokens + 1);

    let second = run(&mut b, PREFIX, &[GenRequest::new("B").max_tokens(12)]);
    assert_eq!(second[0].cached_tokens, prefix_tokens);
    assert!(b.stats().cached_tokens >= prefix_tokens as u64);

    // A prefix that extends the cached one reuses it too.
    let longer = format!("{PREFIX}手术名称：经皮冠状动脉支架植入术\n");
    let third = run(&mut b, &longer, &[GenRequest::new("C").max_tokens(12)]);
    assert_eq!(third[0].cached_tokens, prefix_tokens);
    // A shorter, diverging prefix reuses the common part.
    let fourth = run(
        &mut b,
        "<|im_start|>system\nOther.",
        &[GenRequest::new("D").max_tokens(5)],
    );
    assert!(fourth[0].cached_tokens > 0 && fourth[0].cached_tokens < prefix_tokens);

    // Cached answers equal uncached ones.
    for (prefix, req, got) in [(PREFIX, "B", &second[0]), (longer.as_str(), "C", &third[0])] {
        let mut fresh = load(&tiny.model, |_| {});
        let want = run(&mut fresh, prefix, &[GenRequest::new(req).max_tokens(12)]);
        assert_eq!(got.text, want[0].text);
    }
}

#[test]
fn empty_suffix_and_empty_prefix_work() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let mut b = load(&tiny.model, |_| {});
    let a = run(
        &mut b,
        PREFIX,
        &[
            GenRequest::new("").max_tokens(5),
            GenRequest::new("x").max_tokens(5),
        ],
    );
    assert_eq!(a[0].generated_tokens, 5);
    assert_eq!(a[1].generated_tokens, 5);
    let solo = run(&mut b, "", &[GenRequest::new(PREFIX).max_tokens(5)]);
    let mut fresh = load(&tiny.model, |_| {});
    let joined = run(&mut fresh, PREFIX, &[GenRequest::new("").max_tokens(5)]);
    assert_eq!(solo[0].text, joined[0].text);
    let cancel = AtomicBool::new(false);
    let e = b
        .generate("", &[GenRequest::new("")], &cancel, &mut |_, _| {})
        .unwrap_err();
    assert!(e.to_string().contains("empty prompt"), "{e}");
}

#[test]
fn streaming_pieces_join_to_the_text_and_stop_strings_cut() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let mut b = load(&tiny.model, |_| {});
    let cancel = AtomicBool::new(false);
    let mut streamed = vec![String::new(); 2];
    let reqs = [
        GenRequest::new("甲").max_tokens(30),
        GenRequest::new("乙").max_tokens(30),
    ];
    let out = b
        .generate(PREFIX, &reqs, &cancel, &mut |i, p| streamed[i].push_str(p))
        .unwrap();
    for (i, c) in out.iter().enumerate() {
        assert_eq!(streamed[i], c.text);
        assert_eq!(c.tokens.concat(), c.text);
    }
    // Stop at a piece of text that the greedy run produced after its start.
    let text = &out[0].text;
    let chars: Vec<char> = text.chars().collect();
    assert!(
        chars.len() >= 6,
        "too little text to test stop strings: {text:?}"
    );
    let stop: String = chars[3..5].iter().collect();
    let cut = text.find(&stop).unwrap();
    let mut streamed = String::new();
    let again = b
        .generate(
            PREFIX,
            &[GenRequest::new("甲").max_tokens(30).stop(stop.clone())],
            &cancel,
            &mut |_, p| streamed.push_str(p),
        )
        .unwrap();
    assert_eq!(again[0].text, text[..cut]);
    assert_eq!(again[0].finish, FinishReason::Stop);
    assert!(!again[0].truncated);
    assert_eq!(
        streamed, again[0].text,
        "the stop string must not be streamed"
    );
}

#[test]
fn cancel_returns_what_was_produced() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let mut b = load(&tiny.model, |_| {});
    let cancel = AtomicBool::new(false);
    let mut seen = 0;
    let out = b
        .generate(
            PREFIX,
            &[
                GenRequest::new("a").max_tokens(200),
                GenRequest::new("b").max_tokens(200),
            ],
            &cancel,
            &mut |_, _| {
                seen += 1;
                if seen == 6 {
                    cancel.store(true, Ordering::Relaxed);
                }
            },
        )
        .unwrap();
    for c in &out {
        assert_eq!(c.finish, FinishReason::Cancelled);
        assert!(c.truncated);
        assert!(
            c.generated_tokens > 0 && c.generated_tokens < 20,
            "{}",
            c.generated_tokens
        );
    }
    // Cancelled before the start: nothing generated, and the backend stays usable.
    let out = b
        .generate(PREFIX, &[GenRequest::new("c")], &cancel, &mut |_, _| {})
        .unwrap();
    assert_eq!(out[0].finish, FinishReason::Cancelled);
    assert_eq!(out[0].generated_tokens, 0);
    assert_eq!(
        run(&mut b, PREFIX, &[GenRequest::new("d").max_tokens(4)])[0].generated_tokens,
        4
    );
}

#[test]
fn lora_adapter_loads_applies_and_keeps_its_own_prefix() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    if !tiny.lora.is_file() {
        eprintln!("SKIP: no LoRA file at {}", tiny.lora.display());
        return;
    }
    let adapters = vec![("std".to_string(), tiny.lora.clone())];
    let mut b = load(&tiny.model, |c| c.adapters = adapters.clone());
    assert_eq!(b.adapter_names(), ["std"]);
    let reqs = [
        GenRequest::new("Q").max_tokens(10),
        GenRequest::new("Q").max_tokens(10).adapter("std"),
        GenRequest::new("R").max_tokens(10).adapter("std"),
    ];
    let out = run(&mut b, PREFIX, &reqs);
    assert_ne!(
        out[0].token_probs, out[1].token_probs,
        "the adapter must change the model's distribution"
    );
    // Same answers as a backend that only ever ran the adapter: the prefix
    // was evaluated under the adapter, not reused from the base model.
    let mut only = load(&tiny.model, |c| c.adapters = adapters.clone());
    let alone = run(&mut only, PREFIX, &reqs[1..]);
    assert_eq!(out[1].text, alone[0].text);
    assert_eq!(out[2].text, alone[1].text);
    // Base answers unchanged by having an adapter loaded.
    let mut plain = load(&tiny.model, |_| {});
    assert_eq!(out[0].text, run(&mut plain, PREFIX, &reqs[..1])[0].text);
    // Second call: both groups find their prefix cached.
    let again = run(&mut b, PREFIX, &reqs);
    assert!(again.iter().all(|c| c.cached_tokens > 0));
    assert_eq!(again[1].text, out[1].text);

    let cancel = AtomicBool::new(false);
    let e = b
        .generate(
            PREFIX,
            &[GenRequest::new("x").adapter("nope")],
            &cancel,
            &mut |_, _| {},
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope") && e.contains("std"), "{e}");
}

/// A model rewritten in a CPU-friendly format loads, answers, and says its
/// format in its name; what cannot be rewritten is refused with the file named.
#[test]
fn a_requantized_model_loads_answers_and_names_its_format() {
    use icdflow::llm::gguf;
    use icdflow::llm::llama::requantize::{requantize, WeightFormat};
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let dir = tempfile::tempdir().unwrap();
    for format in [WeightFormat::Iq4Nl, WeightFormat::Q8_0] {
        let out = dir.path().join(format!("tiny-{}.gguf", format.name()));
        let done = requantize(&tiny.model, &out, format, 2).expect("requantize");
        assert_eq!(done.output, out);
        assert!(done.bytes_after > 0 && done.bytes_after < done.bytes_before);
        let info = gguf::inspect(&out).unwrap();
        assert_eq!(
            info.weights.and_then(gguf::weights_name),
            Some(format.name())
        );
        // An adapter trained on the original weights applies to the rewrite.
        let adapters: Vec<(String, PathBuf)> = if tiny.lora.is_file() {
            vec![("std".into(), tiny.lora.clone())]
        } else {
            Vec::new()
        };
        let mut b = load(&out, |c| {
            c.n_seq_max = 2;
            c.adapters = adapters.clone();
        });
        assert!(
            b.model_name().ends_with(&format!(", {}", format.name())),
            "{}",
            b.model_name()
        );
        let mut reqs = vec![GenRequest::new("Q").max_tokens(4)];
        if !adapters.is_empty() {
            reqs.push(GenRequest::new("Q").max_tokens(4).adapter("std"));
        }
        let answers = run(&mut b, PREFIX, &reqs);
        assert!(answers.iter().all(|a| a.generated_tokens == 4));
        if let [base, adapted] = answers.as_slice() {
            assert_ne!(base.token_probs, adapted.token_probs);
        }
    }
    // Nothing half-written is left beside the outputs.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".part")), "{names:?}");

    let same = requantize(&tiny.model, &tiny.model, WeightFormat::Q8_0, 1).unwrap_err();
    assert!(same.to_string().contains("overwrite"), "{same}");
    let nowhere = dir.path().join("missing-dir/out.gguf");
    let e = requantize(&tiny.model, &nowhere, WeightFormat::Q8_0, 1).unwrap_err();
    assert!(
        e.to_string().contains(&nowhere.display().to_string()),
        "{e}"
    );
    if tiny.lora.is_file() {
        let e = requantize(
            &tiny.lora,
            &dir.path().join("a.gguf"),
            WeightFormat::Q8_0,
            1,
        )
        .unwrap_err();
        assert!(e.to_string().contains("adapter"), "{e}");
    }
}

#[test]
fn adapter_and_model_files_are_checked() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    if !tiny.lora.is_file() {
        return;
    }
    let e = LlamaCppBackend::load(LlamaConfig::new(&tiny.lora))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("adapter"), "{e}");
    let mut cfg = LlamaConfig::new(&tiny.model);
    cfg.adapters = vec![("x".into(), tiny.model.clone())];
    let e = LlamaCppBackend::load(cfg).err().unwrap().to_string();
    assert!(e.contains("not a LoRA adapter"), "{e}");
}

#[test]
fn missing_model_file_is_named() {
    let _g = llm_common::serial();
    let e = LlamaCppBackend::load(LlamaConfig::new("/no/such/dir/model.gguf"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("/no/such/dir/model.gguf") && e.contains("not found"),
        "{e}"
    );
}

fn write_temp(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn corrupt_model_files_give_clear_errors() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(&tiny.model).unwrap();
    // Deterministic pseudo-random bytes.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut arch_swapped = good.clone();
    let key = b"general.architecture";
    let at = good.windows(key.len()).position(|w| w == key).unwrap();
    let value_at = at + key.len() + 4 + 8; // type u32, length u64
    assert_eq!(&good[value_at..value_at + 5], b"qwen2");
    arch_swapped[value_at..value_at + 5].copy_from_slice(b"qwenZ");

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("noise.gguf", noise, "not a GGUF"),
        ("empty.gguf", Vec::new(), "not a GGUF"),
        ("half.gguf", good[..good.len() / 2].to_vec(), "truncated"),
        ("header-only.gguf", good[..2000].to_vec(), "truncated"),
        ("unknown-arch.gguf", arch_swapped, "could not load"),
    ];
    for (name, bytes, expect) in cases {
        let p = write_temp(&dir, name, &bytes);
        let e = LlamaCppBackend::load(LlamaConfig::new(&p))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(expect), "{name}: {e}");
        assert!(
            e.contains(&p.display().to_string()),
            "{name}: error must name the file: {e}"
        );
    }
    // A tokenizer-only file is a GGUF but not a model.
    let vocab = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/models/qwen2-vocab.gguf");
    if vocab.is_file() {
        let e = LlamaCppBackend::load(LlamaConfig::new(&vocab))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("no weights"), "{e}");
    }
}

#[test]
fn prompt_longer_than_context_is_an_error() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let mut b = load(&tiny.model, |c| c.n_ctx = 256);
    assert_eq!(b.context_size(), 256);
    let long = "高血压 ".repeat(400);
    let n = b.count_tokens(&long).unwrap();
    assert!(n > 256);
    let cancel = AtomicBool::new(false);
    let e = b
        .generate(&long, &[GenRequest::new("x")], &cancel, &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("exceeds context 256"), "{e}");
    // A prompt that fits but leaves little room: generation stops at the edge.
    let mut reps = 1;
    while b.count_tokens(&"高血压 ".repeat(reps + 1)).unwrap() < 230 {
        reps += 1;
    }
    let fits = "高血压 ".repeat(reps);
    let out = run(&mut b, &fits, &[GenRequest::new("x").max_tokens(500)]);
    assert_eq!(out[0].finish, FinishReason::ContextFull);
    assert!(out[0].prompt_tokens + out[0].generated_tokens <= 256);
    // Too small a context is refused at load time.
    let e = LlamaCppBackend::load({
        let mut c = LlamaConfig::new(&tiny.model);
        c.n_ctx = 16;
        c
    })
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("too small"), "{e}");
}

#[test]
fn stats_and_metadata() {
    let tiny = need_tiny!();
    let _g = llm_common::serial();
    let mut b = load(&tiny.model, |c| c.n_threads = Some(2));
    assert!(b.model_name().contains("tiny"));
    assert!(b.chat_template().is_some_and(|t| t.contains("im_start")));
    assert_eq!(b.threads(), 2);
    run(&mut b, PREFIX, &suffixes());
    let s = b.stats();
    assert_eq!(s.calls, 1);
    assert_eq!(s.generated_tokens, 80);
    assert!(s.prompt_tokens > 0 && s.prompt_ms > 0.0 && s.gen_ms > 0.0);
    assert!(s.model_load_ms > 0.0);
    assert!(s.peak_memory_bytes.unwrap_or(1) > 0);
    let devices = icdflow::llm::llama::devices().unwrap();
    assert!(devices.iter().any(|d| d.starts_with("CPU")), "{devices:?}");
}

/// The real Qwen2.5-Coder model, when `ICDFLOW_TEST_MODEL` names its GGUF.
#[test]
fn real_model_answers_with_grammar() {
    let Some(path) = std::env::var_os("ICDFLOW_TEST_MODEL") else {
        eprintln!("SKIP: set ICDFLOW_TEST_MODEL=/path/to/qwen2.5-coder-0.5b.gguf");
        return;
    };
    let _g = llm_common::serial();
    let mut cfg = LlamaConfig::new(PathBuf::from(path));
    cfg.n_ctx = 2048;
    let mut b = LlamaCppBackend::load(cfg).expect("real model loads");
    let schema = json!({"type": "object",
        "properties": {"principal": {"type": "string", "enum": ["冠状动脉粥样硬化性心脏病", "高血压病3级"]},
                       "count": {"type": "integer"}},
        "required": ["principal", "count"], "additionalProperties": false});
    let grammar = grammar_from_json_schema(&schema).unwrap();
    let prefix = "<|im_start|>system\nYou are a medical coder. Answer in JSON.<|im_end|>\n\
<|im_start|>user\n出院诊断：1.冠状动脉粥样硬化性心脏病 2.高血压病3级（极高危）\n";
    let reqs = [
        GenRequest::new("Which diagnosis is principal, and how many diagnoses are there?<|im_end|>\n<|im_start|>assistant\n")
            .grammar(grammar.clone())
            .max_tokens(64),
        GenRequest::new("主要诊断是哪个？共几个诊断？<|im_end|>\n<|im_start|>assistant\n")
            .grammar(grammar)
            .max_tokens(64),
    ];
    let out = run(&mut b, prefix, &reqs);
    for c in &out {
        let v: Value = serde_json::from_str(&c.text).expect("JSON");
        llm_common::validate(&schema, &v).unwrap();
        eprintln!("{} (mean p {:.3})", c.text, c.mean_prob());
    }
    let s = b.stats();
    eprintln!(
        "{}: load {:.0} ms, prompt {:.1} tok/s, gen {:.1} tok/s",
        b.model_name(),
        s.model_load_ms,
        s.prompt_tok_per_s(),
        s.gen_tok_per_s()
    );
}
