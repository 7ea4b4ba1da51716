//! Normalization pair files: a JSON array of `{"text", "normalized_result"}`
//! objects, several standard names separated by `##` (the CHIP-CDN shape).

use std::path::Path;

use serde::Deserialize;

use super::train::Pair;
use crate::error::{Error, Location};
use crate::Result;

#[derive(Deserialize)]
struct RawPair {
    text: String,
    normalized_result: String,
}

/// True when the file looks like a pair file (a JSON array whose first
/// object has `text` and `normalized_result`), without reading it all as
/// records.
pub fn is_pair_file(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    let t = head.trim_start_matches('\u{feff}').trim_start();
    t.starts_with('[') && head.contains("\"normalized_result\"") && head.contains("\"text\"")
}

/// Reads a pair file; a malformed entry is an error naming its position.
pub fn load_pairs(path: &Path) -> Result<Vec<Pair>> {
    let text = crate::record::read_text_file(path)?;
    let raw: Vec<serde_json::Value> = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| {
            Error::invalid(
                Location::file(path),
                format!("not a JSON array of pairs: {e}"),
            )
        })?;
    raw.into_iter()
        .enumerate()
        .map(|(i, v)| {
            let p: RawPair = serde_json::from_value(v).map_err(|e| {
                Error::invalid(
                    Location::file(path).record(format!("#{}", i + 1)),
                    format!("pair needs `text` and `normalized_result`: {e}"),
                )
            })?;
            Ok(Pair {
                text: p.text,
                names: p
                    .normalized_result
                    .split("##")
                    // some exports keep a CSV field's quotes
                    .map(|n| n.trim().trim_matches('"').trim())
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pairs_and_names_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pairs.json");
        std::fs::write(
            &p,
            r#"[{"text":"高血压冠心病","normalized_result":"高血压##冠状动脉粥样硬化性心脏病"}]"#,
        )
        .unwrap();
        assert!(is_pair_file(&p));
        let pairs = load_pairs(&p).unwrap();
        assert_eq!(pairs[0].names.len(), 2);
        std::fs::write(&p, r#"[{"text":"x","normalized_result":"y"},{"text":"z"}]"#).unwrap();
        let e = load_pairs(&p).unwrap_err().to_string();
        assert!(e.contains("pairs.json") && e.contains("#2"), "{e}");
    }
}
