//! Turning sampled tokens into text: UTF-8 reassembly, stop strings, and
//! deciding which text may be streamed yet. Backend-independent so it can be
//! tested without a model.

/// Probability of `token` under softmax(`logits`), computed stably (the
/// largest logit is subtracted first). Non-finite logits count as impossible.
pub fn token_prob(logits: &[f32], token: usize) -> f32 {
    let Some(&chosen) = logits.get(token) else {
        return 0.0;
    };
    if !chosen.is_finite() {
        return 0.0;
    }
    let max = logits
        .iter()
        .copied()
        .filter(|l| l.is_finite())
        .fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits
        .iter()
        .filter(|l| l.is_finite())
        .map(|&l| f64::from(l - max).exp())
        .sum();
    (f64::from(chosen - max).exp() / sum) as f32
}

/// The growing output of one sequence.
#[derive(Debug, Default)]
pub(crate) struct SeqOutput {
    /// Bytes of a character split across tokens, waiting for the rest.
    pending: Vec<u8>,
    pub text: String,
    pub tokens: Vec<String>,
    pub probs: Vec<f32>,
    stops: Vec<String>,
    /// Bytes of `text` already handed to the stream.
    streamed: usize,
    stopped: bool,
    /// Pieces given rather than generated (a prefill).
    given: usize,
}

impl SeqOutput {
    pub fn new(stops: &[String]) -> Self {
        SeqOutput {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            ..Default::default()
        }
    }

    /// Generated tokens so far (a given prefill not counted).
    pub fn len(&self) -> usize {
        self.probs.len() - self.given
    }

    /// Adds text the request gave rather than the model chose (a prefill at
    /// the start, the forced rest of a choice at the end), as one piece of
    /// probability 1. Its bytes complete a character a token left open.
    pub fn give(&mut self, bytes: impl AsRef<[u8]>) {
        let bytes = bytes.as_ref();
        if bytes.is_empty() {
            return;
        }
        self.append(bytes, 1.0);
        self.given += 1;
    }

    /// Appends one token's bytes. Returns true when a stop string now ends the
    /// text (the text is cut before it and nothing more should be generated).
    pub fn push(&mut self, piece: &[u8], prob: f32) -> bool {
        let start = self.append(piece, prob);
        if let Some(cut) = self.find_stop(start) {
            self.text.truncate(cut);
            self.stopped = true;
            self.streamed = self.streamed.min(cut);
        }
        self.stopped
    }

    /// Adds one piece: its bytes (after any left open by the last piece)
    /// decoded as far as they make whole characters, and its probability.
    /// Returns where its text starts.
    fn append(&mut self, bytes: &[u8], prob: f32) -> usize {
        self.pending.extend_from_slice(bytes);
        let decoded = take_utf8(&mut self.pending, false);
        let start = self.text.len();
        self.text.push_str(&decoded);
        self.tokens.push(decoded);
        self.probs.push(prob);
        start
    }

    /// Ends the sequence: bytes of an unfinished character become U+FFFD.
    pub fn finish(&mut self) {
        if self.stopped || self.pending.is_empty() {
            self.pending.clear();
            return;
        }
        let tail = take_utf8(&mut self.pending, true);
        self.text.push_str(&tail);
        if let Some(last) = self.tokens.last_mut() {
            last.push_str(&tail);
        }
    }

    /// Text not yet streamed that can no longer turn into a stop string
    /// (all of it once `finished`). Empty when there is nothing new.
    pub fn take_stream(&mut self, finished: bool) -> &str {
        let end = if finished || self.stopped {
            self.text.len()
        } else {
            self.text.len() - self.stop_prefix_tail()
        };
        let start = self.streamed;
        if end <= start {
            return "";
        }
        self.streamed = end;
        &self.text[start..end]
    }

    /// Earliest start of a stop string that overlaps text from `new_from` on.
    fn find_stop(&self, new_from: usize) -> Option<usize> {
        self.stops
            .iter()
            .filter_map(|stop| {
                let mut from = new_from.saturating_sub(stop.len() - 1);
                while !self.text.is_char_boundary(from) {
                    from -= 1;
                }
                self.text[from..].find(stop.as_str()).map(|i| from + i)
            })
            .min()
    }

    /// Length of the longest tail of the text that is a proper prefix of a
    /// stop string: it must be held back from the stream until resolved.
    fn stop_prefix_tail(&self) -> usize {
        let mut best = 0;
        for stop in &self.stops {
            for k in (1..stop.len()).rev() {
                if k <= best {
                    break;
                }
                if k <= self.text.len()
                    && stop.is_char_boundary(k)
                    && self.text.is_char_boundary(self.text.len() - k)
                    && self.text.ends_with(&stop[..k])
                {
                    best = k;
                    break;
                }
            }
        }
        best
    }
}

