//! The model file: a fixed header, then the model in a compact binary
//! serialization (postcard) guarded by its SHA-256.
//!
//! ```text
//! "ICDFLOW-LEARNED\n"   16 bytes, magic
//! format                u32 little-endian
//! sha256(payload)       32 bytes
//! payload               postcard(LearnedModel)
//! ```
//!
//! The format number is read before the payload, so a model from a newer
//! build is refused with that reason rather than as garbage; a payload
//! whose hash does not match is corrupt (a truncated copy, a disk error).

use std::path::Path;

use sha2::{Digest, Sha256};

use super::model::{code_fingerprint, LearnedModel, FORMAT_VERSION};
use crate::error::{Error, Location};
use crate::pipeline::CodingContext;
use crate::Result;

const MAGIC: &[u8; 16] = b"ICDFLOW-LEARNED\n";
const HEADER: usize = 16 + 4 + 32;

/// Serializes a model to bytes.
pub fn to_bytes(model: &LearnedModel) -> Result<Vec<u8>> {
    let payload = postcard::to_stdvec(model)
        .map_err(|e| Error::Other(format!("serializing the learned model: {e}")))?;
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&model.format.to_le_bytes());
    out.extend_from_slice(&Sha256::digest(&payload));
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Reads a model from bytes; `path` names the file in errors.
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<LearnedModel> {
    let bad = |msg: String| Error::invalid(Location::file(path), msg);
    if bytes.len() < HEADER || &bytes[..16] != MAGIC {
        return Err(bad(
            "not an icdflow learned model (make one with `icdflow learn FILE…`)".into(),
        ));
    }
    let format = u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes"));
    if format > FORMAT_VERSION {
        return Err(bad(format!(
            "written by a newer icdflow (model format {format}; this build reads format {FORMAT_VERSION}): upgrade icdflow or learn again with this one"
        )));
    }
    if format < FORMAT_VERSION {
        return Err(bad(format!(
            "an older model format ({format}; this build reads {FORMAT_VERSION}): learn again with `icdflow learn`"
        )));
    }
    let payload = &bytes[HEADER..];
    if Sha256::digest(payload).as_slice() != &bytes[20..52] {
        return Err(bad(
            "corrupt (its checksum does not match: a truncated or damaged copy): learn again with `icdflow learn`"
                .into(),
        ));
    }
    let mut model: LearnedModel = postcard::from_bytes(payload)
        .map_err(|e| bad(format!("corrupt ({e}): learn again with `icdflow learn`")))?;
    model.reindex();
    Ok(model)
}

/// Writes a model atomically.
pub fn save(model: &LearnedModel, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::session::create_private_dir(dir)?;
    }
    crate::session::write_atomic(path, &to_bytes(model)?)
}

/// Reads a model file.
pub fn load(path: &Path) -> Result<LearnedModel> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    from_bytes(&bytes, path)
}

/// Checks that a model was learned on the tables a run has loaded.
pub fn check_tables(model: &LearnedModel, ctx: &CodingContext, path: &Path) -> Result<()> {
    for tie in &model.tables {
        let term = ctx.matcher(tie.track).terminology();
        let fp = code_fingerprint(term);
        if fp != tie.fingerprint {
            return Err(Error::invalid(
                Location::file(path),
                format!(
                    "learned on another {} table ({}, codes {}…); the loaded one is {} (codes {}…): learn again with this table, or load the table it was learned on",
                    tie.track.label(),
                    tie.label,
                    &tie.fingerprint[..12.min(tie.fingerprint.len())],
                    term.label,
                    &fp[..12]
                ),
            ));
        }
    }
    Ok(())
}
