//! Server settings. The `intake` binary fills them from flags and `INTAKE_*` variables.

use intake_core::blob::s3::S3Config;
use intake_core::import::ImportConfig;
use intake_core::service::KeySpec;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything `intake serve` can be told.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`INTAKE_LISTEN`, default `127.0.0.1:8080`; port 0 picks one).
    pub listen: SocketAddr,
    /// Where the database and blobs live (`INTAKE_DATA_DIR`, default `./intake-data`).
    pub data_dir: PathBuf,
    /// Base URL clients reach this server at, for part and file URLs (`INTAKE_PUBLIC_URL`);
    /// default `http://<listen address>`.
    pub public_url: Option<String>,
    /// Lifetime of part URLs (`INTAKE_PART_URL_TTL`, seconds, default 3600).
    pub part_url_ttl: Duration,
    /// Lifetime of file download URLs (`INTAKE_FILE_URL_TTL`, seconds, default 3600).
    pub file_url_ttl: Duration,
    /// How long a multipart upload may stay pending (`INTAKE_UPLOAD_TTL`, default 24 h).
    pub upload_ttl: Duration,
    /// API keys (`INTAKE_API_KEYS`); when empty, keys kept in the database are used and one
    /// is created on first start.
    pub api_keys: Vec<KeySpec>,
    /// Jobs processed at once (`INTAKE_WORKERS`, default 2).
    pub workers: usize,
    /// How long a job's claim lasts without a heartbeat (`INTAKE_JOB_LEASE`, default 30 s).
    pub job_lease: Duration,
    /// After a stop signal, how long a job in hand may go on before it is given back, its
    /// lease released (`INTAKE_SHUTDOWN_GRACE`, default 5 s).
    pub shutdown_grace: Duration,
    /// Imports from a URL, Hugging Face and Civitai (`INTAKE_IMPORT_*`, `INTAKE_HF_ENDPOINT`,
    /// `HF_TOKEN`, `INTAKE_CIVITAI_ENDPOINT`, `CIVITAI_TOKEN`).
    pub import: ImportConfig,
    /// PostgreSQL for metadata and jobs (`INTAKE_DATABASE_URL=postgres://…`), shared by any
    /// number of instances; `None` keeps SQLite in `data_dir` (one instance).
    pub database_url: Option<String>,
    /// Connections this instance keeps to PostgreSQL at most (`INTAKE_DATABASE_MAX_CONNECTIONS`).
    pub database_max_connections: u32,
    /// An S3-compatible store for file bytes (`INTAKE_S3_*`); `None` keeps them in `data_dir`.
    pub s3: Option<S3Config>,
    /// The largest `fileSize` accepted (`INTAKE_MAX_FILE_SIZE`, bytes; default the API's
    /// own limit, 10,000 parts of 5 GiB).
    pub max_file_size: u64,
    /// Uploads one project may have pending at once (`INTAKE_MAX_PENDING_UPLOADS`, default 1000).
    pub max_pending_uploads: u64,
    /// `/v1` requests a second per API key (`INTAKE_RATE_LIMIT`, default 50; 0 turns it off).
    pub rate_limit_per_second: f64,
    /// Requests a key may send at once above the rate (`INTAKE_RATE_LIMIT_BURST`, default 200).
    pub rate_limit_burst: u32,
    /// A part PUT whose body sends nothing for this long is cut off with 408
    /// (`INTAKE_BODY_IDLE_TIMEOUT`, seconds, default 30).
    pub body_idle_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            data_dir: PathBuf::from("intake-data"),
            public_url: None,
            part_url_ttl: Duration::from_secs(3600),
            file_url_ttl: Duration::from_secs(3600),
            upload_ttl: Duration::from_secs(24 * 3600),
            api_keys: Vec::new(),
            workers: 2,
            job_lease: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
            import: ImportConfig::default(),
            database_url: None,
            database_max_connections: 10,
            s3: None,
            max_file_size: intake_core::domain::create::MAX_FILE_SIZE,
            max_pending_uploads: 1000,
            rate_limit_per_second: 50.0,
            rate_limit_burst: 200,
            body_idle_timeout: Duration::from_secs(30),
        }
    }
}
