//! icdflow — automated ICD coding of Chinese inpatient records.
//!
//! The library is the whole engine; the terminal workbench (`tui`) and the
//! command line (`main.rs`, `cli`) are thin faces on it.
//!
//! Data travels one way: [`record::Record`] → [`pipeline::Run`] (stage lists
//! per track) → final codes from the loaded [`terminology::Terminology`].

pub mod agents;
pub mod assemble;
pub mod batch;
pub mod cli;
pub mod config;
pub mod error;
pub mod eval;
pub mod fuzz;
pub mod i18n;
pub mod learn;
pub mod limits;
pub mod llm;
pub mod pipeline;
pub mod record;
pub mod redact;
pub mod rules;
pub mod search;
pub mod session;
pub mod terminology;
pub mod text;
pub mod tui;

pub use error::{Error, Result};
