//! The resume journal: one small JSON file per unfinished upload, in the user's state
//! directory, recording which upload a local file is going to and which of its parts the
//! server acknowledged. Re-running the same upload finds it and sends only the rest.
//!
//! An entry is keyed by the server, the project and the file's absolute path; it is used
//! only while the file keeps the size and modification time it had when the upload began.
//! Entries are replaced atomically (write a temporary file, rename it), so a process killed
//! at any moment leaves either the old or the new entry.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where the journal lives by default: `$XDG_STATE_HOME/intake`, else
/// `~/.local/state/intake`. `None` when neither variable is set.
pub fn default_state_dir() -> Option<PathBuf> {
    let from = |var: &str| std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from);
    from("XDG_STATE_HOME").map(|d| d.join("intake")).or_else(|| from("HOME").map(|h| h.join(".local/state/intake")))
}

/// A directory of resume entries.
#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
}

/// What is known about one unfinished upload of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Entry {
    pub server: String,
    pub project_id: Option<String>,
    pub path: PathBuf,
    pub file_size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub modified_ns: i128,
    pub kind: intake_api::Kind,
    pub upload_id: String,
    pub part_size: u64,
    pub parts: u32,
    /// Parts the server answered 2xx for.
    pub acknowledged: BTreeSet<u32>,
}

impl Journal {
    /// A journal kept in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The journal in [`default_state_dir`].
    pub fn default_location() -> Option<Self> {
        default_state_dir().map(Self::new)
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds the entry for `path` on `server` in `project`.
    pub fn entry_path(&self, server: &str, project: Option<&str>, path: &Path) -> PathBuf {
        let mut hash = Sha256::new();
        for piece in [server.as_bytes(), project.unwrap_or("").as_bytes(), path.as_os_str().as_encoded_bytes()] {
            hash.update((piece.len() as u64).to_le_bytes());
            hash.update(piece);
        }
        self.dir.join(format!("{}.json", &hex::encode(hash.finalize())[..32]))
    }

    /// The entry at `file`, if there is a readable one.
    pub(crate) fn load(&self, file: &Path) -> Option<Entry> {
        let text = std::fs::read(file).ok()?;
        match serde_json::from_slice(&text) {
            Ok(entry) => Some(entry),
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "ignoring an unreadable resume entry");
                None
            }
        }
    }

    /// Writes `entry` to `file` atomically.
    pub(crate) fn save(&self, file: &Path, entry: &Entry) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let tmp = file.with_extension(format!("tmp-{}", std::process::id()));
        let bytes = serde_json::to_vec(entry).expect("an entry serializes");
        std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, file).map_err(|e| Error::io(file, e))
    }

    /// Forgets the entry at `file` (the upload finished or cannot be resumed).
    pub(crate) fn remove(&self, file: &Path) {
        if let Err(e) = std::fs::remove_file(file) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(file = %file.display(), error = %e, "could not remove a resume entry");
            }
        }
    }
}

/// An entry being updated while parts are acknowledged, from any task.
pub(crate) struct LiveEntry {
    journal: Journal,
    file: PathBuf,
    entry: Mutex<Entry>,
}

impl LiveEntry {
    pub fn new(journal: Journal, file: PathBuf, entry: Entry) -> Result<Self> {
        journal.save(&file, &entry)?;
        Ok(Self { journal, file, entry: Mutex::new(entry) })
    }

    /// Records that the server acknowledged `part`.
    pub fn acknowledge(&self, part: u32) -> Result<()> {
        let mut entry = self.entry.lock().expect("journal lock");
        entry.acknowledged.insert(part);
        self.journal.save(&self.file, &entry)
    }

    /// Forgets every acknowledgement (the server turned out not to have them).
    pub fn forget_parts(&self) -> Result<()> {
        let mut entry = self.entry.lock().expect("journal lock");
        entry.acknowledged.clear();
        self.journal.save(&self.file, &entry)
    }

    /// Removes the entry: the upload is no longer resumable or needs no resuming.
    pub fn remove(&self) {
        self.journal.remove(&self.file);
    }
}

/// The file's modification time in nanoseconds since the epoch (0 where unknown).
pub(crate) fn modified_ns(meta: &std::fs::Metadata) -> i128 {
    meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_are_keyed_by_server_project_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path().join("state"));
        let a = journal.entry_path("http://a", None, Path::new("/x/f.bin"));
        assert_ne!(a, journal.entry_path("http://b", None, Path::new("/x/f.bin")));
        assert_ne!(a, journal.entry_path("http://a", Some("p"), Path::new("/x/f.bin")));
        assert_ne!(a, journal.entry_path("http://a", None, Path::new("/x/g.bin")));
        let entry = Entry {
            server: "http://a".into(),
            project_id: None,
            path: "/x/f.bin".into(),
            file_size: 10,
            modified_ns: 5,
            kind: intake_api::Kind::Asset,
            upload_id: "upload_1".into(),
            part_size: 5,
            parts: 2,
            acknowledged: BTreeSet::new(),
        };
        let live = LiveEntry::new(journal.clone(), a.clone(), entry.clone()).unwrap();
        live.acknowledge(2).unwrap();
        assert_eq!(journal.load(&a).unwrap().acknowledged, BTreeSet::from([2]));
        live.remove();
        assert!(journal.load(&a).is_none());
    }
}
