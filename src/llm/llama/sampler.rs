//! Choosing the next token of one sequence: greedy or temperature sampling,
//! optionally constrained by a GBNF grammar.
//!
//! The grammar is kept out of the sampling chain on purpose. llama.cpp's
//! `llama_sampler_sample` already accepts the token into every sampler of the
//! chain; accepting it again aborts the process (`GGML_ASSERT(!stacks.empty())`)
//! once a grammar is in the chain. Here the token is chosen by applying
//! samplers to a candidate array, and the grammar accepts it exactly once.
//!
//! Checking the grammar on all 150k candidates costs more than the rest of a
//! step on a small model, so the token is first chosen without the grammar
//! and kept if the grammar allows it; only otherwise is the grammar applied to
//! every candidate (the same shortcut llama.cpp's own sampler uses).

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;

use crate::error::{Error, Result};
use crate::llm::GenRequest;

pub(super) struct SeqSampler {
    grammar: Option<LlamaSampler>,
    /// `None` = greedy.
    chain: Option<LlamaSampler>,
}

impl SeqSampler {
    /// Builds the sampler for `req`; an invalid grammar is an error here,
    /// before any work is done.
    pub fn new(model: &LlamaModel, req: &GenRequest, seed: u32, index: usize) -> Result<Self> {
        let grammar = match &req.grammar {
            Some(g) if !g.trim().is_empty() => {
                Some(LlamaSampler::grammar(model, g, "root").map_err(|e| {
                    Error::Model(format!("request {index}: invalid GBNF grammar ({e})"))
                })?)
            }
            _ => None,
        };
        let chain = (req.temperature > 0.0).then(|| {
            LlamaSampler::chain_simple([
                LlamaSampler::temp(req.temperature),
                LlamaSampler::dist(seed),
            ])
        });
        Ok(SeqSampler { grammar, chain })
    }

    /// Advances the grammar over tokens the request gave (a prefill read as
    /// prompt): the answer then goes on from where they end.
    pub fn accept_given(&mut self, tokens: &[LlamaToken], index: usize) -> Result<()> {
        if let Some(grammar) = &mut self.grammar {
            for &t in tokens {
                grammar.try_accept(t).map_err(|e| {
                    Error::Model(format!(
                        "request {index}: its prefill does not fit its grammar ({e})"
                    ))
                })?;
            }
        }
        Ok(())
    }

    /// Chooses the next token from one row of logits and advances the grammar.
    pub fn pick(&mut self, logits: &[f32]) -> Result<LlamaToken> {
        let first = self.choose(logits, false)?;
        let token = match &mut self.grammar {
            None => first,
            Some(grammar) => {
                let mut one = LlamaTokenDataArray::new(
                    vec![LlamaTokenData::new(first, logits[first.0 as usize], 0.0)],
                    false,
                );
                grammar.apply(&mut one);
                if one.data[0].logit().is_finite() {
                    first
                } else {
                    self.choose(logits, true)?
                }
            }
        };
        if let Some(grammar) = &mut self.grammar {
            grammar
                .try_accept(token)
                .map_err(|e| Error::Model(format!("grammar rejected token {}: {e}", token.0)))?;
        }
        Ok(token)
    }

    fn choose(&mut self, logits: &[f32], constrained: bool) -> Result<LlamaToken> {
        let grammar = if constrained {
            self.grammar.as_mut()
        } else {
            None
        };
        match (grammar, &mut self.chain) {
            (None, None) => argmax(logits.iter().copied())
                .map(|i| LlamaToken(i as i32))
                .ok_or_else(|| Error::Model("no finite logits".into())),
            (Some(g), None) => greedy_allowed(g, logits)
                .ok_or_else(|| Error::Model("the grammar allows no next token".into())),
            (grammar, Some(chain)) => {
                let mut arr = candidates(logits, 0..logits.len());
                if let Some(g) = grammar {
                    g.apply(&mut arr);
                    if arr.data.iter().all(|d| !d.logit().is_finite()) {
                        return Err(Error::Model("the grammar allows no next token".into()));
                    }
                }
                chain.apply(&mut arr);
                arr.selected_token()
                    .ok_or_else(|| Error::Model("sampler selected no token".into()))
            }
        }
    }
}

fn candidates(logits: &[f32], ids: impl Iterator<Item = usize>) -> LlamaTokenDataArray {
    LlamaTokenDataArray::from_iter(
        ids.map(|i| LlamaTokenData::new(LlamaToken(i as i32), logits[i], 0.0)),
        false,
    )
}

/// The most likely token the grammar allows. Candidates are checked in
/// widening bands of the highest logits (64, 2,048, then all), so the usual
/// case never runs the grammar over the whole vocabulary; the first allowed
/// token in logit order is exactly the greedy choice.
fn greedy_allowed(grammar: &mut LlamaSampler, logits: &[f32]) -> Option<LlamaToken> {
    let n = logits.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    let desc = |a: &u32, b: &u32| logits[*b as usize].total_cmp(&logits[*a as usize]);
    let mut done = 0;
    for band in [64, 2048, n] {
        let end = band.min(n);
        if end <= done {
            continue;
        }
        let rest = &mut order[done..];
        let m = end - done;
        if m < rest.len() {
            rest.select_nth_unstable_by(m, desc);
        }
        rest[..m].sort_unstable_by(desc);
        let mut arr = candidates(logits, rest[..m].iter().map(|&i| i as usize));
        grammar.apply(&mut arr);
        if let Some(d) = arr.data.iter().find(|d| d.logit().is_finite()) {
            return Some(d.id());
        }
        done = end;
    }
    None
}

/// Index of the largest finite value (first one on ties).
fn argmax(values: impl Iterator<Item = f32>) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, v) in values.enumerate() {
        if v.is_finite() && best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::argmax;

    #[test]
    fn argmax_skips_non_finite() {
        assert_eq!(argmax([1.0, f32::INFINITY, 3.0, 3.0].into_iter()), Some(2));
        assert_eq!(argmax([f32::NEG_INFINITY].into_iter()), None);
    }
}
