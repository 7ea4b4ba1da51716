//! `icdflow sft export FILE… -o DIR`: training examples for the agents
//! (see `agents::sft`), JSON Lines per role and split, with statistics.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use super::common::TableArgs;
use super::context;
use crate::agents::prompt::Prompts;
use crate::agents::sft::{Export, Exporter};
use crate::agents::AgentsConfig;
use crate::record::{Gold, GoldCode, Record};
use crate::text::normalize_name;

#[derive(Debug, clap::Args)]
pub struct SftArgs {
    #[command(subcommand)]
    pub command: SftCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum SftCommand {
    /// Write per-role training examples from records with gold codes and
    /// normalization pair files.
    Export(ExportArgs),
    /// Put exported examples to the model as their agents would and score
    /// the answers (one role in isolation; compare with and without
    /// `--adapter`).
    Score(ScoreArgs),
}

#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// Example files written by `sft export` (e.g. DIR/prioritize_diagnosis.val.jsonl).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Score at most this many examples per file (the first ones).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Write the scores as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub agents: context::AgentArgs,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Records with gold codes (any format) and pair files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Leave out the records whose ids occur in this file (the records you
    /// will evaluate on); repeatable.
    #[arg(long, value_name = "FILE")]
    pub exclude: Vec<PathBuf>,
    /// One record in N goes to the validation split.
    #[arg(long, default_value_t = 10)]
    pub val_every: u64,
    /// Agents file whose templates and settings the examples follow
    /// (default: models/agents.toml).
    #[arg(long, value_name = "PATH")]
    pub agents: Option<PathBuf>,
}

/// Characters per token of Chinese record text under the Qwen tokenizer
/// (measured on CCL25 records), to turn the token budget into characters.
const CHARS_PER_TOKEN: f64 = 1.4;

/// Pairs as records: the raw text as the discharge-diagnosis field, the
/// standard names' codes as gold (unknown names: the pair is skipped).
fn pair_records(
    pairs: &[crate::learn::Pair],
    ctx: &crate::pipeline::CodingContext,
) -> (Vec<Record>, usize) {
    let term = ctx.diagnoses.terminology();
    let lex = ctx.lexicon(crate::record::Track::Diagnosis);
    let mut by_name: std::collections::HashMap<String, usize> = Default::default();
    for (i, e) in term.entries().iter().enumerate() {
        by_name.entry(normalize_name(&e.name)).or_insert(i);
    }
    let mut skipped = 0;
    let mut out = Vec::new();
    for (i, p) in pairs.iter().enumerate() {
        let codes: Option<Vec<GoldCode>> = p
            .names
            .iter()
            .map(|n| {
                lex.exact(n)
                    .or_else(|| by_name.get(&normalize_name(n)).copied())
                    .map(|e| GoldCode {
                        code: term.entry(e).code.clone(),
                        name: Some(n.clone()),
                    })
            })
            .collect();
        match codes {
            Some(c) if !c.is_empty() => {
                let mut r =
                    Record::new(format!("pair-{}", i + 1)).with_section("出院诊断", &p.text);
                r.gold = Gold {
                    diagnoses: Some(c),
                    procedures: None,
                };
                out.push(r);
            }
            _ => skipped += 1,
        }
    }
    (out, skipped)
}

pub fn run(args: SftArgs, tables: &TableArgs) -> anyhow::Result<()> {
    match args.command {
        SftCommand::Export(a) => export(a, tables),
        SftCommand::Score(a) => score(a),
    }
}

fn score(args: ScoreArgs) -> anyhow::Result<()> {
    let cfg = context::agents_config(&args.agents)?.context(
        "scoring needs a model: --model GGUF, --server URL or an agents file with [model]",
    )?;
    let mut agents = crate::agents::Agents::load(cfg)?;
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let mut all = serde_json::Map::new();
    let adapters: Vec<String> = agents
        .config()
        .adapters()
        .iter()
        .map(|(r, p)| format!("{r}={}", p.display()))
        .collect();
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    println!(
        "{:<44} {:>8} {:>8} {:>9} {:>10} {:>9} {:>8}",
        "file", "examples", "correct", "accuracy", "majority", "unparsed", "s/ex"
    );
    for f in &args.files {
        let mut rows = crate::agents::score::read_examples(f)?;
        if let Some(n) = args.limit {
            rows.truncate(n);
        }
        let s = agents.score_examples(&rows, &cancel, &mut |done, total| {
            if tty {
                eprint!("\r{}: {done}/{total}", f.display());
            }
        })?;
        if tty {
            eprintln!();
        }
        println!(
            "{:<44} {:>8} {:>8} {:>9.3} {:>10.3} {:>9} {:>8.2}",
            f.display().to_string(),
            s.examples,
            s.correct,
            s.accuracy(),
            s.majority_share,
            s.unparsable,
            s.seconds / s.examples.max(1) as f64
        );
        // per gold answer: for prioritization, answer 1 is the rules' choice
        // (the list comes in the order the rules gave it)
        let per: Vec<String> = s
            .by_answer
            .iter()
            .map(|(a, (n, ok))| format!("{a} {ok}/{n}"))
            .collect();
        println!(
            "    by gold answer: {}; votes {}, fallbacks {} ({} of them kept a right choice)",
            per.join(", "),
            s.votes,
            s.fallbacks,
            s.fallbacks_correct
        );
        // Without the agent a standardization question may keep a split
        // or a name no option offers: such questions carry no `default`.
        let baseline = match s.default_accuracy() {
            Some(a) => format!(
                "{a:.3} without it (on the {} of {} questions whose no-agent answer is an option)",
                s.with_default, s.examples
            ),
            None => "no example says what the stage answers without it (export again)".into(),
        };
        println!(
            "    the stage right: {:.3} with the agent (its answers and the choices it kept); {baseline}",
            s.stage_accuracy()
        );
        let mut v = serde_json::to_value(&s)?;
        v["accuracy"] = serde_json::json!(s.accuracy());
        v["stage_accuracy"] = serde_json::json!(s.stage_accuracy());
        v["default_accuracy"] = serde_json::json!(s.default_accuracy());
        v["model"] = serde_json::json!(agents.model_name());
        v["adapters"] = serde_json::json!(adapters);
        all.insert(f.display().to_string(), v);
    }
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_vec_pretty(&all)?)
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}

