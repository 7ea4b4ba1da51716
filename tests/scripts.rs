//! The setup scripts' dependency detection: libclang is found by what
//! bindgen loads, not by any library whose name starts with "libclang".

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `has_bindgen_libclang` on a listing, with `dirs` as the LLVM lib
/// dirs it also searches; true when it says found.
fn detects_in(listing: &str, dirs: &str) -> bool {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/lib/deps.sh");
    let mut child = Command::new("bash")
        .args(["-c", &format!("source {script}; has_bindgen_libclang")])
        .env("BINDGEN_LIBCLANG_DIRS", dirs)
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

/// The listing alone decides: the LLVM dirs searched do not exist.
fn detects(listing: &str) -> bool {
    detects_in(listing, "/nonexistent/llvm-*/lib")
}

/// An LLVM lib dir holding `files`, searched with an empty linker listing.
fn detects_files(files: &[&str]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        std::fs::write(dir.path().join(f), b"").unwrap();
    }
    detects_in("", dir.path().to_str().unwrap())
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

#[test]
fn an_llvm_dir_with_only_libclang_cpp_has_no_libclang() {
    // Debian 12's llvm-14 runtime: what made setup skip libclang-dev and
    // the build then fail in bindgen.
    assert!(!detects_files(&["libclang-cpp.so.14", "libclang-cpp.so.1"]));
    assert!(!detects_files(&[]));
}

#[test]
fn an_llvm_dir_with_libclang_is_found() {
    assert!(detects_files(&["libclang-cpp.so.14", "libclang-14.so.1"]));
    assert!(detects_files(&["libclang.so.1"]));
    assert!(detects_files(&["libclang.so"]));
}
