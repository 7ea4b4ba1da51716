//! Models learned from a hospital's coded history and its coders' edits.
//!
//! `icdflow learn FILE…` reads records with gold codes (any importer
//! format, keyword extractions included), normalization pair files and the
//! coders' accepted mappings, and writes one model file ([`store`]) that
//! holds:
//!
//! - per track, a classifier per code and a principal-code classifier over
//!   sparse features of the record ([`features`], [`linear`]), with
//!   thresholds chosen by cross-validation inside the training data;
//! - a case base of the training records ([`cases`]) for "similar coded
//!   cases";
//! - an alias memory, raw item text → codes ([`aliases`]);
//! - principal-code priors ([`priors`]);
//! - its format version, the fingerprints of the code tables it was
//!   learned on, and the ids and fingerprint of the records it learned
//!   from (so an evaluation can refuse records it has seen).
//!
//! [`LearnedHelper`] is how the stages use it.

pub mod aliases;
pub mod cases;
pub mod coder;
pub mod features;
mod helper;
pub mod linear;
pub mod model;
pub mod pairs;
pub mod priors;
pub mod store;
pub mod train;

pub use aliases::{AliasMemory, AliasSource};
pub use coder::{CoderAliases, SharedCoderAliases};
pub use helper::{LearnedHelper, LearnedSettings};
pub use model::{LearnedModel, Prediction, FORMAT_VERSION};
pub use train::{learn, LearnInput, LearnOptions, Pair};
