//! The result of a record in the forms coders hand on: the final codes
//! with their table names, a JSON document, and a 病案首页-style line
//! (principal and other diagnoses, principal and other procedures).
//!
//! Only codes that exist in the loaded table are output; anything else is
//! listed as unmapped, never as a code.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::pipeline::{CodingContext, Origin, Run, StageKind};
use crate::record::{Record, Track};
use crate::session::write_atomic;
use crate::terminology::normalize_code;
use crate::terminology::CodeSystem;

/// One output code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinalCode {
    /// The table's own spelling.
    pub code: String,
    /// The table's name for the code (the item's text when no table is loaded).
    pub name: String,
    pub principal: bool,
    pub origin: Origin,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// False when no table was loaded to check the code against.
    pub verified: bool,
}

/// The final list of one track.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FinalCodes {
    pub codes: Vec<FinalCode>,
    /// Items of the final stage without a code in the table.
    pub unmapped: Vec<String>,
}

/// The final codes of a track: the mapped stage's items whose code is in
/// the table, principal first, each code once.
pub fn final_codes(run: &Run, track: Track, ctx: Option<&CodingContext>) -> FinalCodes {
    let mut out = FinalCodes::default();
    let system = CodeSystem::for_track(track);
    let mut seen = Vec::new();
    for item in run.final_items(track) {
        let Some(code) = item.code.as_deref() else {
            out.unmapped.push(item.text.clone());
            continue;
        };
        let (code, name, verified) = match ctx {
            Some(ctx) => match ctx.matcher(track).terminology().get(code) {
                Some(e) => (e.code.clone(), e.name.clone(), true),
                None => {
                    out.unmapped
                        .push(format!("{} ({code}: not in the table)", item.text));
                    continue;
                }
            },
            None => (code.to_string(), item.text.clone(), false),
        };
        let key = normalize_code(system, &code);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        out.codes.push(FinalCode {
            principal: out.codes.is_empty(),
            code,
            name,
            origin: item.origin,
            confidence: item.confidence,
            verified,
        });
    }
    out
}

/// Text copied by the copy key: one `code name` per line, diagnoses
/// first, principal first in each track.
pub fn codes_text(run: &Run, ctx: Option<&CodingContext>) -> String {
    let mut lines = Vec::new();
    for t in Track::ALL {
        for c in final_codes(run, t, ctx).codes {
            lines.push(format!("{} {}", c.code, c.name));
        }
    }
    lines.join("\n")
}

fn join_codes(codes: &[FinalCode]) -> String {
    codes
        .iter()
        .map(|c| format!("{} {}", c.code, c.name))
        .collect::<Vec<_>>()
        .join("；")
}

/// The 病案首页 line: tab-separated record id, 主要诊断, 其他诊断, 主要手术,
/// 其他手术, each `code name`, several joined by `；`.
pub fn homepage_line(record_id: &str, run: &Run, ctx: Option<&CodingContext>) -> String {
    let d = final_codes(run, Track::Diagnosis, ctx).codes;
    let p = final_codes(run, Track::Procedure, ctx).codes;
    let split = |v: &[FinalCode]| -> (String, String) {
        match v.split_first() {
            Some((first, rest)) => (join_codes(std::slice::from_ref(first)), join_codes(rest)),
            None => (String::new(), String::new()),
        }
    };
    let (pd, od) = split(&d);
    let (pp, op) = split(&p);
    // Tabs and newlines inside a field would break the line format.
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    format!(
        "{}\t主要诊断:{}\t其他诊断:{}\t主要手术:{}\t其他手术:{}",
        clean(record_id),
        clean(&pd),
        clean(&od),
        clean(&pp),
        clean(&op)
    )
}

#[derive(Serialize)]
struct StageSummary {
    stage: StageKind,
    status: crate::pipeline::Status,
    enabled: bool,
    items: usize,
    runs: u32,
}

#[derive(Serialize)]
struct ExportDoc<'a> {
    record_id: &'a str,
    exported_at: String,
    engine: &'a str,
    complete: bool,
    diagnoses: FinalCodes,
    procedures: FinalCodes,
    stages: std::collections::BTreeMap<&'static str, Vec<StageSummary>>,
    homepage: String,
}

/// The result as a JSON document.
pub fn to_json(
    record: &Record,
    run: &Run,
    ctx: Option<&CodingContext>,
    engine: &str,
) -> serde_json::Value {
    let mut stages = std::collections::BTreeMap::new();
    for t in Track::ALL {
        stages.insert(
            t.label(),
            run.track(t)
                .stages
                .iter()
                .map(|s| StageSummary {
                    stage: s.kind,
                    status: s.status,
                    enabled: s.enabled,
                    items: s.items.len(),
                    runs: s.runs,
                })
                .collect(),
        );
    }
    let doc = ExportDoc {
        record_id: &record.id,
        exported_at: chrono::Utc::now().to_rfc3339(),
        engine,
        complete: run.is_complete(),
        diagnoses: final_codes(run, Track::Diagnosis, ctx),
        procedures: final_codes(run, Track::Procedure, ctx),
        stages,
        homepage: homepage_line(&record.id, run, ctx),
    };
    serde_json::to_value(doc).unwrap_or(serde_json::Value::Null)
}

/// A file name for a record id (any id, CJK and slashes included).
pub fn safe_name(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() {
        "record".into()
    } else {
        s
    }
}

/// Writes `<dir>/<id>.icdflow.json` atomically; returns the path.
pub fn write_json(dir: &Path, record_id: &str, doc: &serde_json::Value) -> crate::Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    let path = dir.join(format!("{}.icdflow.json", safe_name(record_id)));
    let mut bytes =
        serde_json::to_vec_pretty(doc).map_err(|e| crate::Error::Other(e.to_string()))?;
    bytes.push(b'\n');
    write_atomic(&path, &bytes)?;
    Ok(path)
}

/// Puts the record's line into `<dir>/homepage.tsv`, replacing an earlier
/// line of the same record; returns the path.
pub fn write_line(dir: &Path, record_id: &str, line: &str) -> crate::Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    let path = dir.join("homepage.tsv");
    let old = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(crate::Error::io(&path, e)),
    };
    let prefix = format!("{}\t", line.split('\t').next().unwrap_or(record_id));
    let mut text: String = old
        .lines()
        .filter(|l| !l.starts_with(&prefix))
        .map(|l| format!("{l}\n"))
        .collect();
    text.push_str(line);
    text.push('\n');
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}
