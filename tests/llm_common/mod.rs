//! Shared helpers for the llama.cpp tests: the tiny random-weight model
//! (built once by scripts/make_tiny_gguf.py), a lock that keeps model tests
//! from fighting over the CPU, and a small JSON-schema checker.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The tiny model and its LoRA adapter.
pub struct Tiny {
    pub model: PathBuf,
    pub lora: PathBuf,
}

/// Model tests run one at a time: the machine may have 2 cores, and timing
/// figures mean nothing when tests compete.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// `$ICDFLOW_TINY_GGUF` (adapter: `$ICDFLOW_TINY_LORA` or `<stem>-lora.gguf`
/// beside it), else a model built into `target/tiny-model/` by the script.
/// `None` (with a message) when Python or the `gguf` package is missing.
pub fn tiny() -> Option<&'static Tiny> {
    static TINY: OnceLock<Option<Tiny>> = OnceLock::new();
    TINY.get_or_init(|| match std::env::var_os("ICDFLOW_TINY_GGUF") {
        Some(p) => {
            let model = PathBuf::from(p);
            let lora = std::env::var_os("ICDFLOW_TINY_LORA")
                .map(PathBuf::from)
                .unwrap_or_else(|| sibling_lora(&model));
            Some(Tiny { model, lora })
        }
        None => build_tiny(),
    })
    .as_ref()
}

fn sibling_lora(model: &Path) -> PathBuf {
    let stem = model.file_stem().unwrap_or_default().to_string_lossy();
    model.with_file_name(format!("{stem}-lora.gguf"))
}

fn build_tiny() -> Option<Tiny> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make_tiny_gguf.py");
    let source = std::fs::read(&script).ok()?;
    // The file name carries the script's hash, so an edited script rebuilds.
    let hash = format!("{:x}", Sha256::digest(&source));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap_or(Path::new("target"))
        .join("tiny-model");
    let model = dir.join(format!("tiny-{}.gguf", &hash[..12]));
    let lora = sibling_lora(&model);
    if model.is_file() && lora.is_file() {
        return Some(Tiny { model, lora });
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let status = Command::new(&python)
        .arg(&script)
        .arg(&model)
        .arg("--lora")
        .arg(&lora)
        .status();
    match status {
        Ok(s) if s.success() && model.is_file() => Some(Tiny { model, lora }),
        Ok(s) => {
            eprintln!(
                "SKIP: {} failed ({s}); install the `gguf` Python package (pip install gguf) \
                 or set ICDFLOW_TINY_GGUF",
                script.display()
            );
            None
        }
        Err(e) => {
            eprintln!("SKIP: cannot run {python} ({e}); set ICDFLOW_TINY_GGUF");
            None
        }
    }
}

/// Returns the tiny model or skips the calling test.
#[macro_export]
macro_rules! need_tiny {
    () => {
        match llm_common::tiny() {
            Some(t) => t,
            None => {
                eprintln!("SKIP: no tiny test model");
                return;
            }
        }
    };
}

/// Checks `v` against the subset of JSON Schema the tests use.
pub fn validate(schema: &Value, v: &Value) -> Result<(), String> {
    if let Some(options) = schema["enum"].as_array() {
        if !options.contains(v) {
            return Err(format!("{v} not in enum {options:?}"));
        }
    }
    match schema["type"].as_str() {
        Some("object") => {
            let obj = v.as_object().ok_or(format!("{v} is not an object"))?;
            let props = schema["properties"].as_object();
            for req in schema["required"].as_array().into_iter().flatten() {
                let k = req.as_str().unwrap_or_default();
                if !obj.contains_key(k) {
                    return Err(format!("missing required {k} in {v}"));
                }
            }
            for (k, val) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => validate(s, val)?,
                    None if schema["additionalProperties"] == Value::Bool(false) => {
                        return Err(format!("unexpected property {k}"))
                    }
                    None => {}
                }
            }
        }
        Some("array") => {
            let arr = v.as_array().ok_or(format!("{v} is not an array"))?;
            if let Some(max) = schema["maxItems"].as_u64() {
                if arr.len() as u64 > max {
                    return Err(format!("{} items > maxItems {max}", arr.len()));
                }
            }
            if let Some(min) = schema["minItems"].as_u64() {
                if (arr.len() as u64) < min {
                    return Err(format!("{} items < minItems {min}", arr.len()));
                }
            }
            for item in arr {
                validate(&schema["items"], item)?;
            }
        }
        Some("string") => {
            let s = v.as_str().ok_or(format!("{v} is not a string"))?;
            if let Some(max) = schema["maxLength"].as_u64() {
                if s.chars().count() as u64 > max {
                    return Err(format!("{s:?} longer than {max}"));
                }
            }
        }
        Some("integer") if !(v.is_i64() || v.is_u64()) => {
            return Err(format!("{v} is not an integer"));
        }
        Some("number") if !v.is_number() => return Err(format!("{v} is not a number")),
        Some("boolean") if !v.is_boolean() => return Err(format!("{v} is not a boolean")),
        _ => {}
    }
    Ok(())
}
