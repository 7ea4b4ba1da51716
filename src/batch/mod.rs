//! Coding at scale: records in parallel with the output in input order
//! ([`parallel`]), a deterministic slice of the input per machine
//! ([`Shard`]), and resuming a run from its own output ([`resume`]).
//! `icdflow code` puts them together with the streaming readers of
//! [`crate::record::stream`].

mod coder;
pub mod parallel;
pub mod resume;

pub use coder::{CodeWorker, Coded};

use crate::record::stream::id_hash;

/// CPU time this process has used (user + system, every thread), when the
/// platform says: records per CPU-second is the per-core rate even when
/// other programs hold some of the cores.
pub fn cpu_seconds() -> Option<f64> {
    #[cfg(unix)]
    {
        // SAFETY: getrusage writes one plain struct it is handed.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
            return None;
        }
        let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 * 1e-6;
        Some(t(u.ru_utime) + t(u.ru_stime))
    }
    #[cfg(not(unix))]
    None
}

/// Cores to use when the command line does not say.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// One slice of an input, `index` of `count` (1-based, as job arrays
/// number their tasks).
///
/// A record belongs to the slice `id_hash(id) % count + 1`, by a stable
/// hash of its id rather than by its position: the slice of a record does
/// not change when files are listed in another order, when records are
/// added to the input (a month's export appended to the year's), or when a
/// bad record earlier in a file is skipped — so a shard's output, and its
/// `--resume`, stay valid as the input grows, and copies of one id always
/// meet in the same shard (where the duplicate check sees them). The price
/// is that slices are equal only on average (within a few percent for
/// thousands of records) and every shard reads the whole input (reading
/// is a small part of coding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `I/N` with 1 ≤ I ≤ N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("--shard {s}: expected I/N, e.g. 3/8"))?;
        let parse = |x: &str| {
            x.trim()
                .parse::<u32>()
                .map_err(|_| format!("--shard {s}: `{x}` is not a whole number"))
        };
        let (index, count) = (parse(i)?, parse(n)?);
        if count == 0 || index == 0 || index > count {
            return Err(format!(
                "--shard {s}: I must be between 1 and N (shards are numbered from 1)"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether the record with this id belongs to the slice.
    pub fn contains(&self, id: &str) -> bool {
        (id_hash(id) % u64::from(self.count)) as u32 + 1 == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_ids() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "1/-2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let shards: Vec<Shard> = (1..=4).map(|i| Shard { index: i, count: 4 }).collect();
        let mut sizes = [0usize; 4];
        for n in 0..4000 {
            let id = format!("ZY{n:012}");
            let owners: Vec<usize> = (0..4).filter(|&s| shards[s].contains(&id)).collect();
            assert_eq!(owners.len(), 1, "{id} is in exactly one shard");
            sizes[owners[0]] += 1;
        }
        for s in sizes {
            assert!((850..=1150).contains(&s), "{sizes:?}");
        }
        // The slice is the id's FNV-1a hash modulo N (see id_hash's test
        // of the published value): the same on every machine.
        let owner = (1..=8)
            .find(|&i| Shard { index: i, count: 8 }.contains("ZY010001147574"))
            .unwrap();
        assert_eq!(u64::from(owner), id_hash("ZY010001147574") % 8 + 1);
        assert!(Shard::parse("1/1").unwrap().contains("anything"));
    }
}
