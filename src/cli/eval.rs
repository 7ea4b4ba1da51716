//! `icdflow eval FILE…`: codes records with gold and prints the metrics.

use std::path::PathBuf;

use super::common::TableArgs;
use super::context;
use crate::eval::{EvalReport, TrackMetrics};
use crate::pipeline::batch::{evaluate, Ablation};
use crate::pipeline::engine::Control;

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Record files with gold codes.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Switch a stage off (`validate`, `procedure:mine`, …); repeatable.
    #[arg(long, value_name = "STAGE")]
    pub ablate: Vec<String>,
    /// Also evaluate with each stage switched off in turn (one row per stage).
    #[arg(long)]
    pub ablation_table: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Only the first N records of the input.
    #[arg(long)]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub agents: super::context::AgentArgs,
}

pub fn run(args: EvalArgs, tables: &TableArgs) -> anyhow::Result<()> {
    let ablation = Ablation::parse(&args.ablate).map_err(anyhow::Error::msg)?;
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
    let mut engine = context::engine(tables, &args.agents)?;
    let cancel = context::ctrlc_flag();
    let mut sink = |_e| {};
    let mut ctl = Control::new(&cancel, &mut sink);
    let mut runs: Vec<(String, EvalReport)> = Vec::new();
    let mut variants = vec![("full".to_string(), ablation.clone())];
    if args.ablation_table {
        for spec in ["standardize", "mine", "prioritize", "code_also", "validate"] {
            let mut a = ablation.clone();
            a.0.extend(Ablation::parse(&[spec.to_string()]).expect("known stage").0);
            variants.push((format!("-{spec}"), a));
        }
    }
    for (label, a) in &variants {
        let bar = context::progress_bar(records.len() as u64, label);
        let report = evaluate(&mut engine, &records, a, &mut ctl, |i| {
            bar.set_position(i as u64)
        });
        bar.finish_and_clear();
        runs.push((label.clone(), report));
    }
    let method = engine.describe();
    if args.json {
        if runs.len() == 1 {
            println!("{}", serde_json::to_string_pretty(&runs[0].1)?);
        } else {
            let obj: serde_json::Map<String, serde_json::Value> = runs
                .iter()
                .map(|(l, r)| (l.clone(), serde_json::to_value(r).unwrap_or_default()))
                .collect();
            println!("{}", serde_json::to_string_pretty(&obj)?);
        }
        return Ok(());
    }
    println!(
        "{} records ({} failed), method: {method}",
        runs[0].1.records, runs[0].1.failed
    );
    if !runs[0].1.ablated.is_empty() {
        println!("stages off: {}", runs[0].1.ablated.join(", "));
    }
    print!("{}", format_table(&runs));
    Ok(())
}

/// A fixed-width table: one row per track and variant.
pub fn format_table(runs: &[(String, EvalReport)]) -> String {
    let mut s = format!(
        "{:<10} {:<11} {:>5} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9} {:>7}\n",
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
                "{:<10} {:<11} {:>5} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>9.3} {:>7.3}\n",
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
