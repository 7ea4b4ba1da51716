//! The alias memory: raw item text → the codes coders gave it.
//!
//! Learned from three sources, each kept apart so a coder can see where a
//! mapping came from: items of gold-coded records (the discharge-diagnosis
//! or operation-name items aligned to the record's gold codes),
//! normalization pair files (`{"text","normalized_result"}`), and the
//! coder's accepted edits. Lookup is exact on the normalized text first,
//! then by the nearest remembered texts (character-bigram cosine), whose
//! codes vote weighted by similarity.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::record::Track;
use crate::text::normalize_name;

/// Where a remembered mapping came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum AliasSource {
    /// An item of a gold-coded record aligned to a gold code.
    Gold,
    /// A normalization pair file.
    Pairs,
    /// A coder's accepted edit.
    Coder,
}

impl AliasSource {
    pub fn label(self) -> &'static str {
        match self {
            AliasSource::Gold => "gold",
            AliasSource::Pairs => "pairs",
            AliasSource::Coder => "coder",
        }
    }
}

/// One remembered text and what it was coded as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alias {
    pub track: Track,
    /// The text as first seen.
    pub text: String,
    /// Code lists it was mapped to (a text may name several diseases), with
    /// how often, most frequent first.
    pub mappings: Vec<(Vec<String>, u32)>,
    pub source: AliasSource,
    /// When a coder taught it (RFC 3339), for the coder's own list. (Always
    /// written: the model's binary format needs every field.)
    #[serde(default)]
    pub taught: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
}

impl Alias {
    /// The most frequent mapping.
    pub fn best(&self) -> &[String] {
        self.mappings.first().map(|m| m.0.as_slice()).unwrap_or(&[])
    }
    /// Share of the sightings that agree with the best mapping.
    pub fn agreement(&self) -> f32 {
        let total: u32 = self.mappings.iter().map(|m| m.1).sum();
        self.mappings.first().map(|m| m.1).unwrap_or(0) as f32 / total.max(1) as f32
    }
}

/// A code suggested by the memory for a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub codes: Vec<String>,
    /// 1.0 for an exact remembered text (times agreement), else the vote.
    pub score: f32,
    pub exact: bool,
    /// The remembered text behind it.
    pub via: String,
    pub source: AliasSource,
}

fn key(track: Track, text: &str) -> String {
    format!("{}\u{0}{}", track.label(), normalize_name(text))
}

/// Characters and character bigrams of the normalized text, as a set.
fn bigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = normalize_name(text)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut v: Vec<String> = chars.iter().map(|c| c.to_string()).collect();
    v.extend(chars.windows(2).map(|w| w.iter().collect::<String>()));
    v.sort();
    v.dedup();
    v
}

