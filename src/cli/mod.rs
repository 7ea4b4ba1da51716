//! Command-line subcommands. Each file holds one subcommand's clap `Args`
//! and its `run` function; `main.rs` only dispatches.

pub mod bench;
pub mod code;
pub mod common;
pub mod context;
pub mod eval;
pub mod export;
pub mod import;
pub mod index;
pub mod learn;
pub mod logging;
pub mod lookup;
pub mod requantize;
pub mod sft;
pub mod tui;
