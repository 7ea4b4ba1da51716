//! The process-wide llama.cpp runtime: initialised once, logs routed to
//! `tracing`, and (feature `dynamic-backends`) the ggml backend modules loaded
//! from a folder, leaving out CPU variants that crash on this machine.

use std::path::PathBuf;
use std::sync::OnceLock;

use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::{send_logs_to_tracing, LogOptions};

use crate::error::{Error, Result};

/// Environment variable naming the folder with `libggml-*.so` backend modules.
pub const BACKENDS_DIR_ENV: &str = "ICDFLOW_GGML_BACKENDS";
/// Environment variable: comma-separated parts of backend file names to skip
/// (default `sapphirerapids`; set it empty to load every module).
pub const BACKENDS_EXCLUDE_ENV: &str = "ICDFLOW_GGML_EXCLUDE";

/// CPU variants left out by default. The AMX (sapphirerapids) build dies with
/// "Illegal instruction" on VMs whose CPU lists AMX but whose hypervisor does
/// not allow it; the next best variant is nearly as fast.
pub const DEFAULT_EXCLUDE: &[&str] = &["sapphirerapids"];

/// How to start llama.cpp. Only the first initialisation in a process counts.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Folder of backend modules (`dynamic-backends` builds only). Default:
    /// `$ICDFLOW_GGML_BACKENDS`, else `backends/` next to the executable, else
    /// the executable's own folder.
    pub backends_dir: Option<PathBuf>,
    /// Parts of backend file names to skip. Default: `$ICDFLOW_GGML_EXCLUDE`
    /// or [`DEFAULT_EXCLUDE`].
    pub exclude: Option<Vec<String>>,
}

static RUNTIME: OnceLock<std::result::Result<LlamaBackend, String>> = OnceLock::new();

/// Starts llama.cpp with `opts` unless it is already running; returns the
/// handle every model load needs.
pub fn init_runtime(opts: &RuntimeOptions) -> Result<&'static LlamaBackend> {
    RUNTIME
        .get_or_init(|| start(opts))
        .as_ref()
        .map_err(|e| Error::Model(e.clone()))
}

/// The runtime, started with default options on first use.
pub(crate) fn runtime() -> Result<&'static LlamaBackend> {
    init_runtime(&RuntimeOptions::default())
}

fn start(opts: &RuntimeOptions) -> std::result::Result<LlamaBackend, String> {
    // Before anything else, so that backend loading logs go to tracing, not
    // to the terminal (which the TUI owns).
    send_logs_to_tracing(LogOptions::default());
    #[cfg(feature = "dynamic-backends")]
    load_backend_modules(opts)?;
    #[cfg(not(feature = "dynamic-backends"))]
    let _ = opts;
    LlamaBackend::init().map_err(|e| format!("llama.cpp failed to start: {e}"))
}

/// Restarts the program with `OMP_WAIT_POLICY=PASSIVE` unless the variable
/// is already set. Call it first thing in `main`, before any thread starts.
///
/// Why: llama.cpp's CPU backend uses OpenMP, whose threads spin while
/// waiting. On a machine whose cores are shared (a VM, several coders on one
/// server, a build running) the spinning steals the cores doing the work:
/// measured on a 2-core VM under load, passive waiting read prompts 2–20×
/// and generated 2–10× faster. libgomp reads the variable when the program
/// is loaded, so setting it from inside the running process is too late.
/// Returns only if the restart failed (or was not needed).
#[cfg(unix)]
pub fn ensure_passive_openmp() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OMP_WAIT_POLICY").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .exec();
    tracing::warn!(error = %err, "could not restart with OMP_WAIT_POLICY=PASSIVE");
}

/// Names of the compute devices llama.cpp can use (e.g. `CPU`, `CUDA0 (NVIDIA H100)`).
pub fn devices() -> Result<Vec<String>> {
    runtime()?;
    Ok(llama_cpp_2::list_llama_ggml_backend_devices()
        .into_iter()
        .map(|d| {
            if d.description.is_empty() || d.description == d.name {
                d.name
            } else {
                format!("{} ({})", d.name, d.description)
            }
        })
        .collect())
}

/// The exclusion list in force: explicit, else the environment, else the default.
pub fn exclusions(opts: &RuntimeOptions) -> Vec<String> {
    if let Some(list) = &opts.exclude {
        return list.clone();
    }
    match std::env::var(BACKENDS_EXCLUDE_ENV) {
        Ok(v) => v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        Err(_) => DEFAULT_EXCLUDE.iter().map(|s| s.to_string()).collect(),
    }
}

