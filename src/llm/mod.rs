//! LLM backends: text in, constrained text out, with per-token probabilities.
//!
//! This layer knows nothing of ICD coding. The agents layer builds prompts and
//! JSON schemas; it calls a [`Backend`] with one shared `prefix` (typically the
//! record) and several [`GenRequest`]s (one per question), so the prefix is read
//! once and the answers are generated side by side.
//!
//! Backends:
//! - `llama::LlamaCppBackend` (feature `llama`): llama.cpp embedded, with a
//!   KV-cached shared prefix, parallel sequences, GBNF grammars and LoRA adapters.
//! - [`http::OpenAiBackend`]: an OpenAI-compatible server (llama-server, vLLM).
//! - [`mock::ScriptedBackend`]: answers from a closure, for tests of the layers above.
//!
//! [`gguf::inspect`] checks a model file before llama.cpp sees it, so a wrong
//! or damaged file gives an error that names it instead of a crash.

use std::sync::atomic::AtomicBool;

pub mod gguf;
pub mod http;
#[cfg(feature = "llama")]
pub mod llama;
pub mod mock;
// Without llama.cpp only `token_prob` is used; the rest serves the embedded backend.
#[cfg_attr(not(feature = "llama"), allow(dead_code))]
mod output;

pub use output::token_prob;

/// One question to answer after the shared prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct GenRequest {
    /// Text appended to the shared prefix for this request only.
    pub suffix: String,
    /// GBNF grammar constraining the output (see [`grammar_from_json_schema`]).
    pub grammar: Option<String>,
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// Sampling temperature; 0 means greedy (deterministic).
    pub temperature: f32,
    /// Name of a LoRA adapter loaded with the model; `None` is the base model.
    pub adapter: Option<String>,
    /// Generation stops before the first occurrence of any of these strings.
    pub stop: Vec<String>,
    /// Seed for sampling when `temperature > 0`; `None` derives one from the
    /// backend's seed and the request's index.
    pub seed: Option<u64>,
    /// Text every answer begins with (the grammar forces it, e.g. `{"pick":"`).
    /// The embedded backend reads it as part of the prompt instead of
    /// generating it a token at a time, and the completion's text starts with
    /// it. A server backend does the same when `choices` lists the rest (a
    /// server's grammar starts at its root); without them, the server
    /// generates the whole answer under `grammar`. It must be a beginning the
    /// grammar allows.
    pub prefill: String,
    /// The texts that may follow `prefill`, when the answer is one of a list
    /// (`b"}` after `{"pick":"`); empty when it is not. Each must be an
    /// answer the grammar allows after the prefill.
    ///
    /// The embedded backend then answers a greedy request by reading the
    /// model's distribution over the choices' tokens instead of running the
    /// grammar: it decodes a token only while more than one choice can still
    /// follow, and gives the rest of the one left as a piece of probability
    /// 1, not generated. A letter or yes/no answer then costs no decoding
    /// step at all, only the prompt. A server backend sends the prefill as
    /// prompt text and [`choices_grammar`] as the grammar of the rest.
    pub choices: Vec<String>,
}

impl Default for GenRequest {
    fn default() -> Self {
        GenRequest {
            suffix: String::new(),
            grammar: None,
            max_tokens: 256,
            temperature: 0.0,
            adapter: None,
            stop: Vec::new(),
            seed: None,
            prefill: String::new(),
            choices: Vec::new(),
        }
    }
}

impl GenRequest {
    /// A greedy request with the default token budget.
    pub fn new(suffix: impl Into<String>) -> Self {
        GenRequest {
            suffix: suffix.into(),
            ..Default::default()
        }
    }
    /// Sets the GBNF grammar.
    pub fn grammar(mut self, gbnf: impl Into<String>) -> Self {
        self.grammar = Some(gbnf.into());
        self
    }
    /// Sets the token budget.
    pub fn max_tokens(mut self, n: usize) -> Self {
        self.max_tokens = n;
        self
    }
    /// Sets the temperature (0 = greedy).
    pub fn temperature(mut self, t: f32) -> Self {
        self.temperature = t;
        self
    }
    /// Selects a LoRA adapter by name.
    pub fn adapter(mut self, name: impl Into<String>) -> Self {
        self.adapter = Some(name.into());
        self
    }
    /// Adds a stop string.
    pub fn stop(mut self, s: impl Into<String>) -> Self {
        self.stop.push(s.into());
        self
    }
    /// Sets the text every answer begins with (see the field).
    pub fn prefill(mut self, text: impl Into<String>) -> Self {
        self.prefill = text.into();
        self
    }
    /// Sets the texts that may follow the prefill (see the field).
    pub fn choices(mut self, choices: Vec<String>) -> Self {
        self.choices = choices;
        self
    }
    /// Sets the sampling seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

/// Why generation of one sequence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model produced an end-of-generation token (with a grammar: the
    /// grammar was complete).
    #[default]
    EndOfText,
    /// A stop string was found; it is not part of the text.
    Stop,
    /// `max_tokens` was reached.
    MaxTokens,
    /// The caller's cancel flag was set.
    Cancelled,
    /// The context (KV cache) had no room for more tokens.
    ContextFull,
}

