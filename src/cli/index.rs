//! `icdflow index`: builds (or checks) the search indexes of the configured tables.

use std::sync::Arc;
use std::time::Instant;

use super::common::TableArgs;
use crate::config::Config;
use crate::search::Matcher;
use crate::terminology::CodeSystem;

#[derive(Debug, clap::Args)]
pub struct IndexArgs {
    /// Rebuild even when the index matches its table.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: IndexArgs, tables: &TableArgs) -> anyhow::Result<()> {
    let cfg = Config::load()?;
    let (diag, proc_) = crate::config::resolve_tables(&cfg, tables)?;
    let root =
        crate::search::default_index_root(tables.index_dir.as_deref().or(cfg.index_dir.as_deref()));
    for (path, system) in [(diag, CodeSystem::Icd10), (proc_, CodeSystem::Icd9Cm3)] {
        let t = Instant::now();
        let (term, report) = super::context::load_coding_table(&path, system)?;
        let load_ms = t.elapsed().as_secs_f64() * 1e3;
        let term = Arc::new(term);
        let t = Instant::now();
        if args.force {
            Matcher::build_index(&term, &root)?;
        }
        let _m = Matcher::open(term.clone(), &root)?;
        println!(
            "{:<9} {} rows from {} ({} skipped) in {:.0} ms; index ready in {:.0} ms under {}",
            format!("{system:?}"),
            term.len(),
            path.display(),
            report.skipped.len(),
            load_ms,
            t.elapsed().as_secs_f64() * 1e3,
            root.display()
        );
    }
    Ok(())
}
