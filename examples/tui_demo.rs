//! The workbench on the demo code tables, without the full setup: for
//! trying the interface and for `scripts/tmux-e2e.sh` before the real
//! tables are installed.
//!
//! `cargo run --no-default-features --example tui_demo -- [FILE] [--record ID] [--theme NAME] [--trainer] [--export-dir DIR]`
//!
//! With no FILE it opens the built-in fictional record. Sessions go to
//! `$ICDFLOW_SESSIONS` (default `./target/tui-demo-sessions`), and so does
//! the coders' alias memory the demo teaches. Similar cases (`c`) come from
//! a small model learned from the sample's fictional history at start.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Parser;
use icdflow::cli::tui::{run, TuiArgs, TuiInputs};
use icdflow::session::SessionStore;
use icdflow::tui::sample;

#[derive(Parser)]
struct Demo {
    #[command(flatten)]
    tui: TuiArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Demo::parse().tui;
    let records = match &args.file {
        Some(path) => {
            let report = icdflow::record::load(path)?;
            for e in &report.errors {
                eprintln!("{e}");
            }
            report.records
        }
        None => vec![sample::record(), sample::second_record()],
    };
    let dir = std::env::var_os("ICDFLOW_SESSIONS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/tui-demo-sessions"));
    // Logs go to a file: the terminal belongs to the interface.
    let log = tracing_appender::rolling::never(&dir, "tui-demo.log");
    let _ = tracing_subscriber::fmt()
        .with_writer(log)
        .with_ansi(false)
        .try_init();
    let store = SessionStore::open(&dir)?;
    let coder = Arc::new(Mutex::new(icdflow::learn::CoderAliases::open(
        dir.join("coder-aliases.json"),
    )?));
    let helper = icdflow::learn::LearnedHelper::new(None, None).with_coder_aliases(coder.clone());
    run(
        args,
        TuiInputs {
            records,
            engine: move || {
                Ok(icdflow::assemble::engine(
                    sample::context(),
                    Some(helper),
                    None,
                ))
            },
            store,
            tui_config: None,
            config_dir: None,
            notes: None,
            learned: Some(sample::learned_model()),
            coder_aliases: Some(coder),
        },
    )
}
