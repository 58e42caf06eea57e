//! SQLite's hot paths (BENCHMARKS.md, target 5), a layer over the same statements as the rest
//! of [`super::SqlStore`]: creates group-committed by one writer thread with one WAL flush
//! ([`direct`]), reads by id without sqlx's per-query thread hand-offs, and recently read
//! upload rows kept in memory ([`cache`]). Only for SQLite, which one process owns.
//!
//! **An upload not in memory is read on the blocking pool**, at most [`direct::READERS`] at a
//! time: its row may be on the disk rather than in the page cache (an old upload of a
//! database bigger than the memory the OS keeps for it), and a disk read done in place held
//! an async worker for it, so two such `GET`s stalled every request of every project on a
//! 2-core host (BENCHMARKS.md, target 10). A row kept in memory costs no hand-off.

mod cache;
mod direct;

use crate::metadata::{Admission, ProjectLimits, ProjectUsage, UploadRecord};
use crate::{Error, Result};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The hot paths of one SQLite database.
pub(super) struct Fast {
    direct: Arc<direct::Direct>,
    cache: cache::UploadCache,
    /// Reads of uploads not in memory under way on the blocking pool.
    reads: Arc<Semaphore>,
}

/// Forgets the cached copy of an upload when dropped (see `SqlStore::changing`).
pub(super) struct ForgetOnDrop<'a> {
    cache: &'a cache::UploadCache,
    upload_id: &'a str,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        self.cache.forget(self.upload_id);
    }
}

impl Fast {
    /// Opens the hot paths on the already migrated database at `path`.
    pub(super) fn open(path: &Path) -> Result<Self> {
        Ok(Self {
            direct: Arc::new(direct::Direct::open(path)?),
            cache: Default::default(),
            reads: Arc::new(Semaphore::new(direct::READERS)),
        })
    }

    /// A guard that forgets `upload_id`'s cached row when the change that holds it ends.
    pub(super) fn forget_on_drop<'a>(&'a self, upload_id: &'a str) -> ForgetOnDrop<'a> {
        ForgetOnDrop { cache: &self.cache, upload_id }
    }

    /// Stores a new upload under its project's limits; returns once it is on disk.
    pub(super) async fn insert_upload(&self, upload: &UploadRecord, limits: &ProjectLimits) -> Result<Admission> {
        self.direct.insert_upload(upload, limits).await
    }

    /// The upload `id`, from memory or read on the blocking pool.
    pub(super) async fn upload(&self, id: &str) -> Result<Option<UploadRecord>> {
        self.cache
            .get_or_load(id, async {
                // The permit goes with the read: a request dropped while it waits on the disk
                // does not let another read start before this one ends.
                let reading = self.reads.clone().acquire_owned().await.map_err(Error::internal)?;
                let (direct, id) = (self.direct.clone(), id.to_string());
                tokio::task::spawn_blocking(move || {
                    let _reading = reading;
                    direct.upload(&id)
                })
                .await
                .map_err(Error::internal)?
            })
            .await
    }

    /// What project `owner_id` holds, read in place: one row per project, read by every
    /// create, so always in memory.
    pub(super) fn project_usage(&self, owner_id: &str) -> Result<ProjectUsage> {
        self.direct.project_usage(owner_id)
    }
}
