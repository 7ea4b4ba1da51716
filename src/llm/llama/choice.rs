//! Answering from a list of choices without running a grammar: the greedy
//! answer is read off the model's logits over the tokens that can begin
//! (what is left of) a choice, and decoding stops as soon as one choice
//! remains. A letter or yes/no answer thus costs the prompt and no decoding
//! step: with the grammar, the same answer took a step for its letter and
//! one for the closing `"}` only to learn that the end came next.
//!
//! Which tokens count: those whose text, after what is chosen so far, is
//! still the beginning of some choice — the same test a grammar of the
//! choices makes, so the greedy answer is the one constrained decoding
//! would give.

use std::collections::HashMap;

use llama_cpp_2::token::LlamaToken;

/// Tokens by their text, for finding every token that spells a given
/// beginning of a choice. Tokens with no text of their own (control and
/// end-of-generation tokens) are left out: no choice is spelled with them.
pub(super) struct PieceIndex {
    by_piece: HashMap<Vec<u8>, Vec<LlamaToken>>,
}

impl PieceIndex {
    pub fn new(pieces: impl IntoIterator<Item = (LlamaToken, Vec<u8>)>) -> Self {
        let mut by_piece: HashMap<Vec<u8>, Vec<LlamaToken>> = HashMap::new();
        for (token, piece) in pieces {
            if !piece.is_empty() {
                by_piece.entry(piece).or_default().push(token);
            }
        }
        PieceIndex { by_piece }
    }

    fn tokens(&self, piece: &[u8]) -> &[LlamaToken] {
        self.by_piece.get(piece).map_or(&[], Vec::as_slice)
    }
}

/// Where a choice answer stands after a token.
#[derive(Debug, PartialEq)]
pub(super) enum Step {
    /// More than one choice can still follow: decode the token and pick again.
    Open,
    /// One choice is left; these are its remaining bytes (given, not decoded).
    Settled(Vec<u8>),
}

/// One request answered from its choices.
pub(super) struct ChoiceRun {
    /// The choices what is chosen so far still begins.
    open: Vec<Vec<u8>>,
    chosen: Vec<u8>,
}

impl ChoiceRun {
    pub fn new(choices: &[String]) -> Self {
        ChoiceRun {
            open: choices.iter().map(|c| c.as_bytes().to_vec()).collect(),
            chosen: Vec::new(),
        }
    }

    /// The token of highest logit among those that go on some open choice
    /// (the lowest id on a tie), with its text. `None` when no token of the
    /// vocabulary spells any beginning of an open choice.
    pub fn pick(&self, logits: &[f32], index: &PieceIndex) -> Option<(LlamaToken, Vec<u8>)> {
        let mut best: Option<(LlamaToken, f32, &[u8])> = None;
        for choice in &self.open {
            let rest = &choice[self.chosen.len()..];
            for end in 1..=rest.len() {
                let piece = &rest[..end];
                for &token in index.tokens(piece) {
                    let Some(&logit) = logits.get(token.0 as usize) else {
                        continue;
                    };
                    if !logit.is_finite() {
                        continue;
                    }
                    let better = match best {
                        None => true,
                        Some((t, l, _)) => logit > l || (logit == l && token.0 < t.0),
                    };
                    if better {
                        best = Some((token, logit, piece));
                    }
                }
            }
        }
        best.map(|(token, _, piece)| (token, piece.to_vec()))
    }

    /// Takes a token's text as chosen (it must come from [`ChoiceRun::pick`]).
    pub fn accept(&mut self, piece: &[u8]) -> Step {
        self.chosen.extend_from_slice(piece);
        let chosen = &self.chosen;
        self.open.retain(|c| c.starts_with(chosen));
        match self.open.as_slice() {
            [one] => Step::Settled(one[self.chosen.len()..].to_vec()),
            _ => Step::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vocabulary of ten tokens: 0 `a`, 1 `b`, 2 `a"`, 3 `"}`, 4 `1`,
    /// 5 `0`, 6 `}`, 7 `x`, 8 (no text), 9 `b"}`.
    fn index() -> PieceIndex {
        let pieces = ["a", "b", "a\"", "\"}", "1", "0", "}", "x", "", "b\"}"];
        PieceIndex::new(
            pieces
                .iter()
                .enumerate()
                .map(|(i, p)| (LlamaToken(i as i32), p.as_bytes().to_vec())),
        )
    }

    fn logits(high: &[(usize, f32)]) -> Vec<f32> {
        let mut l = vec![0.0; 10];
        for &(i, v) in high {
            l[i] = v;
        }
        l
    }

    #[test]
    fn a_letter_settles_its_choice_in_one_pick() {
        let idx = index();
        let mut run = ChoiceRun::new(&["a\"}".into(), "b\"}".into()]);
        // `x` has the highest logit but begins no choice; `a"` beats `a`.
        let (tok, piece) = run
            .pick(&logits(&[(7, 9.0), (0, 2.0), (2, 3.0), (1, 2.5)]), &idx)
            .unwrap();
        assert_eq!((tok, piece.as_slice()), (LlamaToken(2), b"a\"".as_slice()));
        assert_eq!(run.accept(&piece), Step::Settled(b"}".to_vec()));
    }

    #[test]
    fn a_token_spelling_a_whole_choice_counts_for_it() {
        let idx = index();
        let run = ChoiceRun::new(&["a\"}".into(), "b\"}".into()]);
        let (tok, _) = run.pick(&logits(&[(0, 2.0), (9, 4.0)]), &idx).unwrap();
        assert_eq!(tok, LlamaToken(9));
    }

    #[test]
    fn a_shared_beginning_needs_another_pick() {
        let idx = index();
        let mut run = ChoiceRun::new(&["1}".into(), "10}".into(), "2}".into()]);
        let (_, piece) = run.pick(&logits(&[(4, 5.0)]), &idx).unwrap();
        assert_eq!(piece, b"1");
        assert_eq!(run.accept(&piece), Step::Open);
        // Next: `}` (answer 1) against `0` (answer 10); `1` no longer fits.
        let (tok, piece) = run
            .pick(&logits(&[(4, 9.0), (5, 3.0), (6, 1.0)]), &idx)
            .unwrap();
        assert_eq!(tok, LlamaToken(5));
        assert_eq!(run.accept(&piece), Step::Settled(b"}".to_vec()));
    }

    #[test]
    fn no_spelling_token_means_no_pick() {
        let idx = index();
        let run = ChoiceRun::new(&["z\"}".into()]);
        assert!(run.pick(&logits(&[]), &idx).is_none());
        // Non-finite logits are never picked.
        let run = ChoiceRun::new(&["a\"}".into()]);
        let mut l = logits(&[]);
        l[0] = f32::NEG_INFINITY;
        l[2] = f32::NAN;
        assert!(run.pick(&l, &idx).is_none());
    }
}
