//! Mapping quality of the matcher on real names (needs ../shared/data).
//!
//! 1. JointCoder gold pairs: every gold (code, name) of the sample records,
//!    the name mapped against 国临2.0 / 国临3.0; top-1 exact-code accuracy
//!    and recall@5.
//! 2. CHIP-CDN: each raw diagnosis `text` mapped against 北京临床版 v6.01;
//!    a hit is a returned name equal to one of the gold normalized names.
//!    Top-1 accuracy (top name is a gold name) and recall@5 (share of gold
//!    names found among the top 5), on the first half (looked at while
//!    tuning) and the second half (never looked at) separately.
//!
//! `cargo run --release --no-default-features --example mapping_quality -- [--linear] [--fail N]`
//! `--linear` also scores the linear baseline (CHIP-CDN on 500 texts only: it
//! scans 40k names per query); `--fail N` prints N misses of the tuning half.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use calamine::{open_workbook_auto, Data, Reader};
use icdflow::search::{MatchOptions, Matcher};
use icdflow::terminology::{normalize_code, CodeEntry, CodeKind, CodeSystem, Terminology};
use icdflow::text::normalize_name;
use sha2::{Digest, Sha256};

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data"))
}

fn entry(code: &str, name: &str) -> CodeEntry {
    CodeEntry {
        code: code.to_string(),
        name: name.to_string(),
        kind: CodeKind::Code,
        aliases: vec![],
        assignable: true,
        parent: None,
    }
}

fn fingerprint(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `code name` per line, split at the first space.
fn load_dat(path: &Path, system: CodeSystem) -> Terminology {
    let bytes = std::fs::read(path).expect("read table");
    let text = String::from_utf8_lossy(&bytes);
    let entries = text
        .lines()
        .filter_map(|l| {
            let (c, n) = l.trim().split_once(' ')?;
            Some(entry(c, n.trim()))
        })
        .collect();
    Terminology::from_entries(system, path.display().to_string(), fingerprint(&bytes), entries)
}

fn cell(row: &[Data], i: Option<usize>) -> String {
    i.and_then(|i| row.get(i))
        .map(|d| d.to_string().trim().to_string())
        .unwrap_or_default()
}

fn sheet_rows(path: &Path) -> Vec<Vec<Data>> {
    let mut wb = open_workbook_auto(path).expect("open xlsx");
    let range = wb
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("read sheet");
    range.rows().map(|r| r.to_vec()).collect()
}

/// Gold (code, name) pairs of the JointCoder samples, per track.
fn jointcoder_gold(path: &Path) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let rows = sheet_rows(path);
    let header: Vec<String> = rows[0].iter().map(|d| d.to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let mut diag = Vec::new();
    let mut proc = Vec::new();
    for row in &rows[1..] {
        let take = |code_col: String, name_col: String, out: &mut Vec<(String, String)>| {
            let c = cell(row, col(&code_col));
            let n = cell(row, col(&name_col));
            if !c.is_empty() && !n.is_empty() {
                out.push((c, n));
            }
        };
        take("出院主要诊断编码".into(), "出院主要诊断名称".into(), &mut diag);
        take("主要手术操作编码".into(), "主要手术操作名称".into(), &mut proc);
        for n in 1..=40 {
            take(format!("出院其他诊断编码{n}"), format!("出院其他诊断名称{n}"), &mut diag);
            take(format!("其他手术操作编码{n}"), format!("其他手术操作名称{n}"), &mut proc);
        }
    }
    (diag, proc)
}

struct CodeScore {
    n: usize,
    top1: usize,
    at5: usize,
}

fn score_codes(m: &Matcher, gold: &[(String, String)], show: bool) -> CodeScore {
    let sys = m.terminology().system;
    let opts = MatchOptions {
        limit: 5,
        assignable_only: true,
    };
    let mut s = CodeScore {
        n: 0,
        top1: 0,
        at5: 0,
    };
    for (code, name) in gold {
        let key = normalize_code(sys, code);
        let hits = m.match_text(name, &opts);
        let pos = hits.iter().position(|h| normalize_code(sys, &h.code) == key);
        s.n += 1;
        if pos == Some(0) {
            s.top1 += 1;
        }
        if pos.is_some() {
            s.at5 += 1;
        }
        if show && pos != Some(0) {
            let top = hits.first().map(|h| format!("{} {}", h.code, h.name));
            println!("  miss: {code} {name} → {top:?} (gold at {pos:?})");
        }
    }
    s
}

#[derive(serde::Deserialize)]
struct CdnItem {
    text: String,
    normalized_result: String,
}

fn gold_names(s: &str) -> Vec<String> {
    s.split("##")
        .map(|n| normalize_name(n.trim().trim_matches('"')))
        .filter(|n| !n.is_empty())
        .collect()
}

#[derive(Default)]
struct NameScore {
    texts: usize,
    top1: usize,
    golds: usize,
    found5: usize,
    reachable: usize,
    micros: Vec<u128>,
}

fn score_names(m: &Matcher, items: &[CdnItem], table: &HashSet<String>, fails: usize) -> NameScore {
    let limit = std::env::var("MQ_LIMIT").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let opts = MatchOptions {
        limit,
        assignable_only: false,
    };
    let mut s = NameScore::default();
    let mut shown = 0;
    for it in items {
        let gold = gold_names(&it.normalized_result);
        let t = Instant::now();
        let hits = m.match_text(&it.text, &opts);
        s.micros.push(t.elapsed().as_micros());
        let names: Vec<String> = hits.iter().map(|h| normalize_name(&h.name)).collect();
        s.texts += 1;
        if names.first().is_some_and(|n| gold.contains(n)) {
            s.top1 += 1;
        } else if shown < fails {
            shown += 1;
            println!(
                "  miss: {} → {:?} (gold {:?})",
                it.text,
                hits.iter().take(3).map(|h| &h.name).collect::<Vec<_>>(),
                gold
            );
        }
        for g in &gold {
            s.golds += 1;
            if table.contains(g) {
                s.reachable += 1;
            }
            if names.contains(g) {
                s.found5 += 1;
            }
        }
    }
    s
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "n/a".into()
    } else {
        format!("{:.1}%", 100.0 * a as f64 / b as f64)
    }
}

