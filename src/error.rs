//! Library error type. Every error names what it was reading: the file, and
//! where it applies the record and the field, so a coder can find the problem.

use std::path::PathBuf;

/// Where in the input a problem was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub file: Option<PathBuf>,
    /// Record id, or row/line number when no id is known yet.
    pub record: Option<String>,
    pub field: Option<String>,
}

impl Location {
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Location {
            file: Some(path.into()),
            ..Default::default()
        }
    }
    pub fn record(mut self, record: impl Into<String>) -> Self {
        self.record = Some(record.into());
        self
    }
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(p) = &self.file {
            parts.push(format!("file {}", p.display()));
        }
        if let Some(r) = &self.record {
            parts.push(format!("record {r}"));
        }
        if let Some(fl) = &self.field {
            parts.push(format!("field {fl}"));
        }
        if parts.is_empty() {
            write!(f, "<input>")
        } else {
            write!(f, "{}", parts.join(", "))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{loc}: {source}")]
    Io {
        loc: Location,
        #[source]
        source: std::io::Error,
    },
    #[error("{loc}: {msg}")]
    Invalid { loc: Location, msg: String },
    #[error("search index: {0}")]
    Index(String),
    #[error("model: {0}")]
    Model(String),
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn invalid(loc: Location, msg: impl Into<String>) -> Self {
        Error::Invalid {
            loc,
            msg: msg.into(),
        }
    }
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            loc: Location::file(path),
            source,
        }
    }
}

impl From<tantivy::TantivyError> for Error {
    fn from(e: tantivy::TantivyError) -> Self {
        Error::Index(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
