//! Training examples for the agents from coded history: for every question
//! an agent would be asked on a record, the prompt exactly as the agent
//! sends it (the same templates, the same record prompt, the same lists the
//! stages hand the agent) and the answer the gold codes imply, in the
//! format its grammar allows.
//!
//! - standardize: the letter of the offered choice whose names are all gold
//!   codes (none offered → counted as skipped: retrieval missed it);
//! - mine: `y` when the mined procedure's code is gold, else `n`;
//! - prioritize: the number of the gold principal in the list (absent →
//!   skipped);
//! - validate: `y` (keep) when the doubtful item's code is gold, else `n`.
//!
//! Lists are those of retrieval and rules (the agents' own inputs when no
//! learned model is loaded). Records are split into train and validation
//! by a stable hash of their id, so one record's questions never straddle
//! the split.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::evidence::{self, ContextMode};
use super::prompt::{record_prompt, Prompts};
use super::question::Question;
use super::{mine, prioritize, standardize, validate, AgentRole, AgentsConfig};
use crate::pipeline::batch::{code_record, Ablation};
use crate::pipeline::engine::with_quiet_control;
use crate::pipeline::{CodingContext, Engine, Item, Run, StageKind};
use crate::record::{Record, Track};
use crate::Result;

/// One training example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Example {
    pub role: &'static str,
    pub record_id: String,
    /// `train` or `val`.
    pub split: &'static str,
    /// Everything before the answer: record prefix + the role's question.
    pub prompt: String,
    /// Characters of `prompt` that are the record prefix (shared by the
    /// record's questions; a scorer evaluates it once for all of them).
    pub prefix_chars: usize,
    /// The answer JSON, as the grammar allows it.
    pub answer: String,
    /// JSON schema of the answer (the agent's grammar is made from it).
    pub schema: serde_json::Value,
    /// The answer the stage amounts to without the agent (retrieval's pick,
    /// the rules' order, the candidate kept): what a fallback keeps, so a
    /// scorer can tell whether it was right. `None` when that is none of
    /// the offered answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// What one role's export holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RoleStats {
    pub examples: usize,
    pub train: usize,
    pub val: usize,
    /// Questions without a gold answer among the options.
    pub skipped: usize,
    /// Duplicate (prompt, answer) pairs dropped.
    pub duplicates: usize,
    /// Answer value → count (balance).
    pub answers: BTreeMap<String, usize>,
    /// Prompt length in characters (Chinese text runs about 1.4 characters
    /// per Qwen token).
    pub prompt_chars_mean: f64,
    pub prompt_chars_max: usize,
}

/// The export of a set of records.
#[derive(Debug, Default)]
pub struct Export {
    pub examples: Vec<Example>,
    pub stats: BTreeMap<&'static str, RoleStats>,
    pub records: usize,
}

/// Train or validation, by a stable hash of the id (FNV-1a): one record in
/// `1/val_every` goes to validation.
pub fn split_of(id: &str, val_every: u64) -> &'static str {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    if val_every > 0 && h.is_multiple_of(val_every) {
        "val"
    } else {
        "train"
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "y"
    } else {
        "n"
    }
}

/// A question with its gold answer and the answer the stage gives
/// without the agent.
struct Asked {
    question: Question,
    answer: String,
    default: Option<String>,
}

impl Asked {
    fn new(question: Question, answer: String, default: Option<String>) -> Self {
        Asked {
            question,
            answer,
            default,
        }
    }
}

/// Builds examples for the agents over a batch of records with gold.
pub struct Exporter<'a> {
    pub prompts: &'a Prompts,
    pub cfg: &'a AgentsConfig,
    /// Record-prompt budget, counted in characters (no model is loaded).
    pub budget: usize,
    pub val_every: u64,
}