fn export(args: ExportArgs, tables: &TableArgs) -> anyhow::Result<()> {
    let (mut records, pairs) = super::learn::read_inputs(&args.files)?;
    let excluded = super::learn::ids_of(&args.exclude)?;
    let before = records.len();
    records.retain(|r| !excluded.contains(&r.id));
    if before != records.len() {
        eprintln!(
            "left out {} records whose ids are excluded",
            before - records.len()
        );
    }
    let file = args.agents.clone().or_else(context::default_agents_file);
    let cfg = match &file {
        Some(f) => AgentsConfig::load(f)?,
        None => AgentsConfig::for_model(PathBuf::new(), PathBuf::from(".")),
    };
    let prompts = Prompts::load(Some(&cfg.base_dir.join("prompts")))?;
    let budget_tokens = cfg
        .model
        .as_ref()
        .map(|m| m.record_budget_tokens)
        .unwrap_or(2600);
    let ctx = Arc::new(context::coding_context(tables)?);
    let (pair_recs, pair_skipped) = pair_records(&pairs, &ctx);
    let mut engine = crate::assemble::standard_engine(ctx);
    let exporter = Exporter {
        prompts: &prompts,
        cfg: &cfg,
        budget: (budget_tokens as f64 * CHARS_PER_TOKEN) as usize,
        val_every: args.val_every,
    };
    let mut export = exporter.export(&mut engine, &records)?;
    if !pair_recs.is_empty() {
        let mut p = exporter.export(&mut engine, &pair_recs)?;
        // pairs teach standardization only: the rest of their "records"
        // (one field, no principal) would teach nonsense
        p.examples.retain(|e| e.role == "standardize_diagnosis");
        merge(&mut export, p);
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut files: BTreeMap<String, std::io::BufWriter<std::fs::File>> = BTreeMap::new();
    for e in &export.examples {
        let name = format!("{}.{}.jsonl", e.role, e.split);
        if !files.contains_key(&name) {
            let path = args.out.join(&name);
            let f = std::fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            files.insert(name.clone(), std::io::BufWriter::new(f));
        }
        let w = files.get_mut(&name).expect("inserted");
        serde_json::to_writer(&mut *w, e)?;
        w.write_all(b"\n")?;
    }
    for w in files.values_mut() {
        w.flush()?;
    }
    let mut ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    let manifest = serde_json::json!({
        "records": export.records,
        "record_ids": ids,
        "pairs": pairs.len(),
        "pairs_skipped_unknown_names": pair_skipped,
        "excluded_ids": excluded.len(),
        "val_every": args.val_every,
        "record_budget_chars": exporter.budget,
        "roles": export.stats,
    });
    std::fs::write(
        args.out.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    println!(
        "{} records with gold, {} pairs → {} examples in {}",
        records.iter().filter(|r| !r.gold.is_empty()).count(),
        pairs.len(),
        export.examples.len(),
        args.out.display()
    );
    println!(
        "{:<22} {:>8} {:>6} {:>5} {:>7} {:>5} {:>9} {:>8}  answers",
        "role", "examples", "train", "val", "skipped", "dups", "chars avg", "max"
    );
    for (role, s) in &export.stats {
        let answers: Vec<String> = s.answers.iter().map(|(a, n)| format!("{a} {n}")).collect();
        println!(
            "{:<22} {:>8} {:>6} {:>5} {:>7} {:>5} {:>9.0} {:>8}  {}",
            role,
            s.examples,
            s.train,
            s.val,
            s.skipped,
            s.duplicates,
            s.prompt_chars_mean,
            s.prompt_chars_max,
            answers.join(", ")
        );
    }
    Ok(())
}

fn merge(into: &mut Export, from: Export) {
    into.records += from.records;
    // recount the pairs' standardization statistics from what was kept
    let mut st = from
        .stats
        .get("standardize_diagnosis")
        .cloned()
        .unwrap_or_default();
    let kept = from.examples.len();
    st.examples = kept;
    let e = into.stats.entry("standardize_diagnosis").or_default();
    let n0 = e.examples as f64;
    e.prompt_chars_mean = if n0 + kept as f64 > 0.0 {
        (e.prompt_chars_mean * n0 + st.prompt_chars_mean * kept as f64) / (n0 + kept as f64)
    } else {
        0.0
    };
    e.examples += kept;
    e.train += st.train;
    e.val += st.val;
    e.skipped += st.skipped;
    e.duplicates += st.duplicates;
    e.prompt_chars_max = e.prompt_chars_max.max(st.prompt_chars_max);
    for (a, n) in st.answers {
        *e.answers.entry(a).or_default() += n;
    }
    into.examples.extend(from.examples);
}
