//! The use-cases, called by the HTTP handlers and by the background jobs alike. Nothing
//! here knows about HTTP: requests arrive as parsed values, answers leave as wire types or
//! [`crate::Error`]s.

pub mod auth;
mod entities;
mod expiry;
mod imports;
mod key_admin;
mod model_scan;
mod parts;
mod pipeline;
mod uploads;

mod space;
mod thumbnails;

pub use auth::{Authenticator, Caller, KeySpec};
pub use entities::FileDownload;
pub use expiry::{SweepReport, SweepScope};
pub use key_admin::{MAX_ACTIVE_KEYS_PER_PROJECT, MAX_KEYS_PER_PROJECT, MAX_KEY_NAME_CHARS};
pub use model_scan::{scan_stored_models, ModelScanReport, RefusedModel, UnreadModel};
pub use parts::PartRequest;
pub use pipeline::{ProcessOutcome, StoredFindings};
pub use uploads::{CreateOutcome, ListRequest, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

use crate::blob::BlobStore;
use crate::import::{ImportClient, ImportConfig};
use crate::links::Links;
use crate::metadata::{Counters, JobQueue, Lane, MetadataStore, ProjectLimits};
use crate::signing::{Grant, Signer};
use crate::thumbnail::ThumbnailLimits;
use crate::validate::PicklePolicy;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Settings the use-cases need.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Writes the part, file and thumbnail URLs intake hands out (the server's routes).
    pub links: Arc<dyn Links>,
    /// How long a part URL stays valid.
    pub part_url_ttl: Duration,
    /// How long a file download URL stays valid.
    pub file_url_ttl: Duration,
    /// How long a multipart upload may stay pending.
    pub upload_ttl: Duration,
    /// How imports (url, Hugging Face, Civitai) behave.
    pub import: ImportConfig,
    /// The largest `fileSize` a multipart upload may announce.
    pub max_file_size: u64,
    /// How many uploads one project may have pending at once.
    pub max_pending_uploads: u64,
    /// Bytes one project may hold (stored files plus unfinished uploads' declared sizes);
    /// `None`: no quota (`INTAKE_PROJECT_QUOTA_BYTES`).
    pub project_quota_bytes: Option<u64>,
    /// Creates and part PUTs are refused (507) while the file system holding `local_dir`
    /// has less free space than this (`INTAKE_MIN_FREE_BYTES`).
    pub min_free_bytes: u64,
    /// The directory whose file system holds intake's own files (the SQLite database, the
    /// local-disk blobs); `None` when nothing is kept locally (PostgreSQL and S3).
    pub local_dir: Option<std::path::PathBuf>,
    /// How long validating one file may take before the upload fails.
    pub validate_timeout: Duration,
    /// The imports a model's pickles may make.
    pub pickle_policy: PicklePolicy,
    /// How much making one thumbnail may cost.
    pub thumbnails: ThumbnailLimits,
}

/// How long a retired signing secret keeps verifying: the longest URL lifetime, and a minute
/// more because instances read a rotation up to a few seconds late and sign with the retired
/// secret until then. The servers and `intake signing rotate` both use it.
pub fn retired_secret_grace(part_url_ttl: Duration, file_url_ttl: Duration) -> Duration {
    part_url_ttl.max(file_url_ttl).saturating_add(Duration::from_secs(60))
}

/// A signer of the newest secret that also verifies with retired ones for as long as a URL
/// they signed can live: the longest of the part and file URL lifetimes after retirement
/// (and a minute, for instances that read the rotation late).
async fn signer_of(meta: &dyn MetadataStore, config: &ServiceConfig) -> crate::Result<Signer> {
    let secrets = meta.signing_secrets().await?;
    let longest = retired_secret_grace(config.part_url_ttl, config.file_url_ttl).as_secs() as i64;
    let previous: Vec<(Vec<u8>, i64)> = secrets[1..]
        .iter()
        .filter_map(|s| s.retired_at_ms.map(|retired| (s.secret.clone(), retired.div_euclid(1000) + longest)))
        .collect();
    Ok(Signer::with_previous(&secrets[0].secret, &previous))
}

/// The use-cases over one metadata store and one blob store.
pub struct Service {
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
    /// The signer of the current secret generations, replaced when they change.
    signer: std::sync::RwLock<Arc<Signer>>,
    config: ServiceConfig,
    jobs_waiting: Arc<JobsWaiting>,
    /// The guarded HTTP client of imports.
    importer: ImportClient,
    /// Turns true when the server begins to stop: running downloads pause (their bytes are
    /// kept) and resume when the server starts again.
    stopping: tokio::sync::watch::Sender<bool>,
    /// The free space of `config.local_dir`, looked up at most once a second.
    free_space: space::FreeSpace,
    /// One thumbnail is decoded at a time per process, so its memory budget bounds the
    /// whole process, however many workers validate images.
    thumbnail_turn: tokio::sync::Semaphore,
}

impl Service {
    /// Builds the service; the signing secret comes from the metadata store.
    pub async fn new(
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        config: ServiceConfig,
    ) -> crate::Result<Self> {
        let signer = std::sync::RwLock::new(Arc::new(signer_of(meta.as_ref(), &config).await?));
        let importer = ImportClient::new(&config.import)?;
        let (stopping, _) = tokio::sync::watch::channel(false);
        let free_space = space::FreeSpace::new(config.local_dir.clone());
        Ok(Self {
            meta,
            blobs,
            signer,
            config,
            jobs_waiting: Arc::default(),
            importer,
            stopping,
            free_space,
            thumbnail_turn: tokio::sync::Semaphore::new(1),
        })
    }

    /// The signer to use now.
    pub(crate) fn signer(&self) -> Arc<Signer> {
        self.signer.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The URL granting `grant` for `ttl` from now, signed with the current secret.
    pub(crate) fn signed_url(&self, grant: Grant<'_>, ttl: Duration) -> String {
        let expires = chrono::Utc::now().timestamp() + ttl.as_secs() as i64;
        let signature = self.signer().sign(grant, expires);
        let mut url = String::with_capacity(160);
        self.config.links.write_url(grant, expires, &signature, &mut url);
        url
    }

    /// Reads the signing secrets again (after `intake signing rotate`, on any instance).
    pub async fn reload_signing(&self) -> crate::Result<()> {
        let fresh = Arc::new(signer_of(self.meta.as_ref(), &self.config).await?);
        *self.signer.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    /// Tells running imports that the server is stopping: they stop downloading (keeping
    /// what they stored) and their jobs resume after the next start.
    pub fn begin_shutdown(&self) {
        self.stopping.send_replace(true);
    }

    /// The job queue, for the job runner.
    pub fn jobs(&self) -> Arc<dyn JobQueue> {
        self.meta.clone()
    }

    /// The maintained counters, for `/metrics`.
    pub fn counters(&self) -> Arc<dyn Counters> {
        self.meta.clone()
    }

    /// The limits every new upload of a project is held to.
    pub(crate) fn project_limits(&self) -> ProjectLimits {
        ProjectLimits { max_pending: self.config.max_pending_uploads, quota_bytes: self.config.project_quota_bytes }
    }

    /// Whether clients PUT any upload's parts to intake (its `/parts` route): every part on
    /// the local disk, only an empty file's one empty part on S3.
    pub fn receives_parts(&self) -> bool {
        self.blobs.part_receiver().is_some()
    }

    /// Checks that the database and the blob store both answer (for `/readyz`).
    pub async fn check_ready(&self) -> crate::Result<()> {
        self.meta.ping().await?;
        self.blobs.ping().await
    }

    /// Woken whenever a job is enqueued in `lane`, so its idle workers start at once.
    pub fn jobs_waiting(&self, lane: Lane) -> &Notify {
        self.jobs_waiting.lane(lane)
    }
}

/// One wake-up signal per lane: a job enqueued for validation wakes a validation worker,
/// never a download worker that would find nothing to claim and go back to sleep while
/// the job waits for the next poll.
#[derive(Default)]
struct JobsWaiting {
    process: Notify,
    download: Notify,
}

impl JobsWaiting {
    fn lane(&self, lane: Lane) -> &Notify {
        match lane {
            Lane::Process => &self.process,
            Lane::Download => &self.download,
        }
    }
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
