//! Latency figures of the matcher on the real 国临 tables (needs
//! ../shared/data): index build and open times, and p50/p99 query latency
//! for name, code-prefix and pinyin queries on the indexed matcher and on
//! the linear baseline.
//!
//! `cargo run --release --no-default-features --example search_bench -- [N]`
//! (N queries per kind and table for the indexed matcher, default 2000; the
//! linear baseline runs N/10 because each of its queries scans the table).
//!
//! Name queries are table names, three in four perturbed (a char dropped,
//! two chars swapped, the tail cut, or a qualifier put in front); the
//! "self top-1" column is how often the perturbed name still finds its own
//! code first.

#[path = "../benches/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use icdflow::search::{initials, MatchOptions, Matcher};
use icdflow::terminology::CodeSystem;
use support::shared_table;

/// Small deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const QUALIFIERS: [&str; 4] = ["左侧", "急性", "双侧", "陈旧性"];

/// A table name, perturbed three times in four.
fn name_query(rng: &mut Rng, name: &str) -> String {
    let mut c: Vec<char> = name.chars().collect();
    match rng.below(8) {
        0 | 1 => {}
        2 | 3 if c.len() > 3 => {
            c.remove(rng.below(c.len()));
        }
        4 if c.len() > 3 => {
            let i = rng.below(c.len() - 1);
            c.swap(i, i + 1);
        }
        5 if c.len() > 5 => {
            let keep = c.len() - 1 - rng.below(2);
            c.truncate(keep);
        }
        _ => {
            let q: Vec<char> = QUALIFIERS[rng.below(QUALIFIERS.len())].chars().collect();
            c.splice(0..0, q);
        }
    }
    c.into_iter().collect()
}

/// A prefix of a code: at least three chars.
fn prefix_query(rng: &mut Rng, code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let n = 3 + rng.below(chars.len().saturating_sub(2).max(1));
    chars[..n.min(chars.len())].iter().collect()
}

/// The first 2–6 pinyin initials of a name (letters only).
fn pinyin_query(rng: &mut Rng, name: &str) -> Option<String> {
    let ini: String = initials(name)
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    if ini.len() < 2 {
        return None;
    }
    let n = 2 + rng.below(5);
    Some(ini.chars().take(n).collect())
}

struct Figures {
    n: usize,
    p50: Duration,
    p99: Duration,
    mean: Duration,
    self_top1: Option<f64>,
}

fn run(m: &Matcher, queries: &[(String, usize)], kind: &str) -> Figures {
    let opts = MatchOptions {
        limit: 10,
        assignable_only: true,
    };
    let mut times = Vec::with_capacity(queries.len());
    let mut own = 0;
    for (q, entry) in queries {
        let t = Instant::now();
        let hits = m.lookup(q, &opts);
        times.push(t.elapsed());
        if hits.first().is_some_and(|h| h.entry == *entry) {
            own += 1;
        }
    }
    times.sort();
    let pick = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    let total: Duration = times.iter().sum();
    Figures {
        n: times.len(),
        p50: pick(0.50),
        p99: pick(0.99),
        mean: total / times.len().max(1) as u32,
        self_top1: (kind == "name").then(|| own as f64 / queries.len() as f64),
    }
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let tables = [
        ("国临2.0", "gl2-diagnoses.dat", CodeSystem::Icd10),
        ("国临3.0", "gl3-procedures.dat", CodeSystem::Icd9Cm3),
    ];
    let root = std::env::temp_dir().join(format!("icdflow-bench-{}", std::process::id()));

    println!("index                 rows   build (disk)  size      open (reuse)  build (memory)");
    let mut loaded = Vec::new();
    for (label, file, system) in tables {
        let Some(term) = shared_table(file, system) else {
            return;
        };
        let stats = Matcher::build_index(&term, &root).expect("build index");
        let t = Instant::now();
        let opened = Matcher::open(term.clone(), &root).expect("open index");
        let open_time = t.elapsed();
        assert!(!opened.index_info().is_some_and(|i| i.built));
        let t = Instant::now();
        let mem = Matcher::in_memory(term.clone()).expect("in-memory index");
        let mem_time = t.elapsed();
        println!(
            "{label:<20} {:>6}  {:>10.0?}  {:>5.1} MB  {:>10.1?}  {:>10.0?}",
            term.len(),
            stats.build_time,
            stats.bytes as f64 / 1e6,
            open_time,
            mem_time,
        );
        loaded.push((label, term, opened));
        drop(mem);
    }
    let _ = std::fs::remove_dir_all(&root);

    println!(
        "\nqueries (lookup, limit 10)      matcher      n      p50       p99      mean   self top-1"
    );
    for (label, term, indexed) in &loaded {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let entries = term.entries();
        // Queries come from assignable rows: the matcher runs with
        // `assignable_only`, so a heading could never find itself.
        let rows: Vec<usize> = (0..entries.len())
            .filter(|&i| entries[i].assignable)
            .collect();
        let mut names = Vec::new();
        let mut prefixes = Vec::new();
        let mut pinyins = Vec::new();
        while names.len() < n || prefixes.len() < n || pinyins.len() < n {
            let i = rows[rng.below(rows.len())];
            let e = &entries[i];
            if names.len() < n {
                names.push((name_query(&mut rng, &e.name), i));
            }
            if prefixes.len() < n {
                prefixes.push((prefix_query(&mut rng, &e.code), i));
            }
            if pinyins.len() < n {
                if let Some(p) = pinyin_query(&mut rng, &e.name) {
                    pinyins.push((p, i));
                }
            }
        }
        // The first query loads jieba's dictionary; keep it out of the figures.
        let t = Instant::now();
        indexed.lookup("高血压", &MatchOptions::default());
        let first = t.elapsed();
        let linear = Matcher::linear(term.clone());
        let ln = (n / 10).max(1);
        for (kind, qs) in [
            ("name", &names),
            ("prefix", &prefixes),
            ("pinyin", &pinyins),
        ] {
            for (mname, m, qs) in [
                ("tantivy", indexed, &qs[..]),
                ("linear", &linear, &qs[..ln]),
            ] {
                let f = run(m, qs, kind);
                println!(
                    "{label} {kind:<8}                {mname:<8} {:>6} {:>9} {:>9} {:>9}   {}",
                    f.n,
                    us(f.p50),
                    us(f.p99),
                    us(f.mean),
                    f.self_top1
                        .map(|x| format!("{:.1}%", 100.0 * x))
                        .unwrap_or_default()
                );
            }
        }
        println!("{label} first query (loads the jieba dictionary): {first:.1?}");
    }
}