impl FinishReason {
    /// Whether the output was cut short (it may be incomplete, e.g. unclosed JSON).
    pub fn is_truncated(self) -> bool {
        matches!(
            self,
            FinishReason::MaxTokens | FinishReason::Cancelled | FinishReason::ContextFull
        )
    }
}

/// The answer to one [`GenRequest`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    /// Generated text, without the stop string that ended it.
    pub text: String,
    /// Probability of each generated token under the model's own distribution
    /// (softmax of the raw logits, before grammar or temperature).
    pub token_probs: Vec<f32>,
    /// Text of each generated token, same length as `token_probs`. A token that
    /// ends inside a multi-byte character has an empty piece and the next token
    /// carries the whole character, so the pieces join to the text (up to a
    /// stop string, which is cut from `text` only).
    pub tokens: Vec<String>,
    /// Tokens of prefix + suffix.
    pub prompt_tokens: usize,
    /// Prompt tokens not evaluated for this answer: found in the KV cache,
    /// or (embedded backend) decoded once for an earlier request of the same
    /// call whose suffix begins the same way.
    pub cached_tokens: usize,
    /// Tokens generated.
    pub generated_tokens: usize,
    /// Wall time from the start of the `generate` call until this answer ended.
    pub elapsed_ms: f64,
    /// The answer was cut short (`max_tokens`, cancel, full context).
    pub truncated: bool,
    /// Why generation ended.
    pub finish: FinishReason,
}

impl Completion {
    /// Geometric mean of the token probabilities (1.0 when there are none):
    /// a length-independent confidence for the whole answer.
    pub fn mean_prob(&self) -> f32 {
        if self.token_probs.is_empty() {
            return 1.0;
        }
        let sum: f64 = self
            .token_probs
            .iter()
            .map(|&p| f64::from(p.max(1e-12)).ln())
            .sum();
        (sum / self.token_probs.len() as f64).exp() as f32
    }

    /// The lowest token probability (1.0 when there are none).
    pub fn min_prob(&self) -> f32 {
        self.token_probs.iter().copied().fold(1.0, f32::min)
    }
}

/// Running totals of a backend, for the status bar and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BackendStats {
    /// Time to load the model (and adapters), ms.
    pub model_load_ms: f64,
    /// `generate` calls.
    pub calls: u64,
    /// Prompt tokens evaluated (prefix and suffix tokens not found in the cache).
    pub prompt_tokens: u64,
    /// Prompt tokens reused from the KV cache, or shared with another
    /// request of the same call, instead of being evaluated.
    pub cached_tokens: u64,
    /// Tokens generated (answer text, including pieces a finite answer set
    /// gives without a decoding step).
    pub generated_tokens: u64,
    /// Tokens the model evaluated while generating: one per live sequence
    /// per decoding step. An answer read off the prompt's last logits needs
    /// none, so this, not `generated_tokens`, is what `gen_ms` was spent on.
    pub decoded_tokens: u64,
    /// Time spent evaluating prompts, ms.
    pub prompt_ms: f64,
    /// Time spent generating, ms.
    pub gen_ms: f64,
    /// Peak resident memory of the process in bytes, where the platform tells.
    pub peak_memory_bytes: Option<u64>,
}

impl BackendStats {
    /// Prompt evaluation speed, tokens per second.
    pub fn prompt_tok_per_s(&self) -> f64 {
        per_second(self.prompt_tokens, self.prompt_ms)
    }
    /// Decoding speed (all sequences together): tokens evaluated while
    /// generating, per second.
    pub fn gen_tok_per_s(&self) -> f64 {
        per_second(self.decoded_tokens, self.gen_ms)
    }
}

fn per_second(n: u64, ms: f64) -> f64 {
    if ms <= 0.0 {
        0.0
    } else {
        n as f64 * 1000.0 / ms
    }
}

/// A text generator. Implementations are not required to be `Sync`; the app
/// keeps one in a worker thread (llama.cpp contexts must not be shared).
pub trait Backend {
    /// Model name for display (from the GGUF metadata, or the server's model id).
    fn model_name(&self) -> &str;
    /// Context size in tokens: prefix + suffix + output must fit.
    fn context_size(&self) -> usize;
    /// Tokens the text takes as a prompt (with BOS where the model adds one).
    fn count_tokens(&self, text: &str) -> crate::Result<usize>;
    /// Evaluates `prefix` once (reusing the KV cache when the previous call had
    /// the same prefix, or one it extends) and then all `requests` as parallel
    /// sequences sharing it, generating in one batch per step.
    /// `on_token(request_index, piece)` streams text as it is produced;
    /// `cancel` stops generation early (what was produced is returned, marked
    /// [`FinishReason::Cancelled`]). The answers come back in request order.
    fn generate(
        &mut self,
        prefix: &str,
        requests: &[GenRequest],
        cancel: &AtomicBool,
        on_token: &mut dyn FnMut(usize, &str),
    ) -> crate::Result<Vec<Completion>>;
    /// Running totals.
    fn stats(&self) -> BackendStats;
}

