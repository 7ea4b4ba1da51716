//! Importer for one record in a PDF, as hospital systems export them: a
//! page with a text layer is read as text, a page without one (a scan) is
//! read by OCR.
//!
//! **Why poppler, found at run time, and not a Rust PDF crate.** A scanned
//! page must be rasterized before Tesseract can read it, and no pure-Rust
//! crate renders PDF pages; poppler's `pdftoppm` does, and the same package
//! (`poppler-utils`) brings `pdftotext`, whose `-layout` mode keeps a
//! form's rows together and which maps Chinese text through the predefined
//! Adobe-GB1 CMaps and ToUnicode tables that the Rust extractors (lopdf,
//! pdf-extract) handle only in part. The programs are looked up on `PATH`
//! when a PDF is opened, so the build gains no C dependency and a machine
//! that never reads PDFs needs nothing; a missing program is a clear error
//! naming the package (`scripts/setup.sh --pdf` installs them).
//!
//! **Reading.** `pdfinfo` first: an encrypted or damaged file is refused
//! naming the file. `pdftotext -layout` gives each page's text; a page with
//! almost no text is rendered by `pdftoppm` (300 dpi, grey) and read by
//! `tesseract -l chi_sim` (TSV output: words with their confidence), pages
//! in parallel. Such a page is kept in [`Record::pages`] with its
//! confidence and OCR time, so items coded from it carry a low-confidence
//! mark and the workbench can show the page text.
//!
//! **Sections.** A heading is a line `【主诉】`, `[主诉]`, `主诉：…` (known
//! names, as in [`super::plain`]), a known name alone on its line, or any
//! of these after a Chinese ordinal (`一、主诉`, `二、现病史：…`; after an
//! ordinal any short name alone on its line is a heading). Inside a section
//! the printed lines are joined again: a wrapped line continues the one
//! before it (which may split a diagnosis name or a date), unless the line
//! before ends a sentence (`。；！？：`), the line is the next item of a
//! numbered list (`2.`, `（3）`, `④`) or a form field (`姓名：`), or a
//! blank line stands between them.
//! Page furniture (`第 1 页 共 2 页`, bare page numbers) is dropped. The
//! record id is the value after `住院号`/`病案号`/`病案标识`/`ID` anywhere
//! in the text, else the file stem.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;
use std::time::Instant;

use rayon::prelude::*;
use regex::Regex;

use super::plain::{heading, BODY, HEADING_NAMES};
use super::{Page, Record, Section};
use crate::error::{Error, Location, Result};
use crate::text::is_cjk;

/// How to install what PDF records need.
pub const INSTALL_HINT: &str =
    "apt-get install poppler-utils tesseract-ocr tesseract-ocr-chi-sim, or scripts/setup.sh --pdf";

/// A page with fewer printable characters than this is read by OCR.
pub const MIN_TEXT_CHARS: usize = 8;

/// Resolution pages are rendered at for OCR.
pub const OCR_DPI: u32 = 300;

/// True when the bytes start like a PDF (`%PDF-`, maybe after a little junk,
/// as the format allows within the first kilobyte).
pub fn has_pdf_magic(head: &[u8]) -> bool {
    let n = head.len().min(1024);
    head[..n].windows(5).any(|w| w == b"%PDF-")
}

/// A program on `PATH`.
fn which(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn fail(path: &Path, msg: impl Into<String>) -> Error {
    Error::invalid(Location::file(path), msg)
}

fn tool(path: &Path, program: &str) -> Result<PathBuf> {
    which(program).ok_or_else(|| {
        fail(
            path,
            format!("reading PDF records needs poppler's {program}, which is not installed ({INSTALL_HINT})"),
        )
    })
}

fn run(path: &Path, cmd: &mut Command, what: &str) -> Result<Output> {
    cmd.output()
        .map_err(|e| fail(path, format!("could not run {what}: {e}")))
}

/// The first meaningful line of a tool's error output.
fn first_error(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr);
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message")
        .to_owned()
}

