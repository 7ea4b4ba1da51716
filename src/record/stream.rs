//! Reading records one at a time, for batches too large to hold in memory.
//!
//! [`open_many`] yields the records of several files in order, holding one
//! record (and a read buffer) at a time for the formats that allow it:
//! JSON Lines (line by line), and the CCL25 and project JSON arrays (element
//! by element: the array is scanned for the end of each top-level element,
//! which is then parsed alone). Both are decoded on the fly from UTF-8 (with
//! or without a BOM), UTF-16 or GB18030, as [`super::encoding`] decides from
//! the file's first bytes. A JointCoder workbook is a zip whose sheet XML
//! cannot be read a row at a time cheaply: it is loaded whole, and
//! [`RecordStream::notes`] says so. Plain-text and PDF files hold one record
//! each and are loaded whole as usual.
//!
//! The checks are the importers' own ([`super::collect`]): every element
//! goes through the same per-format code as [`super::load`]; a bad line or
//! element is reported and skipped. A repeated id is reported and skipped
//! across the whole input; to keep memory flat only a 64-bit hash and the
//! first position of each id are remembered.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use encoding_rs::{Decoder, Encoding, GB18030, UTF_8};

use super::collect::Collector;
use super::json::{describe_error, replace_non_finite, Item};
use super::{ccl25, jsonl, Record, RecordFormat};
use crate::error::{Error, Location};

/// Bytes of a file looked at to choose its format and encoding.
const HEAD_LEN: usize = 64 * 1024;
/// The largest line or array element read: a record over this is a broken
/// export, reported and skipped (the record check allows 5 MB per section).
const MAX_ELEMENT_BYTES: usize = 64 * 1024 * 1024;

/// One item of a stream: a record, or why one could not be read.
pub type StreamItem = Result<Record, Error>;

/// Keeps the records whose id it accepts (a shard, a resume, `--record`).
/// Records it refuses are dropped before the duplicate check, so that they
/// cost no memory.
pub type IdFilter = Box<dyn FnMut(&str) -> bool + Send>;

/// The records of several files, in order; see the module docs.
pub struct RecordStream {
    files: VecDeque<PathBuf>,
    current: Option<FileReader>,
    pending: VecDeque<StreamItem>,
    /// Hash of each id yielded → where it was first.
    seen: HashMap<u64, Place>,
    file_no: u32,
    paths: Vec<PathBuf>,
    filter: Option<IdFilter>,
    notes: Vec<String>,
    formats: Vec<(PathBuf, RecordFormat)>,
}

/// Where a record was read, in a few bytes (`line 7` of file 0): one is
/// kept per id for the duplicate message.
#[derive(Debug, Clone, Copy)]
struct Place {
    file: u32,
    /// 0 line, 1 item, 2 row, 3 record, 4 anything else.
    kind: u8,
    n: u32,
}

const PLACE_WORDS: [&str; 4] = ["line", "item", "row", "record"];

impl Place {
    fn new(file: u32, position: &str) -> Place {
        let parsed = position.split_once(' ').and_then(|(w, n)| {
            let kind = PLACE_WORDS.iter().position(|x| *x == w)?;
            Some((kind as u8, n.parse().ok()?))
        });
        let (kind, n) = parsed.unwrap_or((4, 0));
        Place { file, kind, n }
    }

    fn describe(&self) -> String {
        match PLACE_WORDS.get(self.kind as usize) {
            Some(w) => format!("{w} {}", self.n),
            None => "an earlier place".to_string(),
        }
    }
}

/// Opens files lazily: a file that cannot be read becomes one error item,
/// and the stream goes on with the next file.
pub fn open_many(paths: &[PathBuf]) -> RecordStream {
    RecordStream {
        files: paths.iter().cloned().collect(),
        current: None,
        pending: VecDeque::new(),
        seen: HashMap::new(),
        file_no: 0,
        paths: Vec::new(),
        filter: None,
        notes: Vec::new(),
        formats: Vec::new(),
    }
}

impl RecordStream {
    /// Keeps only the records whose id `keep` accepts.
    pub fn with_filter(mut self, keep: IdFilter) -> Self {
        self.filter = Some(keep);
        self
    }

    /// What the reader had to do differently (a workbook loaded whole).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Each file opened so far with the format it was read as.
    pub fn formats(&self) -> &[(PathBuf, RecordFormat)] {
        &self.formats
    }

