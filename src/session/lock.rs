//! Advisory locks on records' sessions, so that two coders who open the
//! same record on one server do not overwrite each other's edits.
//!
//! The lock is `flock(2)` on `<session>.lock` beside the session file: the
//! kernel drops it when the holding process ends, however it ends (killed,
//! crashed, connection dropped), so a lock of a dead process is never
//! stale — the next coder simply gets it. The file also says who holds it
//! and since when, for the status line of the coder who is kept out.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Sharing;
use crate::error::Error;
use crate::Result;

/// Who holds a record's session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub user: String,
    pub pid: u32,
    pub host: String,
    /// RFC 3339.
    pub since: String,
}

impl Holder {
    fn me() -> Holder {
        Holder {
            user: super::current_user(),
            pid: std::process::id(),
            host: hostname(),
            since: chrono::Utc::now().to_rfc3339(),
        }
    }

    /// `lin (pid 4242 on ward-srv) since 09:12`.
    pub fn describe(&self) -> String {
        let since = chrono::DateTime::parse_from_rfc3339(&self.since)
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .format("%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|_| self.since.clone());
        format!(
            "{} (pid {} on {}) since {since}",
            self.user, self.pid, self.host
        )
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// A held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct SessionLock {
    file: File,
    path: PathBuf,
    pub holder: Holder,
    /// Whoever had written the file before, when the lock was theirs and
    /// their process has ended (a take-over, worth saying).
    pub took_over_from: Option<Holder>,
}

impl SessionLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        // Leave the file: a coder waiting on it reads "nobody" from a
        // truncated one, and the next holder rewrites it.
        let _ = self.file.set_len(0);
        unlock(&self.file);
    }
}

/// The outcome of asking for a record's lock.
#[derive(Debug)]
pub enum Locked {
    /// This process holds it now.
    Mine(SessionLock),
    /// Another live process holds it.
    Theirs(Holder),
}

#[cfg(unix)]
fn try_lock(f: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this process owns.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

#[cfg(unix)]
fn unlock(f: &File) {
    use std::os::unix::io::AsRawFd;
    // SAFETY: as above.
    unsafe {
        libc::flock(f.as_raw_fd(), libc::LOCK_UN);
    }
}

#[cfg(not(unix))]
fn try_lock(_f: &File) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(not(unix))]
fn unlock(_f: &File) {}

fn read_holder(f: &mut File) -> Option<Holder> {
    let mut s = String::new();
    f.rewind().ok()?;
    f.read_to_string(&mut s).ok()?;
    serde_json::from_str(&s).ok()
}

/// Takes the lock at `path` if no live process holds it; a new lock file
/// gets the store's mode (0660 in a team store, so the next coder can open
/// it).
pub fn lock(path: &Path, sharing: Sharing) -> Result<Locked> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    let mut file = super::open_as(&opts, path, sharing).map_err(|e| Error::io(path, e))?;
    let previous = read_holder(&mut file);
    if !try_lock(&file).map_err(|e| Error::io(path, e))? {
        let holder = previous.unwrap_or(Holder {
            user: "another coder".into(),
            pid: 0,
            host: hostname(),
            since: String::new(),
        });
        return Ok(Locked::Theirs(holder));
    }
    let me = Holder::me();
    let json = serde_json::to_vec(&me).map_err(|e| Error::Other(e.to_string()))?;
    file.set_len(0).map_err(|e| Error::io(path, e))?;
    file.rewind().map_err(|e| Error::io(path, e))?;
    file.write_all(&json).map_err(|e| Error::io(path, e))?;
    let _ = file.sync_data();
    Ok(Locked::Mine(SessionLock {
        file,
        path: path.to_path_buf(),
        holder: me,
        took_over_from: previous.filter(|p| p.pid != std::process::id()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_release_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.session.lock");
        let Locked::Mine(first) = lock(&p, Sharing::Private).unwrap() else {
            panic!("free lock refused")
        };
        assert_eq!(first.holder.pid, std::process::id());
        // flock is per open file: a second open in this process is refused too
        match lock(&p, Sharing::Private).unwrap() {
            Locked::Theirs(h) => assert_eq!(h.pid, std::process::id()),
            Locked::Mine(_) => panic!("two holders"),
        }
        drop(first);
        assert!(matches!(
            lock(&p, Sharing::Private).unwrap(),
            Locked::Mine(_)
        ));
    }
}