/// What poppler says about a file it cannot open, in a coder's words.
fn refusal(path: &Path, stderr: &[u8]) -> Error {
    let msg = String::from_utf8_lossy(stderr);
    if msg.contains("Incorrect password") || msg.contains("encrypted") {
        return fail(
            path,
            "the PDF is encrypted (password-protected): export the record again without a password",
        );
    }
    fail(
        path,
        format!("the PDF is damaged or not a PDF ({})", first_error(stderr)),
    )
}

/// Reads one record from a PDF file (see the module docs).
pub fn load_pdf(path: &Path) -> Result<Record> {
    let pdfinfo = tool(path, "pdfinfo")?;
    let pdftotext = tool(path, "pdftotext")?;
    let info = run(path, Command::new(&pdfinfo).arg(path), "pdfinfo")?;
    if !info.status.success() {
        return Err(refusal(path, &info.stderr));
    }
    let info_text = String::from_utf8_lossy(&info.stdout);
    let pages: usize = info_text
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    if pages == 0 {
        return Err(fail(path, "the PDF has no pages (damaged?)"));
    }
    let out = run(
        path,
        Command::new(&pdftotext)
            .args(["-layout", "-enc", "UTF-8"])
            .arg(path)
            .arg("-"),
        "pdftotext",
    )?;
    if !out.status.success() {
        return Err(refusal(path, &out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut texts: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    texts.resize(pages, String::new());
    let scans: Vec<usize> = (0..pages)
        .filter(|&i| printable(&texts[i]) < MIN_TEXT_CHARS)
        .collect();
    let mut page_list: Vec<Page> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Page {
            number: i as u32 + 1,
            text: t.clone(),
            ocr_confidence: None,
            ocr_ms: None,
            sections: Vec::new(),
        })
        .collect();
    if !scans.is_empty() {
        let ocr = Ocr::find(path, scans[0] + 1)?;
        let read: Vec<Result<(usize, OcrText)>> = scans
            .par_iter()
            .map(|&i| ocr.page(path, i as u32 + 1).map(|t| (i, t)))
            .collect();
        for r in read {
            let (i, t) = r?;
            let p = &mut page_list[i];
            p.text = t.text;
            p.ocr_confidence = Some(t.confidence);
            p.ocr_ms = Some(t.ms);
        }
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut record = parse_pages(&page_list, &stem);
    for p in &mut record.pages {
        p.text = p.text.trim_end().to_owned();
    }
    Ok(record)
}

fn printable(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

/// Tesseract, checked to have the Chinese model.
struct Ocr {
    pdftoppm: PathBuf,
    tesseract: PathBuf,
}

/// One page as OCR read it.
struct OcrText {
    text: String,
    /// Mean word confidence, weighted by characters, 0–100.
    confidence: u8,
    ms: u32,
}

static TEMP_SEQ: AtomicUsize = AtomicUsize::new(0);

impl Ocr {
    fn find(path: &Path, first_page: usize) -> Result<Ocr> {
        let pdftoppm = tool(path, "pdftoppm")?;
        let Some(tesseract) = which("tesseract") else {
            return Err(fail(
                path,
                format!(
                    "page {first_page} has no text layer (a scan) and Tesseract OCR is not installed ({INSTALL_HINT})"
                ),
            ));
        };
        let langs = run(
            path,
            Command::new(&tesseract).arg("--list-langs"),
            "tesseract",
        )?;
        let listed = String::from_utf8_lossy(&langs.stdout);
        if !listed.lines().any(|l| l.trim() == "chi_sim") {
            return Err(fail(
                path,
                format!(
                    "page {first_page} has no text layer (a scan) and Tesseract lacks the Chinese model chi_sim (apt-get install tesseract-ocr-chi-sim)"
                ),
            ));
        }
        Ok(Ocr {
            pdftoppm,
            tesseract,
        })
    }

    /// Renders page `n` and reads it.
    fn page(&self, path: &Path, n: u32) -> Result<OcrText> {
        let t0 = Instant::now();
        let dir = std::env::temp_dir().join(format!(
            "icdflow-ocr-{}-{}",
            std::process::id(),
            TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let result = self.page_in(path, n, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        let (text, confidence) = result?;
        Ok(OcrText {
            text,
            confidence,
            ms: t0.elapsed().as_millis().min(u32::MAX as u128) as u32,
        })
    }

    fn page_in(&self, path: &Path, n: u32, dir: &Path) -> Result<(String, u8)> {
        let prefix = dir.join("page");
        let page = n.to_string();
        let out = run(
            path,
            Command::new(&self.pdftoppm)
                .args(["-r", &OCR_DPI.to_string(), "-gray", "-png", "-singlefile"])
                .args(["-f", &page, "-l", &page])
                .arg(path)
                .arg(&prefix),
            "pdftoppm",
        )?;
        if !out.status.success() {
            return Err(refusal(path, &out.stderr));
        }
        let png = prefix.with_extension("png");
        let out = run(
            path,
            Command::new(&self.tesseract)
                .arg(&png)
                .args(["stdout", "-l", "chi_sim", "--psm", "6", "tsv"])
                // Pages run in parallel: one thread each.
                .env("OMP_THREAD_LIMIT", "1"),
            "tesseract",
        )?;
        if !out.status.success() {
            return Err(fail(
                path,
                format!("OCR of page {n} failed: {}", first_error(&out.stderr)),
            ));
        }
        Ok(parse_tsv(&String::from_utf8_lossy(&out.stdout)))
    }
}

/// Tesseract's TSV (level, page, block, par, line, word, left, top, width,
/// height, conf, text) as lines of text, and the mean word confidence
/// weighted by characters. Words join without a space unless both sides
/// are Latin letters or digits.
fn parse_tsv(tsv: &str) -> (String, u8) {
    let mut lines: Vec<String> = Vec::new();
    let mut key = None;
    let (mut weighted, mut chars) = (0.0f64, 0usize);
    for row in tsv.lines().skip(1) {
        let f: Vec<&str> = row.split('\t').collect();
        if f.len() < 12 || f[0] != "5" {
            continue;
        }
        let word = f[11].trim();
        if word.is_empty() {
            continue;
        }
        let conf: f64 = f[10].parse().unwrap_or(0.0);
        let n = word.chars().count();
        weighted += conf.max(0.0) * n as f64;
        chars += n;
        let k = (f[2], f[3], f[4]);
        if key != Some(k) || lines.is_empty() {
            key = Some(k);
            lines.push(word.to_owned());
            continue;
        }
        let line = lines.last_mut().expect("a line");
        let spaced = line
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && word
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric());
        if spaced {
            line.push(' ');
        }
        line.push_str(word);
    }
    let conf = if chars == 0 {
        0
    } else {
        (weighted / chars as f64).round().clamp(0.0, 100.0) as u8
    };
    (lines.join("\n"), conf)
}

static FURNITURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:第\s*\d+\s*页(?:\s*[,，/、]?\s*共\s*\d+\s*页)?|[-—]?\s*\d{1,3}\s*[-—]?|\d+\s*/\s*\d+)$")
        .expect("valid furniture regex")
});

static ID_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:住院号|病案号|病案标识|\bID)\s*[:：]\s*([A-Za-z0-9][A-Za-z0-9_\-]*)")
        .expect("valid id regex")
});

static ORDINAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[一二三四五六七八九十]{1,3}\s*[、.．]\s*(.+)$").expect("valid ordinal regex")
});

static FIELD_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\p{Han}A-Za-z]{2,6}[:：]").expect("valid field regex"));

static ITEM_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(\d{1,2})\s*[.．、)）]|[（(](\d{1,2})[)）]|([①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳]))")
        .expect("valid item regex")
});

/// A heading line of a PDF record: (section name, rest of the line).
fn pdf_heading(line: &str) -> Option<(String, String)> {
    let t = line.trim();
    if let Some(c) = ORDINAL.captures(t) {
        let rest = c[1].trim();
        if let Some((name, more)) = heading(rest) {
            return Some((name, more.to_owned()));
        }
        let bare = rest.trim_end_matches([':', '：']);
        let short = bare.chars().count() <= 10 && bare.chars().all(is_cjk);
        if short && !bare.is_empty() {
            return Some((bare.to_owned(), String::new()));
        }
        return None;
    }
    if let Some((name, more)) = heading(t) {
        return Some((name, more.to_owned()));
    }
    let bare = t.trim_end_matches([':', '：']);
    HEADING_NAMES
        .contains(&bare)
        .then(|| (bare.to_owned(), String::new()))
}

/// A section being read: its name and its lines (`None`: blank) with
/// their pages.
type RawSection = (String, Vec<(Option<String>, u32)>);

