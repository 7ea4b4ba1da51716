//! The setup scripts' dependency detection: libclang is found by what
//! bindgen loads, not by any library whose name starts with "libclang".

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `has_bindgen_libclang` on a listing; true when it says found.
fn detects(listing: &str) -> bool {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/lib/deps.sh");
    // no llvm dirs may answer for the listing: point the glob nowhere
    let mut child = Command::new("bash")
        .args([
            "-c",
            &format!("source {script}; compgen() {{ return 1; }}; has_bindgen_libclang"),
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(listing.as_bytes())
        .unwrap();
    child.wait().unwrap().success()
}

#[test]
fn libclang_cpp_alone_is_not_libclang() {
    let only_cpp = "1234 libs found in cache `/etc/ld.so.cache'\n\tlibclang-cpp.so.14 (libc6,x86-64) => /lib/x86_64-linux-gnu/libclang-cpp.so.14\n";
    assert!(!detects(only_cpp));
    let cpp_and_more = "\tlibclang-cpp.so.14 (libc6,x86-64) => /x\n\tlibclangBasic.a (x) => /y\n";
    assert!(!detects(cpp_and_more));
}

#[test]
fn the_libraries_bindgen_loads_are_found() {
    for line in [
        "\tlibclang-14.so.13 (libc6,x86-64) => /lib/x86_64-linux-gnu/libclang-14.so.13\n",
        "\tlibclang-14.so (libc6,x86-64) => /lib/x86_64-linux-gnu/libclang-14.so\n",
        "\tlibclang.so.1 (libc6,x86-64) => /usr/lib/libclang.so.1\n",
        "\tlibclang.so (libc6,x86-64) => /usr/lib/libclang.so\n",
    ] {
        assert!(detects(line), "{line}");
    }
}
