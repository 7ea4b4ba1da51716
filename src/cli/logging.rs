//! Logs go to a file (never the terminal: the TUI owns it).

use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Default log file: `<data dir>/icdflow.log`.
pub fn default_log_path() -> PathBuf {
    crate::config::Config::load()
        .ok()
        .and_then(|c| c.data_dir().ok())
        .unwrap_or_else(std::env::temp_dir)
        .join("icdflow.log")
}

/// Starts logging to `path` (or the default); the guard flushes on drop.
/// Level from `ICDFLOW_LOG` (e.g. `debug`, `icdflow=trace`), default `info`.
pub fn init(path: Option<&Path>) -> Option<WorkerGuard> {
    let path = path.map(Path::to_path_buf).unwrap_or_else(default_log_path);
    let dir = path.parent()?.to_path_buf();
    crate::session::create_private_dir(&dir).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = EnvFilter::try_from_env("ICDFLOW_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}
