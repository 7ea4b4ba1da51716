//! `icdflow tui`: the terminal workbench.
//!
//! `main` loads what the workbench needs (records, the `[tui]` config
//! table, the session store) and passes an engine *factory*: it runs on the
//! engine thread, so an engine holding a llama.cpp model (not `Send`) is
//! built where it will live.

use std::path::PathBuf;

use crate::pipeline::Engine;
use crate::record::Record;
use crate::session::SessionStore;
use crate::tui::{run_tui, NotesFn, TuiOptions};

/// Open records in the terminal workbench.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TuiArgs {
    /// Record file in any importer format (JointCoder xlsx, CCL25 json, jsonl, text).
    pub file: Option<PathBuf>,
    /// Open this record id (else the first; a picker lists them when the file holds many).
    #[arg(long)]
    pub record: Option<String>,
    /// Colour theme: dark, light, high-contrast, a theme in <config_dir>/themes, or a .toml path.
    #[arg(long)]
    pub theme: Option<String>,
    /// Trainer mode: what a professional coder does at each stage, and what each stage changed.
    #[arg(long)]
    pub trainer: bool,
    /// Where exported JSON and 病案首页 lines go (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub export_dir: Option<PathBuf>,
}

/// What the caller (main) has loaded for the workbench.
pub struct TuiInputs<F>
where
    F: FnOnce() -> anyhow::Result<Engine> + Send + 'static,
{
    /// The records of `args.file` (all of them: `--record` only picks the
    /// one to open first).
    pub records: Vec<Record>,
    /// Builds the engine; called on the engine thread.
    pub engine: F,
    pub store: SessionStore,
    /// The config file's `[tui]` table (`theme`, `trainer`, `auto_rerun`,
    /// `export_dir`, `keys`), if any.
    pub tui_config: Option<toml::Table>,
    /// The user config directory (`keys.toml`, `themes/`).
    pub config_dir: Option<PathBuf>,
    /// Instructional notes for the code search popup.
    pub notes: Option<NotesFn>,
    /// The learned model (the similar-cases popup).
    pub learned: Option<std::sync::Arc<crate::learn::LearnedModel>>,
    /// The coders' alias memory the engine's learned helper reads (the
    /// workbench teaches it what coders accept).
    pub coder_aliases: Option<crate::learn::SharedCoderAliases>,
}

/// Runs the workbench with what `main` loaded.
pub fn run<F>(args: TuiArgs, inputs: TuiInputs<F>) -> anyhow::Result<()>
where
    F: FnOnce() -> anyhow::Result<Engine> + Send + 'static,
{
    let mut opts = TuiOptions {
        record: args.record,
        theme: args.theme,
        trainer: args.trainer,
        config_dir: inputs.config_dir,
        export_dir: args.export_dir,
        source: args.file,
        notes: inputs.notes,
        learned: inputs.learned,
        coder_aliases: inputs.coder_aliases,
        ..Default::default()
    };
    if let Some(t) = &inputs.tui_config {
        opts = opts.with_tui_table(t);
    }
    // The imported alphabetic indexes, for the index browser.
    if let Ok(dir) = crate::config::Config::load().and_then(|c| c.data_dir()) {
        let (alpha, warnings) = crate::terminology::alphabetic::AlphaIndexes::load(&dir);
        for w in warnings {
            tracing::warn!("{w}");
            eprintln!("{}", crate::tr!(crate::i18n::current(), CliWarning, w = w));
        }
        opts.alpha = alpha;
    }
    if inputs.records.is_empty() {
        let lang = opts.lang.unwrap_or_else(crate::i18n::current);
        match &opts.source {
            Some(p) => anyhow::bail!(crate::tr!(lang, CliNoRecordsIn, file = p.display())),
            None => anyhow::bail!(crate::tr!(lang, CliNoRecords)),
        }
    }
    run_tui(opts, inputs.engine, inputs.records, inputs.store)
}

/// `icdflow tui`: loads the records, tables and session store, then runs
/// the workbench. The agents' model (if any) loads on the engine thread.
pub fn run_cli(
    args: TuiArgs,
    tables: &super::common::TableArgs,
    agent_args: super::context::AgentArgs,
) -> anyhow::Result<()> {
    use std::sync::Arc;

    let cfg = crate::config::Config::load()?;
    let file = args
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from("examples/records/cardiology.jsonl"));
    let records = super::context::load_records(std::slice::from_ref(&file), &[])?;
    let ctx = Arc::new(super::context::coding_context(tables)?);
    let store = cfg.session_store()?;
    let rules = crate::rules::RuleHelper::builtin(ctx.procedures.terminology());
    let notes: NotesFn = Arc::new(move |track, code| {
        use crate::pipeline::StageHelper;
        rules.notes_for(track, code)
    });
    let mut learned = super::context::learned(tables, &ctx)?;
    let agents_cfg = super::context::agents_config(&agent_args)?;
    let learned_helper = learned.helper.take();
    // The engine thread gets the helper; the workbench keeps handles on the
    // same model and the same alias memory.
    let learned_model = learned_helper
        .as_ref()
        .and_then(|h| h.model().cloned())
        .or_else(|| learned.model.clone());
    let coder_aliases = learned_helper
        .as_ref()
        .and_then(|h| h.coder_aliases().cloned());
    let engine = move || -> anyhow::Result<Engine> {
        let agents = match agents_cfg {
            Some(c) => Some(crate::agents::Agents::load(c)?),
            None => None,
        };
        Ok(crate::assemble::engine(ctx, learned_helper, agents))
    };
    let config_dir = crate::config::Config::path()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from));
    run(
        TuiArgs {
            file: Some(file),
            ..args
        },
        TuiInputs {
            records,
            engine,
            store,
            tui_config: Some(cfg.tui.clone()),
            config_dir,
            notes: Some(notes),
            learned: learned_model,
            coder_aliases,
        },
    )
}
