//! Scores an agent on exported examples (`icdflow sft export`): each
//! example's prompt is put to the model exactly as the agent puts it (the
//! role's grammar, token budget, temperature and adapter) and the answer is
//! compared with the gold answer. This measures one role in isolation, on a
//! held-out split, before and after an adapter — much cheaper than coding
//! whole records, and free of the other stages' errors.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{AgentRole, Agents};
use crate::error::Location;
use crate::llm::GenRequest;
use crate::{Error, Result};

/// One exported example, as read back.
#[derive(Debug, Clone, Deserialize)]
pub struct ExampleRow {
    pub role: String,
    pub record_id: String,
    pub split: String,
    pub prompt: String,
    pub prefix_chars: usize,
    pub answer: String,
    pub schema: serde_json::Value,
    /// What the stage answers without the agent (exports before this field
    /// lack it).
    #[serde(default)]
    pub default: Option<String>,
}

/// Reads an example file, naming the file and line of a bad row.
pub fn read_examples(path: &Path) -> Result<Vec<ExampleRow>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = || Location::file(path).record(format!("line {}", i + 1));
        let row: ExampleRow = serde_json::from_str(&line)
            .map_err(|e| Error::invalid(at(), format!("not an exported example ({e})")))?;
        if row.prefix_chars > row.prompt.chars().count() {
            return Err(Error::invalid(
                at().field("prefix_chars"),
                "longer than the prompt",
            ));
        }
        out.push(row);
    }
    Ok(out)
}

/// Byte offset of character `n` (the end when the text is shorter).
fn byte_at(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(b, _)| b)
}

/// How an agent did on a set of examples.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Score {
    pub examples: usize,
    pub correct: usize,
    /// Answers that were not JSON or were cut short.
    pub unparsable: usize,
    /// Questions whose `votes` samples did not agree enough: the agent
    /// keeps the retrieval/rules choice (not counted in `correct`).
    pub fallbacks: usize,
    /// Fallbacks whose kept retrieval/rules choice was the gold answer.
    pub fallbacks_correct: usize,
    /// Examples that say what the stage answers without the agent, and
    /// how many of those answers are gold: the no-agent baseline on the
    /// same questions.
    pub with_default: usize,
    pub default_correct: usize,
    /// Samples per question (the role's `votes`).
    pub votes: usize,
    /// Gold answer → (examples, correct).
    pub by_answer: BTreeMap<String, (usize, usize)>,
    /// Share of the most frequent gold answer: what always answering it
    /// would score.
    pub majority_share: f64,
    pub prompt_tokens: u64,
    pub seconds: f64,
}

