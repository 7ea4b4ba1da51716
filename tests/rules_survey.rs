//! Survey of count extraction on real course notes (CCL25 dev records), for
//! developers tuning the extraction: `cargo test --no-default-features
//! --test rules_survey -- --ignored --nocapture`. Prints, asserts only that
//! nothing panics and counts stay plausible.

use icdflow::record::Record;
use icdflow::rules::{extract_counts, Site};

#[test]
#[ignore = "survey for developers; prints extraction on real records"]
fn survey_ccl25_dev_counts() {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/records/ccl25-dev.json"
    );
    let Ok(text) = std::fs::read_to_string(p) else {
        eprintln!("SKIP: {p} is absent");
        return;
    };
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(&text).unwrap();
    let (mut with_stent, mut counted) = (0, 0);
    for row in &rows {
        let id = row
            .get("病案标识")
            .map(|v| v.to_string())
            .unwrap_or_default();
        let mut r = Record::new(id);
        for (k, v) in row {
            if let Some(s) = v.as_str() {
                r = r.with_section(k.clone(), s.to_string());
            }
        }
        let course = r.section("诊疗经过").unwrap_or("");
        if !course.contains("支架") {
            continue;
        }
        with_stent += 1;
        let (s, v) = extract_counts(&r, Site::Coronary);
        if let Some(s) = &s {
            counted += 1;
            assert!(s.n <= 10, "{}: {} stents", r.id, s.n);
        }
        let show = |c: &Option<icdflow::rules::Counted>| match c {
            Some(c) => {
                let ev: Vec<&str> = c
                    .spans
                    .iter()
                    .map(|sp| &r.sections[sp.section].text[sp.start..sp.end])
                    .collect();
                format!("{} ({:.2}; {}; {:?})", c.n, c.confidence, c.how, ev)
            }
            None => "-".into(),
        };
        println!("{} stents {} | vessels {}", r.id, show(&s), show(&v));
    }
    println!("{with_stent} records mention 支架 in 诊疗经过; stent count read for {counted}");
}
