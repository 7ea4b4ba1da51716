//! `icdflow learn FILE…`: learns principal-code priors from records with
//! gold codes (the hospital's coded history) for Prioritization.

use std::path::PathBuf;

use super::context;
use crate::pipeline::priors::Priors;

#[derive(Debug, clap::Args)]
pub struct LearnArgs {
    /// Records with gold codes (any importer format).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Where to write the priors (default: priors.json in the user data dir,
    /// which every run then uses).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

pub fn run(args: LearnArgs) -> anyhow::Result<()> {
    let records = context::load_records(&args.files, &[])?;
    let priors = Priors::learn(&records);
    if priors.records == 0 {
        anyhow::bail!(
            "none of the {} records has gold codes to learn from",
            records.len()
        );
    }
    let out = match args.out {
        Some(p) => p,
        None => context::default_priors_path()?,
    };
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    priors.save(&out)?;
    let codes: usize = priors
        .codes
        .values()
        .map(|t| t.keys().filter(|k| !k.starts_with("cat:")).count())
        .sum();
    println!(
        "learned from {} records ({codes} codes) → {}",
        priors.records,
        out.display()
    );
    Ok(())
}
