//! An OpenAI-compatible completion server as a [`Backend`] (llama-server,
//! vLLM). Uses the plain `/v1/completions` endpoint with `prompt = prefix +
//! suffix`: the server's own prompt cache then shares the prefix between the
//! parallel requests and across calls.
//!
//! Grammars are sent both as `grammar` (llama-server) and `guided_grammar`
//! (vLLM); each server ignores the other's field. A request's prefill (the
//! answer's forced opening) goes as the end of the prompt when the request
//! lists what may follow it (`choices`, sent as their grammar), so the
//! server spends no decoding step on it; the completion's text still starts
//! with it. Token probabilities come
//! from `logprobs: 1`, read in either the legacy (`tokens` +
//! `token_logprobs`) or the chat-style (`content[]`) shape.
//!
//! The requests of one call run concurrently on plain threads (at most
//! `max_parallel`). Connection failures, 5xx and 429 answers are retried with
//! exponential backoff; a timeout is not (the server is alive but slow, and
//! a retry would double the wait). `on_token` gets each answer whole.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{Backend, BackendStats, Completion, FinishReason, GenRequest};
use crate::error::{Error, Result};

/// Settings for [`OpenAiBackend`].
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiConfig {
    /// Server address, e.g. `http://127.0.0.1:8080` (a trailing `/v1` is fine).
    pub base_url: String,
    /// Model id sent with each request (llama-server ignores it).
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// Limit for one HTTP exchange, seconds.
    pub timeout_s: f64,
    /// Retries after the first attempt, for connection errors, 5xx and 429.
    pub max_retries: u32,
    /// First backoff delay in ms; doubles on each retry (capped at 10 s).
    pub retry_base_ms: u64,
    /// Most requests in flight at once.
    pub max_parallel: usize,
    /// Context size reported by [`Backend::context_size`] (the server's
    /// per-slot context; it cannot be asked in a portable way).
    pub context_size: usize,
}

impl OpenAiConfig {
    /// Defaults: 120 s timeout, 3 retries from 250 ms, 8 parallel, 8,192-token context.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeout_s: 120.0,
            max_retries: 3,
            retry_base_ms: 250,
            max_parallel: 8,
            context_size: 8192,
        }
    }
}

/// An OpenAI-compatible server; see the module docs.
pub struct OpenAiBackend {
    cfg: Arc<OpenAiConfig>,
    agent: ureq::Agent,
    /// Base URL without a trailing `/` or `/v1`.
    root: String,
    stats: BackendStats,
    /// Whether the server has a usable `/tokenize` (unknown until tried).
    tokenize_ok: std::sync::atomic::AtomicU8,
}

/// One parsed server answer.
#[derive(Debug, Default)]
struct Answer {
    text: String,
    finish: FinishReason,
    tokens: Vec<String>,
    probs: Vec<f32>,
    prompt_tokens: Option<usize>,
    completion_tokens: Option<usize>,
    cached_tokens: usize,
    prompt_ms: Option<f64>,
    gen_ms: Option<f64>,
    elapsed_ms: f64,
}

/// Why one request produced no answer.
enum Failure {
    Cancelled,
    Error(Error),
}

