//! Abandoned uploads: a multipart upload still pending after the upload TTL becomes
//! `failed` with an "expired" message, and its parts are deleted.

use super::{now_ms, Service};
use crate::metadata::UploadRecord;
use crate::Result;

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
        let expired = self.meta.expire_upload(&upload.id, &self.expiry_message(), now_ms()).await?;
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
}
