//! `icdflow lookup TERM`: the best codes for a name, a code, a code prefix
//! or pinyin initials, with tier, score and hierarchy path.

use std::io::Write;

use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use crate::search::{looks_like_code, Match, MatchOptions, Matcher};
use crate::terminology::CodeSystem;

/// Arguments of `icdflow lookup`.
#[derive(Debug, Clone, clap::Args)]
pub struct LookupArgs {
    /// A disease or procedure name, a code, a code prefix, or pinyin initials (`gxy`).
    pub term: String,
    /// Print a JSON array of `{code, name, tier, score, path, system}`.
    #[arg(long)]
    pub json: bool,
    /// Most hits shown.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Include codes a coder may not assign (chapters, categories).
    #[arg(long)]
    pub all: bool,
    /// Which table to search (default: guessed from the term; ICD-9-CM-3
    /// shaped codes search procedures, ICD-10 shaped codes diagnoses, names
    /// both).
    #[arg(long, value_enum)]
    pub system: Option<SystemChoice>,
}

/// Which table(s) a lookup searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SystemChoice {
    /// ICD-10 diagnoses.
    Diagnosis,
    /// ICD-9-CM-3 procedures.
    Procedure,
    /// Both tables, hits merged by score.
    Both,
}

/// One hierarchy level of a hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathStep {
    pub code: String,
    pub name: String,
}

/// One printed hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LookupHit {
    pub code: String,
    pub name: String,
    /// Tier label (`exact_name`, `fuzzy`, …).
    pub tier: &'static str,
    pub score: f32,
    /// From the chapter down to the code itself.
    pub path: Vec<PathStep>,
    /// `diagnosis` or `procedure`.
    pub system: &'static str,
}

/// The table a term most likely refers to: `36.07` → procedures, `I10` →
/// diagnoses, names and initials → both.
pub fn guess_system(term: &str) -> SystemChoice {
    let t = term.trim();
    if !looks_like_code(t) {
        return SystemChoice::Both;
    }
    let mut cs = t.chars();
    match (cs.next(), cs.next()) {
        (Some(a), Some(b)) if a.is_ascii_digit() && b.is_ascii_digit() => SystemChoice::Procedure,
        (Some(a), _) if a.is_ascii_alphabetic() => SystemChoice::Diagnosis,
        _ => SystemChoice::Both,
    }
}

fn system_label(s: CodeSystem) -> &'static str {
    match s {
        CodeSystem::Icd10 => "diagnosis",
        CodeSystem::Icd9Cm3 => "procedure",
    }
}

fn to_hit(m: &Matcher, hit: Match) -> LookupHit {
    let term = m.terminology();
    let path = term
        .path(&hit.code)
        .into_iter()
        .map(|e| PathStep {
            code: e.code.clone(),
            name: e.name.clone(),
        })
        .collect();
    LookupHit {
        tier: hit.tier.label(),
        score: hit.score,
        path,
        system: system_label(term.system),
        code: hit.code,
        name: hit.name,
    }
}

/// Runs the lookup against the chosen table(s); hits from both tables are
/// merged by score.
pub fn search(args: &LookupArgs, diag: &Matcher, proc: &Matcher) -> Vec<LookupHit> {
    let opts = MatchOptions {
        limit: args.limit,
        assignable_only: !args.all,
    };
    let choice = args.system.unwrap_or_else(|| guess_system(&args.term));
    let mut hits = Vec::new();
    if matches!(choice, SystemChoice::Diagnosis | SystemChoice::Both) {
        hits.extend(
            diag.lookup(&args.term, &opts)
                .into_iter()
                .map(|h| to_hit(diag, h)),
        );
    }
    if matches!(choice, SystemChoice::Procedure | SystemChoice::Both) {
        hits.extend(
            proc.lookup(&args.term, &opts)
                .into_iter()
                .map(|h| to_hit(proc, h)),
        );
    }
    if choice == SystemChoice::Both {
        // Stable: within one table the matcher's order is kept on ties.
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(args.limit);
    }
    hits
}

fn pad(s: &str, width: usize) -> String {
    let w = UnicodeWidthStr::width(s);
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

/// Writes hits as aligned text: code, name, tier, score (2 decimals) and
/// the hierarchy path (codes joined by ` › `).
pub fn write_text(hits: &[LookupHit], term: &str, out: &mut impl Write) -> std::io::Result<()> {
    if hits.is_empty() {
        return writeln!(out, "no match for {term}");
    }
    let both = hits.iter().any(|h| h.system != hits[0].system);
    let cw = hits.iter().map(|h| h.code.width()).max().unwrap_or(0);
    let nw = hits
        .iter()
        .map(|h| h.name.width())
        .max()
        .unwrap_or(0)
        .min(40);
    let tw = hits.iter().map(|h| h.tier.len()).max().unwrap_or(0);
    for h in hits {
        let path: Vec<&str> = h.path.iter().map(|p| p.code.as_str()).collect();
        let sys = if both {
            format!("{:<10} ", h.system)
        } else {
            String::new()
        };
        writeln!(
            out,
            "{sys}{}  {}  {}  {:.2}  {}",
            pad(&h.code, cw),
            pad(&h.name, nw),
            pad(h.tier, tw),
            h.score,
            path.join(" › ")
        )?;
    }
    Ok(())
}

/// Writes hits as a JSON array of `{code, name, tier, score, path, system}`,
/// `path` being an array of `{code, name}`.
pub fn write_json(hits: &[LookupHit], out: &mut impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, hits)?;
    writeln!(out)
}

/// Looks the term up and prints the hits (text or JSON per `args.json`).
/// The caller loads the tables and opens the matchers.
pub fn run_with(
    args: &LookupArgs,
    diag: &Matcher,
    proc: &Matcher,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let hits = search(args, diag, proc);
    if args.json {
        write_json(&hits, out)?;
    } else {
        write_text(&hits, &args.term, out)?;
    }
    Ok(())
}

/// `icdflow lookup`: loads the configured tables and prints the hits.
pub fn run(args: LookupArgs, tables: &super::common::TableArgs) -> anyhow::Result<()> {
    let ctx = super::context::coding_context(tables)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    run_with(&args, &ctx.diagnoses, &ctx.procedures, &mut out)
}
