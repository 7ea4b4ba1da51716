//! Running the `icdflow` binary in a scratch folder: two small code tables,
//! no config file, the data dir, log and index inside the folder.

#![allow(dead_code)] // each test uses some of these

use std::path::Path;
use std::process::Command;

/// Writes `d.dat` (diagnoses) and `p.dat` (procedures) into `dir`.
pub fn write_tables(dir: &Path) {
    std::fs::write(
        dir.join("d.dat"),
        "I20.000 不稳定型心绞痛\nI10.x00x032 高血压病3级（极高危）\n",
    )
    .unwrap();
    std::fs::write(dir.join("p.dat"), "88.5500 单根导管的冠状动脉造影术\n").unwrap();
}

/// `program` (the binary, or a tracer in front of it: then pass the binary
/// as the first argument) with the global options pointing into `dir`;
/// add the subcommand.
pub fn icdflow_in(dir: &Path, program: &str, prefix: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(prefix)
        .env("ICDFLOW_CONFIG", dir.join("none.toml"))
        .env("ICDFLOW_DATA_DIR", dir.join("data"))
        .env_remove("ICDFLOW_LOG")
        .env_remove("RUST_LOG")
        .args(["--log-file", dir.join("icdflow.log").to_str().unwrap()])
        .args(["--diag-table", dir.join("d.dat").to_str().unwrap()])
        .args(["--proc-table", dir.join("p.dat").to_str().unwrap()])
        .args(["--index-dir", dir.join("index").to_str().unwrap()]);
    cmd
}

/// [`icdflow_in`] for the binary itself.
pub fn icdflow(dir: &Path) -> Command {
    icdflow_in(dir, env!("CARGO_BIN_EXE_icdflow"), &[])
}

/// Runs the command and returns its output, failing the test (with its
/// stderr) when it does not succeed.
pub fn succeed(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
