//! Metadata: uploads, jobs, assets, models, API keys and install settings.
//!
//! The ports are small traits, one per job ([`UploadStore`], [`JobQueue`], [`EntityStore`],
//! [`KeyStore`], [`Counters`]); [`MetadataStore`] is all of them, for the one place that
//! builds the service. Each user asks for the narrowest port it needs: the job runner gets a
//! [`JobQueue`], `/metrics` gets [`Counters`].
//!
//! One implementation serves both engines ([`sql::SqlStore`]): every statement is written
//! once, and the few that differ between SQLite (the embedded default, one process) and
//! PostgreSQL (scale-out, any number of processes) sit beside each other. One conformance
//! suite (`tests/metadata_conformance.rs`) holds both engines to every contract below.
//!
//! Every status change goes through [`UploadStore::apply`], which asks
//! [`crate::domain::lifecycle`] whether the change is allowed from the status the row holds,
//! and writes it as a compare-and-set on that status together with its side effects (the
//! job it enqueues, the asset it creates, the quota it gives back, the counters): a change
//! that lost a race changes nothing.

mod records;
pub mod rows;
pub mod sql;

pub use records::{
    ApiKeyRecord, AssetRecord, ImportProgress, ImportedFile, JobRecord, KeyOrigin, ModelRecord, ProjectRecord,
    Revocation, Role, SigningSecret, ThumbnailRecord, UploadRecord,
};
pub use sql::SqlStore;

use crate::domain::{ProjectId, UploadId};
use crate::Result;
use async_trait::async_trait;
use intake_api::{Kind, Status};

/// Opens (creating if needed) the SQLite database at `path`, applying migrations.
pub async fn open_sqlite(path: &std::path::Path) -> Result<SqlStore> {
    SqlStore::open_sqlite(path).await
}

/// Connects to PostgreSQL at `url` with at most `max_connections`, applying migrations.
pub async fn connect_postgres(url: &str, max_connections: u32) -> Result<SqlStore> {
    SqlStore::connect_postgres(url, max_connections).await
}

/// Uploads: created, read, listed, and moved through their lifecycle.
#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Stores a new multipart upload (status `pending`) unless its project is at a limit:
    /// `limits.max_pending` uploads pending, or its quota too small for the upload's
    /// `reserved_bytes`. The check is exact under racing creates, on every instance.
    async fn insert_upload(&self, upload: &UploadRecord, limits: &ProjectLimits) -> Result<Admission>;
    /// Stores a new import (url, Hugging Face or Civitai; status `pending`) and enqueues its
    /// job (id `upload.job_id`) in the [`Lane::Download`] lane, in one transaction, under the
    /// same limits as [`UploadStore::insert_upload`].
    async fn insert_import(&self, upload: &UploadRecord, now_ms: i64, limits: &ProjectLimits) -> Result<Admission>;
    /// The upload with this id, whoever owns it (callers check the owner).
    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>>;
    /// One page of `query.owner_id`'s uploads, for `GET /v1/uploads`.
    ///
    /// Contract (mirror it exactly in every store):
    /// - only rows with `owner_id = query.owner_id`, and, when set, `status = query.status`
    ///   and `kind = query.kind`;
    /// - ordered newest first by `(created_at DESC, id DESC)`, where `created_at` is the stored
    ///   RFC 3339 text with milliseconds in UTC (`2026-01-02T03:04:05.678Z`, so text order is
    ///   time order, compared byte-wise) and `id` breaks ties;
    /// - when `query.after` is set, only rows strictly after that cursor in this order
    ///   (keyset pagination: rows inserted meanwhile never shift a page);
    /// - at most `query.limit` rows.
    async fn list_uploads(&self, query: &UploadListQuery) -> Result<Vec<UploadRecord>>;
    /// What `owner_id` holds now: pending uploads and reserved bytes (kept as counters, so
    /// this is one row read however many uploads the project has).
    async fn project_usage(&self, owner_id: &str) -> Result<ProjectUsage>;
    /// Applies one lifecycle change to upload `upload_id`, if the lifecycle allows it from
    /// the status the row holds now, together with its side effects, in one transaction.
    /// `false` when it does not apply (the upload moved on, or is gone).
    async fn apply(&self, upload_id: &str, change: Change<'_>, now_ms: i64) -> Result<bool>;
    /// Replaces the `config` of a `pending` upload (what an import resolved to download).
    /// `false` if the upload was no longer `pending`.
    async fn set_upload_config(&self, upload_id: &str, config: &serde_json::Value, now_ms: i64) -> Result<bool>;
    /// Records a `pending` import's download progress; `false` if it was no longer `pending`.
    async fn set_import_progress(&self, upload_id: &str, progress: ImportProgress, now_ms: i64) -> Result<bool>;
    /// Reserves `bytes` of the project's quota for the pending import `upload_id` once its
    /// size is known (replacing what it reserved before), unless that takes the project past
    /// `quota_bytes`.
    async fn reserve_import_bytes(&self, upload_id: &str, bytes: u64, quota_bytes: Option<u64>) -> Result<Reservation>;
    /// Pending uploads whose time ran out before `now_ms`, oldest first, at most `limit`.
    async fn expired_uploads(&self, now_ms: i64, limit: u32) -> Result<Vec<UploadRecord>>;
}