    fn open_next(&mut self) -> bool {
        let Some(path) = self.files.pop_front() else {
            return false;
        };
        self.file_no = self.paths.len() as u32;
        self.paths.push(path.clone());
        match FileReader::open(&path) {
            Ok((reader, format, note)) => {
                self.formats.push((path, format));
                if let Some(n) = note {
                    self.notes.push(n);
                }
                self.current = Some(reader);
            }
            Err(e) => self.pending.push_back(Err(e)),
        }
        true
    }

    /// Passes a record through the filter and the duplicate check.
    fn admit(&mut self, record: Record, position: String) {
        if let Some(keep) = self.filter.as_mut() {
            if !keep(&record.id) {
                return;
            }
        }
        let key = id_hash(&record.id);
        if let Some(place) = self.seen.get(&key) {
            let path = &self.paths[self.file_no as usize];
            let first_file = &self.paths[place.file as usize];
            let first = place.describe();
            let msg = if place.file == self.file_no {
                format!(
                    "duplicate id `{}`: first at {first}, again at {position}; the second is skipped",
                    record.id
                )
            } else {
                format!(
                    "duplicate id `{}`: first in {} at {first}, again at {position}; the second is skipped",
                    record.id,
                    first_file.display()
                )
            };
            self.pending.push_back(Err(Error::invalid(
                Location::file(path).record(record.id.clone()),
                msg,
            )));
            return;
        }
        self.seen.insert(key, Place::new(self.file_no, &position));
        self.pending.push_back(Ok(record));
    }
}

impl Iterator for RecordStream {
    type Item = StreamItem;

    fn next(&mut self) -> Option<StreamItem> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            let Some(reader) = self.current.as_mut() else {
                if !self.open_next() {
                    return None;
                }
                continue;
            };
            match reader.next_batch() {
                Some(batch) => {
                    for e in batch.errors {
                        self.pending.push_back(Err(e));
                    }
                    for (r, pos) in batch.records {
                        self.admit(r, pos);
                    }
                }
                None => self.current = None,
            }
        }
    }
}

/// A stable 64-bit hash of an id (FNV-1a over its UTF-8 bytes): the same on
/// every machine and in every version, so shards chosen by it are stable.
pub fn id_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// What one step of a file reader produced.
struct Batch {
    records: Vec<(Record, String)>,
    errors: Vec<Error>,
}

impl Batch {
    fn from_collector(c: Collector) -> Batch {
        Batch {
            records: c.records.into_iter().zip(c.positions).collect(),
            errors: c.errors,
        }
    }
}

enum FileReader {
    Lines(LineReader),
    Array(ArrayReader),
    /// Loaded whole (workbooks, text, PDF, a pretty-printed single object).
    Whole(Option<Batch>),
}

impl FileReader {
    fn open(path: &Path) -> crate::Result<(FileReader, RecordFormat, Option<String>)> {
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut head = Vec::with_capacity(HEAD_LEN);
        (&mut file)
            .take(HEAD_LEN as u64)
            .read_to_end(&mut head)
            .map_err(|e| Error::io(path, e))?;
        let Some(format) = super::detect_format(path, &head) else {
            return Err(Error::invalid(
                Location::file(path),
                "unrecognised record format: binary data that is neither an xlsx workbook nor text",
            ));
        };
        let streamed = matches!(
            format,
            RecordFormat::Jsonl | RecordFormat::Ccl25Json | RecordFormat::JsonArray
        );
        if !streamed || single_pretty_object(format, &head) {
            let report = super::load(path)?;
            let note = (format == RecordFormat::JointCoderXlsx).then(|| {
                format!(
                    "{}: a workbook is read whole ({} records held in memory; a zip cannot be streamed cheaply — export JSON Lines for very large batches)",
                    path.display(),
                    report.records.len()
                )
            });
            let n = report.records.len();
            let batch = Batch {
                records: report
                    .records
                    .into_iter()
                    .zip(1..=n)
                    .map(|(r, i)| (r, format!("record {i}")))
                    .collect(),
                errors: report.errors,
            };
            return Ok((FileReader::Whole(Some(batch)), report.format, note));
        }
        // Read again from the start, decoding as the head says.
        drop(file);
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let reader: Box<dyn BufRead + Send> = match encoding_of(&head) {
            (enc, bom) if enc == UTF_8 => {
                let mut r = BufReader::with_capacity(256 * 1024, file);
                r.consume_bom(bom);
                Box::new(r)
            }
            (enc, bom) => Box::new(BufReader::with_capacity(
                256 * 1024,
                DecodingReader::new(file, enc, bom),
            )),
        };
        let reader = match format {
            RecordFormat::Jsonl => FileReader::Lines(LineReader {
                path: path.to_path_buf(),
                input: reader,
                line_no: 0,
                buf: Vec::new(),
            }),
            _ => FileReader::Array(ArrayReader::new(path, reader)),
        };
        Ok((reader, format, None))
    }

