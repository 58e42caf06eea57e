//! [`BlobStore`] on an S3-compatible object store (Garage, MinIO, Ceph RGW, AWS S3): the
//! scale-out deployment, where every intake instance shares one bucket.
//!
//! - **Parts never pass through intake.** Creating an upload starts a store multipart upload
//!   (`CreateMultipartUpload`; its `UploadId` is the upload's `store_handle`), and the part
//!   URLs are the store's own presigned `UploadPart` URLs ([`PresignsParts`]): clients PUT
//!   straight to the store.
//! - **Empty files** (`fileSize: 0`) are the exception: some stores refuse an empty part,
//!   so their one empty part comes through intake's `/parts` route (see [`empty`]).
//! - **Completing** lists the parts from the store (`ListParts`, paginated up to 10,000),
//!   runs intake's part check (Garage, for one, enforces neither the 5 MiB minimum nor the
//!   part-number range, so intake must), then `CompleteMultipartUpload` with the listed ETags.
//!   A part re-sent between the listing and the completion makes the store refuse the stale
//!   ETag; the whole step is then retried from the listing.
//! - **Validation** reads through [`source::RangedObject`]: ranged GETs with a small cache and
//!   sequential read-ahead, never the whole object.
//! - **Imports** are staged in a store multipart upload of their own (see [`staging`]).
//! - **Downloads** stream a ranged GET through intake (`/files/{id}` keeps its signed URL,
//!   `Range` support and safety headers on every backend).
//!
//! Why `rusty-s3` + `reqwest` rather than `aws-sdk-s3`: intake needs seven S3 calls and
//! presigned URLs. `rusty-s3` is a small sans-IO signer (SigV4, a few XML types), and
//! reqwest is already in the tree; the AWS SDK would add hundreds of crates and minutes of
//! compile time on a 2-core CI machine for features intake does not use.

mod client;
mod empty;
mod presign;
mod source;
mod staging;

pub use client::S3Config;

use super::{
    BlobStore, ByteStream, CompleteOutcome, PartBody, PartDelivery, PartInfo, PartsCheck, PresignsParts, ReceivesParts,
    StoredKeys,
};
use crate::domain::PartNumber;
use crate::validate::ByteSource;
use crate::{Error, Result};
use async_trait::async_trait;
use client::{unreadable, CallError, Client};
use futures_util::{StreamExt, TryStreamExt};
use rusty_s3::actions::{
    AbortMultipartUpload, CompleteMultipartUpload, CreateMultipartUpload, GetObject, HeadObject, ListParts, S3Action,
    UploadPart,
};
use std::sync::Arc;
use std::time::Duration;

/// Parts asked for per `ListParts` page (the S3 maximum).
const LIST_PAGE: u16 = 1000;
/// Times a completion is retried when parts changed under it.
const COMPLETE_ATTEMPTS: usize = 3;
/// The longest a presigned URL may live (S3's limit: 7 days).
const MAX_PRESIGN: Duration = Duration::from_secs(7 * 24 * 3600);

/// The S3-compatible blob store.
pub struct S3Store {
    client: Arc<Client>,
    runtime: tokio::runtime::Handle,
    /// Staged imports' bytes that do not fill a part yet (see [`staging`]).
    tails: staging::Tails,
}

