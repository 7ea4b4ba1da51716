//! `icdflow eval FILE…`: codes records with gold and prints the metrics;
//! `--cv K` learns on K−1 folds and tests on the rest; a normalization
//! pair file scores Standardization alone.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use super::common::TableArgs;
use super::context;
use crate::eval::{EvalReport, TrackMetrics};
use crate::learn::{learn, LearnInput, LearnOptions, LearnedHelper, LearnedModel, Pair};
use crate::pipeline::batch::{Ablation, Scorer};
use crate::pipeline::engine::Control;
use crate::pipeline::{CodingContext, Engine, Run, StageKind};
use crate::record::{Record, Track};
use crate::text::normalize_name;

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Record files with gold codes, or normalization pair files
    /// (`[{"text", "normalized_result"}]`, scored on Standardization alone).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Switch a stage or helper off (`validate`, `procedure:mine`,
    /// `learned`, …); repeatable.
    #[arg(long, value_name = "STAGE")]
    pub ablate: Vec<String>,
    /// Also evaluate with the learned model and each stage switched off in
    /// turn (one row each).
    #[arg(long)]
    pub ablation_table: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Only the first N records (or pairs) of the input.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Cross-validate: learn on K−1 folds of the evaluated records (sorted
    /// by id, fold = position mod K), test on the remaining fold, pool.
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,
    /// With --cv: learn also from these files; their records whose id is
    /// evaluated are left out.
    #[arg(long, value_name = "FILE")]
    pub learn_also: Vec<PathBuf>,
    /// Evaluate records the learned model learned from (for a
    /// demonstration: the output then says contaminated).
    #[arg(long)]
    pub allow_contaminated: bool,
    #[command(flatten)]
    pub agents: super::context::AgentArgs,
}

/// The variants of an evaluation: the full pipeline, then one row per
/// ablation of the table.
fn variants(base: &Ablation, table: bool, learned: bool) -> Vec<(String, Ablation)> {
    let mut out = vec![("full".to_string(), base.clone())];
    if table {
        let mut specs = Vec::new();
        if learned {
            specs.push("learned");
        }
        specs.extend(["standardize", "mine", "prioritize", "code_also", "validate"]);
        for spec in specs {
            let mut a = base.clone();
            a.extend(&Ablation::parse(&[spec.to_string()]).expect("known stage or helper"));
            out.push((format!("-{spec}"), a));
        }
    }
    out
}

/// What the evaluation learned from, printed with the results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Provenance {
    pub method: String,
    pub learned: String,
    /// Evaluated records the model had learned from (0 = clean).
    pub contaminated: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cv_folds: Option<usize>,
}

pub fn run(args: EvalArgs, tables: &TableArgs) -> anyhow::Result<()> {
    let ablation = Ablation::parse(&args.ablate).map_err(anyhow::Error::msg)?;
    let pair_files: Vec<&PathBuf> = args
        .files
        .iter()
        .filter(|f| crate::learn::pairs::is_pair_file(f))
        .collect();
    if !pair_files.is_empty() {
        if pair_files.len() != args.files.len() {
            anyhow::bail!("give either record files or normalization pair files, not both");
        }
        return run_pairs(&args, tables, &ablation);
    }
    let mut records = context::load_records(&args.files, &[])?;
    if let Some(n) = args.limit {
        records.truncate(n);
    }
    let with_gold = records.iter().filter(|r| !r.gold.is_empty()).count();
    if with_gold == 0 {
        anyhow::bail!(
            "none of the {} records has gold codes to evaluate against",
            records.len()
        );
    }
    let cancel = context::ctrlc_flag();
    let mut sink = |_e| {};
    let mut ctl = Control::new(&cancel, &mut sink);
    let (runs, prov) = match args.cv {
        Some(k) => cross_validate(&args, tables, &records, k, &ablation, &mut ctl)?,
        None => {
            let (mut engine, choice) = context::engine(tables, &args.agents)?;
            let contaminated = choice
                .model
                .as_ref()
                .map(|m| seen(m, &records))
                .unwrap_or_default();
            if !contaminated.is_empty() && !args.allow_contaminated {
                anyhow::bail!(
                    "the learned model learned from {} of the {} evaluated records (e.g. {}): scoring them measures memory, not coding. Learn without them (`icdflow learn … --exclude {}`), cross-validate (`--cv 5`), run with `--learned none`, or pass --allow-contaminated to show it anyway",
                    contaminated.len(),
                    records.len(),
                    contaminated.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
                    args.files[0].display()
                );
            }
            let vs = variants(&ablation, args.ablation_table, choice.model.is_some());
            let mut runs = Vec::new();
            for (label, a) in &vs {
                let bar = context::progress_bar(records.len() as u64, label);
                let mut s = Scorer::default();
                s.evaluate(&mut engine, &records, a, &mut ctl, |i| {
                    bar.set_position(i as u64)
                });
                bar.finish_and_clear();
                runs.push((label.clone(), s.report(a)));
            }
            engine.set_helpers_off(&ablation.helpers);
            let prov = Provenance {
                method: engine.describe(),
                learned: choice.note,
                contaminated: contaminated.len(),
                cv_folds: None,
            };
            (runs, prov)
        }
    };
    print_results(&args, &runs, &prov)
}

