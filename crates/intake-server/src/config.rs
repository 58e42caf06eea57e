//! The server's settings, typed: what [`crate::settings::Settings`] (flags, `INTAKE_*`
//! variables, the settings file, the defaults) becomes once checked. The defaults live
//! there, once; `Config::default()` is those defaults.

use crate::settings::Settings;
use intake_core::blob::s3::S3Config;
use intake_core::import::ImportConfig;
use intake_core::service::KeySpec;
use intake_core::validate::PicklePolicy;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything `intake serve` can be told; each field names its setting.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`INTAKE_LISTEN`).
    pub listen: SocketAddr,
    /// Where the database and blobs live (`INTAKE_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Base URL clients reach this server at, for part and file URLs (`INTAKE_PUBLIC_URL`);
    /// default `http://<listen address>`.
    pub public_url: Option<String>,
    /// Lifetime of part URLs (`INTAKE_PART_URL_TTL`).
    pub part_url_ttl: Duration,
    /// Lifetime of file download URLs (`INTAKE_FILE_URL_TTL`).
    pub file_url_ttl: Duration,
    /// How long a multipart upload may stay pending (`INTAKE_UPLOAD_TTL`).
    pub upload_ttl: Duration,
    /// API keys (`INTAKE_API_KEYS`); when empty, keys kept in the database are used and one
    /// is created on first start.
    pub api_keys: Vec<KeySpec>,
    /// Uploads validated and imported at once (`INTAKE_WORKERS`).
    pub workers: usize,
    /// Imports downloading at once, on their own slots (`INTAKE_IMPORT_WORKERS`).
    pub import_workers: usize,
    /// Claims of a job before its upload fails for good (`INTAKE_JOB_MAX_ATTEMPTS`).
    pub job_max_attempts: u32,
    /// How long a job's claim lasts without a heartbeat (`INTAKE_JOB_LEASE`).
    pub job_lease: Duration,
    /// After a stop signal, how long a job in hand may go on before it is given back, its
    /// lease released (`INTAKE_SHUTDOWN_GRACE`).
    pub shutdown_grace: Duration,
    /// Imports from a URL, Hugging Face and Civitai (`INTAKE_IMPORT_*`, `INTAKE_HF_ENDPOINT`,
    /// `HF_TOKEN`, `INTAKE_CIVITAI_ENDPOINT`, `CIVITAI_TOKEN`).
    pub import: ImportConfig,
    /// PostgreSQL for metadata and jobs (`INTAKE_DATABASE_URL=postgres://…`), shared by any
    /// number of instances; `None` keeps SQLite in `data_dir` (one instance).
    pub database_url: Option<String>,
    /// Connections this instance keeps to PostgreSQL at most (`INTAKE_DATABASE_MAX_CONNECTIONS`).
    pub database_max_connections: u32,
    /// Whether starting applies the database migrations (the default) or only checks that
    /// `intake migrate` applied them (`--no-migrate`, `INTAKE_NO_MIGRATE`).
    pub schema: intake_core::metadata::sql::schema::Schema,
    /// An S3-compatible store for file bytes (`INTAKE_S3_*`); `None` keeps them in `data_dir`.
    pub s3: Option<S3Config>,
    /// The largest `fileSize` accepted, in bytes (`INTAKE_MAX_FILE_SIZE`); never above the
    /// API's own [`intake_api::MAX_FILE_SIZE`], which the create body's parser enforces.
    pub max_file_size: u64,
    /// Uploads one project may have pending at once (`INTAKE_MAX_PENDING_UPLOADS`).
    pub max_pending_uploads: u64,
    /// Bytes one project may hold (`INTAKE_PROJECT_QUOTA_BYTES`; `None`: no quota).
    pub project_quota_bytes: Option<u64>,
    /// Free bytes kept on the data directory's disk: below it creates and part PUTs answer
    /// 507 (`INTAKE_MIN_FREE_BYTES`).
    pub min_free_bytes: u64,
    /// `/v1` requests a second per API key (`INTAKE_RATE_LIMIT`).
    pub rate_limit_per_second: f64,
    /// Requests a key may send at once above the rate (`INTAKE_RATE_LIMIT_BURST`).
    pub rate_limit_burst: u32,
    /// A part PUT whose body sends nothing for this long is cut off with 408
    /// (`INTAKE_BODY_IDLE_TIMEOUT`).
    pub body_idle_timeout: Duration,
    /// Validating one file may take this long; past it the upload fails with a reason
    /// (`INTAKE_VALIDATE_TIMEOUT`).
    pub validate_timeout: Duration,
    /// Connections served at once (`INTAKE_MAX_CONNECTIONS`); past it new
    /// ones wait in the kernel's backlog until one closes.
    pub max_connections: usize,
    /// A connection that has not sent a request's complete headers this long after it was
    /// accepted, or after the first byte of its next request, is closed
    /// (`INTAKE_HEADER_READ_TIMEOUT`).
    pub header_read_timeout: Duration,
    /// A connection with no request in flight is closed after this long
    /// (`INTAKE_KEEPALIVE_TIMEOUT`).
    pub keepalive_timeout: Duration,
    /// Failed authentications one client address may make in a minute; more answer 429
    /// until the minute is over (`INTAKE_AUTH_FAILURES_PER_MINUTE`).
    pub auth_failures_per_minute: u32,
    /// When set, `/metrics` needs `Authorization: Bearer <token>` (`INTAKE_METRICS_TOKEN`).
    pub metrics_token: Option<String>,
    /// The imports a model's pickles may make: torch's `weights_only` list, NumPy's array
    /// reconstruction, and the exact `module.name` entries of `INTAKE_PICKLE_ALLOW`.
    pub pickle_policy: PicklePolicy,
    /// Images over `max_pixels` (`INTAKE_THUMBNAIL_MAX_PIXELS`, default 100 megapixels; 0
    /// turns thumbnails off) or whose decode needs more than `max_memory` bytes
    /// (`INTAKE_THUMBNAIL_MAX_MEMORY`, default 256 MiB) get no thumbnail.
    pub thumbnails: intake_core::thumbnail::ThumbnailLimits,
}

impl Default for Config {
    /// Every setting at its default ([`Settings::default`]), whatever the environment holds.
    fn default() -> Self {
        Settings::default().into_config().expect("the default settings are valid")
    }
}
