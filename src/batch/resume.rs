//! Resuming a run from its own output: the ids already coded are read
//! from the JSON Lines output file, and a last line torn by an interrupted
//! write (no final newline, or not JSON) is cut off so that appending
//! starts on a clean line.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

/// What an earlier run left in the output file.
#[derive(Debug, Default)]
pub struct Done {
    /// Ids of the records already written.
    pub ids: HashSet<String>,
    /// Bytes of a torn last line that were cut off.
    pub cut_bytes: u64,
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

/// Reads the ids coded so far in `path` (absent: nothing done) and cuts a
/// torn last line off the file. A complete line that is not a coded
/// record is an error: the file is not this command's output.
pub fn scan(path: &Path) -> anyhow::Result<Done> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Done::default()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut reader = BufReader::new(file);
    let mut done = Done::default();
    let mut good_end: u64 = 0;
    let mut line = Vec::new();
    let mut line_no = 0usize;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let complete = line.ends_with(b"\n");
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            if complete {
                good_end += n as u64;
            }
            continue;
        }
        if !complete {
            // The last line, written only in part (every line this command
            // writes starts with the id): cut off below.
            const HEAD: &[u8] = b"{\"id\":";
            if line.starts_with(HEAD) || HEAD.starts_with(&line) {
                break;
            }
        }
        match serde_json::from_str::<IdOnly>(text.trim()) {
            Ok(r) if complete => {
                done.ids.insert(r.id);
                good_end += n as u64;
            }
            Ok(_) => anyhow::bail!(
                "{} ends in a line without a newline that is not a torn record: not an `icdflow code` output, refusing to append to it",
                path.display()
            ),
            Err(e) => anyhow::bail!(
                "{} line {line_no} is not a coded record ({e}): not an `icdflow code` output, refusing to append to it",
                path.display()
            ),
        }
    }
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len > good_end {
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        f.set_len(good_end)
            .with_context(|| format!("cannot cut the torn last line of {}", path.display()))?;
        done.cut_bytes = len - good_end;
    }
    Ok(done)
}

/// Opens the output for appending after [`scan`].
pub fn append(path: &Path) -> anyhow::Result<File> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {} for appending", path.display()))?;
    f.seek(SeekFrom::End(0))?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_ids_and_cuts_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.jsonl");
        assert!(scan(&p).unwrap().ids.is_empty(), "no file: nothing done");
        let good = "{\"id\":\"a\",\"diagnosis\":[]}\n\n{\"id\":\"b\",\"diagnosis\":[]}\n";
        std::fs::write(&p, format!("{good}{{\"id\":\"c\",\"diag")).unwrap();
        let done = scan(&p).unwrap();
        assert_eq!(done.ids.len(), 2);
        assert!(done.ids.contains("a") && done.ids.contains("b"));
        assert_eq!(done.cut_bytes, 15);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), good);
        // A complete last line without its newline is torn too: the
        // record is coded again rather than trusted half-flushed.
        std::fs::write(&p, format!("{good}{{\"id\":\"c\"}}")).unwrap();
        let done = scan(&p).unwrap();
        assert_eq!(done.ids.len(), 2);
        let mut f = append(&p).unwrap();
        f.write_all(b"{\"id\":\"c\"}\n").unwrap();
        assert_eq!(scan(&p).unwrap().ids.len(), 3);
    }

    #[test]
    fn refuses_a_file_that_is_not_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.txt");
        for text in ["shopping list\nmilk\n", "{\"id\":\"a\"}\nmilk"] {
            std::fs::write(&p, text).unwrap();
            let e = scan(&p).unwrap_err().to_string();
            assert!(e.contains("refusing"), "{e}");
            assert_eq!(std::fs::read_to_string(&p).unwrap(), text, "left as it was");
        }
    }
}