impl OpenAiBackend {
    /// A backend for the server at `cfg.base_url`. No request is made yet.
    pub fn new(cfg: OpenAiConfig) -> Result<Self> {
        let mut root = cfg.base_url.trim().trim_end_matches('/').to_string();
        if let Some(stripped) = root.strip_suffix("/v1") {
            root = stripped.to_string();
        }
        if !(root.starts_with("http://") || root.starts_with("https://")) {
            return Err(Error::Model(format!(
                "LLM server URL '{}' must start with http:// or https://",
                cfg.base_url
            )));
        }
        if cfg.timeout_s.is_nan() || cfg.timeout_s <= 0.0 {
            return Err(Error::Model(format!(
                "timeout_s must be positive, got {}",
                cfg.timeout_s
            )));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs_f64(cfg.timeout_s)))
            .http_status_as_error(false)
            // The model server is local: never route it through a proxy
            // from the environment.
            .proxy(None)
            .build();
        Ok(OpenAiBackend {
            agent: config.into(),
            root,
            cfg: Arc::new(cfg),
            stats: BackendStats::default(),
            tokenize_ok: std::sync::atomic::AtomicU8::new(0),
        })
    }

    /// The completions endpoint in use.
    pub fn completions_url(&self) -> String {
        format!("{}/v1/completions", self.root)
    }

    fn request_body(&self, prefix: &str, req: &GenRequest) -> Value {
        // A prefill whose rest is a list of choices is sent as the end of
        // the prompt; the server then generates only the rest, under the
        // choices' grammar.
        let given = given(req);
        let rest;
        let grammar = if given.is_empty() {
            req.grammar.as_deref()
        } else {
            rest = super::choices_grammar(&req.choices);
            Some(rest.as_str())
        };
        let mut body = json!({
            "model": self.cfg.model,
            "prompt": format!("{prefix}{}{given}", req.suffix),
            "max_tokens": req.max_tokens,
            "temperature": req.temperature,
            "logprobs": 1,
            "stream": false,
            // llama-server: reuse the KV cache of the common prompt prefix.
            "cache_prompt": true,
        });
        if !req.stop.is_empty() {
            body["stop"] = json!(req.stop);
        }
        if let Some(g) = grammar.filter(|g| !g.trim().is_empty()) {
            body["grammar"] = json!(g);
            body["guided_grammar"] = json!(g);
        }
        if let Some(seed) = req.seed {
            body["seed"] = json!(seed);
        }
        if let Some(adapter) = &req.adapter {
            // vLLM serves LoRA adapters as models of their own name.
            body["model"] = json!(adapter);
        }
        body
    }
}

impl Backend for OpenAiBackend {
    fn model_name(&self) -> &str {
        &self.cfg.model
    }

    fn context_size(&self) -> usize {
        self.cfg.context_size
    }

    /// Asks the server's `/tokenize` (llama-server and vLLM both have one);
    /// where it is missing, estimates one token per character (an upper
    /// bound for Chinese text, generous for English).
    fn count_tokens(&self, text: &str) -> Result<usize> {
        if self.tokenize_ok.load(Ordering::Relaxed) != 2 {
            let url = format!("{}/tokenize", self.root);
            let body = json!({"content": text, "prompt": text, "model": self.cfg.model});
            let stop = AtomicBool::new(false);
            match post_json(&self.agent, &self.cfg, &url, &body, &stop) {
                Ok(v) => {
                    let n = v["count"]
                        .as_u64()
                        .map(|n| n as usize)
                        .or_else(|| v["tokens"].as_array().map(Vec::len));
                    if let Some(n) = n {
                        self.tokenize_ok.store(1, Ordering::Relaxed);
                        return Ok(n);
                    }
                    self.tokenize_ok.store(2, Ordering::Relaxed);
                }
                Err(Failure::Error(e)) => {
                    if self.tokenize_ok.load(Ordering::Relaxed) == 1 {
                        return Err(e);
                    }
                    tracing::warn!(error = %e, "no usable /tokenize; estimating tokens from characters");
                    self.tokenize_ok.store(2, Ordering::Relaxed);
                }
                Err(Failure::Cancelled) => {}
            }
        }
        Ok(text.chars().count())
    }