impl Score {
    /// The agent's own answers that were right.
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct, self.examples)
    }

    /// What the stage gets right with the agent in place: its answers,
    /// plus the retrieval/rules choices it kept when the votes disagreed.
    pub fn stage_accuracy(&self) -> f64 {
        ratio(self.correct + self.fallbacks_correct, self.examples)
    }

    /// What the stage gets right without the agent, on the examples that
    /// say what that is (`None` when none does: an older export, or a
    /// stage whose own answer is never one of the offered options).
    pub fn default_accuracy(&self) -> Option<f64> {
        (self.with_default > 0).then(|| ratio(self.default_correct, self.with_default))
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The answer JSON compared by value (key order and spacing do not matter).
fn same_answer(got: &str, gold: &str) -> Option<bool> {
    let got: serde_json::Value = serde_json::from_str(got.trim()).ok()?;
    let gold: serde_json::Value = serde_json::from_str(gold.trim()).ok()?;
    Some(got == gold)
}

impl Agents {
    /// Puts every example to the model as its role's agent would and scores
    /// the answers. Examples of one record that share a prefix go in one
    /// batch, the prefix evaluated once. `on_done(done, total)` reports
    /// progress.
    pub fn score_examples(
        &mut self,
        rows: &[ExampleRow],
        cancel: &AtomicBool,
        on_done: &mut dyn FnMut(usize, usize),
    ) -> Result<Score> {
        let t0 = Instant::now();
        let tokens0 = self.backend.stats().prompt_tokens;
        let mut score = Score::default();
        let mut i = 0;
        while i < rows.len() {
            let prefix = &rows[i].prompt[..byte_at(&rows[i].prompt, rows[i].prefix_chars)];
            let votes = self.example_votes(&rows[i])?;
            score.votes = score.votes.max(votes);
            let mut j = i;
            let mut requests = Vec::new();
            while j < rows.len()
                && rows[j].prompt.starts_with(prefix)
                && rows[j].role == rows[i].role
            {
                let req = self.example_request(&rows[j], prefix.len())?;
                requests.extend(std::iter::repeat_n(req, votes));
                j += 1;
            }
            let answers = self
                .backend
                .generate(prefix, &requests, cancel, &mut |_, _| {})?;
            let min_agreement = self.cfg.defaults.min_agreement;
            for (row, samples) in rows[i..j].iter().zip(answers.chunks(votes)) {
                let entry = score.by_answer.entry(row.answer.clone()).or_default();
                entry.0 += 1;
                score.examples += 1;
                let default_right = row
                    .default
                    .as_deref()
                    .is_some_and(|d| same_answer(d, &row.answer) == Some(true));
                score.with_default += row.default.is_some() as usize;
                score.default_correct += default_right as usize;
                let c = if votes == 1 {
                    samples[0].clone()
                } else {
                    match super::vote::tally(samples, min_agreement).answer {
                        Some(c) => c,
                        None => {
                            score.fallbacks += 1;
                            score.fallbacks_correct += default_right as usize;
                            continue;
                        }
                    }
                };
                match same_answer(&c.text, &row.answer) {
                    Some(true) if !c.finish.is_truncated() => {
                        entry.1 += 1;
                        score.correct += 1;
                    }
                    Some(_) => {}
                    None => score.unparsable += 1,
                }
            }
            i = j;
            on_done(i, rows.len());
        }
        if let Some(most) = score.by_answer.values().map(|v| v.0).max() {
            score.majority_share = most as f64 / score.examples.max(1) as f64;
        }
        score.prompt_tokens = self.backend.stats().prompt_tokens - tokens0;
        score.seconds = t0.elapsed().as_secs_f64();
        Ok(score)
    }

    fn example_votes(&self, row: &ExampleRow) -> Result<usize> {
        Ok(self.cfg.votes(self.example_role(row)?).max(1))
    }

    fn example_role(&self, row: &ExampleRow) -> Result<AgentRole> {
        AgentRole::parse(&row.role).ok_or_else(|| {
            Error::invalid(
                Location::default().record(&row.record_id).field("role"),
                format!("unknown agent role `{}`", row.role),
            )
        })
    }

    /// The request the role's agent would send for this example's question.
    fn example_request(&self, row: &ExampleRow, prefix_bytes: usize) -> Result<GenRequest> {
        Ok(self.role_request(
            self.example_role(row)?,
            row.prompt[prefix_bytes..].to_string(),
            crate::llm::grammar_from_json_schema(&row.schema)?,
            &row.schema,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::prompt::Prompts;
    use crate::agents::AgentsConfig;
    use crate::llm::mock::ScriptedBackend;

    /// Votes that never agree fall back to the rules' choice; the score
    /// counts whether what was kept was right, and the no-agent baseline.
    #[test]
    fn fallbacks_count_the_kept_choice_and_the_baseline() {
        let mut cfg = AgentsConfig::for_model("unused.gguf".into(), ".".into());
        cfg.defaults.votes = 3;
        let mut n = 0;
        // three samples, three different answers: never a majority
        let script = move |_: &str, _: &GenRequest| {
            n += 1;
            format!("{{\"principal\":{}}}", n % 3 + 1)
        };
        let mut agents = Agents::new(
            Box::new(ScriptedBackend::new(script)),
            cfg,
            Prompts::load(None).unwrap(),
        );
        let row = |id: &str, gold: usize| ExampleRow {
            role: "prioritize_diagnosis".into(),
            record_id: id.into(),
            split: "val".into(),
            prompt: format!("record {id}|question"),
            prefix_chars: 9,
            answer: format!("{{\"principal\":{gold}}}"),
            schema: serde_json::json!({
                "type": "object",
                "properties": {"principal": {"type": "integer"}},
                "required": ["principal"]
            }),
            default: Some("{\"principal\": 1}".into()),
        };
        let rows = [row("r1", 1), row("r2", 2)];
        let s = agents
            .score_examples(&rows, &AtomicBool::new(false), &mut |_, _| {})
            .unwrap();
        assert_eq!((s.examples, s.votes, s.correct), (2, 3, 0));
        assert_eq!((s.fallbacks, s.fallbacks_correct), (2, 1));
        assert_eq!(s.stage_accuracy(), 0.5);
        assert_eq!(s.default_accuracy(), Some(0.5));
    }

    #[test]
    fn answers_compare_as_json_values() {
        assert_eq!(
            same_answer("{\"principal\": 2}", "{\"principal\":2}"),
            Some(true)
        );
        assert_eq!(
            same_answer("{\"principal\":1}", "{\"principal\":2}"),
            Some(false)
        );
        assert_eq!(same_answer("{\"princ", "{\"principal\":2}"), None);
    }

    #[test]
    fn a_row_whose_prefix_overruns_its_prompt_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        std::fs::write(
            &p,
            "{\"role\":\"mine_procedure\",\"record_id\":\"r\",\"split\":\"val\",\"prompt\":\"ab\",\"prefix_chars\":1,\"answer\":\"{}\",\"schema\":{}}\n\
             {\"role\":\"mine_procedure\",\"record_id\":\"r\",\"split\":\"val\",\"prompt\":\"ab\",\"prefix_chars\":9,\"answer\":\"{}\",\"schema\":{}}\n",
        )
        .unwrap();
        let e = read_examples(&p).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        assert!(e.contains("x.jsonl"), "{e}");
    }
}
