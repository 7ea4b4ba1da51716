//! The no-model pipeline over every shared record against the 国临 tables:
//! every final code exists in the loaded table. Skips when ../shared/data is
//! absent.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use icdflow::pipeline::batch::{code_record, Ablation};
use icdflow::pipeline::engine::with_quiet_control;
use icdflow::pipeline::{CodingContext, Engine};
use icdflow::record::{self, Track};
use icdflow::search::Matcher;
use icdflow::terminology::{load_table, CodeSystem};

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipped: {} is absent", p.display());
        None
    }
}

fn engine(data: &Path) -> Engine {
    let t = data.join("terminology");
    let (diag, _) = load_table(&t.join("gl2-diagnoses.dat"), CodeSystem::Icd10).unwrap();
    let (proc_, _) = load_table(&t.join("gl3-procedures.dat"), CodeSystem::Icd9Cm3).unwrap();
    let ctx = CodingContext::new(
        Matcher::in_memory(Arc::new(diag)).unwrap(),
        Matcher::in_memory(Arc::new(proc_)).unwrap(),
    );
    icdflow::assemble::standard_engine(Arc::new(ctx))
}

#[test]
fn every_final_code_exists_in_the_loaded_table() {
    let Some(data) = shared() else { return };
    let mut eng = engine(&data);
    let files: Vec<PathBuf> = [
        "jointcoder-samples.xlsx",
        "ccl25-dev.json",
        "ccl25-unlabelled.json",
    ]
    .iter()
    .map(|f| data.join("records").join(f))
    .collect();
    let (records, errors) = record::load_many(&files);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records.len(), 3 + 113 + 200);
    let mut codes = 0;
    for r in &records {
        let run =
            with_quiet_control(|ctl| code_record(&mut eng, r, &Ablation::default(), ctl)).unwrap();
        for t in Track::ALL {
            let term = eng.context().matcher(t).terminology();
            for item in run.final_items(t) {
                if let Some(c) = &item.code {
                    let e = term
                        .get(c)
                        .unwrap_or_else(|| panic!("{}: {c} not in {}", r.id, term.label));
                    assert!(e.assignable, "{}: {c} is not assignable", r.id);
                    assert_eq!(&e.code, c, "final codes keep the table's spelling");
                    codes += 1;
                }
            }
        }
        // every record yields at least one diagnosis
        assert!(
            !run.final_items(Track::Diagnosis).is_empty(),
            "{}: no diagnosis",
            r.id
        );
    }
    assert!(codes > 1000, "{codes}");
}