/// One printed line and the page it is on.
struct Line {
    text: String,
    page: u32,
}

/// The number of a numbered-list item a line starts with.
fn item_number(line: &str) -> Option<u32> {
    let c = ITEM_NUMBER.captures(line)?;
    if let Some(m) = c.get(1).or_else(|| c.get(2)) {
        return m.as_str().parse().ok();
    }
    let circled = c.get(3)?.as_str().chars().next()?;
    Some(circled as u32 - '①' as u32 + 1)
}

/// Joins a section's printed lines (blank lines as `None`) back into its
/// text (module docs).
pub fn join_wrapped<'a>(lines: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let mut out = String::new();
    let mut last_item: Option<u32> = None;
    let mut blank = false;
    for line in lines {
        let Some(line) = line.map(str::trim).filter(|l| !l.is_empty()) else {
            blank = !out.is_empty();
            continue;
        };
        let item = item_number(line);
        let next_item = item.is_some_and(|n| match last_item {
            Some(prev) => n == prev + 1,
            None => n == 1,
        });
        if next_item {
            last_item = item;
        }
        let prev = out.chars().last();
        if prev.is_none() {
            out.push_str(line);
            continue;
        }
        let ends = prev.is_some_and(|c| "。！？；：:;!?".contains(c));
        // `姓名：…` on a form line starts a line of its own.
        if blank || next_item || ends || FIELD_START.is_match(line) {
            out.push('\n');
        } else if prev.is_some_and(|c| c.is_ascii_alphabetic())
            && line.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        {
            out.push(' ');
        }
        out.push_str(line);
        blank = false;
    }
    out
}

/// Collapses the column gaps of `-layout` output to one space.
fn squeeze(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut space = false;
    for c in line.trim().chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    out
}

