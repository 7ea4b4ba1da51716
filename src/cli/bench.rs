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
    /// Also code the records as `icdflow code` does, on each of these
    /// thread counts (e.g. `1,2`), for records/s and how it scales; not
    /// with an embedded model, which codes one record at a time.
    #[arg(long, value_delimiter = ',', value_name = "N,…")]
    pub threads: Vec<usize>,
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
    /// Tokens evaluated while generating (one per live sequence per
    /// decoding step); answers read off the prompt's logits need none.
    pub decoded_tokens_per_record: f64,
    pub prompt_tok_per_s: f64,
    pub gen_tok_per_s: f64,
    pub agent_calls_per_record: f64,
}

/// Batch coding on some thread count (fresh tables, so every run starts
/// with nothing remembered).
#[derive(Debug, Clone, Serialize)]
pub struct ThreadFigures {
    pub threads: usize,
    pub records: usize,
    pub wall_s: f64,
    pub records_per_s: f64,
    /// records/s divided by the thread count.
    pub records_per_s_per_thread: f64,
    /// records/s over that of the first thread count measured.
    pub speedup: f64,
    /// CPU time the process used meanwhile, every thread together.
    pub cpu_s: Option<f64>,
    /// Records per CPU-second: the rate of one busy core.
    pub records_per_cpu_s: Option<f64>,
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
    /// Batch coding on each thread count asked for (`--threads`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub batch: Vec<ThreadFigures>,
    /// Cores the machine offers.
    pub cores: usize,
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
        decoded_tokens_per_record: d(|s| s.decoded_tokens) / n,
        prompt_tok_per_s: if prompt_ms > 0.0 {
            d(|s| s.prompt_tokens) * 1e3 / prompt_ms
        } else {
            0.0
        },
        gen_tok_per_s: if gen_ms > 0.0 {
            d(|s| s.decoded_tokens) * 1e3 / gen_ms
        } else {
            0.0
        },
        agent_calls_per_record: calls as f64 / n,
    })
}

/// Codes the records as `icdflow code` does on `threads` threads.
fn measure_batch(
    worker: &crate::batch::CodeWorker,
    records: &[crate::record::Record],
    threads: usize,
    cancel: &std::sync::atomic::AtomicBool,
) -> anyhow::Result<ThreadFigures> {
    use crate::batch::parallel::{run_ordered, Options, Outcome};
    let t0 = Instant::now();
    let cpu0 = crate::batch::cpu_seconds();
    let mut coded = 0usize;
    run_ordered(
        records.iter().cloned().map(Ok::<_, ()>),
        Options::threads(threads),
        worker,
        cancel,
        |o| {
            match o {
                Outcome::Done(Ok(_)) => coded += 1,
                Outcome::Done(Err((id, e))) => anyhow::bail!("record {id}: {e}"),
                Outcome::Panicked(m) => anyhow::bail!("internal error: {m}"),
                Outcome::Unreadable(()) => {}
            }
            Ok(())
        },
    )?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu0.zip(crate::batch::cpu_seconds()).map(|(a, b)| b - a);
    let rps = coded as f64 / wall.max(1e-9);
    Ok(ThreadFigures {
        cpu_s: cpu,
        records_per_cpu_s: cpu.map(|c| coded as f64 / c.max(1e-9)),
        threads,
        records: coded,
        wall_s: wall,
        records_per_s: rps,
        records_per_s_per_thread: rps / threads as f64,
        speedup: 1.0,
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
    // Each path starts with nothing remembered: a path after another must
    // not be timed on the matches the first one looked up.
    ctx.clear_memos();
    let shared = measure(&mut engine, &records, &Ablation::default(), &mut ctl)?;
    let without_learned = if has_model {
        let off = Ablation::parse(&["learned".into()]).map_err(anyhow::Error::msg)?;
        ctx.clear_memos();
        let f = measure(&mut engine, &records, &off, &mut ctl)?;
        engine.set_helpers_off(&[]);
        Some(f)
    } else {
        None
    };
    let embedded = cfg
        .as_ref()
        .is_some_and(|c| c.model.as_ref().is_none_or(|m| m.server.is_none()));
    let mut batch = Vec::new();
    if !args.threads.is_empty() && embedded {
        eprintln!("note: --threads is not measured with an embedded model (it codes one record at a time)");
    } else {
        for &n in &args.threads {
            let fresh = Arc::new(context::coding_context(tables)?);
            fresh.warm_up();
            let fresh_learned = context::learned(tables, &fresh)?;
            let worker = crate::batch::CodeWorker {
                ctx: fresh,
                learned: fresh_learned.helper.filter(|_| has_model),
                agents: cfg.clone(),
                ablation: Ablation::default(),
                trace: false,
            };
            batch.push(measure_batch(&worker, &records, n.max(1), &cancel)?);
        }
        let base = batch.first().map(|b| b.records_per_s).unwrap_or(0.0);
        for b in &mut batch {
            b.speedup = b.records_per_s / base.max(1e-9);
        }
    }
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
        batch,
        cores: crate::batch::default_threads(),
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
            "{name:<7} {} records  {:.2} rec/s  latency mean {:.0} ms  p50 {:.0}  p90 {:.0}  max {:.0}\n        tokens/record: prompt {:.0} (cached {:.0})  generated {:.0} (decoded {:.0})  calls {:.1}  prompt {:.0} tok/s  decoding {:.1} tok/s\n        per stage (ms): {}\n",
            f.records,
            f.records_per_s,
            f.latency_ms_mean,
            f.latency_ms_p50,
            f.latency_ms_p90,
            f.latency_ms_max,
            f.prompt_tokens_per_record,
            f.cached_tokens_per_record,
            f.generated_tokens_per_record,
            f.decoded_tokens_per_record,
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
    for b in &r.batch {
        s.push_str(&format!(
            "batch   {} thread{}: {} records  {:.2} s  {:.1} rec/s  {:.1} rec/s per thread  ×{:.2}  {} ({} cores)\n",
            b.threads,
            if b.threads == 1 { " " } else { "s" },
            b.records,
            b.wall_s,
            b.records_per_s,
            b.records_per_s_per_thread,
            b.speedup,
            match (b.cpu_s, b.records_per_cpu_s) {
                (Some(c), Some(r)) => format!("CPU {c:.2} s, {r:.1} rec per CPU-s"),
                _ => String::new(),
            },
            r.cores
        ));
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