    fn next_batch(&mut self) -> Option<Batch> {
        match self {
            FileReader::Lines(r) => r.next_batch(),
            FileReader::Array(r) => r.next_batch(),
            FileReader::Whole(b) => b.take(),
        }
    }
}

trait ConsumeBom {
    fn consume_bom(&mut self, bom: usize);
}

impl<R: Read> ConsumeBom for BufReader<R> {
    fn consume_bom(&mut self, bom: usize) {
        if bom > 0 && self.fill_buf().is_ok_and(|b| b.len() >= bom) {
            self.consume(bom);
        }
    }
}

/// A JSON Lines file whose first record is pretty-printed over several
/// lines: one object, not JSON Lines; the whole-file loader reads it.
fn single_pretty_object(format: RecordFormat, head: &[u8]) -> bool {
    if format != RecordFormat::Jsonl {
        return false;
    }
    let text = super::encoding::decode_head_lossy(head);
    let first = text
        .lines()
        .map(|l| l.trim_start_matches('\u{FEFF}').trim())
        .find(|l| !l.is_empty());
    first.is_some_and(|l| serde_json::from_str::<serde_json::Value>(l).is_err())
}

/// The encoding of a file from its first bytes (as
/// [`super::encoding::decode_bytes`] decides for a whole file) and the
/// length of its byte-order mark.
fn encoding_of(head: &[u8]) -> (&'static Encoding, usize) {
    if let Some((enc, bom)) = Encoding::for_bom(head) {
        return (enc, bom);
    }
    match std::str::from_utf8(head) {
        Ok(_) => (UTF_8, 0),
        // A UTF-8 head cut mid-character fails only in its last 3 bytes.
        Err(e) if e.valid_up_to() + 4 > head.len() => (UTF_8, 0),
        Err(_) => (GB18030, 0),
    }
}

/// Decodes a byte stream in another encoding to UTF-8 as it is read.
struct DecodingReader<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// The decoder has had its last call (it panics if called again): every
    /// read from now on is the end of the file.
    finished: bool,
    /// Bytes of the byte-order mark still to skip.
    skip: usize,
}

impl<R: Read> DecodingReader<R> {
    fn new(inner: R, enc: &'static Encoding, bom: usize) -> Self {
        DecodingReader {
            inner,
            decoder: enc.new_decoder_without_bom_handling(),
            input: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            eof: false,
            finished: false,
            skip: bom,
        }
    }
}

impl<R: Read> Read for DecodingReader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.len() < 4 {
            // Room for one char at least; BufReader never asks for less.
            return Err(std::io::Error::other("decode buffer too small"));
        }
        if self.finished {
            return Ok(0);
        }
        loop {
            if self.start == self.end && !self.eof {
                self.start = 0;
                self.end = self.inner.read(&mut self.input)?;
                self.eof = self.end == 0;
                if self.skip > 0 {
                    let s = self.skip.min(self.end);
                    self.start = s;
                    self.skip -= s;
                }
            }
            let (result, read, written, _) =
                self.decoder
                    .decode_to_utf8(&self.input[self.start..self.end], out, self.eof);
            self.start += read;
            // The last call is done once it has consumed all input and
            // flushed all output; a full `out` gets another call.
            self.finished = self.eof && result == encoding_rs::CoderResult::InputEmpty;
            if written > 0 || self.eof {
                return Ok(written);
            }
        }
    }
}

/// JSON Lines, one line at a time.
struct LineReader {
    path: PathBuf,
    input: Box<dyn BufRead + Send>,
    line_no: usize,
    buf: Vec<u8>,
}