/// Takes the valid UTF-8 at the front of `buf`. Invalid bytes become U+FFFD;
/// an incomplete character at the end stays in `buf` unless `flush`.
fn take_utf8(buf: &mut Vec<u8>, flush: bool) -> String {
    let mut out = String::new();
    loop {
        match std::str::from_utf8(buf) {
            Ok(s) => {
                out.push_str(s);
                buf.clear();
                return out;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                out.push_str(std::str::from_utf8(&buf[..valid]).unwrap_or_default());
                match e.error_len() {
                    Some(n) => {
                        out.push('\u{FFFD}');
                        buf.drain(..valid + n);
                    }
                    None if flush => {
                        out.push('\u{FFFD}');
                        buf.clear();
                        return out;
                    }
                    None => {
                        buf.drain(..valid);
                        return out;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prob_matches_softmax() {
        let logits = [1.0f32, 2.0, 3.0];
        let z: f32 = logits.iter().map(|l| l.exp()).sum();
        for (i, l) in logits.iter().enumerate() {
            assert!((token_prob(&logits, i) - l.exp() / z).abs() < 1e-6);
        }
        // Huge logits do not overflow.
        let big = [1000.0f32, 1000.0];
        assert!((token_prob(&big, 0) - 0.5).abs() < 1e-6);
        // -inf entries are impossible, others renormalise.
        let masked = [f32::NEG_INFINITY, 0.0];
        assert_eq!(token_prob(&masked, 0), 0.0);
        assert!((token_prob(&masked, 1) - 1.0).abs() < 1e-6);
        assert_eq!(token_prob(&masked, 5), 0.0);
    }

    #[test]
    fn a_given_prefill_is_text_but_not_a_generated_token() {
        let mut o = SeqOutput::new(&[]);
        o.give("{\"pick\":\"");
        assert_eq!(o.len(), 0);
        assert!(!o.push(b"a", 0.5));
        assert!(!o.push(b"\"}", 0.9));
        assert_eq!(o.len(), 2);
        assert_eq!(o.text, "{\"pick\":\"a\"}");
        assert_eq!(o.tokens.concat(), o.text);
        assert_eq!(o.probs, vec![1.0, 0.5, 0.9]);
        let all = o.text.clone();
        assert_eq!(o.take_stream(false), all);
    }

    #[test]
    fn a_given_rest_completes_the_character_a_token_began() {
        let mut o = SeqOutput::new(&[]);
        let bytes = "甲\"}".as_bytes();
        assert!(!o.push(&bytes[..1], 0.4));
        o.give(&bytes[1..]);
        assert_eq!(o.text, "甲\"}");
        assert_eq!(o.tokens, vec!["", "甲\"}"]);
        assert_eq!((o.len(), o.probs.clone()), (1, vec![0.4, 1.0]));
    }

    #[test]
    fn split_characters_join() {
        let mut o = SeqOutput::new(&[]);
        let bytes = "高血".as_bytes();
        o.push(&bytes[..2], 0.5);
        o.push(&bytes[2..4], 0.5);
        o.push(&bytes[4..], 0.5);
        assert_eq!(o.text, "高血");
        assert_eq!(o.tokens, vec!["", "高", "血"]);
        assert_eq!(o.tokens.concat(), o.text);
        assert_eq!(o.len(), 3);
    }

    #[test]
    fn invalid_and_unfinished_bytes_become_replacement() {
        let mut o = SeqOutput::new(&[]);
        o.push(&[b'a', 0xff, b'b'], 1.0);
        o.push(&[0xe9, 0xab], 1.0);
        o.finish();
        assert_eq!(o.text, "a\u{FFFD}b\u{FFFD}");
        assert_eq!(o.tokens.concat(), o.text);
    }

    #[test]
    fn stop_string_across_tokens_cuts_text() {
        let mut o = SeqOutput::new(&["</a>".to_string()]);
        assert!(!o.push(b"x<", 1.0));
        assert_eq!(o.take_stream(false), "x");
        assert!(!o.push(b"/a", 1.0));
        assert_eq!(o.take_stream(false), "");
        assert!(o.push(b">tail", 1.0));
        assert_eq!(o.text, "x");
        assert_eq!(o.take_stream(true), "");
    }

    #[test]
    fn held_back_text_is_released_when_not_a_stop() {
        let mut o = SeqOutput::new(&["\n\n".to_string()]);
        o.push(b"a\n", 1.0);
        assert_eq!(o.take_stream(false), "a");
        o.push(b"b", 1.0);
        assert_eq!(o.take_stream(false), "\nb");
        o.push(b"\n", 1.0);
        o.finish();
        assert_eq!(o.take_stream(true), "\n");
        assert_eq!(o.text, "a\nb\n");
    }

    #[test]
    fn multibyte_stop_strings() {
        let mut o = SeqOutput::new(&["。".to_string()]);
        let s = "好。".as_bytes();
        assert!(!o.push(&s[..4], 1.0));
        assert!(o.push(&s[4..], 1.0));
        assert_eq!(o.text, "好");
    }
}