/// Evaluated records whose id the model learned from.
fn seen(model: &LearnedModel, records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter(|r| model.training.ids.binary_search(&r.id).is_ok())
        .map(|r| r.id.clone())
        .collect()
}

/// The engine of a cross-validation: rule index, a learned helper whose
/// model each fold replaces (no coder alias memory: it may hold edits of
/// evaluated records), and the agents when configured.
fn cv_engine(
    ctx: Arc<CodingContext>,
    tables: &TableArgs,
    agents: &context::AgentArgs,
) -> anyhow::Result<Engine> {
    let agents = match context::agents_config(agents)? {
        Some(cfg) => Some(crate::agents::Agents::load(cfg)?),
        None => None,
    };
    let mut learned = LearnedHelper::new(None, None);
    learned.settings.closed_label_set = tables.closed_label_set;
    Ok(crate::assemble::engine(ctx, Some(learned), agents))
}

fn set_fold_model(engine: &mut Engine, model: Option<Arc<LearnedModel>>) {
    if let Some(h) = engine.helper_mut::<LearnedHelper>() {
        h.set_model(model);
    }
}

fn cross_validate(
    args: &EvalArgs,
    tables: &TableArgs,
    records: &[Record],
    k: usize,
    ablation: &Ablation,
    ctl: &mut Control,
) -> anyhow::Result<(Vec<(String, EvalReport)>, Provenance)> {
    if k < 2 || k > records.len() {
        anyhow::bail!("--cv {k}: needs 2 ≤ K ≤ {} (the records)", records.len());
    }
    let evaluated: BTreeSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let extra: Vec<Record> = if args.learn_also.is_empty() {
        Vec::new()
    } else {
        let all = context::load_records(&args.learn_also, &[])?;
        let n = all.len();
        let kept: Vec<Record> = all
            .into_iter()
            .filter(|r| !evaluated.contains(r.id.as_str()))
            .collect();
        eprintln!(
            "learning also from {} records of {} ({} left out: their ids are evaluated)",
            kept.len(),
            args.learn_also
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            n - kept.len()
        );
        kept
    };
    let ctx = Arc::new(context::coding_context(tables)?);
    let mut engine = cv_engine(ctx.clone(), tables, &args.agents)?;
    let mut order: Vec<&Record> = records.iter().collect();
    order.sort_by(|a, b| a.id.cmp(&b.id));
    let vs = variants(ablation, args.ablation_table, true);
    let mut scorers: Vec<Scorer> = vs.iter().map(|_| Scorer::default()).collect();
    let bar = context::progress_bar((records.len() * vs.len()) as u64, "cv");
    let mut done = 0;
    for f in 0..k {
        let test: Vec<Record> = order
            .iter()
            .enumerate()
            .filter(|(i, _)| i % k == f)
            .map(|(_, r)| (*r).clone())
            .collect();
        let mut train: Vec<Record> = order
            .iter()
            .enumerate()
            .filter(|(i, _)| i % k != f)
            .map(|(_, r)| (*r).clone())
            .collect();
        train.extend(extra.iter().cloned());
        let (model, _) = learn(
            &ctx,
            &LearnInput {
                records: &train,
                ..Default::default()
            },
            &LearnOptions::default(),
        );
        set_fold_model(&mut engine, Some(Arc::new(model)));
        for ((_, a), s) in vs.iter().zip(scorers.iter_mut()) {
            s.evaluate(&mut engine, &test, a, ctl, |_| {});
            done += test.len();
            bar.set_position(done as u64);
        }
        if ctl.cancelled() {
            break;
        }
    }
    bar.finish_and_clear();
    engine.set_helpers_off(&ablation.helpers);
    let runs = vs
        .iter()
        .zip(&scorers)
        .map(|((l, a), s)| (l.clone(), s.report(a)))
        .collect();
    let prov = Provenance {
        method: engine.describe(),
        learned: format!(
            "learned per fold from the other {} folds{}",
            k - 1,
            if extra.is_empty() {
                String::new()
            } else {
                format!(" + {} other records", extra.len())
            }
        ),
        contaminated: 0,
        cv_folds: Some(k),
    };
    Ok((runs, prov))
}