    fn generate(
        &mut self,
        prefix: &str,
        requests: &[GenRequest],
        cancel: &AtomicBool,
        on_token: &mut dyn FnMut(usize, &str),
    ) -> Result<Vec<Completion>> {
        self.stats.calls += 1;
        let start = Instant::now();
        let n = requests.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let bodies: Arc<Vec<Value>> = Arc::new(
            requests
                .iter()
                .map(|r| self.request_body(prefix, r))
                .collect(),
        );
        let url = Arc::new(self.completions_url());
        let next = Arc::new(AtomicUsize::new(0));
        // Our own flag: the caller's is borrowed and cannot go to threads that
        // may outlive this call (an in-flight request is left to finish).
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<(usize, std::result::Result<Answer, Failure>)>();
        for _ in 0..self.cfg.max_parallel.clamp(1, n) {
            let (bodies, url, next, stop, tx) = (
                bodies.clone(),
                url.clone(),
                next.clone(),
                stop.clone(),
                tx.clone(),
            );
            let agent = self.agent.clone();
            let cfg = self.cfg.clone();
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() || stop.load(Ordering::Relaxed) {
                    break;
                }
                let t0 = Instant::now();
                let result = post_json(&agent, &cfg, &url, &bodies[i], &stop).and_then(|v| {
                    let mut a = parse_answer(&v).map_err(|e| {
                        Failure::Error(Error::Model(format!("LLM server {url}: {e}")))
                    })?;
                    a.elapsed_ms = t0.elapsed().as_secs_f64() * 1000.0;
                    Ok(a)
                });
                if tx.send((i, result)).is_err() {
                    break;
                }
            });
        }
        drop(tx);

        let mut results: Vec<Option<Completion>> = vec![None; n];
        let mut first_error: Option<Error> = None;
        let mut received = 0;
        while received < n {
            if cancel.load(Ordering::Relaxed) {
                stop.store(true, Ordering::Relaxed);
                break;
            }
            let (i, result) = match rx.recv_timeout(Duration::from_millis(20)) {
                Ok(m) => m,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            received += 1;
            match result {
                Ok(mut a) => {
                    a.give(given(&requests[i]));
                    if !a.text.is_empty() {
                        on_token(i, &a.text);
                    }
                    results[i] = Some(self.record(a, start));
                }
                Err(Failure::Cancelled) => {}
                Err(Failure::Error(e)) => {
                    // The first error fails the call; stop the rest.
                    stop.store(true, Ordering::Relaxed);
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let elapsed = start.elapsed().as_secs_f64() * 1000.0;
        Ok(results
            .into_iter()
            .map(|c| {
                c.unwrap_or_else(|| Completion {
                    elapsed_ms: elapsed,
                    truncated: true,
                    finish: FinishReason::Cancelled,
                    ..Completion::default()
                })
            })
            .collect())
    }

    fn stats(&self) -> BackendStats {
        self.stats.clone()
    }
}

impl OpenAiBackend {
    fn record(&mut self, a: Answer, start: Instant) -> Completion {
        let generated = a.completion_tokens.unwrap_or(a.tokens.len());
        let prompt = a.prompt_tokens.unwrap_or(0);
        self.stats.prompt_tokens += prompt.saturating_sub(a.cached_tokens) as u64;
        self.stats.cached_tokens += a.cached_tokens as u64;
        self.stats.generated_tokens += generated as u64;
        // a server decodes every token it returns
        self.stats.decoded_tokens += generated as u64;
        match (a.prompt_ms, a.gen_ms) {
            (Some(p), Some(g)) => {
                self.stats.prompt_ms += p;
                self.stats.gen_ms += g;
            }
            // Without server timings all of the exchange counts as generation.
            _ => self.stats.gen_ms += a.elapsed_ms,
        }
        Completion {
            text: a.text,
            token_probs: a.probs,
            tokens: a.tokens,
            prompt_tokens: prompt,
            cached_tokens: a.cached_tokens,
            generated_tokens: generated,
            elapsed_ms: start.elapsed().as_secs_f64() * 1000.0,
            truncated: a.finish.is_truncated(),
            finish: a.finish,
        }
    }
}

/// POSTs `body` to `url` with retries; returns the JSON answer.
fn post_json(
    agent: &ureq::Agent,
    cfg: &OpenAiConfig,
    url: &str,
    body: &Value,
    stop: &AtomicBool,
) -> std::result::Result<Value, Failure> {
    let mut attempt = 0u32;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(Failure::Cancelled);
        }
        let mut req = agent.post(url);
        if let Some(key) = &cfg.api_key {
            req = req.header("Authorization", format!("Bearer {key}"));
        }
        let (retry_msg, retry_after) = match req.send_json(body) {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok());
                let text = match resp.body_mut().read_to_string() {
                    Ok(t) => t,
                    Err(ureq::Error::Timeout(_)) => {
                        return Err(Failure::Error(timeout_error(url, cfg)));
                    }
                    Err(e) => {
                        return Err(Failure::Error(Error::Model(format!(
                            "LLM server {url}: cannot read the answer: {e}"
                        ))))
                    }
                };
                if status == 429 || status >= 500 {
                    (
                        format!(
                            "LLM server {url} answered HTTP {status}: {}",
                            excerpt(&text)
                        ),
                        retry_after,
                    )
                } else if status >= 400 {
                    return Err(Failure::Error(Error::Model(format!(
                        "LLM server {url} answered HTTP {status}: {}",
                        excerpt(&text)
                    ))));
                } else {
                    return serde_json::from_str(&text).map_err(|e| {
                        Failure::Error(Error::Model(format!(
                            "LLM server {url} answered non-JSON (HTTP {status}, {e}): {}",
                            excerpt(&text)
                        )))
                    });
                }
            }
            Err(ureq::Error::Timeout(_)) => return Err(Failure::Error(timeout_error(url, cfg))),
            Err(e @ (ureq::Error::BadUri(_) | ureq::Error::Http(_))) => {
                return Err(Failure::Error(Error::Model(format!(
                    "bad LLM server URL {url}: {e}"
                ))))
            }
            Err(e) => (format!("LLM server {url} unreachable: {e}"), None),
        };
        if attempt >= cfg.max_retries {
            let tries = attempt + 1;
            return Err(Failure::Error(Error::Model(format!(
                "{retry_msg} (after {tries} attempt{})",
                if tries == 1 { "" } else { "s" }
            ))));
        }
        let backoff = cfg.retry_base_ms as f64 * 2f64.powi(attempt as i32);
        let wait_ms = retry_after
            .map(|s| (s * 1000.0).min(30_000.0))
            .unwrap_or(backoff.min(10_000.0));
        tracing::warn!(%url, attempt, wait_ms, "{retry_msg}; retrying");
        let until = Instant::now() + Duration::from_secs_f64(wait_ms / 1000.0);
        while Instant::now() < until {
            if stop.load(Ordering::Relaxed) {
                return Err(Failure::Cancelled);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        attempt += 1;
    }
}