/// Builds the record from its pages' text; also notes on each page which
/// sections it holds text of. `fallback_id` is used when the text names no
/// id.
pub fn parse_pages(pages: &[Page], fallback_id: &str) -> Record {
    let mut lines: Vec<Line> = Vec::new();
    for p in pages {
        for raw in p.text.lines() {
            let text = squeeze(raw);
            if FURNITURE.is_match(&text) {
                continue;
            }
            lines.push(Line {
                text,
                page: p.number,
            });
        }
    }
    let mut record = Record::new(fallback_id);
    if let Some((i, c)) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| ID_FIELD.captures(&l.text).map(|c| (i, c)))
    {
        record.id = c[1].to_owned();
        let whole = c.get(0).expect("match").range();
        let mut t = lines[i].text.clone();
        t.replace_range(whole, "");
        lines[i].text = squeeze(&t);
    }
    // (name, lines as (text or blank, page))
    let mut sections: Vec<RawSection> = vec![(BODY.to_owned(), vec![])];
    for l in lines {
        if let Some((name, rest)) = pdf_heading(&l.text) {
            sections.push((name, Vec::new()));
            if !rest.trim().is_empty() {
                sections
                    .last_mut()
                    .expect("a section")
                    .1
                    .push((Some(rest), l.page));
            }
            continue;
        }
        let cur = &mut sections.last_mut().expect("a section").1;
        cur.push(((!l.text.is_empty()).then_some(l.text), l.page));
    }
    let mut on_page: Vec<(u32, String)> = Vec::new();
    for (name, body) in sections {
        let text = join_wrapped(body.iter().map(|(t, _)| t.as_deref()));
        if text.trim().is_empty() {
            continue;
        }
        for (t, page) in &body {
            if t.is_some() && !on_page.contains(&(*page, name.clone())) {
                on_page.push((*page, name.clone()));
            }
        }
        record.sections.push(Section { name, text });
    }
    record.pages = pages
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.sections = on_page
                .iter()
                .filter(|(n, _)| *n == p.number)
                .map(|(_, s)| s.clone())
                .collect();
            p
        })
        .collect();
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: u32, text: &str) -> Page {
        Page {
            number: n,
            text: text.into(),
            ocr_confidence: None,
            ocr_ms: None,
            sections: vec![],
        }
    }

    #[test]
    fn wrapped_lines_join_inside_a_section() {
        let text =
            "1.冠状动脉粥样硬化性心脏病 不稳定型心\n绞痛\n2.高血压病3级（极\n高危）\n3.2型糖尿病";
        let joined = join_wrapped(text.lines().map(Some));
        assert_eq!(
            joined,
            "1.冠状动脉粥样硬化性心脏病 不稳定型心绞痛\n2.高血压病3级（极高危）\n3.2型糖尿病"
        );
        // A date split across lines, and a sentence end.
        let t = "于2024-03-\n05行冠脉造影。\n术后恢复好";
        assert_eq!(
            join_wrapped(t.lines().map(Some)),
            "于2024-03-05行冠脉造影。\n术后恢复好"
        );
        // A wrapped line starting with a number that is no next item.
        let t = "1.糖化血红蛋白\n7.5%，血糖控制差";
        assert_eq!(
            join_wrapped(t.lines().map(Some)),
            "1.糖化血红蛋白7.5%，血糖控制差"
        );
        // A blank line is a paragraph break; Latin words keep their space.
        let t = "Stanford B\ntype\n\n下一段";
        assert_eq!(
            join_wrapped(t.lines().map(|l| Some(l).filter(|l| !l.is_empty()))),
            "Stanford B type\n下一段"
        );
    }

    #[test]
    fn heading_forms_and_id() {
        let p1 = page(
            1,
            "        某某医院出院记录\n姓名：某某    住院号：ZY2024001    性别：男\n【主诉】\n反复胸闷3年。\n现病史：患者3年前出现胸\n闷，休息后缓解。\n                 第 1 页 共 2 页\n",
        );
        let p2 = page(
            2,
            "一、出院诊断\n1.冠状动脉粥样硬化性心脏\n病\n2.高血压病3级\n二、出院医嘱：低盐饮食。\n三、随访安排\n门诊随诊\n2\n",
        );
        let r = parse_pages(&[p1, p2], "stem");
        assert_eq!(r.id, "ZY2024001");
        let names: Vec<_> = r.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [BODY, "主诉", "现病史", "出院诊断", "出院医嘱", "随访安排"]
        );
        assert_eq!(r.section("现病史"), Some("患者3年前出现胸闷，休息后缓解。"));
        assert_eq!(
            r.section("出院诊断"),
            Some("1.冠状动脉粥样硬化性心脏病\n2.高血压病3级")
        );
        assert_eq!(
            r.section(BODY),
            Some("某某医院出院记录\n姓名：某某 性别：男")
        );
        assert_eq!(r.pages[0].sections, [BODY, "主诉", "现病史"]);
        assert_eq!(r.pages[1].sections, ["出院诊断", "出院医嘱", "随访安排"]);
        // No id in the text: the file stem.
        assert_eq!(parse_pages(&[page(1, "【主诉】胸痛")], "rec-9").id, "rec-9");
    }

    #[test]
    fn tesseract_tsv_becomes_lines_and_a_confidence() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t10\t10\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t0\t0\t1\t1\t90\t【主诉】\n\
                   5\t1\t1\t1\t2\t1\t0\t0\t1\t1\t80\t胸痛\n\
                   5\t1\t1\t1\t2\t2\t0\t0\t1\t1\t70\t2\n\
                   5\t1\t1\t1\t2\t3\t0\t0\t1\t1\t70\t小时\n\
                   5\t1\t1\t1\t3\t1\t0\t0\t1\t1\t95\tStanford\n\
                   5\t1\t1\t1\t3\t2\t0\t0\t1\t1\t95\tB\n";
        let (text, conf) = parse_tsv(tsv);
        assert_eq!(text, "【主诉】\n胸痛2小时\nStanford B");
        // (4·90 + 2·80 + 1·70 + 2·70 + 8·95 + 1·95) / 18
        assert_eq!(conf, 88);
    }

    #[test]
    fn pdf_magic() {
        assert!(has_pdf_magic(b"%PDF-1.7\n"));
        assert!(has_pdf_magic(b"\r\n%PDF-1.4"));
        assert!(!has_pdf_magic(b"PK\x03\x04"));
    }
}
