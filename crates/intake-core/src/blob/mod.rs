//! Blob storage: where the bytes of parts and finished files live.
//!
//! Handlers and jobs see only the [`BlobStore`] trait object: what every store does. How the
//! bytes of a part reach the store is the one thing stores do differently, so it is a
//! capability of its own ([`BlobStore::part_delivery`]): the local-disk store
//! ([`fs::FsStore`]) [`ReceivesParts`] through intake's own signed URLs; the S3-compatible
//! store ([`s3::S3Store`]) [`PresignsParts`] with the store's own URLs and never sees the
//! bytes of a part. Finishing a multipart upload never copies the file: the parts become the
//! segments of the object.
//!
//! Imports (a file intake downloads itself) go through a *staging area* instead: the bytes are
//! appended to the staged object `key` as they arrive ([`BlobStore::append_staged`]), what is
//! already stored survives a restart ([`BlobStore::staged_len`], so the download resumes with
//! `Range`), and [`BlobStore::commit_staged`] turns it into the finished object `key`, read by
//! [`BlobStore::open`] and [`BlobStore::read_range`] exactly like a sealed multipart upload.

pub mod fs;
pub mod s3;

use crate::domain::PartNumber;
use crate::validate::digest::HashedPrefix;
use crate::validate::ByteSource;
use crate::Result;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use std::sync::Arc;
use std::time::Duration;

/// The bytes of one part as they arrive from the client.
pub type PartBody = BoxStream<'static, std::io::Result<Bytes>>;

/// A stream of an object's bytes.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// One received part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    pub number: u32,
    pub size: u64,
    /// Quoted hex MD5 of the part, where the store keeps it.
    pub etag: Option<String>,
}

/// What a store computed of a part's bytes while they streamed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartDigests {
    /// Lowercase hex MD5 (the part's ETag).
    pub md5_hex: String,
    /// CRC-32 (IEEE, as S3's `x-amz-checksum-crc32`).
    pub crc32: u32,
}

/// Decides whether a part may land, from its size and its digests; called once the whole
/// body is on disk, before the part is committed.
pub type PartCheck<'a> = &'a (dyn Fn(u64, &PartDigests) -> Result<()> + Send + Sync);

/// Decides whether the received parts make the whole file; `Err` holds the reason.
pub type PartsCheck<'a> = &'a (dyn Fn(&[PartInfo]) -> std::result::Result<(), String> + Send + Sync);

/// What finishing a multipart upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompleteOutcome {
    /// The parts are sealed into the object; no part can change any more.
    Sealed { parts: Vec<PartInfo> },
    /// The check refused the parts (the reason says why); the upload stays open.
    Refused { reason: String },
}