impl Exporter<'_> {
    fn template(&self, role: AgentRole) -> String {
        self.cfg
            .agent(role)
            .and_then(|a| a.template.clone())
            .unwrap_or_else(|| role.default_template().to_string())
    }

    /// Exports every record (engine: stages and rule index, no agents).
    pub fn export(&self, engine: &mut Engine, records: &[Record]) -> Result<Export> {
        let mut out = Export::default();
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        for r in records.iter().filter(|r| !r.gold.is_empty()) {
            out.records += 1;
            let run = with_quiet_control(|c| code_record(engine, r, &Ablation::default(), c))?;
            for (role, asked) in self.record_questions(engine.context(), r, &run) {
                let st = out.stats.entry(role.name()).or_default();
                let Some(Asked {
                    question: q,
                    answer,
                    default,
                }) = asked
                else {
                    st.skipped += 1;
                    continue;
                };
                let shown = match self.cfg.context(role) {
                    ContextMode::Record => r.clone(),
                    ContextMode::Spans => evidence::face_sheet(r),
                };
                let prefix = record_prompt(self.prompts, &shown, self.budget, &|s| {
                    Ok(s.chars().count())
                })?;
                let schema = q.schema.clone();
                let prompt = format!(
                    "{}{}",
                    prefix.text,
                    self.prompts.render(&self.template(role), q.context)?
                );
                // The same question under another record id (a record imported
                // twice) is one example: counted once, and never on both sides
                // of the split.
                if !seen.insert((prompt.replace(r.id.as_str(), ""), answer.clone())) {
                    st.duplicates += 1;
                    continue;
                }
                let split = split_of(&r.id, self.val_every);
                st.examples += 1;
                if split == "val" {
                    st.val += 1;
                } else {
                    st.train += 1;
                }
                *st.answers.entry(answer.clone()).or_default() += 1;
                let n = prompt.chars().count();
                st.prompt_chars_max = st.prompt_chars_max.max(n);
                st.prompt_chars_mean += n as f64;
                out.examples.push(Example {
                    role: role.name(),
                    record_id: r.id.clone(),
                    split,
                    prefix_chars: prefix.text.chars().count(),
                    prompt,
                    answer,
                    schema,
                    default,
                });
            }
        }
        for st in out.stats.values_mut() {
            if st.examples > 0 {
                st.prompt_chars_mean /= st.examples as f64;
            }
        }
        Ok(out)
    }

    /// Every question the agents would be asked on a record, with its gold
    /// answer (`None`: no gold answer among the options).
    fn record_questions(
        &self,
        ctx: &CodingContext,
        r: &Record,
        run: &Run,
    ) -> Vec<(AgentRole, Option<Asked>)> {
        let mut out = Vec::new();
        let k = self.cfg.defaults.candidates;
        for track in Track::ALL {
            let Some(gold) = r.gold.track(track) else {
                continue;
            };
            let term = ctx.matcher(track).terminology();
            let gold: Vec<String> = gold
                .iter()
                .filter_map(|g| term.get(&g.code).map(|e| e.code.clone()))
                .collect();
            let is_gold = |it: &Item| it.code.as_ref().is_some_and(|c| gold.contains(c));
            let items = |kind: StageKind| -> &[Item] {
                run.stage(track, kind)
                    .map(|s| s.items.as_slice())
                    .unwrap_or(&[])
            };

            // standardize: one question per open item
            let role = AgentRole::for_stage(StageKind::Standardize, track).expect("has one");
            if let Some(task) =
                standardize::prepare(ctx, r, track, k, items(StageKind::Standardize))
            {
                let answers = task.gold_letters(ctx, track, &gold);
                let kept = task.kept_letters(ctx, track, items(StageKind::Standardize));
                let mode = self.cfg.context(role);
                let pick = |l: &str| format!("{{\"pick\":\"{l}\"}}");
                for ((q, letter), kept) in task
                    .questions(ctx, track, r, mode)
                    .into_iter()
                    .zip(answers)
                    .zip(kept)
                {
                    let asked = letter.map(|l| Asked::new(q, pick(l), kept.map(pick)));
                    out.push((role, asked));
                }
            }

            // mine: one question per mined candidate
            if track == Track::Procedure {
                let input = items(StageKind::Standardize);
                let mined = items(StageKind::Mine);
                if let Some(task) = mine::Task::new(input.len(), mined) {
                    for (q, it) in task
                        .questions(r, mined, self.cfg.context(AgentRole::MineProcedure))
                        .into_iter()
                        .zip(&mined[input.len()..])
                    {
                        // Without the agent a mined candidate stays.
                        let done = |b| format!("{{\"done\":\"{}\"}}", yes_no(b));
                        let asked = Asked::new(q, done(is_gold(it)), Some(done(true)));
                        out.push((AgentRole::MineProcedure, Some(asked)));
                    }
                }
            }

            // prioritize: the gold principal's number
            let ruled = items(StageKind::Prioritize);
            if let Some(task) = prioritize::Task::new(ruled) {
                let role = AgentRole::for_stage(StageKind::Prioritize, track).expect("has one");
                let pos = gold
                    .first()
                    .and_then(|p| ruled.iter().position(|i| i.code.as_ref() == Some(p)));
                let q = task.question(track, ruled, r, self.cfg.context(role));
                // Without the agent the rules' first item is the principal.
                let principal = |n: usize| format!("{{\"principal\":{n}}}");
                let asked = pos.map(|n| Asked::new(q, principal(n + 1), Some(principal(1))));
                out.push((role, asked));
            }

            // validate: keep the doubtful items that are gold
            let listed = items(StageKind::Validate);
            if let Some(task) = validate::Task::new(listed) {
                let role = AgentRole::for_stage(StageKind::Validate, track).expect("has one");
                for (q, &k) in task
                    .questions(track, listed, r, self.cfg.context(role))
                    .into_iter()
                    .zip(&task.doubtful)
                {
                    // Without the agent an item in doubt stays.
                    let keep = |b| format!("{{\"keep\":\"{}\"}}", yes_no(b));
                    let asked = Asked::new(q, keep(is_gold(&listed[k])), Some(keep(true)));
                    out.push((role, Some(asked)));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_is_stable_and_by_record() {
        assert_eq!(split_of("ZY1", 10), split_of("ZY1", 10));
        let val = (0..1000)
            .filter(|i| split_of(&format!("R{i}"), 10) == "val")
            .count();
        assert!((60..140).contains(&val), "{val}");
        assert_eq!(split_of("anything", 0), "train");
    }
}
