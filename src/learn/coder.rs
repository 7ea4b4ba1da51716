//! What coders teach: their accepted mappings (raw item text → codes),
//! kept in one file of the user's data dir, replaced atomically on every
//! change, each change also appended to an audit log beside it.
//!
//! The learned helper reads it on every record (a coder's correction
//! applies to the next record at once); `icdflow learn` folds it into the
//! model's alias memory, together with coder items found in saved sessions.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::aliases::{AliasMemory, AliasSource};
use crate::error::{Error, Location};
use crate::pipeline::{Origin, StageKind};
use crate::record::Track;
use crate::session::{EditAction, EditEntry};
use crate::Result;

/// One audited change of the coder alias memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasAudit {
    pub at: String,
    pub user: String,
    pub action: String,
    pub track: Track,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
}

/// The coder alias memory and where it lives.
#[derive(Debug)]
pub struct CoderAliases {
    path: PathBuf,
    memory: AliasMemory,
}

/// Shared between the workbench and its engine thread.
pub type SharedCoderAliases = Arc<Mutex<CoderAliases>>;

impl CoderAliases {
    /// Opens the file (absent → empty). A damaged file is an error that
    /// names it: the coder's teaching is not silently dropped.
    pub fn open(path: impl Into<PathBuf>) -> Result<CoderAliases> {
        let path = path.into();
        let memory = match std::fs::read(&path) {
            Ok(bytes) => {
                let mut m: AliasMemory = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::invalid(
                        Location::file(&path),
                        format!("damaged coder alias memory ({e}); move it aside to start afresh"),
                    )
                })?;
                m.reindex();
                m
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => AliasMemory::default(),
            Err(e) => return Err(Error::io(&path, e)),
        };
        Ok(CoderAliases { path, memory })
    }

    /// An in-memory store that is never written (tests, demonstrations).
    pub fn in_memory() -> CoderAliases {
        CoderAliases {
            path: PathBuf::new(),
            memory: AliasMemory::default(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn memory(&self) -> &AliasMemory {
        &self.memory
    }

    fn persist(&self, audit: AliasAudit) -> Result<()> {
        if self.path.as_os_str().is_empty() {
            return Ok(());
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::session::create_private_dir(dir)?;
        }
        let json =
            serde_json::to_vec_pretty(&self.memory).map_err(|e| Error::Other(e.to_string()))?;
        crate::session::write_atomic(&self.path, &json)?;
        let log = self.audit_path();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| Error::io(&log, e))?;
        let mut line = serde_json::to_vec(&audit).map_err(|e| Error::Other(e.to_string()))?;
        line.push(b'\n');
        f.write_all(&line).map_err(|e| Error::io(&log, e))?;
        f.sync_all().map_err(|e| Error::io(&log, e))
    }

    /// The audit log beside the memory file.
    pub fn audit_path(&self) -> PathBuf {
        self.path.with_extension("audit.jsonl")
    }

    /// Remembers a coder's mapping and saves it. On a failed save the
    /// memory is left as it was and the error says why.
    pub fn teach(
        &mut self,
        track: Track,
        text: &str,
        codes: Vec<String>,
        user: &str,
    ) -> Result<()> {
        let before = self.memory.clone();
        self.memory.teach(track, text, codes.clone(), user);
        let audit = AliasAudit {
            at: chrono::Utc::now().to_rfc3339(),
            user: user.into(),
            action: "teach".into(),
            track,
            text: text.trim().into(),
            codes,
        };
        self.persist(audit).inspect_err(|_| self.memory = before)
    }

    /// Forgets a remembered text and saves; false when it was not there.
    pub fn forget(&mut self, track: Track, text: &str, user: &str) -> Result<bool> {
        let before = self.memory.clone();
        if !self.memory.forget(track, text) {
            return Ok(false);
        }
        let audit = AliasAudit {
            at: chrono::Utc::now().to_rfc3339(),
            user: user.into(),
            action: "forget".into(),
            track,
            text: text.trim().into(),
            codes: Vec::new(),
        };
        self.persist(audit).inspect_err(|_| self.memory = before)?;
        Ok(true)
    }
}

/// Coder mappings in saved sessions' audit entries: every item a coder put
/// into a Standardization list that carries its raw source text and a code.
pub fn from_edits(edits: &[EditEntry]) -> AliasMemory {
    let mut m = AliasMemory::default();
    for e in edits
        .iter()
        .filter(|e| e.action == EditAction::Edit && e.stage == StageKind::Standardize)
    {
        for it in e.items.iter().filter(|i| i.origin == Origin::Coder) {
            if let (Some(src), Some(code)) = (&it.source, &it.code) {
                m.add(e.track, src, vec![code.clone()], AliasSource::Coder);
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teaching_persists_with_an_audit_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aliases.json");
        let mut c = CoderAliases::open(&path).unwrap();
        c.teach(Track::Diagnosis, "冠心病", vec!["I25.103".into()], "lin")
            .unwrap();
        let again = CoderAliases::open(&path).unwrap();
        let a = again.memory().exact(Track::Diagnosis, "冠心病").unwrap();
        assert_eq!(a.best(), ["I25.103".to_string()]);
        let audit = std::fs::read_to_string(c.audit_path()).unwrap();
        assert!(audit.contains("\"teach\"") && audit.contains("lin"));
        let mut c = again;
        assert!(c.forget(Track::Diagnosis, "冠心病", "lin").unwrap());
        assert!(CoderAliases::open(&path).unwrap().memory().is_empty());
    }

    #[test]
    fn a_damaged_file_is_named_not_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aliases.json");
        std::fs::write(&path, b"{ not json").unwrap();
        let e = CoderAliases::open(&path).unwrap_err().to_string();
        assert!(e.contains("aliases.json") && e.contains("damaged"), "{e}");
    }

    #[test]
    fn a_failed_save_leaves_the_memory_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aliases.json");
        let mut c = CoderAliases::open(&path).unwrap();
        // a directory where the file should go: the atomic rename fails,
        // whoever runs the test
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), b"x").unwrap();
        let e = c
            .teach(Track::Diagnosis, "心衰", vec!["I50.900".into()], "lin")
            .unwrap_err();
        assert!(e.to_string().contains("aliases.json"), "{e}");
        assert!(c.memory().is_empty());
    }
}
