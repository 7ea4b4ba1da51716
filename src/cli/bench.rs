//! `icdflow bench`: model load time, per-record and per-stage latency,
//! tokens and tokens/s, records/s and peak memory — for the shared-prefix
//! agent path and, in the same run, the naive path where every agent call
//! re-reads the whole record, one call at a time. With a learned model,
//! the same records are also coded with it switched off, for its cost.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use super::common::TableArgs;
use super::context;
use crate::agents::Agents;
use crate::llm::BackendStats;
use crate::pipeline::batch::{code_record, Ablation};
use crate::pipeline::engine::Control;
use crate::pipeline::{Engine, StageKind};
use crate::record::Track;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Records to code (any importer format).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Only the first N records.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Records for the naive path (default: the same as --limit).
    #[arg(long)]
    pub naive_limit: Option<usize>,
    /// Skip the naive path.
    #[arg(long)]
    pub no_naive: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub agents: context::AgentArgs,
}

/// Figures of one path.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PathFigures {
    pub records: usize,
    pub wall_s: f64,
    pub records_per_s: f64,
    pub latency_ms_mean: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p90: f64,
    pub latency_ms_max: f64,
    /// Mean wall time per record of each stage (both tracks together).
    pub stage_ms_mean: Vec<(String, f64)>,
    pub prompt_tokens_per_record: f64,
    pub cached_tokens_per_record: f64,
    pub generated_tokens_per_record: f64,
    pub prompt_tok_per_s: f64,
    pub gen_tok_per_s: f64,
    pub agent_calls_per_record: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub model: String,
    pub model_load_ms: f64,
    pub tables_load_ms: f64,
    pub shared: PathFigures,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naive: Option<PathFigures>,
    /// naive latency / shared latency (mean per record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speedup: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    pub gpu_memory_mb: Option<f64>,
    /// Which learned model was used.
    pub learned: String,
    /// The same records with the learned model switched off (when one is used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without_learned: Option<PathFigures>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn measure(
    engine: &mut Engine,
    records: &[crate::record::Record],
    ablation: &Ablation,
    ctl: &mut Control,
) -> anyhow::Result<PathFigures> {
    let before = engine
        .helper::<Agents>()
        .map(|a| a.stats())
        .unwrap_or_default();
    let mut lat = Vec::new();
    let mut stage_ms: Vec<(StageKind, f64)> = StageKind::ORDER.iter().map(|k| (*k, 0.0)).collect();
    let mut calls = 0usize;
    let t0 = Instant::now();
    for r in records {
        let t = Instant::now();
        let run = code_record(engine, r, ablation, ctl)?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        for (k, ms) in stage_ms.iter_mut() {
            // both tracks of a stage share one timing (they run together)
            let t = Track::ALL
                .iter()
                .filter_map(|&tr| {
                    run.stage(tr, *k)
                        .and_then(|s| s.trace.as_ref())
                        .map(|x| x.elapsed_ms)
                })
                .fold(0.0, f64::max);
            *ms += t;
        }
        calls += Track::ALL
            .iter()
            .flat_map(|&tr| run.track(tr).stages.iter())
            .filter_map(|s| s.trace.as_ref())
            .map(|t| t.calls.len())
            .sum::<usize>();
    }
    let wall = t0.elapsed().as_secs_f64();
    let after = engine
        .helper::<Agents>()
        .map(|a| a.stats())
        .unwrap_or_default();
    let d = |f: fn(&BackendStats) -> u64| (f(&after) - f(&before)) as f64;
    let n = records.len().max(1) as f64;
    let mut sorted = lat.clone();
    sorted.sort_by(f64::total_cmp);
    let prompt_ms = after.prompt_ms - before.prompt_ms;
    let gen_ms = after.gen_ms - before.gen_ms;
    Ok(PathFigures {
        records: records.len(),
        wall_s: wall,
        records_per_s: records.len() as f64 / wall.max(1e-9),
        latency_ms_mean: lat.iter().sum::<f64>() / n,
        latency_ms_p50: percentile(&sorted, 0.5),
        latency_ms_p90: percentile(&sorted, 0.9),
        latency_ms_max: sorted.last().copied().unwrap_or(0.0),
        stage_ms_mean: stage_ms
            .iter()
            .map(|(k, ms)| (k.label().to_string(), ms / n))
            .collect(),
        prompt_tokens_per_record: d(|s| s.prompt_tokens) / n,
        cached_tokens_per_record: d(|s| s.cached_tokens) / n,
        generated_tokens_per_record: d(|s| s.generated_tokens) / n,
        prompt_tok_per_s: if prompt_ms > 0.0 {
            d(|s| s.prompt_tokens) * 1e3 / prompt_ms
        } else {
            0.0
        },
        gen_tok_per_s: if gen_ms > 0.0 {
            d(|s| s.generated_tokens) * 1e3 / gen_ms
        } else {
            0.0
        },
        agent_calls_per_record: calls as f64 / n,
    })
}