impl LineReader {
    fn next_batch(&mut self) -> Option<Batch> {
        loop {
            self.buf.clear();
            let n = match read_line_capped(&mut self.input, &mut self.buf) {
                Ok(n) => n,
                Err(e) => {
                    self.line_no += 1;
                    let mut c = Collector::new(&self.path, jsonl::ID_FIELD);
                    let position = format!("line {}", self.line_no);
                    c.error(&position, None, format!("{e}; line skipped"));
                    return Some(Batch::from_collector(c));
                }
            };
            if n == 0 {
                return None;
            }
            self.line_no += 1;
            let lineno = self.line_no;
            let mut c = Collector::new(&self.path, jsonl::ID_FIELD);
            let line = String::from_utf8_lossy(&self.buf);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.trim().is_empty() {
                continue;
            }
            jsonl::load_line(&replace_non_finite(line), lineno, &mut c);
            return Some(Batch::from_collector(c));
        }
    }
}

/// Reads one line into `buf`; a line over [`MAX_ELEMENT_BYTES`] is read to
/// its end, discarded and reported.
fn read_line_capped(input: &mut dyn BufRead, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut total = 0;
    let mut too_long = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !too_long && buf.len() + take <= MAX_ELEMENT_BYTES {
            buf.extend_from_slice(&chunk[..take]);
        } else {
            too_long = true;
            buf.clear();
        }
        input.consume(take);
        total += take;
        if done {
            break;
        }
    }
    if too_long {
        return Err(std::io::Error::other(format!(
            "line over {} MB: not a plausible record",
            MAX_ELEMENT_BYTES >> 20
        )));
    }
    Ok(total)
}

/// A JSON array, one top-level element at a time.
struct ArrayReader {
    path: PathBuf,
    input: Box<dyn BufRead + Send>,
    /// Elements read so far.
    item: usize,
    state: ArrayState,
    element: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    /// Before the opening bracket.
    Start,
    /// Inside the array, between elements.
    Between,
    Done,
}

impl ArrayReader {
    fn new(path: &Path, input: Box<dyn BufRead + Send>) -> Self {
        ArrayReader {
            path: path.to_path_buf(),
            input,
            item: 0,
            state: ArrayState::Start,
            element: Vec::new(),
        }
    }

    fn fail(&mut self, msg: String) -> Option<Batch> {
        self.state = ArrayState::Done;
        Some(Batch {
            records: Vec::new(),
            errors: vec![Error::invalid(Location::file(&self.path), msg)],
        })
    }

    fn next_batch(&mut self) -> Option<Batch> {
        loop {
            if self.state == ArrayState::Done {
                return None;
            }
            let next = match skip_space(&mut self.input) {
                Ok(b) => b,
                Err(e) => return self.fail(format!("cannot read: {e}")),
            };
            match (self.state, next) {
                (ArrayState::Start, Some(b'[')) => {
                    self.input.consume(1);
                    self.state = ArrayState::Between;
                }
                (ArrayState::Start, _) => {
                    return self.fail(
                        "malformed JSON: expected a JSON array of record objects".to_owned(),
                    )
                }
                (ArrayState::Between, Some(b']')) => {
                    self.input.consume(1);
                    self.state = ArrayState::Done;
                    return None;
                }
                (ArrayState::Between, Some(b',')) => self.input.consume(1),
                (ArrayState::Between, None) => {
                    return self.fail(format!(
                        "unexpected end of JSON after item {}: the array is not closed (a truncated file?)",
                        self.item
                    ))
                }
                (ArrayState::Between, Some(_)) => return self.read_element(),
                (ArrayState::Done, _) => return None,
            }
        }
    }

    fn read_element(&mut self) -> Option<Batch> {
        self.item += 1;
        let position = format!("item {}", self.item);
        self.element.clear();
        match read_value(&mut self.input, &mut self.element) {
            // Nothing read: the element "ends" at once on a stray `}`, which
            // stays unread; stop here instead of reading it again forever.
            Ok(true) if self.element.is_empty() => {
                return self.fail(format!(
                    "malformed JSON: a stray `}}` where item {} should start",
                    self.item
                ))
            }
            Ok(true) => {}
            Ok(false) => {
                return self.fail(format!(
                    "unexpected end of JSON inside item {} (a truncated file?)",
                    self.item
                ))
            }
            Err(e) => return self.fail(format!("item {}: {e}", self.item)),
        }
        let text = String::from_utf8_lossy(&self.element);
        let text = replace_non_finite(&text);
        let parsed = serde_json::from_str::<Item>(&text);
        let id_field = match &parsed {
            Ok(item) if item.has(ccl25::ID_FIELD) && !item.has("sections") => ccl25::ID_FIELD,
            _ => jsonl::ID_FIELD,
        };
        let mut c = Collector::new(&self.path, id_field);
        match parsed {
            Ok(item) => jsonl::push_item(item, position, &mut c),
            Err(e) => c.error(
                &position,
                None,
                format!("{}; item skipped", describe_error(&e)),
            ),
        }
        Some(Batch::from_collector(c))
    }
}

