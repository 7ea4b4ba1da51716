//! Options shared by every subcommand.

use std::path::PathBuf;

/// Which code tables to use; overrides the config file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TableArgs {
    /// Diagnosis (ICD-10) table: product table, 国临 .dat/.csv, or xlsx.
    #[arg(long, global = true, value_name = "PATH")]
    pub diag_table: Option<PathBuf>,
    /// Procedure (ICD-9-CM-3) table: product table, 国临 .dat/.csv, or xlsx.
    #[arg(long, global = true, value_name = "PATH")]
    pub proc_table: Option<PathBuf>,
    /// Principal-code priors from `icdflow learn` (default: priors.json in
    /// the user data dir when present; `none` to run without).
    #[arg(long, global = true, value_name = "PATH")]
    pub priors: Option<PathBuf>,
    /// Keep only final codes seen in the learned history (closed label set,
    /// as shared-task evaluations define it); needs priors.
    #[arg(long, global = true)]
    pub closed_label_set: bool,
    /// Where search indexes live (default: the user data dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub index_dir: Option<PathBuf>,
}
