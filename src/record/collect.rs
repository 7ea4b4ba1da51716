//! Checks every importer applies to a finished record, and the error
//! bookkeeping they share.
//!
//! Policy (one place, so every format behaves the same):
//! - section text: `\r` removed, surrounding whitespace trimmed, blank
//!   sections dropped;
//! - a record without an id, or without any text, is reported and skipped;
//! - a section over [`MAX_SECTION_BYTES`] is reported and the record skipped:
//!   no real discharge record has a 5 MB section, so such input is a broken
//!   export (a whole table pasted into one cell) and truncating it would hand
//!   the coder a silently mutilated record;
//! - a repeated id is reported naming both positions, and the later record
//!   is skipped (the first one wins, as in the source's own order).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::encoding::normalize_newlines;
use super::{codes, Record, Track};
use crate::error::{Error, Location};

/// Largest section text accepted, in bytes of UTF-8.
pub const MAX_SECTION_BYTES: usize = 5 * 1024 * 1024;

/// Records and errors gathered from one file.
pub(crate) struct Collector {
    file: PathBuf,
    /// The source's name for the id field, for error messages.
    id_field: &'static str,
    pub records: Vec<Record>,
    /// Where each record came from (`row 3`, `line 7`, `item 2`), parallel to `records`.
    pub positions: Vec<String>,
    pub errors: Vec<Error>,
    seen: HashMap<String, usize>,
}

impl Collector {
    pub fn new(file: &Path, id_field: &'static str) -> Self {
        Collector {
            file: file.to_path_buf(),
            id_field,
            records: Vec::new(),
            positions: Vec::new(),
            errors: Vec::new(),
            seen: HashMap::new(),
        }
    }

    /// Records an error about a record (its id, or its position when the id
    /// is unknown) and optionally a field.
    pub fn error(&mut self, record: &str, field: Option<&str>, msg: impl Into<String>) {
        let mut loc = Location::file(&self.file).record(record);
        if let Some(f) = field {
            loc = loc.field(f);
        }
        self.errors.push(Error::invalid(loc, msg));
    }

    /// Reports the problems of one gold track against `record`.
    pub fn gold_problems(&mut self, record: &str, problems: Vec<codes::GoldProblem>) {
        for (field, msg) in problems {
            self.error(record, Some(&field), msg);
        }
    }

    /// Builds a gold track and reports its problems against `record`.
    pub fn gold_track(
        &mut self,
        record: &str,
        track: Track,
        principal: Option<codes::RawGold>,
        others: Vec<codes::RawGold>,
    ) -> Option<Vec<super::GoldCode>> {
        let (gold, problems) = codes::build_track(track, principal, others);
        self.gold_problems(record, problems);
        gold
    }

    /// Applies the record policy (module docs) and keeps the record if it passes.
    pub fn push(&mut self, mut record: Record, position: String) {
        record.id = record.id.trim().to_owned();
        if record.id.is_empty() {
            self.error(
                &position,
                Some(self.id_field),
                format!("record at {position} has no id; skipped"),
            );
            return;
        }
        if let Some(big) = record
            .sections
            .iter()
            .find(|s| s.text.len() > MAX_SECTION_BYTES)
        {
            let msg = format!(
                "section is {:.1} MB, over the {} MB limit (not a plausible discharge record); record at {position} skipped",
                big.text.len() as f64 / (1024.0 * 1024.0),
                MAX_SECTION_BYTES / (1024 * 1024)
            );
            let field = big.name.clone();
            self.error(&record.id.clone(), Some(&field), msg);
            return;
        }
        for s in &mut record.sections {
            s.name = s.name.trim().to_owned();
            let text = normalize_newlines(&s.text);
            s.text = text.trim().to_owned();
        }
        record.sections.retain(|s| !s.text.is_empty());
        if record.sections.is_empty() {
            self.error(
                &record.id.clone(),
                None,
                format!("record at {position} has no text; skipped"),
            );
            return;
        }
        if let Some(&first) = self.seen.get(&record.id) {
            let msg = format!(
                "duplicate id `{}`: first at {}, again at {position}; the second is skipped",
                record.id, self.positions[first]
            );
            self.error(&record.id.clone(), Some(self.id_field), msg);
            return;
        }
        self.seen.insert(record.id.clone(), self.records.len());
        self.records.push(record);
        self.positions.push(position);
    }
}

/// Removes records whose id repeats across files (first wins), reporting each
/// with both positions. `positions` name the file and the place in it.
pub(crate) fn dedup_across(
    records: Vec<Record>,
    positions: Vec<(PathBuf, String)>,
    errors: &mut Vec<Error>,
) -> Vec<Record> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut kept = Vec::with_capacity(records.len());
    for (i, record) in records.into_iter().enumerate() {
        if let Some(&first) = seen.get(&record.id) {
            let (ffile, fpos) = &positions[first];
            let (file, pos) = &positions[i];
            errors.push(Error::invalid(
                Location::file(file).record(record.id.clone()),
                format!(
                    "duplicate id `{}`: first in {} at {fpos}, again at {pos}; the second is skipped",
                    record.id,
                    ffile.display()
                ),
            ));
            continue;
        }
        seen.insert(record.id.clone(), i);
        kept.push(record);
    }
    kept
}
