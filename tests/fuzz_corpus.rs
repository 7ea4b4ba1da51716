//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`: the seeds
//! and every input that once crashed a parser) through the fuzz entry
//! points with the stable toolchain, so that a fixed crash stays fixed
//! without a nightly cargo-fuzz build in CI.

use std::path::Path;

use icdflow::fuzz::{feed, remove_scratch, Target};

#[test]
fn every_fuzz_target_has_a_corpus_and_every_corpus_a_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for t in Target::ALL {
        let dir = root.join(t.name());
        let n = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .count();
        assert!(n > 0, "{} holds no seed", dir.display());
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/fuzz_targets")
            .join(format!("{}.rs", t.name()));
        assert!(src.is_file(), "no fuzz target {}", src.display());
    }
    for entry in std::fs::read_dir(&root).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            Target::from_name(&name).is_some(),
            "fuzz/corpus/{name} is no fuzz target"
        );
    }
}

#[test]
fn the_fuzz_corpora_run_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut failed = Vec::new();
    let mut inputs = 0;
    for t in Target::ALL {
        let mut files: Vec<_> = std::fs::read_dir(root.join(t.name()))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            inputs += 1;
            if std::panic::catch_unwind(|| feed(t, &data)).is_err() {
                failed.push(file.display().to_string());
            }
        }
    }
    remove_scratch();
    assert!(inputs >= Target::ALL.len(), "only {inputs} inputs");
    assert!(failed.is_empty(), "parsers panicked on: {failed:#?}");
}
