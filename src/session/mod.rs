//! Saved coding sessions: the run's stage lists, every edit with its time
//! and user, and an append-only audit log.
//!
//! A session file is replaced atomically after every change (write a temp
//! file, fsync, rename, fsync the directory), with mode 0600, so killing the
//! process at any moment leaves either the previous or the new complete
//! session on disk — never a torn one — and no completed edit is lost.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod lock;

pub use lock::{Holder, Locked, SessionLock};

use crate::error::{Error, Location};
use crate::pipeline::{Item, Run, StageKind};
use crate::record::Track;
use crate::Result;

/// Format version of session files.
pub const SESSION_VERSION: u32 = 1;

/// What the coder did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EditAction {
    /// Replaced a stage's list.
    Edit,
    /// Switched a stage on.
    Enable,
    /// Switched a stage off.
    Disable,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditEntry {
    pub at: DateTime<Utc>,
    pub user: String,
    pub record_id: String,
    pub track: Track,
    pub stage: StageKind,
    pub action: EditAction,
    /// The list after the edit (for `Edit`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
}

/// A saved coding session for one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub version: u32,
    pub record_id: String,
    /// The file the record was read from, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub run: Run,
    #[serde(default)]
    pub edits: Vec<EditEntry>,
}

impl Session {
    pub fn new(record_id: impl Into<String>) -> Self {
        let record_id = record_id.into();
        let now = Utc::now();
        Session {
            version: SESSION_VERSION,
            run: Run::new(record_id.clone()),
            record_id,
            source: None,
            created: now,
            updated: now,
            edits: Vec::new(),
        }
    }

    /// Replaces a stage's list as the coder's edit and records it.
    pub fn edit(
        &mut self,
        track: Track,
        stage: StageKind,
        items: Vec<Item>,
        user: &str,
    ) -> &EditEntry {
        self.run.edit(track, stage, items.clone());
        self.push(track, stage, EditAction::Edit, items, user)
    }

    /// Switches a stage on or off and records it.
    pub fn set_enabled(
        &mut self,
        track: Track,
        stage: StageKind,
        enabled: bool,
        user: &str,
    ) -> &EditEntry {
        self.run.set_enabled(track, stage, enabled);
        let action = if enabled {
            EditAction::Enable
        } else {
            EditAction::Disable
        };
        self.push(track, stage, action, Vec::new(), user)
    }

    fn push(
        &mut self,
        track: Track,
        stage: StageKind,
        action: EditAction,
        items: Vec<Item>,
        user: &str,
    ) -> &EditEntry {
        self.updated = Utc::now();
        self.edits.push(EditEntry {
            at: self.updated,
            user: user.to_string(),
            record_id: self.record_id.clone(),
            track,
            stage,
            action,
            items,
        });
        self.edits.last().expect("just pushed")
    }
}

/// The user name recorded in the audit trail.
pub fn current_user() -> String {
    std::env::var("ICDFLOW_USER")
        .or_else(|_| std::env::var("USER"))
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// Who may read a store's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// The coder alone: directory 0700, files 0600.
    Private,
    /// The directory's group too (a team directory): directory 2770, so
    /// new files take its group, and files 0660.
    Team,
}

impl Sharing {
    /// Mode of the files the store writes.
    pub fn file_mode(self) -> u32 {
        match self {
            Sharing::Private => 0o600,
            Sharing::Team => 0o660,
        }
    }

    fn dir_mode(self) -> u32 {
        match self {
            Sharing::Private => 0o700,
            Sharing::Team => 0o2770,
        }
    }
}

/// Directory of session files plus the audit log.
#[derive(Debug, Clone)]
pub struct SessionStore {
    dir: PathBuf,
    sharing: Sharing,
}

impl SessionStore {
    /// Opens (creating, mode 0700) a coder's own session directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        Self::open_with(dir.into(), Sharing::Private)
    }

    /// Opens (creating, mode 2770) a session directory shared by the
    /// directory's group: every coder of the team reads and writes it,
    /// saves stay atomic and the per-record locks keep two coders off one
    /// record.
    pub fn open_team(dir: impl Into<PathBuf>) -> Result<Self> {
        Self::open_with(dir.into(), Sharing::Team)
    }

    fn open_with(dir: PathBuf, sharing: Sharing) -> Result<Self> {
        create_private_dir(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(sharing.dir_mode()));
        }
        Ok(SessionStore { dir, sharing })
    }

    pub fn sharing(&self) -> Sharing {
        self.sharing
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// File of a record's session. Record ids are escaped so that any id
    /// (slashes, CJK, dots) gives one safe file name.
    pub fn path_for(&self, record_id: &str) -> PathBuf {
        let mut name = String::new();
        for c in record_id.chars() {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                name.push(c);
            } else {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    name.push_str(&format!("%{b:02X}"));
                }
            }
        }
        self.dir.join(format!("{name}.session.json"))
    }

    pub fn audit_path(&self) -> PathBuf {
        self.dir.join("audit.jsonl")
    }

    /// Takes the advisory lock on a record's session (see [`lock`]): `Mine`
    /// when no live process holds it, else who does.
    pub fn lock(&self, record_id: &str) -> Result<Locked> {
        let path = self.path_for(record_id).with_extension("lock");
        lock::lock(&path, self.sharing)
    }

    /// Writes the session atomically (mode 0600, 0660 in a team store).
    pub fn save(&self, session: &Session) -> Result<()> {
        let path = self.path_for(&session.record_id);
        let json = serde_json::to_vec_pretty(session)
            .map_err(|e| Error::Other(format!("serialize session: {e}")))?;
        write_atomic_as(&path, &json, self.sharing)
    }

    /// Saves the session and appends its newest edit to the audit log.
    pub fn save_with_audit(&self, session: &Session) -> Result<()> {
        self.save(session)?;
        if let Some(e) = session.edits.last() {
            self.append_audit(e)?;
        }
        Ok(())
    }

    /// Loads a record's session, if one was saved.
    pub fn load(&self, record_id: &str) -> Result<Option<Session>> {
        let path = self.path_for(record_id);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let s: Session = serde_json::from_slice(&bytes).map_err(|e| {
            Error::invalid(
                Location::file(&path).record(record_id),
                format!("corrupt session file: {e}"),
            )
        })?;
        Ok(Some(s))
    }

    /// Appends one line to the audit log and syncs it.
    pub fn append_audit(&self, entry: &EditEntry) -> Result<()> {
        let path = self.audit_path();
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        let mut f = open_as(&opts, &path, self.sharing).map_err(|e| Error::io(&path, e))?;
        let mut line = serde_json::to_vec(entry).map_err(|e| Error::Other(e.to_string()))?;
        line.push(b'\n');
        f.write_all(&line).map_err(|e| Error::io(&path, e))?;
        f.sync_data().map_err(|e| Error::io(&path, e))?;
        Ok(())
    }

    /// Reads the audit log (lines that fail to parse — a torn last line after
    /// a crash — are skipped).
    pub fn audit(&self) -> Result<Vec<EditEntry>> {
        let path = self.audit_path();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&path, e)),
        };
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