/// The job queue: claims with a lease, fair across projects (see [`JobQueue::claim_job`]).
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Claims a runnable job of `policy.lane` (queued and due, or running with an expired
    /// lease) for `worker` until `lease_until_ms`, counting the attempt. Fair across
    /// projects: a project that holds `policy.per_project` jobs of the lane (counted on
    /// every instance that shares the store) gets no more — unless `policy.strict` is false
    /// and no other project has a due job waiting — and among the projects that may claim,
    /// the one holding the fewest, then the one served longest ago, goes first (round-robin
    /// across projects, not oldest-first); within a project, its oldest due job.
    async fn claim_job(
        &self,
        worker: &str,
        policy: &ClaimPolicy,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<Option<JobRecord>>;
    /// Extends a lease `worker` holds. `false` if the job is no longer its own.
    async fn extend_lease(&self, job_id: &str, worker: &str, lease_until_ms: i64) -> Result<bool>;
    /// Marks a job done (if `worker` still holds it).
    async fn finish_job(&self, job_id: &str, worker: &str) -> Result<()>;
    /// Puts a job back in its queue to run again at `run_after_ms`, recording why.
    async fn retry_job(&self, job_id: &str, worker: &str, run_after_ms: i64, error: &str) -> Result<()>;
    /// Gives back a job `worker` holds but did not finish (the process is stopping): queued
    /// again, runnable at `now_ms` by anyone, and the interrupted attempt not counted.
    async fn release_job(&self, job_id: &str, worker: &str, now_ms: i64) -> Result<bool>;
    /// Called once by a process that starts using the store, before its workers run; returns
    /// how many jobs it put back in the queue. A store that one process owns (SQLite)
    /// re-queues every job left `running`: whoever held those leases is gone (their attempts
    /// stay counted). A store that many processes share (PostgreSQL) re-queues nothing: the
    /// `running` jobs belong to other live instances, and a dead instance's jobs become
    /// claimable once their lease runs out.
    async fn recover_at_startup(&self) -> Result<u64>;
    /// The queue's depth and age (for `/metrics`).
    async fn job_queue_stats(&self, now_ms: i64) -> Result<JobQueueStats>;
}

/// Assets and models, the entities uploads become.
#[async_trait]
pub trait EntityStore: Send + Sync {
    /// The asset with this id, whoever owns it.
    async fn asset(&self, id: &str) -> Result<Option<AssetRecord>>;
    /// The model with this id, whoever owns it.
    async fn model(&self, id: &str) -> Result<Option<ModelRecord>>;
    /// Models of every project in `id` order, strictly after `after` (from the first when
    /// `None`), at most `limit`: keyset pagination for the jobs that walk every model
    /// (`intake models scan`) without loading them all at once.
    async fn models_after(&self, after: Option<&str>, limit: u32) -> Result<Vec<ModelRecord>>;
}

/// Projects, API keys and the install's URL-signing secrets. Every change here also changes
/// [`KeyStore::credentials_generation`], which running instances poll to reload.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The current URL-signing secret, created on first use (the same for every instance
    /// that shares this store).
    async fn signing_secret(&self) -> Result<Vec<u8>>;
    /// Every generation of the signing secret kept, newest (the current one) first; the first
    /// is created on first use.
    async fn signing_secrets(&self) -> Result<Vec<SigningSecret>>;
    /// Makes a new secret current: the current one is retired at `now_ms` (it keeps
    /// verifying), and secrets retired before `forget_retired_before_ms` are deleted.
    async fn rotate_signing_secret(&self, now_ms: i64, forget_retired_before_ms: i64) -> Result<SigningSecret>;
    /// Every API key, revoked ones too, oldest first.
    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>>;
    /// Inserts a key, or replaces the key of the same name; its projects are recorded too
    /// (named after their ids) if they are not yet.
    async fn put_api_key(&self, key: &ApiKeyRecord) -> Result<()>;
    /// Revokes a key kept in the database at `now` (RFC 3339).
    async fn revoke_api_key(&self, api_key: &str, now: &str) -> Result<Revocation>;
    /// Stores a new project; `false` if one with its id exists.
    async fn insert_project(&self, project: &ProjectRecord) -> Result<bool>;
    /// The project with this id.
    async fn project(&self, id: &str) -> Result<Option<ProjectRecord>>;
    /// Every project, by id.
    async fn projects(&self) -> Result<Vec<ProjectRecord>>;
    /// A value that changes whenever a key, a project or a signing secret changes.
    async fn credentials_generation(&self) -> Result<Vec<u8>>;
}

