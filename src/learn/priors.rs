//! Principal-code priors learned from a hospital's own coded history.
//!
//! Which diagnosis a coder puts first depends on local practice as much as
//! on rules. From records with gold codes (`icdflow learn`), this counts for
//! each code how often it was present and how often it was the principal
//! one; Prioritization then prefers, among the items of a record, the one
//! most often principal when present (backing off to the code's category
//! when the code itself was rarely seen). Learn on one set of records and
//! evaluate on another.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location};
use crate::record::{Record, Track};
use crate::terminology::{normalize_code, CodeSystem};
use crate::Result;

/// Counts per normalized code and per category (first three characters).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Priors {
    /// Records learned from.
    pub records: usize,
    /// code → (times present, times principal), per track label.
    pub codes: HashMap<String, HashMap<String, (u32, u32)>>,
}

/// Below this many sightings a code backs off to its category.
const MIN_SEEN: u32 = 3;

fn category(key: &str) -> String {
    key.chars().take(3).collect()
}

impl Priors {
    /// Learns from records with gold codes.
    pub fn learn<'a>(records: impl IntoIterator<Item = &'a Record>) -> Priors {
        let mut p = Priors::default();
        for r in records {
            let mut any = false;
            for t in Track::ALL {
                let Some(gold) = r.gold.track(t) else {
                    continue;
                };
                let system = CodeSystem::for_track(t);
                let table = p.codes.entry(t.label().to_string()).or_default();
                let mut seen = std::collections::HashSet::new();
                for (i, g) in gold.iter().enumerate() {
                    let key = normalize_code(system, &g.code);
                    if key.is_empty() || !seen.insert(key.clone()) {
                        continue;
                    }
                    any = true;
                    for k in [key.clone(), format!("cat:{}", category(&key))] {
                        let e = table.entry(k).or_insert((0, 0));
                        e.0 += 1;
                        if i == 0 {
                            e.1 += 1;
                        }
                    }
                }
            }
            if any {
                p.records += 1;
            }
        }
        p
    }

    /// Smoothed probability that the code is the principal one when present,
    /// or `None` when neither it nor its category was seen enough.
    pub fn principal_rate(&self, track: Track, code: &str) -> Option<f32> {
        let table = self.codes.get(track.label())?;
        let key = normalize_code(CodeSystem::for_track(track), code);
        let rate =
            |(present, principal): (u32, u32)| (principal as f32 + 0.5) / (present as f32 + 2.0);
        match table.get(&key) {
            Some(&c) if c.0 >= MIN_SEEN => Some(rate(c)),
            _ => table
                .get(&format!("cat:{}", category(&key)))
                .filter(|c| c.0 >= MIN_SEEN)
                .map(|&c| rate(c)),
        }
    }

    /// True when the code was ever coded in the history (any position).
    pub fn has_code(&self, track: Track, code: &str) -> bool {
        let key = normalize_code(CodeSystem::for_track(track), code);
        self.codes
            .get(track.label())
            .is_some_and(|t| t.contains_key(&key))
    }

    /// True when the history has any code of this track.
    pub fn covers(&self, track: Track) -> bool {
        self.codes.get(track.label()).is_some_and(|t| !t.is_empty())
    }

    pub fn load(path: &Path) -> Result<Priors> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::invalid(Location::file(path), format!("bad priors file: {e}")))
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec(self).map_err(|e| Error::Other(e.to_string()))?;
        crate::session::write_atomic(path, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Gold, GoldCode};

    fn rec(codes: &[&str]) -> Record {
        let mut r = Record::new("r").with_section("x", "y");
        r.gold = Gold {
            diagnoses: Some(
                codes
                    .iter()
                    .map(|c| GoldCode {
                        code: c.to_string(),
                        name: None,
                    })
                    .collect(),
            ),
            procedures: None,
        };
        r
    }

    #[test]
    fn rates_follow_history() {
        let mut rs = Vec::new();
        for _ in 0..5 {
            rs.push(rec(&["I21.401", "I10.x00x032"]));
            rs.push(rec(&["I20.000", "I10.x00x032"]));
        }
        let p = Priors::learn(&rs);
        assert_eq!(p.records, 10);
        let mi = p.principal_rate(Track::Diagnosis, "I21.401").unwrap();
        let htn = p.principal_rate(Track::Diagnosis, "i10.x00x032").unwrap();
        assert!(mi > 0.7 && htn < 0.1, "{mi} {htn}");
        // an unseen code of a seen category backs off to the category
        assert!(p.principal_rate(Track::Diagnosis, "I21.900").is_some());
        assert!(p.principal_rate(Track::Diagnosis, "J18.900").is_none());
        assert!(p.principal_rate(Track::Procedure, "36.0700").is_none());
    }
}
