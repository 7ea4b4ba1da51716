//! A bounded memo of free-text matches. Hospital lists repeat themselves
//! (2型糖尿病, 高血压病（3级很高危）, 冠状动脉粥样硬化性心脏病 open half the
//! records of a cardiology ward), and a fuzzy match costs a BM25 query and
//! a re-ranking of up to a few hundred names, while the answer depends only
//! on the text and the options: a batch asks the index each distinct text
//! once.
//!
//! Two generations bound the memory: when the young one fills up it
//! becomes the old one and the previous old one is dropped; a hit in the old
//! generation is moved back to the young one. Shared by every thread that
//! holds a clone of the matcher (one short lock per lookup).

use std::collections::HashMap;
use std::sync::Mutex;

use super::Match;

/// Texts kept per generation (two generations at most).
pub(crate) const GENERATION: usize = 8192;

type Key = (String, usize, bool);

#[derive(Default)]
struct Generations {
    young: HashMap<Key, Vec<Match>>,
    old: HashMap<Key, Vec<Match>>,
}

/// Matches already computed, by (text, limit, assignable only).
pub(crate) struct Memo {
    inner: Mutex<Generations>,
    capacity: usize,
}

impl Memo {
    pub fn new(capacity: usize) -> Self {
        Memo {
            inner: Mutex::new(Generations::default()),
            capacity: capacity.max(1),
        }
    }

    pub fn get(&self, text: &str, limit: usize, assignable_only: bool) -> Option<Vec<Match>> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let key = (text.to_string(), limit, assignable_only);
        if let Some(v) = g.young.get(&key) {
            return Some(v.clone());
        }
        let v = g.old.remove(&key)?;
        let out = v.clone();
        Self::insert_locked(&mut g, self.capacity, key, v);
        Some(out)
    }

    pub fn put(&self, text: &str, limit: usize, assignable_only: bool, hits: &[Match]) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let key = (text.to_string(), limit, assignable_only);
        Self::insert_locked(&mut g, self.capacity, key, hits.to_vec());
    }

    fn insert_locked(g: &mut Generations, capacity: usize, key: Key, hits: Vec<Match>) {
        if g.young.len() >= capacity {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(key, hits);
    }

    pub fn clear(&self) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *g = Generations::default();
    }

    /// Texts held (both generations).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.young.len() + g.old.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::Tier;

    fn hit(code: &str) -> Match {
        Match {
            code: code.into(),
            name: code.into(),
            tier: Tier::Fuzzy,
            score: 0.5,
            entry: 0,
        }
    }

    #[test]
    fn bounded_and_keyed_by_options() {
        let m = Memo::new(2);
        m.put("a", 5, true, &[hit("A")]);
        assert_eq!(m.get("a", 5, true).unwrap()[0].code, "A");
        assert!(m.get("a", 1, true).is_none());
        assert!(m.get("a", 5, false).is_none());
        m.put("b", 5, true, &[hit("B")]);
        m.put("c", 5, true, &[hit("C")]);
        // a and b moved to the old generation; c is young.
        assert!(m.len() <= 4);
        for i in 0..100 {
            m.put(&format!("x{i}"), 5, true, &[]);
        }
        assert!(m.len() <= 4, "two generations of two at most");
        // A recent text survives, an old one is gone.
        assert!(m.get("x99", 5, true).is_some());
        assert!(m.get("a", 5, true).is_none());
        m.clear();
        assert_eq!(m.len(), 0);
    }
}
