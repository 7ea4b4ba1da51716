//! `icdflow code FILE…`: codes records headless and writes JSON Lines.
//!
//! Input and output stream ([`crate::record::stream`]): records are read,
//! coded and written a few at a time, so memory stays flat however many
//! there are. Records are coded on several threads, one engine each
//! ([`crate::batch::parallel`]), and written in input order whatever the
//! thread count. `--shard I/N` codes one slice of the input (by a stable
//! hash of the id, see [`Shard`]) and `--resume` skips the ids already in
//! the output file, so a job runner can spread a large batch over machines
//! and restart any of them.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::common::TableArgs;
use super::context;
use crate::batch::parallel::{self, Outcome};
use crate::batch::{resume, CodeWorker, Shard};
use crate::pipeline::batch::Ablation;
use crate::record::stream;

#[derive(Debug, clap::Args)]
pub struct CodeArgs {
    /// Record files (JointCoder xlsx, CCL25 json, jsonl, text).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write JSON Lines here instead of standard output.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Include every stage's list and trace.
    #[arg(long)]
    pub trace: bool,
    /// Switch a stage off (`validate`, `procedure:mine`, …); repeatable.
    #[arg(long, value_name = "STAGE")]
    pub ablate: Vec<String>,
    /// Only these record ids (repeatable).
    #[arg(long = "record", value_name = "ID")]
    pub records: Vec<String>,
    /// Records coded at once, one engine each (default: every core; one
    /// with an embedded model, which holds the cores itself).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Code only slice I of N (1 ≤ I ≤ N) of the input, chosen by a stable
    /// hash of each record's id: run N jobs with I = 1…N to cover it.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Skip the records already in the --out file (a torn last line is
    /// cut off) and append the others.
    #[arg(long, requires = "out")]
    pub resume: bool,
    #[command(flatten)]
    pub agents: super::context::AgentArgs,
}

pub fn run(args: CodeArgs, tables: &TableArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let ablation = Ablation::parse(&args.ablate).map_err(anyhow::Error::msg)?;
    let shard = args
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let ctx = Arc::new(context::coding_context(tables)?);
    ctx.warm_up();
    let mut learned = context::learned(tables, &ctx)?;
    eprintln!("{}", learned.note);
    let agents = context::agents_config(&args.agents)?;
    let embedded = agents
        .as_ref()
        .is_some_and(|c| c.model.as_ref().is_none_or(|m| m.server.is_none()));
    let threads = match (args.threads, embedded) {
        (Some(n), true) if n > 1 => {
            eprintln!(
                "note: an embedded model codes one record at a time (it uses every core itself); --threads {n} applies to a --server backend or to runs without a model"
            );
            1
        }
        (_, true) => 1,
        (Some(n), false) => n.max(1),
        (None, false) => crate::batch::default_threads(),
    };

    // What an earlier run of this output already did.
    let done = match (&args.out, args.resume) {
        (Some(out), true) => {
            let d = resume::scan(out)?;
            if d.cut_bytes > 0 {
                eprintln!(
                    "{}: cut a torn last line ({} bytes); its record is coded again",
                    out.display(),
                    d.cut_bytes
                );
            }
            d.ids
        }
        _ => HashSet::new(),
    };
    let resumed = Arc::new(AtomicUsize::new(0));
    let only: HashSet<String> = args.records.iter().cloned().collect();
    let found = Arc::new(Mutex::new(HashSet::new()));
    let filter = {
        let (resumed, found, only) = (resumed.clone(), found.clone(), only.clone());
        move |id: &str| {
            if shard.is_some_and(|s| !s.contains(id)) {
                return false;
            }
            if !only.is_empty() {
                if !only.contains(id) {
                    return false;
                }
                found
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id.to_string());
            }
            if done.contains(id) {
                resumed.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            true
        }
    };
    let mut records = stream::open_many(&args.files).with_filter(Box::new(filter));

    let mut out: Box<dyn Write> = match (&args.out, args.resume) {
        (Some(p), true) => Box::new(std::io::BufWriter::new(resume::append(p)?)),
        (Some(p), false) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        (None, _) => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let worker = CodeWorker {
        ctx,
        learned: learned.helper.take(),
        agents,
        ablation,
        trace: args.trace,
    };
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} {pos} records  {per_sec}  {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix("coding");
    let cancel = context::ctrlc_flag();
    let (mut coded, mut failed, mut unreadable, mut helper_failures) = (0usize, 0, 0, 0);
    let mut method = String::new();
    let result = parallel::run_ordered(
        records.by_ref(),
        parallel::Options::threads(threads),
        &worker,
        &cancel,
        |outcome| {
            match outcome {
                Outcome::Done(Ok((line, summary))) => {
                    out.write_all(line.as_bytes())?;
                    out.write_all(b"\n")?;
                    coded += 1;
                    helper_failures += summary.failures;
                    if method.is_empty() {
                        method = summary.method;
                    }
                }
                Outcome::Done(Err((id, e))) => {
                    failed += 1;
                    bar.suspend(|| eprintln!("record {id}: {e}"));
                }
                Outcome::Panicked(msg) => {
                    failed += 1;
                    bar.suspend(|| eprintln!("a record failed with an internal error: {msg}"));
                }
                Outcome::Unreadable(e) => {
                    unreadable += 1;
                    bar.suspend(|| eprintln!("skipped: {e}"));
                }
            }
            bar.inc(1);
            Ok(())
        },
    );
    out.flush()?;
    bar.finish_and_clear();
    result?;
    for note in records.notes() {
        eprintln!("note: {note}");
    }
    for id in &only {
        if !found.lock().unwrap_or_else(|e| e.into_inner()).contains(id) {
            eprintln!("record {id} not found in the input");
        }
    }
    if helper_failures > 0 {
        eprintln!(
            "{helper_failures} model answers failed or could not be used: their stages kept retrieval's list (`failures` and `worked` in each line say where)"
        );
    }
    let resumed = resumed.load(Ordering::Relaxed);
    if resumed > 0 {
        eprintln!(
            "resumed: {resumed} records already in {} skipped",
            args.out
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    let secs = started.elapsed().as_secs_f64();
    let mut tail = Vec::new();
    if let Some(s) = shard {
        tail.push(format!("shard {s}"));
    }
    if unreadable > 0 {
        tail.push(format!("{unreadable} unreadable skipped"));
    }
    if cancel.load(Ordering::Relaxed) {
        tail.push("interrupted: the rest of the input was not read".to_string());
    }
    eprintln!(
        "coded {coded} records ({failed} failed{}) with {} on {threads} thread{} in {secs:.1} s ({:.1} records/s)",
        tail.iter().map(|t| format!(", {t}")).collect::<String>(),
        if method.is_empty() { "nothing".to_string() } else { method },
        if threads == 1 { "" } else { "s" },
        coded as f64 / secs.max(1e-9),
    );
    // Nothing at all to code is a mistake unless a shard or a resume
    // legitimately left nothing.
    if coded + failed == 0 && resumed == 0 && shard.is_none() {
        anyhow::bail!(
            "no records could be loaded from {}",
            args.files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}