fn timeout_error(url: &str, cfg: &OpenAiConfig) -> Error {
    Error::Model(format!(
        "LLM server {url} gave no complete answer within {} s (timeout)",
        cfg.timeout_s
    ))
}

fn excerpt(text: &str) -> String {
    let t = text.trim();
    let cut: String = t.chars().take(200).collect();
    if cut.len() < t.len() {
        format!("{cut}…")
    } else if cut.is_empty() {
        "(empty body)".into()
    } else {
        cut
    }
}

/// The part of `req`'s prefill that goes to the server as prompt text: all
/// of it when the request lists what may follow it (their grammar then
/// constrains the rest), else none.
fn given(req: &GenRequest) -> &str {
    if req.choices.is_empty() {
        ""
    } else {
        &req.prefill
    }
}

impl Answer {
    /// Puts text the request gave (sent as the end of the prompt) in front
    /// of the answer, as one piece of probability 1 that the server did not
    /// generate, so the completion reads as if the server had written it.
    fn give(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.text.insert_str(0, text);
        // Counted before the given piece joins the tokens.
        self.completion_tokens.get_or_insert(self.tokens.len());
        if !self.tokens.is_empty() {
            self.tokens.insert(0, text.to_string());
            self.probs.insert(0, 1.0);
        }
    }
}

