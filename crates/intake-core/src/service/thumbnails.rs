//! Making and storing the thumbnail of a validated image (the pipeline's step between
//! `validating` and `validated`), and its signed URL.

use super::Service;
use crate::blob::thumbnail_key;
use crate::metadata::{ThumbnailRecord, UploadRecord};
use crate::signing::Grant;
use crate::thumbnail::{self, Outcome};
use crate::validate::{ByteSource, Format};
use crate::{Error, Result};
use bytes::Bytes;
use std::sync::Arc;

/// What the thumbnail step left for the asset.
pub(super) enum ThumbnailResult {
    /// The format has no decoder here: nothing to say.
    NotAnImage,
    Stored(ThumbnailRecord),
    /// The reason there is none (for `properties.thumbnailSkipped`).
    Skipped(String),
}

impl Service {
    /// Makes the thumbnail of `upload`'s stored file (`source`, validated as `format`) and
    /// stores it beside the file. Storage and read errors are `Err` (the job retries); a
    /// file the limits or the decoder refuse is [`ThumbnailResult::Skipped`].
    pub(super) async fn make_thumbnail(
        &self,
        upload: &UploadRecord,
        source: Arc<dyn ByteSource>,
        format: Format,
    ) -> Result<ThumbnailResult> {
        let Some(decoder) = thumbnail::decodable(format) else {
            return Ok(thumbnail::not_decoded(format).map_or(ThumbnailResult::NotAnImage, ThumbnailResult::Skipped));
        };
        let limits = self.config.thumbnails;
        if limits.max_pixels == 0 {
            return Ok(ThumbnailResult::Skipped("thumbnails are turned off on this server".into()));
        }
        let made = {
            let _turn = self.thumbnail_turn.acquire().await.map_err(Error::internal)?;
            tokio::task::spawn_blocking(move || thumbnail::make(source.as_ref(), decoder, limits))
                .await
                .map_err(Error::internal)??
        };
        let thumb = match made {
            Outcome::Made(t) => t,
            Outcome::Skipped(why) => return Ok(ThumbnailResult::Skipped(why)),
        };
        let key = thumbnail_key(&upload.id);
        // A retried step starts from nothing staged; an object already committed by an
        // earlier try is the same thumbnail and is kept.
        self.blobs.discard_staged(&key).await?;
        let size = thumb.png.len() as u64;
        let body = futures_util::stream::once(async move { Ok(Bytes::from(thumb.png)) });
        self.blobs.append_staged(&key, Box::pin(body)).await?;
        let stored = self.blobs.commit_staged(&key).await?;
        if stored != size {
            tracing::warn!(upload = %upload.id, size, stored, "an earlier thumbnail of this upload is kept");
        }
        Ok(ThumbnailResult::Stored(ThumbnailRecord {
            blob_key: key,
            size: stored,
            width: thumb.width,
            height: thumb.height,
        }))
    }

    /// The signed, expiring URL of an asset's thumbnail.
    pub(super) fn thumbnail_url(&self, asset_id: &str) -> String {
        self.signed_url(Grant::ReadThumbnail { asset_id }, self.config.file_url_ttl)
    }
}
