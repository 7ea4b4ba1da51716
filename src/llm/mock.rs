//! A scripted backend for testing the layers above without a model: a
//! closure answers each request, and every call is recorded.
//!
//! Tokens are characters here (one "token" per `char`), each with the
//! probability the script gives, so confidence code can be tested too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::{Backend, BackendStats, Completion, FinishReason, GenRequest};
use crate::error::Result;

/// What the script answers for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptedAnswer {
    /// The text (cut to `max_tokens` characters and at stop strings).
    pub text: String,
    /// Probability given to every character.
    pub prob: f32,
}

impl From<&str> for ScriptedAnswer {
    fn from(text: &str) -> Self {
        ScriptedAnswer {
            text: text.to_string(),
            prob: 0.9,
        }
    }
}

impl From<String> for ScriptedAnswer {
    fn from(text: String) -> Self {
        ScriptedAnswer { text, prob: 0.9 }
    }
}

/// One recorded `generate` call.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    pub prefix: String,
    pub requests: Vec<GenRequest>,
}

type Script = Box<dyn FnMut(&str, &GenRequest) -> ScriptedAnswer + Send>;

/// A [`Backend`] whose answers come from a closure `(prefix, request) -> answer`.
pub struct ScriptedBackend {
    script: Script,
    /// Every call, in order.
    pub calls: Vec<RecordedCall>,
    context: usize,
    stats: BackendStats,
}

impl ScriptedBackend {
    /// A backend answering with `script`.
    pub fn new<A: Into<ScriptedAnswer>>(
        mut script: impl FnMut(&str, &GenRequest) -> A + Send + 'static,
    ) -> Self {
        ScriptedBackend {
            script: Box::new(move |p, r| script(p, r).into()),
            calls: Vec::new(),
            context: 32_768,
            stats: BackendStats::default(),
        }
    }

    /// Sets the context size reported (for truncation logic above).
    pub fn with_context(mut self, tokens: usize) -> Self {
        self.context = tokens;
        self
    }
}

impl Backend for ScriptedBackend {
    fn model_name(&self) -> &str {
        "scripted"
    }

    fn context_size(&self) -> usize {
        self.context
    }

    fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(text.chars().count())
    }

    fn generate(
        &mut self,
        prefix: &str,
        requests: &[GenRequest],
        cancel: &AtomicBool,
        on_token: &mut dyn FnMut(usize, &str),
    ) -> Result<Vec<Completion>> {
        let start = Instant::now();
        self.calls.push(RecordedCall {
            prefix: prefix.to_string(),
            requests: requests.to_vec(),
        });
        self.stats.calls += 1;
        let mut out = Vec::with_capacity(requests.len());
        for (i, req) in requests.iter().enumerate() {
            let prompt = prefix.chars().count() + req.suffix.chars().count();
            self.stats.prompt_tokens += prompt as u64;
            if cancel.load(Ordering::Relaxed) {
                out.push(Completion {
                    prompt_tokens: prompt,
                    truncated: true,
                    finish: FinishReason::Cancelled,
                    ..Default::default()
                });
                continue;
            }
            let answer = (self.script)(prefix, req);
            let mut text = answer.text;
            let mut finish = FinishReason::EndOfText;
            if let Some(cut) = req.stop.iter().filter_map(|s| text.find(s.as_str())).min() {
                text.truncate(cut);
                finish = FinishReason::Stop;
            }
            if text.chars().count() > req.max_tokens {
                text = text.chars().take(req.max_tokens).collect();
                finish = FinishReason::MaxTokens;
            }
            let tokens: Vec<String> = text.chars().map(String::from).collect();
            for t in &tokens {
                on_token(i, t);
            }
            self.stats.generated_tokens += tokens.len() as u64;
            self.stats.decoded_tokens += tokens.len() as u64;
            out.push(Completion {
                token_probs: vec![answer.prob; tokens.len()],
                generated_tokens: tokens.len(),
                tokens,
                text,
                prompt_tokens: prompt,
                cached_tokens: 0,
                elapsed_ms: start.elapsed().as_secs_f64() * 1000.0,
                truncated: finish.is_truncated(),
                finish,
            });
        }
        Ok(out)
    }

    fn stats(&self) -> BackendStats {
        self.stats.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_records_and_streams() {
        let mut b = ScriptedBackend::new(|prefix: &str, r: &GenRequest| {
            format!("{}|{}", prefix.len(), r.suffix)
        });
        let cancel = AtomicBool::new(false);
        let mut streamed = String::new();
        let out = b
            .generate(
                "abc",
                &[GenRequest::new("x"), GenRequest::new("yz").max_tokens(2)],
                &cancel,
                &mut |i, p| {
                    if i == 0 {
                        streamed.push_str(p)
                    }
                },
            )
            .unwrap();
        assert_eq!(out[0].text, "3|x");
        assert_eq!(streamed, "3|x");
        assert_eq!(out[1].text, "3|");
        assert_eq!(out[1].finish, FinishReason::MaxTokens);
        assert_eq!(b.calls.len(), 1);
        assert_eq!(b.calls[0].requests[1].suffix, "yz");
        assert!((out[0].mean_prob() - 0.9).abs() < 1e-6);
    }

    #[test]
    fn cancel_marks_everything() {
        let mut b = ScriptedBackend::new(|_: &str, _: &GenRequest| "never");
        let cancel = AtomicBool::new(true);
        let out = b
            .generate("", &[GenRequest::new("q")], &cancel, &mut |_, _| {})
            .unwrap();
        assert_eq!(out[0].finish, FinishReason::Cancelled);
        assert!(out[0].text.is_empty());
    }
}
