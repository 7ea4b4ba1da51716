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
    /// Learned model from `icdflow learn` (default: the one in the user
    /// data dir when present; `none` to run without learning, the coders'
    /// alias memory included).
    #[arg(long, global = true, value_name = "PATH")]
    pub learned: Option<PathBuf>,
    /// Keep only final codes the learned model knows (closed label set, as
    /// shared-task evaluations define it); needs a learned model.
    #[arg(long, global = true)]
    pub closed_label_set: bool,
    /// Where search indexes live (default: the user data dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub index_dir: Option<PathBuf>,
}