/// Creates a directory and its missing parents readable by their owner
/// only (0700): the data dir holds patient records' sessions, logs and
/// models learned from them. Existing directories are left as they are.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| Error::io(dir, e))
}

/// Opens `path` with `opts`, a new file getting the mode of `sharing`; a
/// team store's file gets its group bits whatever the umask took away (a
/// umask of 022 would leave the other coders read-only).
fn open_as(opts: &OpenOptions, path: &Path, sharing: Sharing) -> std::io::Result<File> {
    let mut opts = opts.clone();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(sharing.file_mode());
    }
    let f = opts.open(path)?;
    #[cfg(unix)]
    if sharing == Sharing::Team {
        use std::os::unix::fs::PermissionsExt;
        // another coder's file is not ours to change: a failure here
        // leaves the mode they set
        let _ = f.set_permissions(fs::Permissions::from_mode(sharing.file_mode()));
    }
    Ok(f)
}

/// Replaces `path` with `bytes` atomically: temp file in the same directory,
/// fsync, rename over the target, fsync the directory. Mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_as(path, bytes, Sharing::Private)
}

/// [`write_atomic`] with the file mode of `sharing`.
fn write_atomic_as(path: &Path, bytes: &[u8], sharing: Sharing) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("session"),
        std::process::id()
    ));
    {
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        let mut f = open_as(&opts, &tmp, sharing).map_err(|e| Error::io(&tmp, e))?;
        let written = f.write_all(bytes).and_then(|()| f.sync_all());
        if let Err(e) = written {
            // A full disk leaves a partial temp file: give its space back.
            drop(f);
            let _ = fs::remove_file(&tmp);
            return Err(Error::io(&tmp, e));
        }
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Origin;

    #[cfg(unix)]
    #[test]
    fn data_dirs_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("share/icdflow/sessions");
        create_private_dir(&deep).unwrap();
        for d in [
            tmp.path().join("share"),
            tmp.path().join("share/icdflow"),
            deep,
        ] {
            let mode = fs::metadata(&d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
    }

    /// A team store lets the directory's group read and write every file
    /// it makes (whatever the umask), and new files take the group.
    #[cfg(unix)]
    #[test]
    fn a_team_store_is_shared_with_its_group() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let tmp = tempfile::tempdir().unwrap();
        let team = SessionStore::open_team(tmp.path().join("team/sessions")).unwrap();
        assert_eq!(team.sharing(), Sharing::Team);
        assert_eq!(mode(team.dir()), 0o2770);
        let mut s = Session::new("ZY01");
        s.edit(Track::Diagnosis, StageKind::Map, vec![], "coder1");
        team.save_with_audit(&s).unwrap();
        let Locked::Mine(_held) = team.lock("ZY01").unwrap() else {
            panic!("no one else holds it")
        };
        let lock = team.path_for("ZY01").with_extension("lock");
        for p in [team.path_for("ZY01"), team.audit_path(), lock] {
            assert_eq!(mode(&p), 0o660, "{}", p.display());
        }
        // the coder's own store stays private
        let own = SessionStore::open(tmp.path().join("own")).unwrap();
        own.save_with_audit(&s).unwrap();
        assert_eq!(mode(own.dir()), 0o700);
        assert_eq!(mode(&own.path_for("ZY01")), 0o600);
        assert_eq!(mode(&own.audit_path()), 0o600);
    }

    #[test]
    fn save_and_reload_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::open(dir.path().join("s")).unwrap();
        let mut s = Session::new("ZY/01 病案");
        s.edit(
            Track::Procedure,
            StageKind::Prioritize,
            vec![Item::new("经皮冠状动脉支架置入", Origin::Coder)],
            "coder1",
        );
        store.save_with_audit(&s).unwrap();
        let back = store.load("ZY/01 病案").unwrap().unwrap();
        assert_eq!(back, s);
        assert_eq!(store.audit().unwrap().len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store.path_for("ZY/01 病案"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(store.load("other").unwrap().is_none());
    }
}
