//! Metadata: uploads, jobs, assets, models, API keys and install settings.
//!
//! Handlers and jobs see only the [`MetadataStore`] trait object, implemented by
//! [`sqlite::SqliteStore`] (the embedded default, one process) and
//! [`postgres::PostgresStore`] (scale-out, any number of processes); one conformance suite
//! (`tests/metadata_conformance.rs`) holds both to every contract below. Every status
//! change is a compare-and-set on the status the caller read: a change that lost a race
//! returns `false` and changes nothing.

pub mod postgres;
mod records;
mod rows;
pub mod sqlite;

pub use records::{ApiKeyRecord, AssetRecord, ImportedFile, JobRecord, ModelRecord, UploadRecord};

use crate::Result;
use async_trait::async_trait;
use intake_api::{Kind, Status};

/// Everything intake keeps besides file bytes.
#[async_trait]
pub trait MetadataStore: Send + Sync {
    /// The install-wide URL-signing secret, created on first use (the same for every
    /// instance that shares this store).
    async fn signing_secret(&self) -> Result<Vec<u8>>;

    /// Every API key.
    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>>;
    /// Inserts a key, or replaces the key of the same name.
    async fn put_api_key(&self, key: &ApiKeyRecord) -> Result<()>;

    /// Stores a new upload.
    async fn insert_upload(&self, upload: &UploadRecord) -> Result<()>;
    /// Stores a new upload unless its project already has `max_pending` uploads pending.
    /// This default counts, then inserts (racing creates may overshoot); SQLite checks
    /// inside the insert's own transaction and PostgreSQL under a per-project lock, both
    /// exact.
    async fn insert_upload_within(&self, upload: &UploadRecord, max_pending: u64) -> Result<Admission> {
        let pending = self.count_pending_uploads(&upload.owner_id).await?;
        if pending >= max_pending {
            return Ok(Admission::ProjectFull { pending });
        }
        self.insert_upload(upload).await?;
        Ok(Admission::Stored)
    }
    /// The upload with this id, whoever owns it (callers check the owner).
    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>>;
    /// One page of `query.owner_id`'s uploads, for `GET /v1/uploads`.
    ///
    /// Contract (mirror it exactly in every store):
    /// - only rows with `owner_id = query.owner_id`, and, when set, `status = query.status`
    ///   and `kind = query.kind` (the wire strings of [`Status`] and [`Kind`]);
    /// - ordered newest first by `(created_at DESC, id DESC)`, where `created_at` is the stored
    ///   RFC 3339 text with milliseconds in UTC (`2026-01-02T03:04:05.678Z`, so text order is
    ///   time order) and `id` breaks ties between uploads created in the same millisecond;
    /// - when `query.after` is set, only rows strictly after that cursor in this order:
    ///   `created_at < after.created_at OR (created_at = after.created_at AND id < after.id)`
    ///   (keyset pagination: rows inserted meanwhile never shift a page, and no row is read
    ///   twice);
    /// - at most `query.limit` rows.
    ///
    /// The page token clients see is made from the last row's cursor by the service layer
    /// ([`ListCursor::encode`]); stores only compare cursors.
    async fn list_uploads(&self, query: &UploadListQuery) -> Result<Vec<UploadRecord>>;
    /// How many uploads `owner_id` has pending.
    async fn count_pending_uploads(&self, owner_id: &str) -> Result<u64>;
    /// Moves a `pending` upload to `complete` and enqueues its processing job, in one
    /// transaction. `false` if the upload was no longer `pending`.
    async fn complete_upload(&self, upload_id: &str, job_id: &str, now_ms: i64) -> Result<bool>;
    /// Stores a new import (url, Hugging Face or Civitai; status `pending`) and enqueues its
    /// job (id `upload.job_id`, runnable at once), in one transaction: an import never
    /// exists without the job that downloads it. Like [`MetadataStore::insert_upload_within`],
    /// nothing is stored if the project already has `max_pending` uploads pending, checked
    /// exactly, in the same transaction.
    async fn insert_import(&self, upload: &UploadRecord, now_ms: i64, max_pending: u64) -> Result<Admission>;
    /// Replaces the `config` of a `pending` upload (an import's download progress).
    /// `false` if the upload was no longer `pending`.
    async fn set_upload_config(&self, upload_id: &str, config: &serde_json::Value, now_ms: i64) -> Result<bool>;
    /// `pending → complete` for an import whose bytes are stored, recording what was
    /// downloaded (name, type, size, final `config`). Its job is the one already running.
    /// `false` if the upload was no longer `pending`.
    async fn complete_import(&self, upload_id: &str, file: &ImportedFile, now_ms: i64) -> Result<bool>;
    /// Compare-and-set of the status alone. `false` if the upload was not in `from`.
    async fn set_status(&self, upload_id: &str, from: Status, to: Status, now_ms: i64) -> Result<bool>;
    /// `validating → validated`, keeping what validation found for the next step.
    async fn set_validated(&self, upload_id: &str, findings: &serde_json::Value, now_ms: i64) -> Result<bool>;
    /// Any non-terminal status → `failed` with a message a person can act on.
    async fn fail_upload(&self, upload_id: &str, message: &str, now_ms: i64) -> Result<bool>;
    /// Pending uploads whose time ran out before `now_ms`, oldest first, at most `limit`.
    async fn expired_uploads(&self, now_ms: i64, limit: u32) -> Result<Vec<UploadRecord>>;
    /// `pending → failed` with `message`, only if the upload is still pending and its time
    /// ran out before `now_ms`.
    async fn expire_upload(&self, upload_id: &str, message: &str, now_ms: i64) -> Result<bool>;
    /// `validated → imported`: inserts the asset and points the upload at it, in one
    /// transaction. `false` if the upload was not `validated`.
    async fn import_asset(&self, asset: &AssetRecord, now_ms: i64) -> Result<bool>;
    /// `validated → imported` for a model, like [`MetadataStore::import_asset`].
    async fn import_model(&self, model: &ModelRecord, now_ms: i64) -> Result<bool>;

