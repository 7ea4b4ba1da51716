//! Inputs that once crashed the streaming record reader (found by the
//! `record_stream` fuzz target), each as a test of what it should give.

use icdflow::record::stream::open_many;

/// A GBK array (so decoded as GB18030 on the fly) cut off inside an
/// element, half a character at its end: the decoder gave that half as a
/// replacement character in its last call, the element reader asked for
/// more,
/// and the decoder, already finished, panicked ("Must not use a decoder
/// that has finished"). Now the whole elements are read and the cut one is
/// reported.
#[test]
fn a_gbk_array_cut_off_inside_an_element_is_read_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gbk-cut.json");
    let (json, _, _) = encoding_rs::GBK.encode(
        r#"[{"id": "G1", "sections": [{"name": "主诉", "text": "胸痛"}]}, {"id": "G2", "sections": [{"name": "主"#,
    );
    let mut bytes = json.into_owned();
    bytes.push(0x81);
    std::fs::write(&path, &bytes).unwrap();
    let items: Vec<_> = open_many(&[path]).collect();
    let records: Vec<_> = items.iter().filter_map(|i| i.as_ref().ok()).collect();
    assert_eq!(records.len(), 1, "{items:?}");
    assert_eq!(records[0].id, "G1");
    assert_eq!(records[0].section("主诉"), Some("胸痛"));
    let errors: Vec<String> = items
        .iter()
        .filter_map(|i| i.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("gbk-cut.json"), "{errors:?}");
}

/// The crash input itself, as the fuzzer wrote it.
#[test]
fn the_fuzzers_crash_input_streams_without_a_panic() {
    let input = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus/record_stream/crash-gb18030-read-after-end");
    let dir = tempfile::tempdir().unwrap();
    // As the fuzz target feeds it: an even first byte means `.json`.
    let path = dir.path().join("s.json");
    std::fs::copy(&input, &path).unwrap();
    for item in open_many(&[path]) {
        drop(item);
    }
}

/// Runs `f` on a thread and fails the test if it does not end in 20 s.
fn within_20s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(f()).unwrap());
    rx.recv_timeout(std::time::Duration::from_secs(20))
        .expect("the reader did not finish: an endless loop")
}

/// A stray `}` between two elements: the element reader read nothing and
/// left it unread, and the array reader tried again forever (one error
/// item per try). Now the array ends there with one error.
#[test]
fn a_stray_closing_brace_in_an_array_ends_it_with_one_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stray.json");
    std::fs::write(
        &path,
        r#"[{"id": "A", "sections": [{"name": "主诉", "text": "胸痛"}]} }, {"id": "B", "sections": []}]"#,
    )
    .unwrap();
    let items: Vec<_> = within_20s(move || open_many(&[path]).take(100).collect::<Vec<_>>());
    let ids: Vec<_> = items
        .iter()
        .filter_map(|i| i.as_ref().ok())
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(ids, ["A"]);
    let errors: Vec<String> = items
        .iter()
        .filter_map(|i| i.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("stray.json") && errors[0].contains("stray `}`"),
        "{errors:?}"
    );
}

/// The fuzzer's input for the same loop.
#[test]
fn the_fuzzers_endless_loop_input_ends() {
    let input = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus/record_stream/timeout-stray-brace");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.json");
    std::fs::copy(&input, &path).unwrap();
    let n = within_20s(move || open_many(&[path]).take(1000).count());
    assert!(n < 1000, "{n} items from a 373-byte file");
}
