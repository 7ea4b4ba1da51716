//! Writes a record as a PDF, the way a hospital export prints it: a text
//! PDF (lines wrapped at a fixed width, so a diagnosis name may break across
//! lines), or with `--scanned` a scan of that PDF with no text layer. For
//! trying `icdflow code FILE.pdf` and the OCR path.
//!
//! `cargo run --release --example record_pdf -- RECORDS OUT.pdf [--record ID] [--scanned] [--width N] [--dpi N]`
//!
//! Needs TrueType fonts (`fonts-droid-fallback` and `fonts-dejavu-core`, or
//! `ICDFLOW_TEST_CJK_FONT`), and for `--scanned` poppler's `pdftoppm`.

#[path = "../tests/pdf_support/mod.rs"]
mod pdf_support;

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Records in any format icdflow reads.
    records: PathBuf,
    out: PathBuf,
    /// The record to print (default: the first).
    #[arg(long)]
    record: Option<String>,
    /// Write a scan (page images, no text layer).
    #[arg(long)]
    scanned: bool,
    /// Characters per printed line.
    #[arg(long, default_value_t = 38)]
    width: usize,
    /// Resolution of the scan.
    #[arg(long, default_value_t = 200)]
    dpi: u32,
}

/// The record as printed lines: an id line, then each section as a
/// `【name】` heading and its text wrapped at `width` characters.
pub fn printed_lines(record: &icdflow::record::Record, width: usize) -> Vec<String> {
    let mut lines = vec![format!("住院号：{}", record.id)];
    for s in &record.sections {
        lines.push(format!("【{}】", s.name));
        for para in s.text.lines() {
            let chars: Vec<char> = para.chars().collect();
            for chunk in chars.chunks(width.max(1)) {
                lines.push(chunk.iter().collect());
            }
        }
    }
    lines
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let report = icdflow::record::load(&a.records)?;
    let record = match &a.record {
        Some(id) => report.records.iter().find(|r| &r.id == id),
        None => report.records.first(),
    }
    .ok_or_else(|| anyhow::anyhow!("no such record in {}", a.records.display()))?;
    let font = pdf_support::cjk_font().ok_or_else(|| {
        anyhow::anyhow!("no fonts: apt-get install fonts-droid-fallback fonts-dejavu-core")
    })?;
    let lines = printed_lines(record, a.width);
    let pages: Vec<Vec<String>> = lines.chunks(44).map(<[String]>::to_vec).collect();
    let text = pdf_support::text_pdf(&pages, &font);
    if a.scanned {
        let dir = std::env::temp_dir().join(format!("icdflow-record-pdf-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join("text.pdf");
        std::fs::write(&tmp, text)?;
        let scan = pdf_support::scanned_pdf(&tmp, a.dpi, &dir);
        std::fs::write(&a.out, scan)?;
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        std::fs::write(&a.out, text)?;
    }
    eprintln!(
        "wrote {} ({} page(s), record {})",
        a.out.display(),
        pages.len(),
        record.id
    );
    Ok(())
}