    /// The asset with this id, whoever owns it.
    async fn asset(&self, id: &str) -> Result<Option<AssetRecord>>;
    /// The model with this id, whoever owns it.
    async fn model(&self, id: &str) -> Result<Option<ModelRecord>>;

    /// Claims the oldest runnable job (queued and due, or running with an expired lease)
    /// for `worker` until `lease_until_ms`, counting the attempt.
    async fn claim_job(&self, worker: &str, now_ms: i64, lease_until_ms: i64) -> Result<Option<JobRecord>>;
    /// Extends a lease `worker` holds. `false` if the job is no longer its own.
    async fn extend_lease(&self, job_id: &str, worker: &str, lease_until_ms: i64) -> Result<bool>;
    /// Marks a job done.
    async fn finish_job(&self, job_id: &str, worker: &str) -> Result<()>;
    /// Puts a job back in the queue to run again at `run_after_ms`, recording why.
    async fn retry_job(&self, job_id: &str, worker: &str, run_after_ms: i64, error: &str) -> Result<()>;
    /// Called once by a process that starts using the store, before its workers run; returns
    /// how many jobs it put back in the queue. A store that one process owns (SQLite)
    /// re-queues every job left `running`: whoever held those leases is gone. A store that
    /// many processes share (PostgreSQL) re-queues nothing: the `running` jobs belong to
    /// other live instances, and a dead instance's jobs become claimable by
    /// [`MetadataStore::claim_job`] once their lease runs out.
    async fn recover_at_startup(&self) -> Result<u64>;
    /// Gives back a job `worker` holds but did not finish (the process is stopping): queued
    /// again, runnable at `now_ms` by anyone, and the interrupted attempt not counted.
    async fn release_job(&self, job_id: &str, worker: &str, now_ms: i64) -> Result<bool>;

    /// A round trip to the database: `Ok` when it answers.
    async fn ping(&self) -> Result<()>;
    /// How many uploads there are of each status and kind (for `/metrics`).
    async fn upload_counts(&self) -> Result<Vec<(Status, Kind, u64)>>;
    /// The job queue's depth and age (for `/metrics`).
    async fn job_queue_stats(&self, now_ms: i64) -> Result<JobQueueStats>;
}

/// What [`MetadataStore::list_uploads`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadListQuery {
    /// The project whose uploads are listed.
    pub owner_id: String,
    /// Only uploads in this status.
    pub status: Option<Status>,
    /// Only uploads of this kind.
    pub kind: Option<Kind>,
    /// Only uploads after this position in the listing order (the last row of the previous page).
    pub after: Option<ListCursor>,
    /// The most rows to return.
    pub limit: u32,
}

/// A position in the uploads listing order: the `created_at` and `id` of one upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub created_at: String,
    pub id: String,
}

impl ListCursor {
    /// The cursor just past `upload` in the listing order.
    pub fn after(upload: &UploadRecord) -> Self {
        Self { created_at: upload.created_at.clone(), id: upload.id.clone() }
    }

    /// The opaque page token clients pass back: base64url (no padding) of
    /// `"{created_at} {id}"`. Neither part contains a space.
    pub fn encode(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{} {}", self.created_at, self.id))
    }

    /// Reads a token made by [`ListCursor::encode`]; `None` if it is not one.
    pub fn decode(token: &str) -> Option<Self> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (created_at, id) = text.split_once(' ')?;
        crate::domain::time::parse_time(created_at)?;
        if id.is_empty() || id.contains(' ') {
            return None;
        }
        Some(Self { created_at: created_at.to_string(), id: id.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::ListCursor;

    #[test]
    fn page_tokens_round_trip_and_garbage_is_refused() {
        let cursor = ListCursor { created_at: "2026-01-02T03:04:05.678Z".into(), id: "upload_abc".into() };
        assert_eq!(ListCursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "!!!", "bm90IGEgdG9rZW4", "MjAyNi0wMS0wMlQwMzowNDowNS42NzhaIA"] {
            assert_eq!(ListCursor::decode(bad), None, "{bad}");
        }
    }
}

/// How deep and how old the job queue is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobQueueStats {
    /// Jobs waiting to be claimed (including those waiting out a retry backoff).
    pub queued: u64,
    /// Jobs claimed by a worker right now.
    pub running: u64,
    /// Milliseconds since the oldest unfinished job was created (0 when none).
    pub oldest_age_ms: u64,
}

/// What [`MetadataStore::insert_upload_within`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Stored,
    /// Refused: the project already has `pending` uploads pending.
    ProjectFull {
        pending: u64,
    },
}
