//! Abandoned uploads and orphaned bytes: a multipart upload still pending after the upload
//! TTL becomes `failed` with an "expired" message and its parts are deleted; bytes the
//! store holds that no live upload needs (temp files of interrupted PUTs, parts of uploads
//! that are gone, files of failed uploads) are removed by the orphan sweep.

use super::{now_ms, Service};
use crate::metadata::UploadRecord;
use crate::Result;
use intake_api::Status;
use std::time::Duration;

/// How old an open multipart upload with no metadata must be before it counts as orphaned
/// (an upload's storage is prepared just before its row is written).
const ORPHAN_GRACE: Duration = Duration::from_secs(60);

/// Who else may be using the stores while a sweep runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepScope {
    /// This process is starting and is the only one using the stores: no PUT or
    /// `complete` can be in flight, so every temp file is a leftover and a sealed upload
    /// still marked pending is one whose completion the crash cut short.
    OnlyProcessStarting,
    /// Other requests (and other instances) may be running: only what has been left
    /// untouched for long is a leftover.
    Running,
}

/// What one orphan sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub temp_files: u64,
    pub multipart_uploads: u64,
    pub objects: u64,
    /// Uploads whose cut-short completion was undone so they accept parts again.
    pub reopened: u64,
    /// Staged imports no pending upload is downloading any more.
    pub staged: u64,
}

/// Uploads expired per sweep, so one sweep never holds the database for long.
const SWEEP_BATCH: u32 = 100;

impl Service {
    /// The message an expired upload carries.
    pub(crate) fn expiry_message(&self) -> String {
        let ttl = self.config.upload_ttl.as_secs();
        let span = if ttl.is_multiple_of(3600) { format!("{} h", ttl / 3600) } else { format!("{ttl} s") };
        format!("the upload expired: it was not completed within {span} of its creation, and its parts were deleted; create a new upload")
    }

    /// True when `upload` is pending past its time.
    pub(crate) fn is_expired(upload: &UploadRecord) -> bool {
        upload.status == intake_api::Status::Pending && upload.expires_at_ms < now_ms()
    }

    /// Expires `upload` now if its time ran out (and deletes its parts); true if it did.
    pub(crate) async fn expire_if_due(&self, upload: &UploadRecord) -> Result<bool> {
        if !Self::is_expired(upload) {
            return Ok(false);
        }
        let message = self.expiry_message();
        let expired =
            self.meta.apply(&upload.id, crate::metadata::Change::Expired { message: &message }, now_ms()).await?;
        if expired {
            if upload.source == intake_api::Source::Multipart {
                self.blobs.abort_multipart(&upload.id, upload.store_handle.as_deref()).await?;
            } else {
                self.blobs.discard_staged(&upload.id).await?;
            }
            tracing::info!(upload = %upload.id, "expired an abandoned upload");
        }
        Ok(expired)
    }

    /// Expires every pending upload whose time ran out; returns how many.
    pub async fn expire_abandoned_uploads(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let batch = self.meta.expired_uploads(now_ms(), SWEEP_BATCH).await?;
            let mut expired = 0;
            for upload in &batch {
                if self.expire_if_due(upload).await? {
                    expired += 1;
                }
            }
            total += expired;
            if batch.len() < SWEEP_BATCH as usize || expired == 0 {
                return Ok(total);
            }
        }
    }

    /// Removes bytes no live upload needs: temp files of dead PUTs, multipart storage and
    /// staged imports of uploads that are no longer pending, and the files of uploads that
    /// failed or no longer exist. At the start of the only process it also reopens uploads whose
    /// completion a crash cut short (see [`SweepScope`]).
    pub async fn sweep_orphans(&self, scope: SweepScope) -> Result<SweepReport> {
        // A live PUT rewrites its temp file at least every few seconds; one untouched for
        // an hour belongs to a PUT that died.
        let temp_min_age = match scope {
            SweepScope::OnlyProcessStarting => Duration::ZERO,
            SweepScope::Running => Duration::from_secs(3600),
        };
        // Storage for an upload is prepared just before its row is written: without a row
        // it is an orphan only once no create can still be writing it.
        let grace = match scope {
            SweepScope::OnlyProcessStarting => Duration::ZERO,
            SweepScope::Running => ORPHAN_GRACE,
        };
        let temp_files = match self.blobs.part_receiver() {
            Some(receiver) => receiver.remove_stale_temp(temp_min_age).await?,
            // Parts go straight to the store: intake keeps no temp files for them.
            None => 0,
        };
        let mut report = SweepReport { temp_files, ..Default::default() };
        // Every stored file only when this process starts alone; while running, only what is
        // in flight (failed uploads drop their files themselves, see `Service::fail`).
        let keys = match scope {
            SweepScope::OnlyProcessStarting => self.blobs.stored_keys().await?,
            SweepScope::Running => self.blobs.unfinished_keys().await?,
        };
        for (key, age) in keys.multipart {
            let upload = self.meta.upload(&key).await?;
            let orphaned = match &upload {
                Some(u) => u.status != Status::Pending,
                None => age >= grace,
            };
            if orphaned {
                let handle = upload.and_then(|u| u.store_handle);
                self.blobs.abort_multipart(&key, handle.as_deref()).await?;
                report.multipart_uploads += 1;
            }
        }
        for (key, age) in keys.staged {
            let orphaned = match self.meta.upload(&key).await? {
                Some(u) => u.status != Status::Pending,
                None => age >= grace,
            };
            if orphaned {
                self.blobs.discard_staged(&key).await?;
                report.staged += 1;
            }
        }
        for (key, age) in keys.objects {
            // A thumbnail lives and dies with its upload's file.
            let thumbnail_of = crate::blob::thumbnail_of(&key);
            let upload = self.meta.upload(thumbnail_of.unwrap_or(&key)).await?;
            match upload {
                // An import's object exists while it is still pending (committed, not yet
                // recorded): its job finishes it, so it is neither reopened nor deleted.
                Some(u)
                    if thumbnail_of.is_none()
                        && u.status == Status::Pending
                        && u.source == intake_api::Source::Multipart
                        && scope == SweepScope::OnlyProcessStarting =>
                {
                    self.blobs.reopen_multipart(&key, u.store_handle.as_deref()).await?;
                    report.reopened += 1;
                }
                Some(u) if u.status != Status::Failed => {}
                None if age < grace => {}
                _ => {
                    self.blobs.delete(&key).await?;
                    report.objects += 1;
                }
            }
        }
        Ok(report)
    }
}
