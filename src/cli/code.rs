//! `icdflow code FILE…`: codes records headless and writes JSON Lines.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;

use super::common::TableArgs;
use super::context;
use crate::pipeline::batch::{code_record, Ablation, CodedRecord};
use crate::pipeline::engine::Control;

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
    #[command(flatten)]
    pub agents: super::context::AgentArgs,
}

pub fn run(args: CodeArgs, tables: &TableArgs) -> anyhow::Result<()> {
    let ablation = Ablation::parse(&args.ablate).map_err(anyhow::Error::msg)?;
    let records = context::load_records(&args.files, &args.records)?;
    let (mut engine, learned) = context::engine(tables, &args.agents)?;
    engine.set_helpers_off(&ablation.helpers);
    eprintln!("{}", learned.note);
    let mut out: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let bar = context::progress_bar(records.len() as u64, "coding");
    let cancel = context::ctrlc_flag();
    let mut sink = |_e| {};
    let mut ctl = Control::new(&cancel, &mut sink);
    let method = engine.describe();
    let mut failed = 0;
    let mut processed = 0;
    let mut helper_failures = 0;
    for r in &records {
        processed += 1;
        match code_record(&mut engine, r, &ablation, &mut ctl) {
            Ok(run) => {
                helper_failures += run.failures();
                let line = CodedRecord::from_run(&run, method.clone(), args.trace);
                serde_json::to_writer(&mut out, &line)?;
                out.write_all(b"\n")?;
            }
            Err(e) => {
                failed += 1;
                bar.suspend(|| eprintln!("record {}: {e}", r.id));
            }
        }
        bar.inc(1);
        if ctl.cancelled() {
            break;
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    if helper_failures > 0 {
        eprintln!(
            "{helper_failures} model answers failed or could not be used: their stages kept retrieval's list (`failures` and `worked` in each line say where)"
        );
    }
    let left = records.len() - processed;
    eprintln!(
        "coded {} records ({failed} failed{}) with {method}",
        processed - failed,
        if left > 0 {
            format!(", {left} not reached: interrupted")
        } else {
            String::new()
        }
    );
    Ok(())
}
