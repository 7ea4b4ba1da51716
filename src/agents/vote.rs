//! Voting over sampled answers.
//!
//! With `votes = N` an agent's question is asked N times at the agent's
//! temperature, as parallel sequences over the shared prefix. The answers
//! are compared by their JSON value; the most frequent wins, and the share
//! of samples behind it scales the winner's token probabilities, so the
//! item's confidence says both how sure the model was and how often it
//! said so. A tie at the top, or a majority under the configured minimum,
//! decides nothing: the question keeps the retrieval/learned choice.

use crate::llm::Completion;

/// The outcome of one question's samples.
#[derive(Debug, Clone)]
pub struct Tally {
    /// The winning sample (probabilities scaled by the agreement), or
    /// `None` when the samples did not agree enough.
    pub answer: Option<Completion>,
    /// Share of the samples giving the most frequent answer.
    pub agreement: f32,
    /// Each distinct answer with its count, most frequent first.
    pub counts: Vec<(String, usize)>,
}

impl Tally {
    /// One line for the trace: `{"keep":"y"}×2 {"keep":"n"}×1`.
    pub fn describe(&self) -> String {
        self.counts
            .iter()
            .map(|(a, n)| format!("{a}×{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The answer as a comparable value: its JSON re-serialized (so spacing and
/// key order do not split votes), else its trimmed text.
fn canonical(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| text.trim().to_string())
}

/// Counts the samples of one question.
pub fn tally(samples: &[Completion], min_agreement: f32) -> Tally {
    let mut counts: Vec<(String, usize, f32)> = Vec::new();
    for s in samples {
        let key = canonical(&s.text);
        match counts.iter_mut().find(|(k, _, _)| *k == key) {
            Some(c) => {
                c.1 += 1;
                c.2 += s.mean_prob();
            }
            None => counts.push((key, 1, s.mean_prob())),
        }
    }
    // most frequent first; among equals the more probable
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.total_cmp(&a.2)));
    let n = samples.len().max(1);
    let top = counts.first().map(|c| c.1).unwrap_or(0);
    let agreement = top as f32 / n as f32;
    let tied = counts.get(1).is_some_and(|c| c.1 == top);
    let answer = (!counts.is_empty() && !tied && agreement >= min_agreement)
        .then(|| {
            samples
                .iter()
                .filter(|s| canonical(&s.text) == counts[0].0)
                .max_by(|a, b| a.mean_prob().total_cmp(&b.mean_prob()))
                .cloned()
        })
        .flatten()
        .map(|mut c| {
            if samples.len() > 1 {
                for p in &mut c.token_probs {
                    *p *= agreement;
                }
            }
            c
        });
    Tally {
        answer,
        agreement,
        counts: counts.into_iter().map(|(k, n, _)| (k, n)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str, p: f32) -> Completion {
        Completion {
            text: text.to_string(),
            token_probs: vec![p],
            tokens: vec![text.to_string()],
            ..Default::default()
        }
    }

    #[test]
    fn the_majority_wins_and_its_share_scales_the_confidence() {
        let s = [
            sample(r#"{"keep":"y"}"#, 0.9),
            sample(r#"{ "keep": "y" }"#, 0.8),
            sample(r#"{"keep":"n"}"#, 0.99),
        ];
        let t = tally(&s, 0.5);
        let a = t.answer.clone().expect("two of three agree");
        assert_eq!(a.text, r#"{"keep":"y"}"#);
        assert!((a.token_probs[0] - 0.9 * 2.0 / 3.0).abs() < 1e-6);
        assert!((t.agreement - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(t.describe(), r#"{"keep":"y"}×2 {"keep":"n"}×1"#);
    }

    #[test]
    fn ties_and_weak_majorities_decide_nothing() {
        let tie = [
            sample(r#"{"pick":"a"}"#, 0.9),
            sample(r#"{"pick":"b"}"#, 0.9),
        ];
        assert!(tally(&tie, 0.5).answer.is_none());
        let spread = [
            sample(r#"{"pick":"a"}"#, 0.9),
            sample(r#"{"pick":"a"}"#, 0.9),
            sample(r#"{"pick":"b"}"#, 0.9),
            sample(r#"{"pick":"c"}"#, 0.9),
            sample(r#"{"pick":"d"}"#, 0.9),
        ];
        let t = tally(&spread, 0.5);
        assert!(t.answer.is_none(), "2 of 5 is under half");
        assert!(tally(&spread, 0.4).answer.is_some());
    }

    #[test]
    fn one_sample_is_its_own_answer_unscaled() {
        let t = tally(&[sample(r#"{"done":"n"}"#, 0.7)], 0.5);
        assert_eq!(t.answer.unwrap().token_probs, vec![0.7]);
        assert_eq!(t.agreement, 1.0);
    }
}