/// How the bytes of a part reach a store: the one thing stores do differently.
pub enum PartDelivery<'a> {
    /// Clients PUT each part straight to the store, at a URL the store presigns (S3).
    Presigned(&'a dyn PresignsParts),
    /// Clients PUT each part to intake (its `/parts` route), which streams it into the store
    /// (the local disk).
    ThroughIntake(&'a dyn ReceivesParts),
}

/// A store that hands out its own URLs for part PUTs and never sees their bytes.
pub trait PresignsParts: Send + Sync {
    /// The store's presigned URL for one part of the multipart upload `key`.
    fn presigned_part_url(&self, key: &str, handle: Option<&str>, part: PartNumber, ttl: Duration) -> Result<String>;

    /// The presigned URLs of parts 1 to `count` (a `GET` of a pending upload wants them all):
    /// a store overrides it to share the work that is the same for every part.
    fn presigned_part_urls(&self, key: &str, handle: Option<&str>, count: u32, ttl: Duration) -> Result<Vec<String>> {
        (1..=count)
            .map(|n| {
                let part = PartNumber::new(n).ok_or_else(|| crate::Error::internal("part number out of range"))?;
                self.presigned_part_url(key, handle, part, ttl)
            })
            .collect()
    }
}

/// A store that takes part bodies itself, from intake's `/parts` route.
#[async_trait]
pub trait ReceivesParts: Send + Sync {
    /// Streams one part to durable storage and commits it atomically, replacing an earlier
    /// part of the same number; a body that breaks off, or exceeds `max_size`, or that
    /// `check` refuses once its size is known, leaves no trace. Returns its size and ETag.
    async fn put_part(
        &self,
        key: &str,
        part: PartNumber,
        body: PartBody,
        max_size: u64,
        check: PartCheck<'_>,
    ) -> Result<PartInfo>;

    /// Deletes what interrupted part PUTs left behind (temp files) that has not changed
    /// for `min_age`; returns how many were removed.
    async fn remove_stale_temp(&self, min_age: Duration) -> Result<u64>;
}

/// Where the bytes live.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Prepares a multipart upload for object `key`, a file of `file_size` bytes; returns the
    /// store's own id for it, if the store has one (kept with the upload and passed back to
    /// every call below).
    async fn begin_multipart(&self, key: &str, content_type: &str, file_size: u64) -> Result<Option<String>>;

    /// How clients deliver the bytes of each part of a file of `file_size` bytes.
    fn part_delivery(&self, file_size: u64) -> PartDelivery<'_>;

    /// The receiver of the parts that come through intake, if any upload's do: intake
    /// mounts its `/parts` route and cleans the receiver's temp files only then.
    fn part_receiver(&self) -> Option<&dyn ReceivesParts>;

    /// The parts received so far, sorted by number.
    async fn list_parts(&self, key: &str, handle: Option<&str>) -> Result<Vec<PartInfo>>;

    /// Seals the multipart upload into the object `key` if `check` approves the parts it
    /// holds at that moment. Idempotent: completing a sealed upload reports its parts.
    async fn complete_multipart(
        &self,
        key: &str,
        handle: Option<&str>,
        check: PartsCheck<'_>,
    ) -> Result<CompleteOutcome>;

    /// Undoes a seal whose upload never left `pending` (the process died between sealing
    /// the parts and recording the completion), so its parts accept PUTs again. Only safe
    /// when no `complete` of this upload can be running. No-op when nothing is sealed.
    async fn reopen_multipart(&self, key: &str, handle: Option<&str>) -> Result<()>;

    /// Drops an unfinished multipart upload and its parts.
    async fn abort_multipart(&self, key: &str, handle: Option<&str>) -> Result<()>;

    /// How many bytes of the import `key` are durably staged (0 when nothing is staged).
    /// After a restart this says where the download resumes.
    async fn staged_len(&self, key: &str) -> Result<u64>;

    /// Appends `body` to the staged import `key` (creating it when absent), with bounded
    /// memory, and makes what it wrote durable before returning. Returns the staged length
    /// afterwards. When `body` yields an error, the bytes received before it are kept
    /// (durably) and the error is returned as [`crate::Error::BodyAborted`]: the caller asks
    /// [`BlobStore::staged_len`] and resumes from there.
    async fn append_staged(&self, key: &str, body: PartBody) -> Result<u64>;

    /// Turns the staged import `key` into the finished object `key`, atomically: readers
    /// see either no object or all of it. Idempotent: committing an import that is already
    /// the object reports its length. Returns the object's length.
    async fn commit_staged(&self, key: &str) -> Result<u64>;

    /// Drops the staged bytes of import `key` (to start the download again from zero, or
    /// after it failed for good). Dropping nothing is not an error.
    async fn discard_staged(&self, key: &str) -> Result<()>;

    /// Random access to a finished object, for validators (blocking reads: use it from a
    /// blocking thread).
    async fn open(&self, key: &str) -> Result<Arc<dyn ByteSource>>;

    /// What the store already hashed of the sealed multipart upload `key` while its parts
    /// arrived (the SHA-256 state of its first bytes), handed over once: the import then
    /// reads only the rest for `properties.sha256`. `None` when the store has nothing (the
    /// default; S3 never sees the bytes).
    async fn hashed_prefix(&self, _key: &str) -> Option<HashedPrefix> {
        None
    }

    /// Streams bytes `start..end` of a finished object.
    async fn read_range(&self, key: &str, start: u64, end: u64) -> Result<ByteStream>;

    /// Deletes a finished object.
    async fn delete(&self, key: &str) -> Result<()>;

    /// Checks that the store answers and can be written (for `/readyz`).
    async fn ping(&self) -> Result<()>;

    /// Every key the store holds bytes for, with how long ago each was last changed: open
    /// multipart uploads and finished objects. The orphan sweeper compares them with the
    /// metadata.
    async fn stored_keys(&self) -> Result<StoredKeys>;

    /// Like [`BlobStore::stored_keys`], but only open multipart uploads and staged imports
    /// (`objects` left empty): what the periodic sweep looks at. Their number follows the
    /// uploads in flight, not every file ever stored, so the sweep costs the same at a
    /// million stored files as at a thousand. Finished files are dropped when their upload
    /// fails, and the full walk runs only at the start of the only process.
    async fn unfinished_keys(&self) -> Result<StoredKeys> {
        let mut keys = self.stored_keys().await?;
        keys.objects.clear();
        Ok(keys)
    }
}

/// The key of the thumbnail of the object `key`, stored beside it.
pub fn thumbnail_key(key: &str) -> String {
    format!("{key}{THUMBNAIL_SUFFIX}")
}

/// The key of the object whose thumbnail `key` is, or `None` when `key` is not a thumbnail's.
pub fn thumbnail_of(key: &str) -> Option<&str> {
    key.strip_suffix(THUMBNAIL_SUFFIX)
}

/// What [`thumbnail_key`] appends (keys are ASCII letters, digits, `_` and `-`).
const THUMBNAIL_SUFFIX: &str = "-thumb";

/// Keys that hold bytes in a store, each with the time since it last changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredKeys {
    pub multipart: Vec<(String, Duration)>,
    pub objects: Vec<(String, Duration)>,
    /// Imports being downloaded or committed.
    pub staged: Vec<(String, Duration)>,
}