/// A code voted for by the nearest remembered texts.
#[derive(Debug, Clone, PartialEq)]
pub struct Vote {
    pub code: String,
    /// Similarity-weighted share of the neighbours that mapped to it.
    pub share: f32,
    /// The closest neighbour that voted for it, and its similarity.
    pub via: String,
    pub similarity: f32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AliasMemory {
    aliases: Vec<Alias>,
    #[serde(skip)]
    by_key: HashMap<String, usize>,
    #[serde(skip)]
    postings: HashMap<String, Vec<usize>>,
    #[serde(skip)]
    grams: Vec<usize>,
}

impl AliasMemory {
    /// Rebuilds the lookups (after deserializing).
    pub fn reindex(&mut self) {
        self.by_key.clear();
        self.postings.clear();
        self.grams.clear();
        for (i, a) in self.aliases.iter().enumerate() {
            self.by_key.insert(key(a.track, &a.text), i);
            let g = bigrams(&a.text);
            self.grams.push(g.len());
            for b in g {
                self.postings.entry(b).or_default().push(i);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.aliases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.aliases.is_empty()
    }

    pub fn aliases(&self) -> &[Alias] {
        &self.aliases
    }

    /// Counts one sighting of `text` coded as `codes`.
    pub fn add(&mut self, track: Track, text: &str, codes: Vec<String>, source: AliasSource) {
        let text = text.trim();
        if text.is_empty() || codes.is_empty() {
            return;
        }
        let k = key(track, text);
        let i = match self.by_key.get(&k) {
            Some(&i) => i,
            None => {
                self.aliases.push(Alias {
                    track,
                    text: text.to_string(),
                    mappings: Vec::new(),
                    source,
                    taught: None,
                    user: None,
                });
                let i = self.aliases.len() - 1;
                self.by_key.insert(k, i);
                let g = bigrams(text);
                self.grams.push(g.len());
                for b in g {
                    self.postings.entry(b).or_default().push(i);
                }
                i
            }
        };
        let a = &mut self.aliases[i];
        match a.mappings.iter_mut().find(|m| m.0 == codes) {
            Some(m) => m.1 += 1,
            None => a.mappings.push((codes, 1)),
        }
        a.mappings
            .sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
        a.source = a.source.max(source);
    }

    /// A coder's accepted mapping: it replaces whatever was remembered for
    /// the text (the coder is the authority), stamped with user and time.
    pub fn teach(&mut self, track: Track, text: &str, codes: Vec<String>, user: &str) {
        self.forget(track, text);
        self.add(track, text, codes, AliasSource::Coder);
        if let Some(&i) = self.by_key.get(&key(track, text.trim())) {
            self.aliases[i].taught = Some(chrono::Utc::now().to_rfc3339());
            self.aliases[i].user = Some(user.to_string());
        }
    }

    /// Removes a remembered text; true when it was there.
    pub fn forget(&mut self, track: Track, text: &str) -> bool {
        let k = key(track, text.trim());
        let Some(&i) = self.by_key.get(&k) else {
            return false;
        };
        self.aliases.remove(i);
        self.reindex();
        true
    }

    /// Exact remembered text.
    pub fn exact(&self, track: Track, text: &str) -> Option<&Alias> {
        self.by_key
            .get(&key(track, text.trim()))
            .map(|&i| &self.aliases[i])
    }

    /// The `k` nearest remembered texts of a track (bigram cosine at least
    /// `min_sim`), most similar first.
    fn nearest(&self, track: Track, text: &str, k: usize, min_sim: f32) -> Vec<(usize, f32)> {
        let q = bigrams(text);
        if q.is_empty() {
            return Vec::new();
        }
        let mut shared: HashMap<usize, u32> = HashMap::new();
        for b in &q {
            for &i in self.postings.get(b).map(Vec::as_slice).unwrap_or(&[]) {
                if self.aliases[i].track == track {
                    *shared.entry(i).or_default() += 1;
                }
            }
        }
        let mut near: Vec<(usize, f32)> = shared
            .into_iter()
            .map(|(i, s)| (i, s as f32 / ((q.len() * self.grams[i]) as f32).sqrt()))
            .filter(|&(_, s)| s >= min_sim)
            .collect();
        near.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        near.truncate(k);
        near
    }

    /// Codes voted for by the `k` nearest remembered texts, each code on
    /// its own (a text may map to several), best first.
    pub fn votes(&self, track: Track, text: &str, k: usize, min_sim: f32) -> Vec<Vote> {
        let near = self.nearest(track, text, k, min_sim);
        let total: f32 = near.iter().map(|x| x.1).sum();
        let mut out: Vec<Vote> = Vec::new();
        for &(i, s) in &near {
            for code in self.aliases[i].best() {
                match out.iter_mut().find(|v| &v.code == code) {
                    Some(v) => v.share += s / total,
                    None => out.push(Vote {
                        code: code.clone(),
                        share: s / total,
                        via: self.aliases[i].text.clone(),
                        similarity: s,
                    }),
                }
            }
        }
        out.sort_by(|a, b| {
            b.share
                .total_cmp(&a.share)
                .then_with(|| a.code.cmp(&b.code))
        });
        out
    }

    /// What the memory suggests for a text: the exact mapping when the text
    /// was seen, else codes voted by the `k` nearest remembered texts whose
    /// bigram cosine reaches `min_sim`, best first.
    pub fn suggest(&self, track: Track, text: &str, k: usize, min_sim: f32) -> Vec<Suggestion> {
        if let Some(a) = self.exact(track, text) {
            return vec![Suggestion {
                codes: a.best().to_vec(),
                score: a.agreement(),
                exact: true,
                via: a.text.clone(),
                source: a.source,
            }];
        }
        let near = self.nearest(track, text, k, min_sim);
        if near.is_empty() {
            return Vec::new();
        }
        let mut votes: BTreeMap<Vec<String>, (f32, usize)> = BTreeMap::new();
        let total: f32 = near.iter().map(|x| x.1).sum();
        for &(i, s) in &near {
            let e = votes
                .entry(self.aliases[i].best().to_vec())
                .or_insert((0.0, i));
            e.0 += s;
        }
        let mut out: Vec<Suggestion> = votes
            .into_iter()
            .map(|(codes, (v, i))| Suggestion {
                codes,
                // the vote share scaled by how close the best neighbour is
                score: v / total.max(1e-6) * near[0].1,
                exact: false,
                via: self.aliases[i].text.clone(),
                source: self.aliases[i].source,
            })
            .collect();
        out.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.codes.cmp(&b.codes))
        });
        out
    }