/// GPU memory in use, from nvidia-smi, when there is one.
fn gpu_memory_mb() -> Option<f64> {
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=memory.used", "--format=csv,noheader,nounits"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

pub fn run(args: BenchArgs, tables: &TableArgs) -> anyhow::Result<()> {
    let mut records = context::load_records(&args.files, &[])?;
    records.truncate(args.limit);
    let t = Instant::now();
    let ctx = Arc::new(context::coding_context(tables)?);
    ctx.warm_up();
    let tables_load_ms = t.elapsed().as_secs_f64() * 1e3;
    let cfg = context::agents_config(&args.agents)?;
    let mut learned = context::learned(tables, &ctx)?;
    let has_model = learned.model.is_some();
    let helper = learned.helper.take().filter(|_| has_model);
    let (mut engine, model, model_load_ms) = match &cfg {
        Some(c) => {
            let agents = Agents::load(c.clone())?;
            let model = agents.model_name().to_string();
            let ms = agents.stats().model_load_ms;
            (
                crate::assemble::engine(ctx.clone(), helper, Some(agents)),
                model,
                ms,
            )
        }
        // No LLM: the figures are those of the retrieval-and-rules pipeline
        // (with the learned model when one is used).
        None => (
            crate::assemble::engine(ctx.clone(), helper, None),
            "none (retrieval + rules)".to_string(),
            0.0,
        ),
    };
    let cancel = context::ctrlc_flag();
    let mut sink = |_e| {};
    let mut ctl = Control::new(&cancel, &mut sink);
    let shared = measure(&mut engine, &records, &Ablation::default(), &mut ctl)?;
    let without_learned = if has_model {
        let off = Ablation::parse(&["learned".into()]).map_err(anyhow::Error::msg)?;
        let f = measure(&mut engine, &records, &off, &mut ctl)?;
        engine.set_helpers_off(&[]);
        Some(f)
    } else {
        None
    };
    let naive = match cfg {
        Some(cfg) if !args.no_naive => {
            let n = args.naive_limit.unwrap_or(records.len()).min(records.len());
            // Same model, loaded again: the naive path must not see the shared path's cache.
            let mut agents = Agents::load(cfg)?;
            agents.set_naive(true);
            let mut naive_engine = crate::assemble::engine(ctx, None, Some(agents));
            Some(measure(
                &mut naive_engine,
                &records[..n],
                &Ablation::default(),
                &mut ctl,
            )?)
        }
        _ => None,
    };
    let report = BenchReport {
        speedup: naive
            .as_ref()
            .map(|nv| nv.latency_ms_mean / shared.latency_ms_mean.max(1e-9)),
        model,
        model_load_ms,
        tables_load_ms,
        shared,
        naive,
        peak_rss_mb: crate::llm::peak_rss_bytes().map(|b| b as f64 / 1048576.0),
        gpu_memory_mb: gpu_memory_mb(),
        learned: learned.note,
        without_learned,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", format_report(&report));
    }
    Ok(())
}

pub fn format_report(r: &BenchReport) -> String {
    let mut s = format!(
        "model {}  load {:.0} ms  tables+index {:.0} ms\n",
        r.model, r.model_load_ms, r.tables_load_ms
    );
    let mut row = |name: &str, f: &PathFigures| {
        s.push_str(&format!(
            "{name:<7} {} records  {:.2} rec/s  latency mean {:.0} ms  p50 {:.0}  p90 {:.0}  max {:.0}\n        tokens/record: prompt {:.0} (cached {:.0})  generated {:.0}  calls {:.1}  prompt {:.0} tok/s  gen {:.1} tok/s\n        per stage (ms): {}\n",
            f.records,
            f.records_per_s,
            f.latency_ms_mean,
            f.latency_ms_p50,
            f.latency_ms_p90,
            f.latency_ms_max,
            f.prompt_tokens_per_record,
            f.cached_tokens_per_record,
            f.generated_tokens_per_record,
            f.agent_calls_per_record,
            f.prompt_tok_per_s,
            f.gen_tok_per_s,
            f.stage_ms_mean.iter().map(|(k, ms)| format!("{k} {ms:.0}")).collect::<Vec<_>>().join("  ")
        ));
    };
    row("shared", &r.shared);
    if let Some(n) = &r.naive {
        row("naive", n);
    }
    if let Some(w) = &r.without_learned {
        row("-learned", w);
    }
    if let Some(x) = r.speedup {
        s.push_str(&format!("naive / shared latency: {x:.2}×\n"));
    }
    s.push_str(&format!("{}\n", r.learned));
    if let Some(w) = &r.without_learned {
        s.push_str(&format!(
            "learned model cost: {:+.2} ms per record (mean latency {:.2} vs {:.2} ms without it)\n",
            r.shared.latency_ms_mean - w.latency_ms_mean,
            r.shared.latency_ms_mean,
            w.latency_ms_mean
        ));
    }
    if let Some(m) = r.peak_rss_mb {
        s.push_str(&format!("peak RSS {m:.0} MB"));
    }
    if let Some(g) = r.gpu_memory_mb {
        s.push_str(&format!("  GPU memory {g:.0} MB"));
    }
    s.push('\n');
    s
}
