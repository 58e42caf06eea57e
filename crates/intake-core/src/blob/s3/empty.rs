//! Empty files on S3: the one empty part comes through intake, not to the store.
//!
//! S3-compatible stores do not agree on an empty `UploadPart`: AWS takes it as the last part,
//! Garage answers 400 "Empty body". A presigned `PutObject` would take an empty body, but its
//! URL stays valid after `complete`, so it could later overwrite the validated object with
//! any bytes; signing `content-length: 0` into it would stop that, but common clients
//! (reqwest, among others) send no `Content-Length` at all for an empty body, and the store
//! then refuses the PUT. So an upload of `fileSize: 0` has no store multipart upload: its
//! handle is [`EMPTY_FILE`], its one part URL is intake's own signed `/parts` URL (the store
//! is a [`ReceivesParts`] for it alone), and receiving it writes the empty object with
//! intake's credentials. Intake refuses a part of a finished upload, and any byte at all.

use super::S3Store;
use crate::blob::{CompleteOutcome, PartBody, PartCheck, PartDigests, PartInfo, PartsCheck, ReceivesParts};
use crate::domain::PartNumber;
use crate::{Error, Result};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use std::time::Duration;

/// The handle of an upload of an empty file (S3 `UploadId`s never contain a colon).
pub(super) const EMPTY_FILE: &str = "intake:empty-file";

/// The MD5 of no bytes, in hex.
const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// True when `handle` is that of an empty file.
pub(super) fn is_empty_file(handle: Option<&str>) -> bool {
    handle == Some(EMPTY_FILE)
}

impl S3Store {
    /// The empty file's "parts": its object as part 1 once it has been PUT, else none.
    pub(super) async fn empty_file_parts(&self, key: &str) -> Result<Vec<PartInfo>> {
        Ok(match self.object_size(key).await? {
            Some(size) => vec![PartInfo { number: 1, size, etag: Some(format!("\"{EMPTY_MD5}\"")) }],
            None => Vec::new(),
        })
    }

    /// Completes an empty file: its object is in place once its part arrived, so completing
    /// only checks it (and is idempotent like every completion).
    pub(super) async fn complete_empty_file(&self, key: &str, check: PartsCheck<'_>) -> Result<CompleteOutcome> {
        let parts = self.empty_file_parts(key).await?;
        Ok(match check(&parts) {
            Ok(()) => CompleteOutcome::Sealed { parts },
            Err(reason) => CompleteOutcome::Refused { reason },
        })
    }
}

#[async_trait]
impl ReceivesParts for S3Store {
    /// Takes only the empty part 1 of an empty file (`max_size` 0), and writes the empty
    /// object; a body with any byte is refused and writes nothing.
    async fn put_part(
        &self,
        key: &str,
        part: PartNumber,
        mut body: PartBody,
        max_size: u64,
        check: PartCheck<'_>,
    ) -> Result<PartInfo> {
        if part.get() != 1 || max_size != 0 {
            return Err(Error::internal(format!(
                "the S3 store receives only the empty part of an empty file, not part {} of {key}",
                part.get()
            )));
        }
        while let Some(chunk) = body.next().await {
            if !chunk?.is_empty() {
                return Err(Error::TooLarge(format!(
                    "part {} is larger than 0 bytes, the most this part may hold",
                    part.get()
                )));
            }
        }
        check(0, &PartDigests { md5_hex: EMPTY_MD5.into(), crc32: 0 })?;
        self.put_small(key, Bytes::new()).await?;
        Ok(PartInfo { number: 1, size: 0, etag: Some(format!("\"{EMPTY_MD5}\"")) })
    }

    async fn remove_stale_temp(&self, _min_age: Duration) -> Result<u64> {
        // Nothing is staged on the way: the only part received is empty.
        Ok(0)
    }
}
