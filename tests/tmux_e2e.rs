//! The workbench end to end in a real terminal: `scripts/tmux-e2e.sh` drives
//! `icdflow tui` in tmux (run all, edit, re-run, copy, export, resize, quit,
//! SIGTERM after an edit). Needs tmux and the shared 国临 tables; skips with
//! a message otherwise.

use std::path::Path;
use std::process::Command;

#[test]
fn the_workbench_in_tmux() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tables = root.join("../shared/data/terminology");
    if !tables.is_dir() {
        eprintln!("skipped: {} is absent", tables.display());
        return;
    }
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{} --diag-table {} --proc-table {} --learned none tui",
        env!("CARGO_BIN_EXE_icdflow"),
        tables.join("gl2-diagnoses.dat").display(),
        tables.join("gl3-procedures.dat").display()
    );
    let status = Command::new("bash")
        .arg(root.join("scripts/tmux-e2e.sh"))
        .current_dir(root)
        .env("ICDFLOW_CMD", cmd)
        .env("OUT", out.path())
        .status()
        .unwrap();
    if !status.success() {
        let kept = out.keep();
        panic!("tmux-e2e failed; captures kept in {}", kept.display());
    }
}
