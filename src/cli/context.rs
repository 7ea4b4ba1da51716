//! Loading what every subcommand needs: configuration, code tables, search
//! indexes, records, and the engine.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::common::TableArgs;
use crate::config::Config;
use crate::pipeline::{CodingContext, Engine};
use crate::record::{self, Record};
use crate::search::Matcher;
use crate::terminology::{self, CodeSystem};

/// How agents are configured for a run.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AgentArgs {
    /// Agent configuration (default: `models/agents.toml` or the config file's `[agents]`).
    #[arg(long, value_name = "PATH")]
    pub agents: Option<PathBuf>,
    /// One GGUF model for every agent (overrides the agents file's model).
    #[arg(long, value_name = "GGUF")]
    pub model: Option<PathBuf>,
    /// OpenAI-compatible server instead of the embedded model (e.g. http://host:8080).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Layers to offload to the GPU (llama.cpp builds with CUDA).
    #[arg(long, value_name = "N")]
    pub gpu_layers: Option<u32>,
    /// Run every stage by retrieval and rules, even if a model is configured.
    #[arg(long)]
    pub no_agents: bool,
}

/// Loads both code tables and opens (building if needed) their indexes.
pub fn coding_context(tables: &TableArgs) -> anyhow::Result<CodingContext> {
    let cfg = Config::load()?;
    let (diag_path, proc_path) = crate::config::resolve_tables(&cfg, tables)?;
    let index_root = crate::search::default_index_root(tables.index_dir.as_deref().or(cfg.index_dir.as_deref()));
    let load = |path: &PathBuf, system| -> anyhow::Result<Matcher> {
        let (term, report) = terminology::load_table(path, system).with_context(|| format!("loading {}", path.display()))?;
        tracing::info!(table = %path.display(), rows = term.len(), skipped = report.skipped.len(), "table loaded");
        Ok(Matcher::open(Arc::new(term), &index_root)?)
    };
    let diagnoses = load(&diag_path, CodeSystem::Icd10)?;
    let procedures = load(&proc_path, CodeSystem::Icd9Cm3)?;
    Ok(CodingContext::new(diagnoses, procedures))
}

/// The engine for a run: agents when configured, else retrieval and rules.
pub fn engine(tables: &TableArgs, _agents: &AgentArgs) -> anyhow::Result<Engine> {
    let ctx = coding_context(tables)?;
    Ok(Engine::new(Arc::new(ctx)))
}

/// Loads records from files; per-record errors are reported and skipped.
pub fn load_records(files: &[PathBuf], only: &[String]) -> anyhow::Result<Vec<Record>> {
    let (mut records, errors) = record::load_many(files);
    for e in &errors {
        eprintln!("skipped: {e}");
    }
    if !only.is_empty() {
        records.retain(|r| only.contains(&r.id));
        for id in only {
            if !records.iter().any(|r| &r.id == id) {
                eprintln!("record {id} not found in the input");
            }
        }
    }
    if records.is_empty() {
        anyhow::bail!("no records could be loaded from {}", files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    Ok(records)
}

/// A progress bar on a terminal, hidden otherwise.
pub fn progress_bar(len: u64, label: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}

/// A flag set by Ctrl-C, so a batch stops after the record in hand.
pub fn ctrlc_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let f = Arc::new(AtomicBool::new(false));
        let g = f.clone();
        let _ = ctrlc::set_handler(move || {
            if g.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: finishing the current record (Ctrl-C again to quit now)");
        });
        f
    })
    .clone()
}
