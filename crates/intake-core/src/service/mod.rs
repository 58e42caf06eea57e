//! The use-cases, called by the HTTP handlers and by the background jobs alike. Nothing
//! here knows about HTTP: requests arrive as parsed values, answers leave as wire types or
//! [`crate::Error`]s.

pub mod auth;
mod entities;
mod expiry;
mod imports;
mod parts;
mod pipeline;
mod uploads;

pub use auth::{Authenticator, Caller, KeySpec};
pub use entities::FileDownload;
pub use expiry::{SweepReport, SweepScope};
pub use parts::PartRequest;
pub use pipeline::{ProcessOutcome, StoredFindings};
pub use uploads::{CreateOutcome, ListRequest, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

use crate::blob::BlobStore;
use crate::import::{ImportClient, ImportConfig};
use crate::metadata::MetadataStore;
use crate::signing::Signer;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Settings the use-cases need.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Base of the URLs intake hands out (part and file URLs), without a trailing slash.
    pub public_url: String,
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
}

/// The use-cases over one metadata store and one blob store.
pub struct Service {
    meta: Arc<dyn MetadataStore>,
    blobs: Arc<dyn BlobStore>,
    signer: Signer,
    config: ServiceConfig,
    jobs_waiting: Arc<Notify>,
    /// The guarded HTTP client of imports.
    importer: ImportClient,
    /// Turns true when the server begins to stop: running downloads pause (their bytes are
    /// kept) and resume when the server starts again.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Service {
    /// Builds the service; the signing secret comes from the metadata store.
    pub async fn new(
        meta: Arc<dyn MetadataStore>,
        blobs: Arc<dyn BlobStore>,
        config: ServiceConfig,
    ) -> crate::Result<Self> {
        let signer = Signer::new(meta.signing_secret().await?);
        let importer = ImportClient::new(&config.import)?;
        let (stopping, _) = tokio::sync::watch::channel(false);
        Ok(Self { meta, blobs, signer, config, jobs_waiting: Arc::new(Notify::new()), importer, stopping })
    }

    /// Tells running imports that the server is stopping: they stop downloading (keeping
    /// what they stored) and their jobs resume after the next start.
    pub fn begin_shutdown(&self) {
        self.stopping.send_replace(true);
    }

    /// The metadata store.
    pub fn metadata(&self) -> &Arc<dyn MetadataStore> {
        &self.meta
    }

    /// Checks that the database and the blob store both answer (for `/readyz`).
    pub async fn check_ready(&self) -> crate::Result<()> {
        self.meta.ping().await?;
        self.blobs.ping().await
    }

    /// Woken whenever a job is enqueued, so idle workers start at once.
    pub fn jobs_waiting(&self) -> &Arc<Notify> {
        &self.jobs_waiting
    }
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