/// Gauges kept as counters in the same transactions as the changes they count, so reading
/// them costs the same at a thousand uploads as at a million.
#[async_trait]
pub trait Counters: Send + Sync {
    /// A round trip to the database: `Ok` when it answers.
    async fn ping(&self) -> Result<()>;
    /// How many uploads there are of each status and kind.
    async fn upload_counts(&self) -> Result<Vec<(Status, Kind, u64)>>;
}

/// Everything intake keeps besides file bytes.
pub trait MetadataStore: UploadStore + JobQueue + EntityStore + KeyStore + Counters {}

impl<T: UploadStore + JobQueue + EntityStore + KeyStore + Counters> MetadataStore for T {}

/// A lifecycle change, with what it records (see [`UploadStore::apply`]). Each is one event
/// of [`crate::domain::lifecycle`].
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// A multipart upload's parts are sealed: `pending → complete`, and its processing job
    /// (id `job_id`) is enqueued in [`Lane::Process`].
    Completed { job_id: &'a str },
    /// An import's bytes are stored: `pending → complete` with what was downloaded; its job
    /// moves from [`Lane::Download`] to [`Lane::Process`] (a validation worker takes it, the
    /// download slot is free), its attempts counted afresh.
    Downloaded { file: &'a ImportedFile },
    /// `complete → validating`.
    ValidationStarted,
    /// `validating → validated`, keeping what validation found for the next step.
    Validated { findings: &'a serde_json::Value },
    /// `validated → imported`, inserting the asset in the same transaction.
    ImportedAsset { asset: &'a AssetRecord },
    /// `validated → imported`, inserting the model in the same transaction.
    ImportedModel { model: &'a ModelRecord },
    /// Any live status `→ failed` with a message a person can act on; the upload's reserved
    /// bytes go back to its project.
    Failed { message: &'a str },
    /// Like [`Change::Failed`], but only for a `pending` upload whose time ran out.
    Expired { message: &'a str },
}

/// The two kinds of work, each with its own workers, so slow downloads never starve
/// validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Imports downloading their file.
    Download,
    /// Everything from `complete` on: validating and creating the asset or model.
    Process,
}

impl Lane {
    /// The name stored in `jobs.lane`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Download => "download",
            Lane::Process => "process",
        }
    }

    /// The lane a stored name names.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "download" => Some(Lane::Download),
            "process" => Some(Lane::Process),
            _ => None,
        }
    }
}

/// How a worker of one lane claims (see [`JobQueue::claim_job`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimPolicy {
    pub lane: Lane,
    /// The most jobs of this lane one project may hold at once (at least 1).
    pub per_project: u32,
    /// `true`: the cap always holds (downloads last minutes, so a latecomer must find a free
    /// slot at once). `false`: it holds only while another project has due work waiting.
    pub strict: bool,
}

/// The limits a project's new uploads are held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectLimits {
    /// Uploads one project may have pending at once.
    pub max_pending: u64,
    /// Bytes one project may hold (stored files plus the declared sizes of unfinished
    /// uploads); `None`: no quota.
    pub quota_bytes: Option<u64>,
}

/// What a project holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProjectUsage {
    /// Uploads pending (multipart not yet completed, imports downloading).
    pub pending: u64,
    /// Bytes reserved by its uploads that did not fail (stored, processing or announced).
    pub bytes: u64,
}

/// What [`UploadStore::insert_upload`] and [`UploadStore::insert_import`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Stored,
    /// Refused: the project already has `pending` uploads pending.
    ProjectFull {
        pending: u64,
    },
    /// Refused: the project holds `used` bytes, and the upload's bytes would pass `quota`.
    OverQuota {
        used: u64,
        quota: u64,
    },
}

/// What [`UploadStore::reserve_import_bytes`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    Reserved,
    /// Refused: the project holds `used` bytes (not counting this import), and the import
    /// would pass `quota`.
    OverQuota {
        used: u64,
        quota: u64,
    },
    /// The upload is not a pending upload (any more).
    NotPending,
}

/// What [`UploadStore::list_uploads`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadListQuery {
    /// The project whose uploads are listed.
    pub owner_id: ProjectId,
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
    pub id: UploadId,
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
        Some(Self { created_at: created_at.to_string(), id: UploadId::parse(id)? })
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
