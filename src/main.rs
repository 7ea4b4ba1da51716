//! icdflow command line: a thin face on the library.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use icdflow::cli;

#[derive(Parser)]
#[command(
    name = "icdflow",
    version,
    about = "ICD coding workbench for Chinese inpatient records"
)]
struct Cli {
    /// Log file (default: icdflow.log in the user data dir). Logs never go to the terminal.
    #[arg(long, global = true, value_name = "PATH")]
    log_file: Option<PathBuf>,
    /// Interface language: zh (中文, the default) or en; overrides `lang` in the config file.
    #[arg(long, global = true, value_name = "LANG")]
    lang: Option<icdflow::i18n::Lang>,
    #[command(flatten)]
    tables: cli::common::TableArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open records in the terminal workbench.
    Tui {
        #[command(flatten)]
        args: cli::tui::TuiArgs,
        #[command(flatten)]
        agents: cli::context::AgentArgs,
    },
    /// Code records headless; JSON Lines out.
    Code(cli::code::CodeArgs),
    /// Code records with gold codes and print the metrics.
    Eval(cli::eval::EvalArgs),
    /// Learn a coding model from coded records, pair files and coders' edits.
    Learn(cli::learn::LearnArgs),
    /// Look up codes by name, code, code prefix or pinyin initials.
    Lookup(cli::lookup::LookupArgs),
    /// Build the search indexes of the configured tables.
    Index(cli::index::IndexArgs),
    /// Turn a hospital's own code table into the product's table format.
    Import(cli::import::ImportArgs),
    /// Measure model load, per-stage latency, tokens/s and memory.
    Bench(cli::bench::BenchArgs),
    /// Training data for the agents from coded history.
    Sft(cli::sft::SftArgs),
    /// Export the saved results of records as JSON Lines (`--redact` for outside use).
    Export(cli::export::ExportArgs),
    /// Rewrite a GGUF model's weights in a format the CPU reads faster (IQ4_NL).
    Requantize(cli::requantize::RequantizeArgs),
}

fn main() -> std::process::ExitCode {
    // llama.cpp's OpenMP threads spin while idle unless told otherwise; on a
    // shared server that burns every core between tokens (measured: 10× slower
    // generation on 2 cores). The variable is read before main, so re-exec.
    #[cfg(all(feature = "llama", unix))]
    icdflow::llm::llama::ensure_passive_openmp();
    // Output piped into `head` and the like: end quietly when the reader
    // goes away, as command-line tools do, instead of panicking on EPIPE.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal at start-up,
    // before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let _log = cli::logging::init(cli.log_file.as_deref());
    // The language is set once for the whole process; a config file that
    // does not load is reported by the subcommand that needs it.
    let lang = cli
        .lang
        .or_else(|| icdflow::config::Config::load().ok().and_then(|c| c.lang))
        .unwrap_or_default();
    icdflow::i18n::set(lang);
    let result = match cli.command {
        Command::Tui { args, agents } => cli::tui::run_cli(args, &cli.tables, agents),
        Command::Code(a) => cli::code::run(a, &cli.tables),
        Command::Eval(a) => cli::eval::run(a, &cli.tables),
        Command::Learn(a) => cli::learn::run(a, &cli.tables),
        Command::Lookup(a) => cli::lookup::run(a, &cli.tables),
        Command::Index(a) => cli::index::run(a, &cli.tables),
        Command::Import(a) => cli::import::run(a),
        Command::Bench(a) => cli::bench::run(a, &cli.tables),
        Command::Sft(a) => cli::sft::run(a, &cli.tables),
        Command::Export(a) => cli::export::run(a, &cli.tables),
        Command::Requantize(a) => cli::requantize::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", icdflow::tr!(lang, CliError, e = format!("{e:#}")));
            std::process::ExitCode::FAILURE
        }
    }
}
