//! Command-line subcommands. Each file holds one subcommand's clap `Args`
//! and its `run` function; `main.rs` only dispatches.

pub mod common;
pub mod tui;
