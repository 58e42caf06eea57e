//! Uploads kept in memory between reads (BENCHMARKS.md, target 5): a client polls its upload
//! with `GET /v1/uploads/{id}` and each of its part PUTs reads it too, so most reads repeat
//! one another. Sound only because one process owns the SQLite file and every change to an
//! upload goes through a method of [`crate::metadata::SqlStore`] that first takes
//! `SqlStore::changing`, which calls [`UploadCache::forget`] when the change ends.
//!
//! A read that missed loads the row and keeps it only if no change was recorded while it
//! loaded (a global change counter): a row read before a change can never be kept after it.

use crate::metadata::UploadRecord;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Uploads kept at most; when full, the cache starts over (a miss costs one indexed read).
const CAPACITY: usize = 10_000;

/// The cache of upload rows.
#[derive(Default)]
pub(super) struct UploadCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    uploads: HashMap<String, Arc<UploadRecord>>,
    /// Bumped by every change; a load that saw it move keeps nothing.
    changes: u64,
}

impl UploadCache {
    /// The upload `id`: from memory, or from `load` (kept for next time when nothing changed
    /// meanwhile). `None` (no such upload) is not kept. No lock is held while `load` runs.
    pub(super) async fn get_or_load<E>(
        &self,
        id: &str,
        load: impl std::future::Future<Output = Result<Option<UploadRecord>, E>>,
    ) -> Result<Option<UploadRecord>, E> {
        let changes_before = {
            let inner = self.inner.lock().expect("upload cache");
            if let Some(kept) = inner.uploads.get(id) {
                return Ok(Some(UploadRecord::clone(kept)));
            }
            inner.changes
        };
        let loaded = load.await?;
        if let Some(record) = &loaded {
            let mut inner = self.inner.lock().expect("upload cache");
            if inner.changes == changes_before {
                if inner.uploads.len() >= CAPACITY {
                    inner.uploads.clear();
                }
                inner.uploads.insert(id.to_string(), Arc::new(record.clone()));
            }
        }
        Ok(loaded)
    }

    /// Call after any change to upload `id` is committed (or failed: it may have committed).
    pub(super) fn forget(&self, id: &str) {
        let mut inner = self.inner.lock().expect("upload cache");
        inner.changes += 1;
        inner.uploads.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, file_name: &str) -> UploadRecord {
        UploadRecord {
            id: id.into(),
            owner_id: "p".into(),
            author_id: "u".into(),
            kind: intake_api::Kind::Image,
            source: intake_api::Source::Multipart,
            provider: None,
            status: intake_api::Status::Pending,
            file_name: file_name.into(),
            original_file_name: None,
            content_type: None,
            file_size: None,
            parts_count: None,
            url: None,
            asset_options: None,
            config: None,
            entity_id: None,
            error_message: None,
            job_id: None,
            store_handle: None,
            findings: None,
            created_at: String::new(),
            updated_at: String::new(),
            expires_at_ms: 0,
            reserved_bytes: 0,
            import_progress: None,
        }
    }

    #[tokio::test]
    async fn a_kept_row_is_served_until_forgotten() {
        let cache = UploadCache::default();
        let load = |name: &str| {
            let r = record("upload_a", name);
            async move { Ok::<_, ()>(Some(r)) }
        };
        assert_eq!(cache.get_or_load("upload_a", load("first")).await.unwrap().unwrap().file_name, "first");
        assert_eq!(cache.get_or_load("upload_a", load("second")).await.unwrap().unwrap().file_name, "first");
        cache.forget("upload_a");
        assert_eq!(cache.get_or_load("upload_a", load("third")).await.unwrap().unwrap().file_name, "third");
        assert_eq!(cache.get_or_load("upload_none", async { Ok::<_, ()>(None) }).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_row_loaded_across_a_change_is_not_kept() {
        let cache = UploadCache::default();
        // The load read the row, then a change committed and was forgotten before the load
        // returned: what it read may be the old row, so it must not be kept.
        let stale = cache
            .get_or_load("upload_a", async {
                cache.forget("upload_a");
                Ok::<_, ()>(Some(record("upload_a", "old")))
            })
            .await;
        assert_eq!(stale.unwrap().unwrap().file_name, "old");
        let fresh = cache.get_or_load("upload_a", async { Ok::<_, ()>(Some(record("upload_a", "new"))) }).await;
        assert_eq!(fresh.unwrap().unwrap().file_name, "new");
    }
}
