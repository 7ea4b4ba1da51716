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

#[path = "../benches/support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use calamine::{open_workbook_auto, Data, Reader};
use icdflow::search::{MatchOptions, Matcher, Tier};
use icdflow::terminology::{normalize_code, CodeSystem, Terminology};
use icdflow::text::normalize_name;
use support::{data_dir, shared_table};

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

/// (code, name) pairs.
type Pairs = Vec<(String, String)>;

/// One record's free-text list of diagnoses or procedures, with the gold codes.
struct ListCase {
    text: String,
    gold: Vec<String>,
}

/// Gold (code, name) pairs of the JointCoder samples per track, and the
/// records' own 出院诊断 / 手术名称 lists with their gold codes.
fn jointcoder_gold(path: &Path) -> (Pairs, Pairs, Vec<ListCase>, Vec<ListCase>) {
    let rows = sheet_rows(path);
    let header: Vec<String> = rows[0].iter().map(|d| d.to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let mut diag = Vec::new();
    let mut proc = Vec::new();
    let mut dlists = Vec::new();
    let mut plists = Vec::new();
    for row in &rows[1..] {
        let (d0, p0) = (diag.len(), proc.len());
        let take = |code_col: String, name_col: String, out: &mut Vec<(String, String)>| {
            let c = cell(row, col(&code_col));
            let n = cell(row, col(&name_col));
            if !c.is_empty() && !n.is_empty() {
                out.push((c, n));
            }
        };
        take(
            "出院主要诊断编码".into(),
            "出院主要诊断名称".into(),
            &mut diag,
        );
        take(
            "主要手术操作编码".into(),
            "主要手术操作名称".into(),
            &mut proc,
        );
        for n in 1..=40 {
            take(
                format!("出院其他诊断编码{n}"),
                format!("出院其他诊断名称{n}"),
                &mut diag,
            );
            take(
                format!("其他手术操作编码{n}"),
                format!("其他手术操作名称{n}"),
                &mut proc,
            );
        }
        dlists.push(ListCase {
            text: cell(row, col("出院诊断")),
            gold: diag[d0..].iter().map(|p| p.0.clone()).collect(),
        });
        plists.push(ListCase {
            text: cell(row, col("手术名称")),
            gold: proc[p0..].iter().map(|p| p.0.clone()).collect(),
        });
    }
    (diag, proc, dlists, plists)
}

/// Splits a numbered list (`1.冠心病2.高血压病（3级很高危）3.…`) into its
/// items; an unnumbered text is split at `+`, `；`, `，`.
fn split_items(text: &str) -> Vec<String> {
    let mut starts = Vec::new();
    let mut from = 0;
    for k in 1.. {
        let found = [".", "、", "．"].iter().filter_map(|sep| {
            let pat = format!("{k}{sep}");
            text[from..].find(&pat).map(|i| (from + i, pat.len()))
        });
        match found.min() {
            Some((at, len)) => {
                starts.push((at, at + len));
                from = at + len;
            }
            None => break,
        }
    }
    if starts.is_empty() {
        return text
            .split(['+', '；', ';', '，', ','])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    let mut items = Vec::new();
    for (n, &(_, body)) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(text.len(), |s| s.0);
        let item = text[body..end].trim();
        if !item.is_empty() {
            items.push(item.to_string());
        }
    }
    items
}

struct ListScore {
    items: usize,
    gold: usize,
    found: usize,
    correct: usize,
}

/// Maps every item of every list (top-1) and compares the set of codes
/// with the gold codes: recall over gold codes, precision over items.
/// With `decompose`, an item that is not itself a table name (exact or
/// variant) and spells two or more table names yields all of them
/// (`Matcher::find_names`); precision is then over the codes produced.
fn score_lists(m: &Matcher, cases: &[ListCase], decompose: bool) -> ListScore {
    let sys = m.terminology().system;
    let opts = MatchOptions {
        limit: 1,
        assignable_only: true,
    };
    let mut s = ListScore {
        items: 0,
        gold: 0,
        found: 0,
        correct: 0,
    };
    for c in cases {
        let gold: HashSet<String> = c.gold.iter().map(|g| normalize_code(sys, g)).collect();
        let mut predicted = HashSet::new();
        for item in split_items(&c.text) {
            let top = m.match_text(&item, &opts);
            let mut codes: Vec<String> = top.iter().map(|h| h.code.clone()).collect();
            let exact = top.first().is_some_and(|h| h.tier <= Tier::Alias);
            if decompose && !exact {
                let all = MatchOptions {
                    limit: 20,
                    ..opts.clone()
                };
                let names = m.find_names(&item, &all);
                if names.len() >= 2 {
                    codes = names.into_iter().map(|f| f.hit.code).collect();
                }
            }
            for code in codes {
                s.items += 1;
                let k = normalize_code(sys, &code);
                if gold.contains(&k) {
                    s.correct += 1;
                }
                predicted.insert(k);
            }
        }
        s.gold += gold.len();
        s.found += gold.iter().filter(|g| predicted.contains(*g)).count();
    }
    s
}

#[derive(serde::Deserialize)]
struct CclRecord {
    #[serde(rename = "入院诊断", default)]
    admission: String,
    #[serde(rename = "主要诊断编码", default)]
    main: String,
    #[serde(rename = "其他诊断编码", default)]
    other: String,
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
        let pos = hits
            .iter()
            .position(|h| normalize_code(sys, &h.code) == key);
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
    let limit = std::env::var("MQ_LIMIT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
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
    let jc = data.join("records/jointcoder-samples.xlsx");
    let bj = data.join("terminology/beijing-clinical-v601.xlsx");
    let cdn = data.join("normalization/chip-cdn-train.json");
    for p in [&jc, &bj, &cdn] {
        if !p.exists() {
            println!("skipping: {} not found (shared data absent)", p.display());
            return;
        }
    }
    let (Some(diag), Some(proc)) = (
        shared_table("gl2-diagnoses.dat", CodeSystem::Icd10),
        shared_table("gl3-procedures.dat", CodeSystem::Icd9Cm3),
    ) else {
        return;
    };
    let md = Matcher::in_memory(diag).expect("index gl2");
    let mp = Matcher::in_memory(proc).expect("index gl3");
    let (gd, gp, dlists, plists) = jointcoder_gold(&jc);
    println!("== JointCoder gold names → 国临 codes (top-1 exact code, recall@5)");
    let show = fails > 0;
    for (label, m, gold) in [
        ("diagnoses/国临2.0", &md, &gd),
        ("procedures/国临3.0", &mp, &gp),
    ] {
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

    println!("\n== Record lists → 国临 codes (each item's top-1, or with +names every table name inside the item; recall over gold codes, precision over codes out)");
    let ccl = data.join("records/ccl25-dev.json");
    let ccl_cases: Vec<ListCase> = std::fs::read(&ccl)
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<CclRecord>>(&b).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|r| ListCase {
            text: r.admission,
            gold: std::iter::once(r.main)
                .chain(r.other.split(';').map(str::to_string))
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
        })
        .collect();
    for (label, m, cases) in [
        ("JointCoder 出院诊断", &md, &dlists),
        ("JointCoder 手术名称", &mp, &plists),
        ("CCL25 dev 入院诊断", &md, &ccl_cases),
    ] {
        let mut kinds = vec![
            ("indexed", (*m).clone(), false),
            ("+names", (*m).clone(), true),
        ];
        if linear {
            kinds.push((
                "linear",
                Matcher::linear(m.terminology_arc().clone()),
                false,
            ));
        }
        for (kind, mm, decompose) in kinds {
            let s = score_lists(&mm, cases, decompose);
            println!(
                "  {kind:<7} {label:<18} records={:<4} codes out={:<5} gold codes={:<5} recall={} precision={}",
                cases.len(),
                s.items,
                s.gold,
                pct(s.found, s.gold),
                pct(s.correct, s.items)
            );
        }
    }

    // 北京临床版: first sheet, code and name in the first two columns, as a
    // flat table (names are scored with headings included, so the
    // importer's synthetic headings would be extra candidates).
    let rows: Vec<(String, String)> = sheet_rows(&bj)
        .iter()
        .map(|r| (cell(r, Some(0)), cell(r, Some(1))))
        .filter(|(c, n)| !c.is_empty() && !n.is_empty())
        .collect();
    let bj_term = Arc::new(Terminology::from_pairs(
        CodeSystem::Icd10,
        "北京临床版 v6.01",
        &rows,
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