/// Skips whitespace; the next byte, not consumed.
fn skip_space(input: &mut dyn BufRead) -> std::io::Result<Option<u8>> {
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let b = buf[i];
                input.consume(i);
                return Ok(Some(b));
            }
            None => {
                let n = buf.len();
                input.consume(n);
            }
        }
    }
}

/// Copies one JSON value (an object, an array or a scalar) into `out`:
/// brackets are counted outside strings, and a scalar ends before the next
/// `,`, `]` or whitespace at its level. False at the end of the input
/// before the value closed.
fn read_value(input: &mut dyn BufRead, out: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            // A scalar may end with the input; a container may not.
            return Ok(depth == 0 && !in_string && !out.is_empty());
        }
        let mut end = None;
        for (i, &b) in buf.iter().enumerate() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                    if depth == 0 {
                        end = Some(i + 1);
                        break;
                    }
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth > 0 => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(i + 1);
                        break;
                    }
                }
                b',' | b']' | b'}' if depth == 0 => {
                    end = Some(i);
                    break;
                }
                b if depth == 0 && b.is_ascii_whitespace() => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let take = end.unwrap_or(buf.len());
        if out.len() + take > MAX_ELEMENT_BYTES {
            return Err(std::io::Error::other(format!(
                "element over {} MB: not a plausible record",
                MAX_ELEMENT_BYTES >> 20
            )));
        }
        out.extend_from_slice(&buf[..take]);
        input.consume(take);
        if end.is_some() {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn ids(items: &[StreamItem]) -> Vec<String> {
        items
            .iter()
            .filter_map(|i| i.as_ref().ok())
            .map(|r| r.id.clone())
            .collect()
    }

    fn errors(items: &[StreamItem]) -> Vec<String> {
        items
            .iter()
            .filter_map(|i| i.as_ref().err())
            .map(|e| e.to_string())
            .collect()
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
        p
    }

    const REC: &str = r#"{"id":"ID","sections":[{"name":"出院诊断","text":"高血压病"}]}"#;

    fn line(id: &str) -> String {
        REC.replace("\"ID\"", &format!("\"{id}\""))
    }

    #[test]
    fn json_lines_stream_with_bad_lines_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{}\n\n{{broken\n{}\r\n{}\n{}",
            line("a"),
            line("b"),
            line("a"),
            line("c")
        );
        let p = write(dir.path(), "r.jsonl", text.as_bytes());
        let items: Vec<_> = open_many(&[p.clone(), p]).collect();
        assert_eq!(ids(&items), ["a", "b", "c"]);
        let errs = errors(&items);
        // the broken line and the in-file duplicate; in the second copy the
        // broken line again and every id a duplicate of the first file's
        assert!(errs[0].contains("line 3"), "{errs:?}");
        assert!(errs[1].contains("duplicate id `a`: first at line 1, again at line 5"));
        assert_eq!(errs.len(), 2 + 1 + 4, "{errs:?}");
        assert!(errs[2].contains("first in"), "{errs:?}");
    }

    #[test]
    fn arrays_stream_element_by_element_and_match_the_loader() {
        let dir = tempfile::tempdir().unwrap();
        let ccl = r#"[ {"病案标识": "x1", "主诉": "胸痛 [3天]，\"急\"", "入院诊断": "冠心病", "主要诊断编码": "I25.103", "其他诊断编码": "I10.x00x032"},
  {"病案标识": 2, "主诉": "NaN", "入院诊断": "头痛", "x": NaN},
  "not an object",
  {"病案标识": "x3", "主诉": "咳嗽"} ]"#;
        let p = write(dir.path(), "c.json", ccl.as_bytes());
        let streamed: Vec<_> = open_many(std::slice::from_ref(&p)).collect();
        let loaded = super::super::load(&p).unwrap();
        assert_eq!(ids(&streamed), ["x1", "2", "x3"]);
        let records: Vec<Record> = streamed
            .iter()
            .filter_map(|i| i.as_ref().ok().cloned())
            .collect();
        assert_eq!(
            records, loaded.records,
            "streamed records equal loaded ones"
        );
        assert_eq!(errors(&streamed).len(), 1);
        assert!(errors(&streamed)[0].contains("item 3"));
        // the project schema as an array, with the loader's format
        let arr = format!("[{},\n{}]", line("p1"), line("p2"));
        let p = write(dir.path(), "p.json", arr.as_bytes());
        let mut s = open_many(std::slice::from_ref(&p));
        let items: Vec<_> = s.by_ref().collect();
        assert_eq!(ids(&items), ["p1", "p2"]);
        assert_eq!(s.formats()[0].1, RecordFormat::JsonArray);
    }

    #[test]
    fn truncated_array_keeps_what_came_before() {
        let dir = tempfile::tempdir().unwrap();
        let arr = format!("[{},{}", line("a"), &line("b")[..20]);
        let p = write(dir.path(), "t.json", arr.as_bytes());
        let items: Vec<_> = open_many(&[p]).collect();
        assert_eq!(ids(&items), ["a"]);
        assert!(
            errors(&items)[0].contains("truncated"),
            "{:?}",
            errors(&items)
        );
    }

    #[test]
    fn encodings_are_decoded_while_reading() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{}\n{}\n", line("甲"), line("乙"));
        let (gbk, _, _) = GB18030.encode(&text);
        let p1 = write(dir.path(), "g.jsonl", &gbk);
        let mut utf16 = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let p2 = write(dir.path(), "u.jsonl", &utf16);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(line("丙").as_bytes());
        let p3 = write(dir.path(), "b.jsonl", &bom);
        let items: Vec<_> = open_many(&[p1.clone(), p2, p3]).collect();
        assert_eq!(ids(&items), ["甲", "乙", "丙"], "{:?}", errors(&items));
        assert_eq!(errors(&items).len(), 2, "the UTF-16 copy repeats both ids");
        let r = items[0].as_ref().unwrap();
        assert_eq!(r.sections[0].text, "高血压病");
        assert_eq!(
            super::super::load(&p1).unwrap().records[0],
            *r,
            "as the whole-file loader reads it"
        );
    }

    #[test]
    fn filter_drops_before_the_duplicate_check_and_bad_files_are_items() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{}\n{}\n{}\n", line("a"), line("b"), line("a"));
        let p = write(dir.path(), "r.jsonl", text.as_bytes());
        let missing = dir.path().join("missing.jsonl");
        let items: Vec<_> = open_many(&[missing, p])
            .with_filter(Box::new(|id| id != "a"))
            .collect();
        assert_eq!(ids(&items), ["b"]);
        let errs = errors(&items);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].contains("missing.jsonl"));
    }

    #[test]
    fn pretty_printed_single_record_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let pretty = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(&line("solo")).unwrap(),
        )
        .unwrap();
        let p = write(dir.path(), "one.jsonl", pretty.as_bytes());
        let items: Vec<_> = open_many(&[p]).collect();
        assert_eq!(ids(&items), ["solo"]);
    }

    #[test]
    fn value_scanner_finds_element_ends() {
        let mut out = Vec::new();
        let mut input: &[u8] = br#"{"a": "}\"]", "b": [1, {"c": 2}]}, 3"#;
        assert!(read_value(&mut input, &mut out).unwrap());
        assert_eq!(out, br#"{"a": "}\"]", "b": [1, {"c": 2}]}"#);
        let mut input: &[u8] = b"12 ]";
        out.clear();
        assert!(read_value(&mut input, &mut out).unwrap());
        assert_eq!(out, b"12");
        let mut input: &[u8] = br#"{"a": 1"#;
        out.clear();
        assert!(!read_value(&mut input, &mut out).unwrap());
        assert_eq!(id_hash("ZY010001147574"), id_hash("ZY010001147574"));
        assert_ne!(id_hash("a"), id_hash("b"));
        // FNV-1a's published value for "a": the hash is the documented one.
        assert_eq!(id_hash("a"), 0xaf63dc4c8601ec8c);
    }
}
