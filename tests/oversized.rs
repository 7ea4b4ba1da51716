//! Oversized inputs end in a clear error naming the file and the limit,
//! before memory is spent on them (see `icdflow::limits`). The large files
//! are sparse or compressed: nothing near their size is written to disk.

use std::io::Write;
use std::path::{Path, PathBuf};

use icdflow::limits::{
    MAX_RECORD_FILE_BYTES, MAX_SHEET_CELLS, MAX_TABLE_FILE_BYTES, MAX_TABLE_ROWS,
    MAX_WORKBOOK_UNPACKED_BYTES,
};
use icdflow::record;
use icdflow::terminology::{load_table, CodeSystem};

/// A file of `len` bytes that takes next to no disk space: 128 KiB of
/// record text (so that format detection sees text), then a hole.
fn sparse(dir: &Path, name: &str, len: u64) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    let line = "主诉：胸痛3小时。\n".repeat(1024);
    while f.metadata().unwrap().len() < 128 << 10 {
        f.write_all(line.as_bytes()).unwrap();
    }
    f.set_len(len).unwrap();
    path
}

#[test]
fn a_1_gb_text_record_is_refused_by_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = sparse(dir.path(), "huge.txt", 1 << 30);
    let err = record::load(&path).unwrap_err().to_string();
    assert!(err.contains("huge.txt"), "{err}");
    assert!(err.contains("1024 MiB"), "{err}");
    assert!(
        err.contains(&format!("{} MiB", MAX_RECORD_FILE_BYTES >> 20)),
        "{err}"
    );
    // The streaming reader loads a text record whole, through the same check.
    let items: Vec<_> = record::stream::open_many(&[path]).collect();
    assert_eq!(items.len(), 1);
    let err = items[0].as_ref().unwrap_err().to_string();
    assert!(
        err.contains("huge.txt") && err.contains("record file"),
        "{err}"
    );
}

#[test]
fn a_record_file_just_under_the_limit_is_not_refused_by_size() {
    // The same file at 1 MiB loads (its hole read as NUL characters).
    let dir = tempfile::tempdir().unwrap();
    let path = sparse(dir.path(), "small.txt", 1 << 20);
    let report = record::load(&path).unwrap();
    assert_eq!(report.records.len(), 1);
}

#[test]
fn a_1_gb_code_table_is_refused_by_its_size() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["big.dat", "big.csv", "big.tsv"] {
        let path = sparse(dir.path(), name, 1 << 30);
        let err = load_table(&path, CodeSystem::Icd10)
            .unwrap_err()
            .to_string();
        assert!(err.contains(name), "{err}");
        assert!(
            err.contains(&format!("{} MiB", MAX_TABLE_FILE_BYTES >> 20)),
            "{err}"
        );
    }
}

#[test]
fn a_million_row_table_is_refused_by_its_row_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("million.dat");
    let mut text = String::with_capacity(14 * 1_000_000);
    for i in 0..1_000_000u32 {
        text.push_str(&format!("A{:02}.{} 病{i}\n", i % 100, i % 10));
    }
    std::fs::write(&path, &text).unwrap();
    let err = load_table(&path, CodeSystem::Icd10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("million.dat"), "{err}");
    assert!(
        err.contains("1000000 rows") && err.contains(&MAX_TABLE_ROWS.to_string()),
        "{err}"
    );
}

/// A copy of a fixture workbook with its first sheet replaced.
fn workbook_with_sheet(fixture: &str, write_sheet: impl FnOnce(&mut dyn Write)) -> Vec<u8> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let mut zin = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    let mut sheet = Some(write_sheet);
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        out.start_file(name.as_str(), opts).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            (sheet.take().unwrap())(&mut out);
        } else {
            std::io::copy(&mut f, &mut out).unwrap();
        }
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn an_xlsx_zip_bomb_is_refused_before_it_is_unpacked() {
    // A sheet part of 513 MiB of spaces: a few hundred KB compressed.
    let bytes = workbook_with_sheet("records/jointcoder-mini.xlsx", |w| {
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..(MAX_WORKBOOK_UNPACKED_BYTES >> 20) + 1 {
            w.write_all(&chunk).unwrap();
        }
    });
    assert!(bytes.len() < 16 << 20, "{} bytes", bytes.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.xlsx");
    std::fs::write(&path, &bytes).unwrap();
    let err = record::load(&path).unwrap_err().to_string();
    assert!(err.contains("bomb.xlsx"), "{err}");
    assert!(
        err.contains("xl/worksheets/sheet1.xml") && err.contains("MAX_WORKBOOK_UNPACKED_BYTES"),
        "{err}"
    );
    let err = load_table(&path, CodeSystem::Icd9Cm3)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bomb.xlsx") && err.contains("zip bomb"),
        "{err}"
    );
}

const SHEET_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#;
const SHEET_TAIL: &str = "</sheetData></worksheet>";

#[test]
fn two_cells_far_apart_do_not_allocate_the_sheet_between_them() {
    // A1 and XFD1048576: 17 billion cells as a rectangle.
    let far = |w: &mut dyn Write| {
        write!(
            w,
            r#"{SHEET_HEAD}<row r="1"><c r="A1" t="inlineStr"><is><t>ID</t></is></c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>{SHEET_TAIL}"#
        )
        .unwrap();
    };
    let dir = tempfile::tempdir().unwrap();
    for (name, is_table) in [("far.xlsx", true), ("far-records.xlsx", false)] {
        let fixture = if is_table {
            "terminology/proc-small.xlsx"
        } else {
            "records/jointcoder-mini.xlsx"
        };
        let bytes = workbook_with_sheet(fixture, far);
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let err = if is_table {
            load_table(&path, CodeSystem::Icd9Cm3)
                .unwrap_err()
                .to_string()
        } else {
            record::load(&path).unwrap_err().to_string()
        };
        assert!(err.contains(name), "{err}");
        assert!(
            err.contains("1048576 rows × 16384 columns") && err.contains("XFD1048576"),
            "{err}"
        );
    }
}

#[test]
fn a_sheet_of_too_many_cells_is_refused_while_it_is_read() {
    let per_row = 100u64;
    let rows = MAX_SHEET_CELLS / per_row + 1;
    let bytes = workbook_with_sheet("terminology/proc-small.xlsx", |w| {
        w.write_all(SHEET_HEAD.as_bytes()).unwrap();
        let mut row = String::new();
        for r in 1..=rows {
            row.clear();
            row.push_str(&format!(r#"<row r="{r}">"#));
            for _ in 0..per_row {
                row.push_str("<c><v>1</v></c>");
            }
            row.push_str("</row>");
            w.write_all(row.as_bytes()).unwrap();
        }
        w.write_all(SHEET_TAIL.as_bytes()).unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cells.xlsx");
    std::fs::write(&path, &bytes).unwrap();
    let err = load_table(&path, CodeSystem::Icd9Cm3)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cells.xlsx"), "{err}");
    assert!(err.contains("MAX_SHEET_CELLS"), "{err}");
}
