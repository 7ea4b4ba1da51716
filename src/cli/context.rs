//! Loading what every subcommand needs: configuration, code tables, search
//! indexes, records, and the engine.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::common::TableArgs;
use crate::agents::{AgentRole, Agents, AgentsConfig};
use crate::config::Config;
use crate::learn::{CoderAliases, LearnedHelper, LearnedModel, SharedCoderAliases};
use crate::pipeline::{CodingContext, Engine};
use crate::record::{self, Record};
use crate::search::Matcher;
use crate::terminology::report::ImportReport;
use crate::terminology::{self, CodeSystem, Terminology};

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
    /// Switch one agent off (its stage runs by retrieval and rules), e.g.
    /// `validate` (both tracks) or `validate_procedure`; repeatable.
    #[arg(long, value_name = "AGENT")]
    pub agent_off: Vec<String>,
    /// Give one agent a LoRA adapter (a GGUF made by
    /// `scripts/train-lora.py`), overriding the agents file, e.g.
    /// `prioritize_diagnosis=adapters/principal.gguf`; repeatable.
    #[arg(long, value_name = "AGENT=GGUF")]
    pub adapter: Vec<String>,
}

/// Loads a code table as coding uses it: the importer, then the clinical
/// names of formal editions as aliases (see `terminology::clinical`).
pub fn load_coding_table(
    path: &Path,
    system: CodeSystem,
) -> anyhow::Result<(Terminology, ImportReport)> {
    let (term, report) = terminology::load_table(path, system)
        .with_context(|| format!("loading {}", path.display()))?;
    let (term, added) = terminology::clinical::add_clinical_aliases(term);
    tracing::info!(table = %path.display(), rows = term.len(), skipped = report.skipped.len(), clinical_aliases = added, "table loaded");
    Ok((term, report))
}

/// Loads both code tables and opens (building if needed) their indexes.
pub fn coding_context(tables: &TableArgs) -> anyhow::Result<CodingContext> {
    let cfg = Config::load()?;
    let (diag_path, proc_path) = crate::config::resolve_tables(&cfg, tables)?;
    let index_root =
        crate::search::default_index_root(tables.index_dir.as_deref().or(cfg.index_dir.as_deref()));
    let load = |path: &PathBuf, system| -> anyhow::Result<Matcher> {
        let (term, _) = load_coding_table(path, system)?;
        Ok(Matcher::open(Arc::new(term), &index_root)?)
    };
    let diagnoses = load(&diag_path, CodeSystem::Icd10)?;
    let procedures = load(&proc_path, CodeSystem::Icd9Cm3)?;
    Ok(CodingContext::new(diagnoses, procedures))
}

/// `learned.model` in the user data dir (written by `icdflow learn`).
pub fn default_learned_path() -> anyhow::Result<PathBuf> {
    Ok(Config::load()?.data_dir()?.join("learned.model"))
}

/// The coders' alias memory in the user data dir.
pub fn coder_aliases_path() -> anyhow::Result<PathBuf> {
    Ok(Config::load()?.data_dir()?.join("coder-aliases.json"))
}

/// Which learned model a run uses, and what it says about it.
pub struct LearnedChoice {
    pub helper: Option<LearnedHelper>,
    /// One line for the output: which model, or why none.
    pub note: String,
    /// The model, for leak checks.
    pub model: Option<Arc<LearnedModel>>,
}

/// Loads the learned model a run asked for (`--learned PATH|none`, or the
/// default in the data dir) and the coders' alias memory. A model that
/// cannot be used (another table, a newer format, a damaged file) is
/// reported by name and the run goes on without it.
pub fn learned(tables: &TableArgs, ctx: &CodingContext) -> anyhow::Result<LearnedChoice> {
    let none = tables
        .learned
        .as_ref()
        .is_some_and(|p| p.as_os_str() == "none");
    if none {
        if tables.closed_label_set {
            anyhow::bail!("--closed-label-set needs a learned model, not `--learned none`");
        }
        return Ok(LearnedChoice {
            helper: None,
            note: "learned model: none (--learned none)".into(),
            model: None,
        });
    }
    let path = match &tables.learned {
        Some(p) => Some(p.clone()),
        None => default_learned_path().ok().filter(|p| p.is_file()),
    };
    let mut note = "learned model: none".to_string();
    let mut model = None;
    if let Some(p) = &path {
        match crate::learn::store::load(p)
            .and_then(|m| crate::learn::store::check_tables(&m, ctx, p).map(|_| m))
        {
            Ok(m) => {
                m.warm_up(ctx);
                note = format!("learned model: {} ({})", p.display(), m.describe());
                tracing::info!(path = %p.display(), records = m.training.ids.len(), "learned model loaded");
                model = Some(Arc::new(m));
            }
            Err(e) => {
                eprintln!("warning: learned model not used: {e}");
                tracing::warn!(error = %e, "learned model not used");
                note = format!("learned model: none ({e})");
            }
        }
    }
    if tables.closed_label_set && model.is_none() {
        anyhow::bail!(
            "--closed-label-set needs a learned model: run `icdflow learn` or pass --learned PATH"
        );
    }
    let coder: Option<SharedCoderAliases> = match coder_aliases_path() {
        Ok(p) => match CoderAliases::open(&p) {
            Ok(c) => Some(Arc::new(std::sync::Mutex::new(c))),
            Err(e) => {
                eprintln!("warning: coder alias memory not used: {e}");
                None
            }
        },
        Err(_) => None,
    };
    let mut helper = LearnedHelper::new(model.clone(), path.filter(|_| model.is_some()));
    helper.settings.closed_label_set = tables.closed_label_set;
    if let Some(c) = coder {
        helper = helper.with_coder_aliases(c);
    }
    Ok(LearnedChoice {
        helper: Some(helper),
        note,
        model,
    })
}

