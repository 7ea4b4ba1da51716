//! Criterion benchmarks of the search index (needs ../shared/data; prints a
//! note and does nothing without it): index build time for 国临2.0 and
//! 国临3.0, and query latency for name, code-prefix and pinyin queries on
//! the tantivy matcher and on the linear baseline.
//!
//! `cargo bench --no-default-features --bench search`
//! (`examples/search_bench.rs` prints the same figures as a p50/p99 table.)

mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use icdflow::search::{MatchOptions, Matcher};
use icdflow::terminology::CodeSystem;
use support::shared_table;

/// Name, prefix and pinyin queries for one table.
struct Queries {
    names: [&'static str; 4],
    prefixes: [&'static str; 3],
    pinyin: [&'static str; 3],
}

const DIAG: Queries = Queries {
    names: [
        "高血压病（3级很高危）",
        "冠心病",
        "急性非ST段抬高型心肌梗塞",
        "2型糖尿病酮症酸中毒",
    ],
    prefixes: ["I10.x00x0", "I21", "E11.4"],
    pinyin: ["gxy", "gxb", "jxxj"],
};

const PROC: Queries = Queries {
    names: [
        "药物洗脱支架",
        "冠脉支架植入术",
        "左侧锁骨下静脉穿刺中心静脉置管术",
        "主动脉内球囊反搏植入术",
    ],
    prefixes: ["36.07", "00.66", "88.5"],
    pinyin: ["gmzy", "qgcg", "xfzs"],
};

fn bench(c: &mut Criterion) {
    let tables = [
        ("gl2", "gl2-diagnoses.dat", CodeSystem::Icd10, DIAG),
        ("gl3", "gl3-procedures.dat", CodeSystem::Icd9Cm3, PROC),
    ];
    let opts = MatchOptions {
        limit: 10,
        assignable_only: true,
    };
    for (label, file, system, queries) in tables {
        let Some(term) = shared_table(file, system) else {
            return;
        };

        let mut g = c.benchmark_group(format!("{label}/build"));
        g.sample_size(10).measurement_time(Duration::from_secs(10));
        g.bench_function("in_memory", |b| {
            b.iter(|| Matcher::in_memory(term.clone()).expect("index builds"))
        });
        g.finish();

        let indexed = Matcher::in_memory(term.clone()).expect("index builds");
        let linear = Matcher::linear(term.clone());
        let mut g = c.benchmark_group(format!("{label}/query"));
        g.sample_size(20);
        for (kind, qs) in [
            ("name", &queries.names[..]),
            ("prefix", &queries.prefixes[..]),
            ("pinyin", &queries.pinyin[..]),
        ] {
            for (mname, m) in [("tantivy", &indexed), ("linear", &linear)] {
                g.bench_function(format!("{kind}/{mname}"), |b| {
                    b.iter(|| {
                        for q in qs {
                            black_box(m.lookup(black_box(q), &opts));
                        }
                    })
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