fn print_results(
    args: &EvalArgs,
    runs: &[(String, EvalReport)],
    prov: &Provenance,
) -> anyhow::Result<()> {
    if args.json {
        let mut obj = serde_json::Map::new();
        if runs.len() == 1 {
            if let serde_json::Value::Object(m) = serde_json::to_value(&runs[0].1)? {
                obj.extend(m);
            }
        } else {
            for (l, r) in runs {
                obj.insert(l.clone(), serde_json::to_value(r)?);
            }
        }
        obj.insert("provenance".into(), serde_json::to_value(prov)?);
        println!("{}", serde_json::to_string_pretty(&obj)?);
        return Ok(());
    }
    let lang = crate::i18n::current();
    println!(
        "{}",
        crate::tr!(
            lang,
            CliEvalRecords,
            n = runs[0].1.records,
            failed = runs[0].1.failed,
            method = prov.method
        )
    );
    println!("{}", prov.learned);
    let hf: usize = runs.iter().map(|(_, r)| r.helper_failures).sum();
    if hf > 0 {
        println!(
            "{hf} model answers failed or could not be used: their stages kept retrieval's list (see the trace)"
        );
    }
    if prov.contaminated > 0 {
        println!(
            "{}",
            crate::tr!(lang, CliContaminated, n = prov.contaminated)
        );
    }
    if !runs[0].1.ablated.is_empty() {
        println!("off: {}", runs[0].1.ablated.join(", "));
    }
    print!("{}", format_table(runs));
    Ok(())
}

/// A fixed-width table: one row per track and variant.
pub fn format_table(runs: &[(String, EvalReport)]) -> String {
    let mut s = format!(
        "{:<10} {:<12} {:>5} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9} {:>7}\n",
        "track", "variant", "n", "P", "R", "F1", "Jacc", "NDCG@3", "principal", "CCL25"
    );
    for track in ["diagnosis", "procedure"] {
        for (label, r) in runs {
            let m: &TrackMetrics = if track == "diagnosis" {
                &r.diagnosis
            } else {
                &r.procedure
            };
            if m.records == 0 {
                continue;
            }
            s.push_str(&format!(
                "{:<10} {:<12} {:>5} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>9.3} {:>7.3}\n",
                track,
                label,
                m.records,
                m.precision,
                m.recall,
                m.f1,
                m.jaccard,
                m.ndcg3,
                m.principal_accuracy,
                m.ccl25_score
            ));
        }
    }
    s
}

/// Standardization scored against a pair file's standard names.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StandardizationMetrics {
    /// Share of texts whose first output name is one of the gold names.
    pub top1: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub n: usize,
}

#[derive(Default)]
struct PairScorer {
    top1: usize,
    tp: usize,
    predicted: usize,
    gold: usize,
    n: usize,
}

impl PairScorer {
    fn add(&mut self, predicted: &[String], gold: &[String]) {
        let p: BTreeSet<String> = predicted.iter().map(|s| normalize_name(s)).collect();
        let g: BTreeSet<String> = gold.iter().map(|s| normalize_name(s)).collect();
        self.n += 1;
        if predicted
            .first()
            .is_some_and(|f| g.contains(&normalize_name(f)))
        {
            self.top1 += 1;
        }
        self.tp += p.intersection(&g).count();
        self.predicted += p.len();
        self.gold += g.len();
    }

    fn metrics(&self) -> StandardizationMetrics {
        let p = self.tp as f64 / self.predicted.max(1) as f64;
        let r = self.tp as f64 / self.gold.max(1) as f64;
        StandardizationMetrics {
            top1: self.top1 as f64 / self.n.max(1) as f64,
            precision: p,
            recall: r,
            f1: if p + r == 0.0 {
                0.0
            } else {
                2.0 * p * r / (p + r)
            },
            n: self.n,
        }
    }
}

