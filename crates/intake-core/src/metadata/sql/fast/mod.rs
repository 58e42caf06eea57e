//! SQLite's hot paths (BENCHMARKS.md, target 5), a layer over the same statements as the rest
//! of [`super::SqlStore`]: creates group-committed by one writer thread with one WAL flush
//! ([`direct`]), reads by id in place on the calling thread, and recently read upload rows
//! kept in memory ([`cache`]). Only for SQLite, which one process owns.

mod cache;
mod direct;

use crate::metadata::{Admission, ProjectLimits, ProjectUsage, UploadRecord};
use crate::Result;
use std::path::Path;

/// The hot paths of one SQLite database.
pub(super) struct Fast {
    direct: direct::Direct,
    cache: cache::UploadCache,
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
        Ok(Self { direct: direct::Direct::open(path)?, cache: Default::default() })
    }

    /// A guard that forgets `upload_id`'s cached row when the change that holds it ends.
    pub(super) fn forget_on_drop<'a>(&'a self, upload_id: &'a str) -> ForgetOnDrop<'a> {
        ForgetOnDrop { cache: &self.cache, upload_id }
    }

    /// Stores a new upload under its project's limits; returns once it is on disk.
    pub(super) async fn insert_upload(&self, upload: &UploadRecord, limits: &ProjectLimits) -> Result<Admission> {
        self.direct.insert_upload(upload, limits).await
    }

    /// The upload `id`, from memory or read in place.
    pub(super) fn upload(&self, id: &str) -> Result<Option<UploadRecord>> {
        self.cache.get_or_load(id, || self.direct.upload(id))
    }

    /// What project `owner_id` holds, read in place.
    pub(super) fn project_usage(&self, owner_id: &str) -> Result<ProjectUsage> {
        self.direct.project_usage(owner_id)
    }
}