/// The backend folder in force (see [`RuntimeOptions::backends_dir`]).
pub fn backends_dir(opts: &RuntimeOptions) -> Option<PathBuf> {
    if let Some(d) = &opts.backends_dir {
        return Some(d.clone());
    }
    if let Some(d) = std::env::var_os(BACKENDS_DIR_ENV) {
        return Some(PathBuf::from(d));
    }
    let exe_dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
    let sub = exe_dir.join("backends");
    Some(if sub.is_dir() { sub } else { exe_dir })
}

/// Picks the module files to load from `dir`: every `libggml-*` shared
/// library whose name contains none of `exclude`. Returns (kept, skipped).
pub fn select_modules(
    dir: &std::path::Path,
    exclude: &[String],
) -> std::io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut keep = Vec::new();
    let mut skip = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let is_module = name.starts_with("libggml-") || name.starts_with("ggml-");
        let is_lib = name.ends_with(".so") || name.ends_with(".dll") || name.ends_with(".dylib");
        // The core libraries are linked, not loaded as modules.
        if !is_module || !is_lib || name.starts_with("libggml-base") {
            continue;
        }
        if exclude.iter().any(|x| name.contains(x.as_str())) {
            skip.push(path);
        } else {
            keep.push(path);
        }
    }
    keep.sort();
    skip.sort();
    Ok((keep, skip))
}

#[cfg(feature = "dynamic-backends")]
fn load_backend_modules(opts: &RuntimeOptions) -> std::result::Result<(), String> {
    let Some(dir) = backends_dir(opts) else {
        tracing::warn!("no folder for ggml backend modules; only built-in backends");
        return Ok(());
    };
    let exclude = exclusions(opts);
    let (keep, skip) = select_modules(&dir, &exclude)
        .map_err(|e| format!("cannot read ggml backend folder {}: {e}", dir.display()))?;
    if keep.is_empty() {
        return Err(format!(
            "no ggml backend modules (libggml-*.so) in {}; set {BACKENDS_DIR_ENV}",
            dir.display()
        ));
    }
    // ggml loads whole folders only, so skipping a module means loading from a
    // folder of links to the others.
    let load_dir = if skip.is_empty() {
        dir.clone()
    } else {
        for s in &skip {
            tracing::info!(module = %s.display(), "skipping ggml backend module");
        }
        link_folder(&keep)?
    };
    let Some(load_str) = load_dir.to_str() else {
        return Err(format!(
            "backend folder {} is not valid UTF-8",
            load_dir.display()
        ));
    };
    if load_str.contains('\0') {
        return Err("backend folder path contains a NUL byte".into());
    }
    tracing::info!(dir = %load_dir.display(), "loading ggml backend modules");
    llama_cpp_2::llama_backend::load_backends_from_path(&load_dir);
    if load_dir != dir {
        // The modules are mapped now; the links are no longer needed.
        let _ = std::fs::remove_dir_all(&load_dir);
    }
    Ok(())
}

#[cfg(feature = "dynamic-backends")]
fn link_folder(modules: &[PathBuf]) -> std::result::Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("icdflow-ggml-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for m in modules {
        let target = dir.join(m.file_name().unwrap_or_default());
        let abs = std::fs::canonicalize(m).unwrap_or_else(|_| m.clone());
        #[cfg(unix)]
        let linked = std::os::unix::fs::symlink(&abs, &target);
        #[cfg(not(unix))]
        let linked = std::fs::copy(&abs, &target).map(|_| ());
        if linked.is_err() {
            std::fs::copy(&abs, &target)
                .map_err(|e| format!("cannot copy {} to {}: {e}", abs.display(), dir.display()))?;
        }
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_modules_and_skips_excluded() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "libggml-cpu-haswell.so",
            "libggml-cpu-sapphirerapids.so",
            "libggml-cuda.so",
            "libggml-base.so",
            "libllama.so",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(n), b"").unwrap();
        }
        let ex = vec!["sapphirerapids".to_string()];
        let (keep, skip) = select_modules(dir.path(), &ex).unwrap();
        let names = |v: &[PathBuf]| -> Vec<String> {
            v.iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names(&keep), ["libggml-cpu-haswell.so", "libggml-cuda.so"]);
        assert_eq!(names(&skip), ["libggml-cpu-sapphirerapids.so"]);
    }

    #[test]
    fn explicit_exclusions_win() {
        let opts = RuntimeOptions {
            exclude: Some(vec![]),
            ..Default::default()
        };
        assert!(exclusions(&opts).is_empty());
    }
}