impl S3Store {
    /// A store on `config`'s bucket. Call it inside a Tokio runtime: validators' blocking
    /// reads use that runtime to make their requests.
    pub fn new(config: &S3Config) -> Result<Self> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::internal("the S3 store must be created inside a Tokio runtime"))?;
        Ok(Self { client: Arc::new(Client::new(config)?), runtime, tails: staging::Tails::default() })
    }

    /// Checks that the bucket exists and the credentials may use it, so a misconfigured
    /// deployment fails at startup with the store's own words rather than at the first upload.
    pub async fn check_access(&self) -> Result<()> {
        // A GET (not a HEAD, whose answers have no body) tells a missing key from a missing bucket.
        let probe = ".intake-startup-probe";
        match self.client.call(&GetObject::new(&self.client.bucket, Some(&self.client.credentials), probe), None).await
        {
            Ok(_) => Ok(()),
            Err(CallError::Store(e)) if e.status == 404 && e.code != "NoSuchBucket" => Ok(()),
            Err(CallError::Store(e)) => Err(Error::internal(format!(
                "the S3 bucket {:?} is not usable with these credentials: {e}",
                self.client.bucket.name()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    fn handle<'h>(key: &str, handle: Option<&'h str>) -> Result<&'h str> {
        handle.ok_or_else(|| Error::internal(format!("upload {key} has no S3 UploadId: it was not created in S3")))
    }

    /// Every part the store holds for the multipart upload, sorted by number; `None` when
    /// the store no longer knows the upload (completed or aborted).
    async fn listed_parts(&self, key: &str, upload_id: &str) -> Result<Option<Vec<PartInfo>>> {
        let mut parts = Vec::new();
        let mut marker: Option<u32> = None;
        loop {
            let mut action = ListParts::new(&self.client.bucket, Some(&self.client.credentials), key, upload_id);
            action.set_max_parts(LIST_PAGE);
            if let Some(m) = marker {
                action.set_part_number_marker(u16::try_from(m).map_err(Error::internal)?);
            }
            let text = match self.client.call(&action, None).await {
                Ok(text) => text,
                Err(CallError::Store(e)) if e.is_not_found() => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let page = client::parse_part_list(&text).map_err(|e| unreadable("part list", e))?;
            parts.extend(page.parts);
            match page.next_marker {
                Some(next) if marker != Some(next) => marker = Some(next),
                _ => break,
            }
        }
        parts.sort_by_key(|p| p.number);
        parts.dedup_by_key(|p| p.number);
        Ok(Some(parts))
    }

    /// The size of a finished object; `None` if there is none.
    async fn object_size(&self, key: &str) -> Result<Option<u64>> {
        let action = HeadObject::new(&self.client.bucket, Some(&self.client.credentials), key);
        match self.client.send(HeadObject::METHOD, action.sign(client::CALL_TTL), &[], None).await {
            Ok(response) => {
                let length = response
                    .headers()
                    .get(reqwest::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| Error::internal(format!("object store sent no length for {key}")))?;
                Ok(Some(length))
            }
            Err(CallError::Store(e)) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait]
impl BlobStore for S3Store {
    async fn begin_multipart(&self, key: &str, _content_type: &str, file_size: u64) -> Result<Option<String>> {
        if file_size == 0 {
            return Ok(Some(empty::EMPTY_FILE.to_string()));
        }
        // The object's content type is not stored: downloads go through intake, which sends
        // the type validation found, never the one the client declared.
        let action = CreateMultipartUpload::new(&self.client.bucket, Some(&self.client.credentials), key);
        let text = self.client.call(&action, None).await?;
        let created =
            CreateMultipartUpload::parse_response(&text).map_err(|e| unreadable("CreateMultipartUpload answer", e))?;
        Ok(Some(created.upload_id().to_string()))
    }

    fn part_delivery(&self, file_size: u64) -> PartDelivery<'_> {
        if file_size == 0 {
            PartDelivery::ThroughIntake(self)
        } else {
            PartDelivery::Presigned(self)
        }
    }

    fn part_receiver(&self) -> Option<&dyn ReceivesParts> {
        Some(self)
    }

    async fn list_parts(&self, key: &str, handle: Option<&str>) -> Result<Vec<PartInfo>> {
        if empty::is_empty_file(handle) {
            return self.empty_file_parts(key).await;
        }
        let upload_id = Self::handle(key, handle)?;
        self.listed_parts(key, upload_id)
            .await?
            .ok_or_else(|| Error::Conflict(format!("the object store no longer holds an unfinished upload for {key}")))
    }

    async fn complete_multipart(
        &self,
        key: &str,
        handle: Option<&str>,
        check: PartsCheck<'_>,
    ) -> Result<CompleteOutcome> {
        if empty::is_empty_file(handle) {
            return self.complete_empty_file(key, check).await;
        }
        let upload_id = Self::handle(key, handle)?;
        let mut last_error = None;
        for _ in 0..COMPLETE_ATTEMPTS {
            let Some(parts) = self.listed_parts(key, upload_id).await? else {
                // The store forgot the upload: an earlier call completed it (and may have
                // died before recording it), or it was aborted.
                return match self.object_size(key).await? {
                    Some(_) => Ok(CompleteOutcome::Sealed { parts: Vec::new() }),
                    None => Err(Error::Conflict(format!(
                        "the object store no longer holds upload {key}: it expired or was aborted; create a new upload"
                    ))),
                };
            };
            if let Err(reason) = check(&parts) {
                return Ok(CompleteOutcome::Refused { reason });
            }
            // Parts 1..n in order; the check has made sure none is missing.
            let sealed: Vec<PartInfo> =
                parts.into_iter().enumerate().take_while(|(i, p)| p.number as usize == i + 1).map(|(_, p)| p).collect();
            let etags: Vec<&str> = sealed.iter().map(|p| p.etag.as_deref().unwrap_or_default()).collect();
            let action = CompleteMultipartUpload::new(
                &self.client.bucket,
                Some(&self.client.credentials),
                key,
                upload_id,
                etags.iter().copied(),
            );
            let body = action.clone().body();
            match self.client.call(&action, Some(body)).await {
                Ok(_) => return Ok(CompleteOutcome::Sealed { parts: sealed }),
                // A part was sent again after the listing: list and check again.
                Err(CallError::Store(e)) if e.code == "InvalidPart" || e.code == "InvalidPartOrder" => {
                    last_error = Some(e);
                }
                // Completed meanwhile by another instance: the next round sees it.
                Err(CallError::Store(e)) if e.is_not_found() => last_error = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::internal(format!(
            "completing {key} kept failing as its parts changed: {}",
            last_error.map(|e| e.to_string()).unwrap_or_default()
        )))
    }

    async fn reopen_multipart(&self, _key: &str, _handle: Option<&str>) -> Result<()> {
        // A store's CompleteMultipartUpload cannot be undone. Nothing is lost: the next
        // `complete` finds the finished object (see `complete_multipart`) and records it.
        Ok(())
    }

    async fn abort_multipart(&self, key: &str, handle: Option<&str>) -> Result<()> {
        if empty::is_empty_file(handle) {
            return self.delete_quietly(key).await;
        }
        let Some(upload_id) = handle else { return Ok(()) };
        let action = AbortMultipartUpload::new(&self.client.bucket, Some(&self.client.credentials), key, upload_id);
        match self.client.call(&action, None).await {
            Ok(_) => Ok(()),
            Err(CallError::Store(e)) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn staged_len(&self, key: &str) -> Result<u64> {
        self.staged_len_impl(key).await
    }

    async fn append_staged(&self, key: &str, body: PartBody) -> Result<u64> {
        self.append_staged_impl(key, body).await
    }

    async fn commit_staged(&self, key: &str) -> Result<u64> {
        self.commit_staged_impl(key).await
    }

    async fn discard_staged(&self, key: &str) -> Result<()> {
        self.discard_staged_impl(key).await
    }

    async fn open(&self, key: &str) -> Result<Arc<dyn ByteSource>> {
        let len = self
            .object_size(key)
            .await?
            .ok_or_else(|| Error::internal(format!("object {key} is missing from the object store")))?;
        Ok(Arc::new(source::RangedObject::new(self.client.clone(), self.runtime.clone(), key.to_string(), len)))
    }

    async fn read_range(&self, key: &str, start: u64, end: u64) -> Result<ByteStream> {
        if start >= end {
            return Ok(futures_util::stream::empty().boxed());
        }
        let response = source::get_range(&self.client, key, start, end).await?;
        Ok(response.bytes_stream().map_err(std::io::Error::other).boxed())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.delete_quietly(key).await
    }

    async fn ping(&self) -> Result<()> {
        self.check_access().await
    }

    async fn stored_keys(&self) -> Result<StoredKeys> {
        // Not listed on S3: a bucket may be shared (by other deployments, or by test runs
        // with their own databases), and the orphan sweeper deletes what its metadata does
        // not know. Abandoned multipart uploads are aborted by the expiry sweep; a bucket
        // lifecycle rule (AbortIncompleteMultipartUpload) covers the rest.
        Ok(StoredKeys::default())
    }
}

impl PresignsParts for S3Store {
    fn presigned_part_url(&self, key: &str, handle: Option<&str>, part: PartNumber, ttl: Duration) -> Result<String> {
        let ttl = ttl.clamp(Duration::from_secs(1), MAX_PRESIGN);
        let upload_id = Self::handle(key, handle)?;
        let number = u16::try_from(part.get()).map_err(Error::internal)?;
        let action = UploadPart::new(&self.client.bucket, Some(&self.client.credentials), key, number, upload_id);
        Ok(action.sign(ttl).to_string())
    }

    fn presigned_part_urls(&self, key: &str, handle: Option<&str>, count: u32, ttl: Duration) -> Result<Vec<String>> {
        let upload_id = Self::handle(key, handle)?;
        let count = u16::try_from(count).map_err(Error::internal)?;
        let ttl = ttl.clamp(Duration::from_secs(1), MAX_PRESIGN);
        let now = chrono::Utc::now().timestamp();
        let signer = presign::PartSigner::new(&self.client.bucket, &self.client.credentials, key, upload_id, ttl, now)
            .ok_or_else(|| Error::internal("the S3 endpoint has no host, or the clock is out of range"))?;
        Ok((1..=count).map(|n| signer.url(n)).collect())
    }
}