/// Converts a JSON schema into a GBNF grammar for [`GenRequest::grammar`],
/// using llama.cpp's own converter (the same one llama-server uses), with
/// the whitespace between JSON tokens limited by [`compact_whitespace`].
#[cfg(feature = "llama")]
pub fn grammar_from_json_schema(schema: &serde_json::Value) -> crate::Result<String> {
    let text = serde_json::to_string(schema)
        .map_err(|e| crate::Error::Model(format!("JSON schema cannot be serialised: {e}")))?;
    llama_cpp_2::json_schema_to_grammar(&text)
        .map(|g| compact_whitespace(&g))
        .map_err(|e| crate::Error::Model(format!("JSON schema not convertible to a grammar: {e}")))
}

/// The GBNF grammar whose answers are exactly `choices` (see
/// [`GenRequest::choices`]), for a backend that constrains what follows a
/// prefill with a grammar of its own.
pub fn choices_grammar(choices: &[String]) -> String {
    let alternatives: Vec<String> = choices.iter().map(|c| gbnf_literal(c)).collect();
    format!("root ::= {}\n", alternatives.join(" | "))
}

/// `text` as a GBNF string literal.
fn gbnf_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Rewrites the `space` rule of a grammar from llama.cpp's JSON-schema
/// converter to allow at most one space. The converter allows up to two
/// newlines and twenty tabs/spaces between JSON tokens; small models spend
/// much of their token budget there, and none of it carries meaning.
pub fn compact_whitespace(gbnf: &str) -> String {
    let mut out = String::with_capacity(gbnf.len());
    for line in gbnf.lines() {
        if line.trim_start().starts_with("space ::=") {
            out.push_str("space ::= | \" \"");
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Converts a JSON schema into a GBNF grammar. This build has no llama.cpp
/// (feature `llama` off), so there is no converter: always an error.
#[cfg(not(feature = "llama"))]
pub fn grammar_from_json_schema(_schema: &serde_json::Value) -> crate::Result<String> {
    Err(crate::Error::Model(
        "JSON schema to grammar conversion needs the `llama` feature".into(),
    ))
}

/// Peak resident memory of this process (Linux `VmHWM`), if known.
#[cfg_attr(not(feature = "llama"), allow(dead_code))]
pub(crate) fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grammar_of_choices_spells_each_choice_as_one_literal() {
        let choices = ["b\"}".to_string(), "1 }".into(), "a\\b\n".into()];
        assert_eq!(
            choices_grammar(&choices),
            "root ::= \"b\\\"}\" | \"1 }\" | \"a\\\\b\\n\"\n"
        );
    }

    #[test]
    fn mean_prob_is_geometric() {
        let c = Completion {
            token_probs: vec![0.25, 1.0],
            ..Default::default()
        };
        assert!((c.mean_prob() - 0.5).abs() < 1e-6);
        assert_eq!(c.min_prob(), 0.25);
        assert_eq!(Completion::default().mean_prob(), 1.0);
    }

    #[test]
    fn truncation_reasons() {
        assert!(FinishReason::MaxTokens.is_truncated());
        assert!(FinishReason::Cancelled.is_truncated());
        assert!(!FinishReason::Stop.is_truncated());
        assert!(!FinishReason::EndOfText.is_truncated());
    }

    #[test]
    fn stats_rates() {
        let s = BackendStats {
            prompt_tokens: 100,
            prompt_ms: 500.0,
            generated_tokens: 10,
            decoded_tokens: 4,
            gen_ms: 0.0,
            ..Default::default()
        };
        assert_eq!(s.prompt_tok_per_s(), 200.0);
        assert_eq!(s.gen_tok_per_s(), 0.0);
        // the rate counts what the model evaluated, not the pieces given
        let s = BackendStats { gen_ms: 100.0, ..s };
        assert_eq!(s.gen_tok_per_s(), 40.0);
    }

    #[test]
    fn whitespace_rule_is_compacted() {
        let g = "root ::= \"{\" space \"}\"\nspace ::= | \" \" | \"\\n\"{1,2} [ \\t]{0,20}\n";
        let c = compact_whitespace(g);
        assert_eq!(c, "root ::= \"{\" space \"}\"\nspace ::= | \" \"\n");
    }

    #[cfg(not(feature = "llama"))]
    #[test]
    fn schema_conversion_needs_llama() {
        let e = grammar_from_json_schema(&serde_json::json!({"type": "string"})).unwrap_err();
        assert!(e.to_string().contains("llama"));
    }
}