fn p50(v: &mut [u128]) -> u128 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let linear = args.iter().any(|a| a == "--linear");
    let fails = args
        .iter()
        .position(|a| a == "--fail")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let data = data_dir();
    let gl2 = data.join("terminology/gl2-diagnoses.dat");
    let gl3 = data.join("terminology/gl3-procedures.dat");
    let jc = data.join("records/jointcoder-samples.xlsx");
    let bj = data.join("terminology/beijing-clinical-v601.xlsx");
    let cdn = data.join("normalization/chip-cdn-train.json");
    for p in [&gl2, &gl3, &jc, &bj, &cdn] {
        if !p.exists() {
            println!("skipping: {} not found (shared data absent)", p.display());
            return;
        }
    }

    let diag = Arc::new(load_dat(&gl2, CodeSystem::Icd10));
    let proc = Arc::new(load_dat(&gl3, CodeSystem::Icd9Cm3));
    let md = Matcher::in_memory(diag.clone()).expect("index gl2");
    let mp = Matcher::in_memory(proc.clone()).expect("index gl3");
    let (gd, gp) = jointcoder_gold(&jc);
    println!("== JointCoder gold names → 国临 codes (top-1 exact code, recall@5)");
    let show = fails > 0;
    for (label, m, gold) in [("diagnoses/国临2.0", &md, &gd), ("procedures/国临3.0", &mp, &gp)] {
        let s = score_codes(m, gold, show);
        println!(
            "  indexed {label:<20} n={:<3} top1={} r@5={}",
            s.n,
            pct(s.top1, s.n),
            pct(s.at5, s.n)
        );
        if linear {
            let lin = Matcher::linear(m.terminology_arc().clone());
            let s = score_codes(&lin, gold, false);
            println!(
                "  linear  {label:<20} n={:<3} top1={} r@5={}",
                s.n,
                pct(s.top1, s.n),
                pct(s.at5, s.n)
            );
        }
    }

    // 北京临床版: first sheet, code and name in the first two columns.
    let rows = sheet_rows(&bj);
    let bytes = std::fs::read(&bj).expect("read xlsx");
    let entries: Vec<CodeEntry> = rows
        .iter()
        .filter_map(|r| {
            let c = cell(r, Some(0));
            let n = cell(r, Some(1));
            (!c.is_empty() && !n.is_empty()).then(|| entry(&c, &n))
        })
        .collect();
    let bj_term = Arc::new(Terminology::from_entries(
        CodeSystem::Icd10,
        "北京临床版 v6.01",
        fingerprint(&bytes),
        entries,
    ));
    let table_names: HashSet<String> = bj_term
        .entries()
        .iter()
        .map(|e| normalize_name(&e.name))
        .collect();
    let t = Instant::now();
    let mb = Matcher::in_memory(bj_term.clone()).expect("index beijing");
    println!(
        "\n== CHIP-CDN raw text → 北京临床版 v6.01 names ({} rows indexed in {:.2?})",
        bj_term.len(),
        t.elapsed()
    );
    let items: Vec<CdnItem> =
        serde_json::from_slice(&std::fs::read(&cdn).expect("read cdn")).expect("parse cdn");
    let half = items.len() / 2;
    for (label, part, f) in [
        ("tuning half", &items[..half], fails),
        ("held-out half", &items[half..], 0),
        ("all", &items[..], 0),
    ] {
        let mut s = score_names(&mb, part, &table_names, f);
        println!(
            "  indexed {label:<14} texts={:<5} top1={} r@5={} (gold names {}, in table {}) p50={}µs",
            s.texts,
            pct(s.top1, s.texts),
            pct(s.found5, s.golds),
            s.golds,
            pct(s.reachable, s.golds),
            p50(&mut s.micros)
        );
    }
    if linear {
        let lin = Matcher::linear(bj_term.clone());
        let mut s = score_names(&lin, &items[half..half + 500], &table_names, 0);
        let mut si = score_names(&mb, &items[half..half + 500], &table_names, 0);
        println!(
            "  linear  held-out 500  top1={} r@5={} p50={}µs | indexed on the same 500: top1={} r@5={}",
            pct(s.top1, s.texts),
            pct(s.found5, s.golds),
            p50(&mut s.micros),
            pct(si.top1, si.texts),
            pct(si.found5, si.golds),
        );
        let _ = p50(&mut si.micros);
    }
}