/// Reads an OpenAI completions answer (with llama-server or vLLM extras).
fn parse_answer(v: &Value) -> std::result::Result<Answer, String> {
    let choice = v["choices"]
        .get(0)
        .ok_or_else(|| format!("answer has no choices: {}", excerpt(&v.to_string())))?;
    let text = choice["text"]
        .as_str()
        .ok_or_else(|| "answer has no choices[0].text".to_string())?
        .to_string();
    let finish = match choice["finish_reason"].as_str() {
        Some("length") => FinishReason::MaxTokens,
        _ => FinishReason::EndOfText,
    };
    let (tokens, probs) = parse_logprobs(&choice["logprobs"]);
    let usage = &v["usage"];
    let timings = &v["timings"];
    let as_usize = |x: &Value| x.as_u64().map(|n| n as usize);
    Ok(Answer {
        text,
        finish,
        tokens,
        probs,
        prompt_tokens: as_usize(&usage["prompt_tokens"]),
        completion_tokens: as_usize(&usage["completion_tokens"]),
        cached_tokens: as_usize(&usage["prompt_tokens_details"]["cached_tokens"])
            .or_else(|| as_usize(&timings["cache_n"]))
            .unwrap_or(0),
        prompt_ms: timings["prompt_ms"].as_f64(),
        gen_ms: timings["predicted_ms"].as_f64(),
        elapsed_ms: 0.0,
    })
}

/// Token texts and probabilities from either logprobs shape; empty when absent.
fn parse_logprobs(lp: &Value) -> (Vec<String>, Vec<f32>) {
    let prob = |x: &Value| x.as_f64().map_or(0.0, |l| l.exp() as f32);
    if let Some(content) = lp["content"].as_array() {
        return content
            .iter()
            .map(|t| {
                (
                    t["token"].as_str().unwrap_or_default().to_string(),
                    prob(&t["logprob"]),
                )
            })
            .unzip();
    }
    match (lp["tokens"].as_array(), lp["token_logprobs"].as_array()) {
        (Some(toks), Some(lps)) if toks.len() == lps.len() => toks
            .iter()
            .zip(lps)
            .map(|(t, l)| (t.as_str().unwrap_or_default().to_string(), prob(l)))
            .unzip(),
        _ => (Vec::new(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_logprob_shapes() {
        let legacy =
            json!({"tokens": ["a", "b"], "token_logprobs": [0.0, -std::f64::consts::LN_2]});
        let (t, p) = parse_logprobs(&legacy);
        assert_eq!(t, ["a", "b"]);
        assert!((p[1] - 0.5).abs() < 1e-5);
        let chat = json!({"content": [{"token": "x", "logprob": -0.1053605}]});
        let (t, p) = parse_logprobs(&chat);
        assert_eq!(t, ["x"]);
        assert!((p[0] - 0.9).abs() < 1e-5);
        assert_eq!(parse_logprobs(&Value::Null), (vec![], vec![]));
    }

    #[test]
    fn answer_fields() {
        let v = json!({
            "choices": [{"text": "{}", "finish_reason": "length"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 2},
            "timings": {"cache_n": 7, "prompt_ms": 1.5, "predicted_ms": 3.0}
        });
        let a = parse_answer(&v).unwrap();
        assert_eq!(a.text, "{}");
        assert_eq!(a.finish, FinishReason::MaxTokens);
        assert_eq!(a.cached_tokens, 7);
        assert_eq!(a.prompt_tokens, Some(10));
        assert!(parse_answer(&json!({"error": "x"})).is_err());
    }

    #[test]
    fn url_is_normalised_and_checked() {
        let b = OpenAiBackend::new(OpenAiConfig::new("http://h:1/v1/", "m")).unwrap();
        assert_eq!(b.completions_url(), "http://h:1/v1/completions");
        assert!(OpenAiBackend::new(OpenAiConfig::new("h:1", "m")).is_err());
    }

    #[test]
    fn body_carries_grammar_for_both_servers() {
        let b = OpenAiBackend::new(OpenAiConfig::new("http://h:1", "m")).unwrap();
        let body = b.request_body(
            "P",
            &GenRequest::new("S").grammar("root ::= \"a\"").stop("\n"),
        );
        assert_eq!(body["prompt"], "PS");
        assert_eq!(body["grammar"], body["guided_grammar"]);
        assert_eq!(body["stop"][0], "\n");
        assert_eq!(body["logprobs"], 1);
    }
}