/// Where the shipped agents file is looked for: `./models/agents.toml`, then
/// beside the executable's repository (`target/release/../../models`).
pub fn default_agents_file() -> Option<PathBuf> {
    let here = PathBuf::from("models/agents.toml");
    if here.is_file() {
        return Some(here);
    }
    let exe = std::env::current_exe().ok()?;
    let repo = exe.parent()?.parent()?.parent()?;
    let p = repo.join("models/agents.toml");
    p.is_file().then_some(p)
}

/// The agent configuration a run uses, or `None` to run without a model.
/// An explicit `--model`, `--server` or `--agents` must work or it is an
/// error; the default agents file whose model is not downloaded yet only
/// gives a warning.
pub fn agents_config(args: &AgentArgs) -> anyhow::Result<Option<AgentsConfig>> {
    if args.no_agents {
        return Ok(None);
    }
    let config = Config::load()?;
    let explicit = args.agents.is_some()
        || args.model.is_some()
        || args.server.is_some()
        || config.agents.file.is_some()
        || config.agents.server.is_some();
    let file = args
        .agents
        .clone()
        .or_else(|| config.agents.file.clone())
        .or_else(default_agents_file);
    let mut cfg = match &file {
        Some(f) => AgentsConfig::load(f)?,
        None if explicit => AgentsConfig::for_model(PathBuf::new(), PathBuf::from(".")),
        None => return Ok(None),
    };
    let model = cfg.model.get_or_insert_with(|| {
        AgentsConfig::for_model(PathBuf::new(), PathBuf::new())
            .model
            .expect("set")
    });
    if let Some(m) = &args.model {
        model.path = Some(std::path::absolute(m)?);
        model.server = None;
    }
    // A model file given on the command line beats the config's server.
    let config_server = config
        .agents
        .server
        .as_ref()
        .filter(|_| args.model.is_none());
    if let Some(url) = args.server.as_ref().or(config_server) {
        model.server = Some(url.clone());
    }
    if let Some(n) = args.gpu_layers {
        model.gpu_layers = n;
    }
    for off in &args.agent_off {
        let roles: Vec<AgentRole> = AgentRole::ALL
            .into_iter()
            .filter(|r| r.name() == off || r.name().starts_with(&format!("{off}_")))
            .collect();
        if roles.is_empty() {
            anyhow::bail!(
                "--agent-off {off}: unknown agent (one of {}, or a stage name)",
                AgentRole::all_names()
            );
        }
        for r in roles {
            cfg.agent.entry(r.name().to_string()).or_default().enabled = false;
        }
    }
    for spec in &args.adapter {
        let (name, file) = spec
            .split_once('=')
            .with_context(|| format!("--adapter {spec}: expected AGENT=FILE"))?;
        let role = AgentRole::parse(name).with_context(|| {
            format!(
                "--adapter {spec}: unknown agent (one of {})",
                AgentRole::all_names()
            )
        })?;
        let file = std::path::absolute(file)?;
        if !file.is_file() {
            anyhow::bail!("--adapter {spec}: {} not found", file.display());
        }
        cfg.agent
            .entry(role.name().to_string())
            .or_insert_with(|| crate::agents::config::AgentSection {
                enabled: true,
                ..Default::default()
            })
            .adapter = Some(file);
    }
    let has_server = model.server.is_some();
    let model_path = model.path.clone();
    if !has_server && !explicit && !cfg!(feature = "llama") {
        tracing::warn!("built without llama.cpp: the default agents file is not used");
        return Ok(None);
    }
    if !has_server {
        let path = model_path.as_ref().map(|p| cfg.resolve(p));
        match path {
            Some(p) if p.is_file() => {}
            Some(p) if explicit => anyhow::bail!("model file {} not found", p.display()),
            Some(p) => {
                eprintln!(
                    "note: {} names the model {}, which is not there: running every stage by retrieval and rules (scripts/setup.sh fetches and prepares it)",
                    file.as_ref().map(|f| f.display().to_string()).unwrap_or_default(),
                    p.display()
                );
                return Ok(None);
            }
            None => return Ok(None),
        }
    }
    Ok(Some(cfg))
}

/// The engine for a run: the rule index, the learned model (see
/// [`learned`]) and agents when configured; also the line saying which
/// learned model is used.
pub fn engine(tables: &TableArgs, agents: &AgentArgs) -> anyhow::Result<(Engine, LearnedChoice)> {
    let ctx = Arc::new(coding_context(tables)?);
    let mut choice = learned(tables, &ctx)?;
    let agents = match agents_config(agents)? {
        Some(cfg) => {
            let a = Agents::load(cfg).context("loading the agents' model")?;
            tracing::info!(model = a.model_name(), "agents loaded");
            Some(a)
        }
        None => None,
    };
    let engine = crate::assemble::engine(ctx, choice.helper.take(), agents);
    Ok((engine, choice))
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
        anyhow::bail!(
            "no records could be loaded from {}",
            files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
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