/// The names Standardization outputs for one raw text.
fn standardize_text(
    engine: &mut Engine,
    text: &str,
    i: usize,
    ablation: &Ablation,
    ctl: &mut Control,
) -> Vec<String> {
    let record = Record::new(format!("pair-{}", i + 1)).with_section("出院诊断", text);
    let mut run = Run::new(record.id.clone());
    engine.set_helpers_off(&ablation.helpers);
    if engine
        .run_stage(&record, &mut run, StageKind::Standardize, true, ctl)
        .is_err()
    {
        return Vec::new();
    }
    let term = engine.context().diagnoses.terminology();
    run.stage(Track::Diagnosis, StageKind::Standardize)
        .map(|s| {
            s.items
                .iter()
                .filter_map(|it| it.code.as_deref().and_then(|c| term.get(c)))
                .map(|e| e.name.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn run_pairs(args: &EvalArgs, tables: &TableArgs, ablation: &Ablation) -> anyhow::Result<()> {
    let mut pairs: Vec<Pair> = Vec::new();
    for f in &args.files {
        pairs.extend(crate::learn::pairs::load_pairs(f)?);
    }
    if let Some(n) = args.limit {
        pairs.truncate(n);
    }
    let cancel = context::ctrlc_flag();
    let mut sink = |_e| {};
    let mut ctl = Control::new(&cancel, &mut sink);
    let (mut engine, note, folds) = match args.cv {
        Some(k) => {
            if k < 2 || k > pairs.len() {
                anyhow::bail!("--cv {k}: needs 2 ≤ K ≤ {} (the pairs)", pairs.len());
            }
            let ctx = Arc::new(context::coding_context(tables)?);
            (
                cv_engine(ctx, tables, &args.agents)?,
                format!(
                    "alias memory learned per fold from the other {} folds",
                    k - 1
                ),
                k,
            )
        }
        None => {
            let (engine, choice) = context::engine(tables, &args.agents)?;
            (engine, choice.note, 1)
        }
    };
    let vs = variants(ablation, args.ablation_table, true)
        .into_iter()
        .filter(|(l, _)| l == "full" || l == "-learned")
        .collect::<Vec<_>>();
    let mut scorers: Vec<PairScorer> = vs.iter().map(|_| PairScorer::default()).collect();
    let bar = context::progress_bar((pairs.len() * vs.len()) as u64, "pairs");
    for f in 0..folds {
        let test: Vec<usize> = (0..pairs.len()).filter(|i| i % folds == f).collect();
        if folds > 1 {
            let train: Vec<Pair> = (0..pairs.len())
                .filter(|i| i % folds != f)
                .map(|i| pairs[i].clone())
                .collect();
            let ctx = engine.context().clone();
            let (model, _) = learn(
                &ctx,
                &LearnInput {
                    pairs: &train,
                    ..Default::default()
                },
                &LearnOptions::default(),
            );
            set_fold_model(&mut engine, Some(Arc::new(model)));
        }
        for ((_, a), s) in vs.iter().zip(scorers.iter_mut()) {
            for &i in &test {
                let out = standardize_text(&mut engine, &pairs[i].text, i, a, &mut ctl);
                s.add(&out, &pairs[i].names);
                bar.inc(1);
            }
        }
        if ctl.cancelled() {
            break;
        }
    }
    bar.finish_and_clear();
    engine.set_helpers_off(&ablation.helpers);
    let method = engine.describe();
    if args.json {
        let mut obj = serde_json::Map::new();
        for ((l, _), s) in vs.iter().zip(&scorers) {
            let key = if l == "full" {
                "standardization".to_string()
            } else {
                format!("standardization{l}")
            };
            obj.insert(key, serde_json::to_value(s.metrics())?);
        }
        obj.insert(
            "provenance".into(),
            serde_json::to_value(Provenance {
                method,
                learned: note,
                contaminated: 0,
                cv_folds: args.cv,
            })?,
        );
        println!("{}", serde_json::to_string_pretty(&obj)?);
        return Ok(());
    }
    println!("{} pairs, method: {method}", pairs.len());
    println!("{note}");
    println!(
        "{:<12} {:>6} {:>7} {:>7} {:>7} {:>7}",
        "variant", "n", "top-1", "P", "R", "F1"
    );
    for ((l, _), s) in vs.iter().zip(&scorers) {
        let m = s.metrics();
        println!(
            "{:<12} {:>6} {:>7.3} {:>7.3} {:>7.3} {:>7.3}",
            l, m.n, m.top1, m.precision, m.recall, m.f1
        );
    }
    Ok(())
}
