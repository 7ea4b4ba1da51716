//! Prompt templates (minijinja files a developer or trainer edits without
//! rebuilding) and the record prompt shared by every agent call.
//!
//! Every call of a record starts with the same text — system message plus
//! the record — so the backend reads it once and keeps it in its KV cache;
//! each agent only appends its own task. The record part follows a stated
//! truncation policy when it would not fit the context.
//!
//! The task texts stay after the record, although the system message is
//! cached from one record to the next: moved there (the four tasks defined
//! once, each question naming its task) they cut the prompt tokens read per
//! record by 10% on 10 CCL25 dev records, but every token then attends to
//! a longer context, and prompts were read about as much slower (wall time
//! 0.98 of before in alternating runs on 2 cores), while a fifth of the
//! untuned model's answers changed.

use std::path::{Path, PathBuf};

use minijinja::Environment;
use serde::Serialize;

use crate::error::Error;
use crate::record::{fields, Record};
use crate::Result;

/// The shipped templates, used when no prompts directory overrides them.
const DEFAULTS: [(&str, &str); 5] = [
    ("record.j2", include_str!("../../models/prompts/record.j2")),
    (
        "standardize.j2",
        include_str!("../../models/prompts/standardize.j2"),
    ),
    ("mine.j2", include_str!("../../models/prompts/mine.j2")),
    (
        "prioritize.j2",
        include_str!("../../models/prompts/prioritize.j2"),
    ),
    (
        "validate.j2",
        include_str!("../../models/prompts/validate.j2"),
    ),
];

/// Sections kept whole by the truncation policy.
const KEEP_WHOLE: [&str; 3] = [
    fields::DISCHARGE_DIAGNOSIS,
    fields::PROCEDURE_NAMES,
    fields::ADMISSION_DIAGNOSIS,
];

/// Loaded templates.
pub struct Prompts {
    env: Environment<'static>,
    /// Where templates were read from (for the trace), or `None` for built-ins.
    pub dir: Option<PathBuf>,
}

impl Prompts {
    /// Loads templates from `dir` where a file exists, the built-in otherwise.
    pub fn load(dir: Option<&Path>) -> Result<Prompts> {
        let mut env = Environment::new();
        env.set_trim_blocks(false);
        for (name, builtin) in DEFAULTS {
            let text = match dir.map(|d| d.join(name)) {
                Some(p) if p.is_file() => {
                    std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?
                }
                _ => builtin.to_string(),
            };
            env.add_template_owned(name.to_string(), text)
                .map_err(|e| Error::Other(format!("prompt template {name}: {e}")))?;
        }
        Ok(Prompts {
            env,
            dir: dir.map(Path::to_path_buf),
        })
    }

    /// Renders a template with a serializable context.
    pub fn render<S: Serialize>(&self, name: &str, ctx: S) -> Result<String> {
        let t = self
            .env
            .get_template(name)
            .map_err(|e| Error::Other(format!("prompt template {name}: {e}")))?;
        t.render(ctx)
            .map_err(|e| Error::Other(format!("prompt template {name}: {e}")))
    }
}

#[derive(Serialize)]
struct SectionView<'a> {
    name: &'a str,
    text: String,
}

/// The record prompt and what truncation did to it.
#[derive(Debug, Clone)]
pub struct RecordPrompt {
    pub text: String,
    pub tokens: usize,
    /// Sections cut, with characters kept of the original.
    pub cut: Vec<(String, usize, usize)>,
}

/// Renders the record prompt within `budget` tokens.
///
/// Policy: the diagnosis and procedure fields are never cut. While the prompt
/// is too long, the longest other section loses half its remaining text (from
/// its end, marked `…`), down to 40 characters; then everything is cut to fit.
pub fn record_prompt(
    prompts: &Prompts,
    record: &Record,
    budget: usize,
    count: &dyn Fn(&str) -> Result<usize>,
) -> Result<RecordPrompt> {
    let mut keep: Vec<usize> = record
        .sections
        .iter()
        .map(|s| s.text.chars().count())
        .collect();
    let render = |keep: &[usize]| -> Result<String> {
        let sections: Vec<SectionView> = record
            .sections
            .iter()
            .zip(keep)
            .filter(|(s, _)| !s.text.trim().is_empty())
            .map(|(s, &k)| {
                let total = s.text.chars().count();
                let text = if k < total {
                    format!("{}…", crate::text::truncate_chars(&s.text, k))
                } else {
                    s.text.clone()
                };
                SectionView {
                    name: &s.name,
                    text,
                }
            })
            .collect();
        prompts.render(
            "record.j2",
            minijinja::context! { record_id => record.id, sections => sections },
        )
    };
    let mut text = render(&keep)?;
    let mut tokens = count(&text)?;
    let mut rounds = 0;
    while tokens > budget && rounds < 64 {
        rounds += 1;
        let longest = record
            .sections
            .iter()
            .enumerate()
            .filter(|(i, s)| !KEEP_WHOLE.contains(&s.name.as_str()) && keep[*i] > 40)
            .max_by_key(|(i, _)| keep[*i])
            .map(|(i, _)| i);
        match longest {
            Some(i) => keep[i] = (keep[i] / 2).max(40),
            None => {
                // Nothing left to shorten politely: cut every section.
                let mut any = false;
                for k in keep.iter_mut() {
                    if *k > 8 {
                        *k /= 2;
                        any = true;
                    }
                }
                if !any {
                    break;
                }
            }
        }
        text = render(&keep)?;
        tokens = count(&text)?;
    }
    let cut = record
        .sections
        .iter()
        .zip(&keep)
        .filter(|(s, &k)| k < s.text.chars().count())
        .map(|(s, &k)| (s.name.clone(), k, s.text.chars().count()))
        .collect();
    Ok(RecordPrompt { text, tokens, cut })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_the_diagnosis_field() {
        let p = Prompts::load(None).unwrap();
        let r = Record::new("r1")
            .with_section("出院诊断", "1.冠心病2.高血压病")
            .with_section("诊疗经过", "很长的文字。".repeat(500))
            .with_section("现病史", "胸闷。".repeat(100));
        let count = |s: &str| Ok(s.chars().count());
        let full = record_prompt(&p, &r, 100_000, &count).unwrap();
        assert!(full.cut.is_empty());
        let short = record_prompt(&p, &r, 600, &count).unwrap();
        assert!(short.tokens <= 600, "{}", short.tokens);
        assert!(short.text.contains("1.冠心病2.高血压病"));
        assert!(short.cut.iter().any(|(n, _, _)| n == "诊疗经过"));
    }
}