    /// Adds every alias of another memory (sightings add up).
    pub fn merge(&mut self, other: &AliasMemory) {
        for a in &other.aliases {
            for (codes, n) in &a.mappings {
                for _ in 0..*n {
                    self.add(a.track, &a.text, codes.clone(), a.source);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_then_nearest() {
        let mut m = AliasMemory::default();
        m.add(
            Track::Diagnosis,
            "冠心病",
            v(&["I25.103"]),
            AliasSource::Gold,
        );
        m.add(
            Track::Diagnosis,
            "冠心病",
            v(&["I25.103"]),
            AliasSource::Gold,
        );
        m.add(
            Track::Diagnosis,
            "冠心病",
            v(&["I25.100"]),
            AliasSource::Gold,
        );
        m.add(
            Track::Diagnosis,
            "高血压病3级",
            v(&["I10.x00x032"]),
            AliasSource::Pairs,
        );
        let s = m.suggest(Track::Diagnosis, "冠心病 ", 5, 0.3);
        assert!(s[0].exact);
        assert_eq!(s[0].codes, v(&["I25.103"]));
        assert!((s[0].score - 2.0 / 3.0).abs() < 1e-6);
        let s = m.suggest(Track::Diagnosis, "高血压病3级(极高危)", 5, 0.3);
        assert!(!s[0].exact);
        assert_eq!(s[0].codes, v(&["I10.x00x032"]));
        assert!(m.suggest(Track::Procedure, "冠心病", 5, 0.3).is_empty());
        assert!(m.suggest(Track::Diagnosis, "肺炎", 5, 0.3).is_empty());
    }

    #[test]
    fn a_coder_overrides_and_can_forget() {
        let mut m = AliasMemory::default();
        m.add(Track::Diagnosis, "心衰", v(&["I50.900"]), AliasSource::Gold);
        m.teach(Track::Diagnosis, "心衰", v(&["I50.900x018"]), "lin");
        let a = m.exact(Track::Diagnosis, "心衰").unwrap();
        assert_eq!(a.best(), v(&["I50.900x018"]));
        assert_eq!(a.source, AliasSource::Coder);
        assert_eq!(a.user.as_deref(), Some("lin"));
        assert!(m.forget(Track::Diagnosis, "心衰"));
        assert!(m.exact(Track::Diagnosis, "心衰").is_none());
        assert!(!m.forget(Track::Diagnosis, "心衰"));
    }

    #[test]
    fn survives_serialization() {
        let mut m = AliasMemory::default();
        m.add(
            Track::Procedure,
            "PCI",
            v(&["00.6600x004"]),
            AliasSource::Gold,
        );
        let json = serde_json::to_string(&m).unwrap();
        let mut back: AliasMemory = serde_json::from_str(&json).unwrap();
        back.reindex();
        assert_eq!(
            back.exact(Track::Procedure, "pci")
                .map(|a| a.best().to_vec()),
            Some(v(&["00.6600x004"]))
        );
    }
}
