//! `intake serve`: the Uploads API service (HTTP API and background workers).

use anyhow::Context;
use intake_core::blob::s3::S3Config;
use intake_core::import::{AddressPolicy, ImportConfig};
use intake_core::service::KeySpec;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Settings of `intake serve`; every flag also reads an `INTAKE_*` variable.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "INTAKE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory for the database and the stored files.
    #[arg(long, env = "INTAKE_DATA_DIR", default_value = "intake-data")]
    data_dir: PathBuf,
    /// Base URL clients reach this server at (behind a proxy); default http://<listen>.
    #[arg(long, env = "INTAKE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Lifetime of part URLs, in seconds.
    #[arg(long, env = "INTAKE_PART_URL_TTL", default_value_t = 3600)]
    part_url_ttl: u64,
    /// Lifetime of file download URLs, in seconds.
    #[arg(long, env = "INTAKE_FILE_URL_TTL", default_value_t = 3600)]
    file_url_ttl: u64,
    /// How long a multipart upload may stay pending, in seconds.
    #[arg(long, env = "INTAKE_UPLOAD_TTL", default_value_t = 86_400)]
    upload_ttl: u64,
    /// API keys: key:secret:projectId[;projectId…], comma-separated. When unset, a key is
    /// created on first start and kept in the data directory.
    #[arg(long, env = "INTAKE_API_KEYS", hide_env_values = true)]
    api_keys: Option<String>,
    /// Jobs processed at once.
    #[arg(long, env = "INTAKE_WORKERS", default_value_t = 2)]
    workers: usize,
    /// Seconds a job's claim lasts without a heartbeat.
    #[arg(long, env = "INTAKE_JOB_LEASE", default_value_t = 30)]
    job_lease: u64,
    /// PostgreSQL for metadata and jobs (postgres://user:password@host:5432/db), shared by
    /// any number of instances. Unset: SQLite in the data directory.
    #[arg(long, env = "INTAKE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Connections this instance keeps to PostgreSQL at most.
    #[arg(long, env = "INTAKE_DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    database_max_connections: u32,
    /// Seconds a job in hand may go on after a stop signal before it is given back (its
    /// lease released for the next start or another process).
    #[arg(long, env = "INTAKE_SHUTDOWN_GRACE", default_value_t = 5)]
    shutdown_grace: u64,
    /// Largest file an import (url, Hugging Face, Civitai) may fetch, in bytes.
    #[arg(long, env = "INTAKE_IMPORT_MAX_BYTES", default_value_t = 50 * 1024 * 1024 * 1024)]
    import_max_bytes: u64,
    /// Let imports reach loopback, private and other non-public addresses. For local
    /// testing only: it opens the server to SSRF.
    #[arg(long, env = "INTAKE_IMPORT_ALLOW_PRIVATE", default_value = "false", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    import_allow_private: bool,
    /// Non-public addresses imports may reach anyway (an internal mirror), comma-separated IPs.
    #[arg(long, env = "INTAKE_IMPORT_ALLOW_ADDRESSES", value_delimiter = ',')]
    import_allow_addresses: Vec<std::net::IpAddr>,
    /// Seconds allowed to connect to an import's origin.
    #[arg(long, env = "INTAKE_IMPORT_CONNECT_TIMEOUT", default_value_t = 10)]
    import_connect_timeout: u64,
    /// Seconds an import's origin may stay silent mid-response before the read times out.
    #[arg(long, env = "INTAKE_IMPORT_READ_TIMEOUT", default_value_t = 60)]
    import_read_timeout: u64,
    /// Failed attempts in a row (without progress) before an import fails.
    #[arg(long, env = "INTAKE_IMPORT_RETRIES", default_value_t = 4)]
    import_retries: u32,
    /// Base URL of the Hugging Face Hub.
    #[arg(long, env = "INTAKE_HF_ENDPOINT", default_value = "https://huggingface.co")]
    hf_endpoint: String,
    /// Hugging Face token, for gated and private repos.
    #[arg(long, env = "HF_TOKEN", hide_env_values = true)]
    hf_token: Option<String>,
    /// Base URL of Civitai.
    #[arg(long, env = "INTAKE_CIVITAI_ENDPOINT", default_value = "https://civitai.com")]
    civitai_endpoint: String,
    /// Civitai API key, for downloads that need a login.
    #[arg(long, env = "CIVITAI_TOKEN", hide_env_values = true)]
    civitai_token: Option<String>,
    /// The largest fileSize accepted, in bytes (default: 10,000 parts of 5 GiB).
    #[arg(long, env = "INTAKE_MAX_FILE_SIZE")]
    max_file_size: Option<u64>,
    /// Uploads one project may have pending at once.
    #[arg(long, env = "INTAKE_MAX_PENDING_UPLOADS", default_value_t = 1000)]
    max_pending_uploads: u64,
    /// /v1 requests a second per API key (0 turns rate limiting off).
    #[arg(long, env = "INTAKE_RATE_LIMIT", default_value_t = 50.0)]
    rate_limit: f64,
    /// Requests a key may send at once above the rate.
    #[arg(long, env = "INTAKE_RATE_LIMIT_BURST", default_value_t = 200)]
    rate_limit_burst: u32,
    /// Seconds a part body may send nothing before it is cut off (408).
    #[arg(long, env = "INTAKE_BODY_IDLE_TIMEOUT", default_value_t = 30)]
    body_idle_timeout: u64,
    #[command(flatten)]
    s3: S3Args,
}

/// An S3-compatible store for the files. Unset: the local disk in the data directory.
#[derive(clap::Args)]
struct S3Args {
    /// Base URL of the S3 API; clients PUT parts to it, so it must be reachable by them.
    #[arg(long, env = "INTAKE_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// Bucket that holds the files.
    #[arg(long, env = "INTAKE_S3_BUCKET")]
    s3_bucket: Option<String>,
    /// Region name used in signatures (Garage: the s3_region of its config, `garage` by default).
    #[arg(long, env = "INTAKE_S3_REGION", default_value = "us-east-1")]
    s3_region: String,
    /// Access key id.
    #[arg(long, env = "INTAKE_S3_ACCESS_KEY_ID")]
    s3_access_key_id: Option<String>,
    /// Secret access key.
    #[arg(long, env = "INTAKE_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    s3_secret_access_key: Option<String>,
    /// Path-style URLs (endpoint/bucket/key: Garage, MinIO, Ceph) instead of virtual-host
    /// style (bucket.endpoint/key: AWS).
    #[arg(long, env = "INTAKE_S3_PATH_STYLE", default_value_t = false, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    s3_path_style: bool,
}

impl S3Args {
    /// The store's settings, `None` when none is given; an error names what is missing.
    fn config(self) -> anyhow::Result<Option<S3Config>> {
        let given = [&self.s3_endpoint, &self.s3_bucket, &self.s3_access_key_id, &self.s3_secret_access_key];
        if given.iter().all(|v| v.is_none()) {
            return Ok(None);
        }
        let names =
            ["INTAKE_S3_ENDPOINT", "INTAKE_S3_BUCKET", "INTAKE_S3_ACCESS_KEY_ID", "INTAKE_S3_SECRET_ACCESS_KEY"];
        let missing: Vec<&str> =
            given.iter().zip(names).filter(|(v, _)| v.as_deref().is_none_or(str::is_empty)).map(|(_, n)| n).collect();
        if !missing.is_empty() {
            anyhow::bail!("S3 storage is partly configured: set {} too (or none of INTAKE_S3_*)", missing.join(", "));
        }
        Ok(Some(S3Config {
            endpoint: self.s3_endpoint.unwrap_or_default(),
            bucket: self.s3_bucket.unwrap_or_default(),
            region: self.s3_region,
            access_key_id: self.s3_access_key_id.unwrap_or_default(),
            secret_access_key: self.s3_secret_access_key.unwrap_or_default(),
            path_style: self.s3_path_style,
        }))
    }
}

/// Runs the service until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let api_keys = match args.api_keys.as_deref() {
        Some(list) => KeySpec::parse_list(list).map_err(anyhow::Error::msg).context("INTAKE_API_KEYS")?,
        None => Vec::new(),
    };
    let config = intake_server::Config {
        listen: args.listen,
        data_dir: args.data_dir,
        public_url: args.public_url,
        part_url_ttl: Duration::from_secs(args.part_url_ttl),
        file_url_ttl: Duration::from_secs(args.file_url_ttl),
        upload_ttl: Duration::from_secs(args.upload_ttl),
        api_keys,
        workers: args.workers,
        job_lease: Duration::from_secs(args.job_lease.max(3)),
        database_url: args.database_url.filter(|u| !u.is_empty()),
        database_max_connections: args.database_max_connections,
        s3: args.s3.config()?,
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        import: ImportConfig {
            max_bytes: args.import_max_bytes,
            addresses: AddressPolicy { allow_private: args.import_allow_private, allowed: args.import_allow_addresses },
            hf_endpoint: args.hf_endpoint.trim_end_matches('/').to_string(),
            hf_token: args.hf_token.filter(|t| !t.is_empty()),
            civitai_endpoint: args.civitai_endpoint.trim_end_matches('/').to_string(),
            civitai_token: args.civitai_token.filter(|t| !t.is_empty()),
            connect_timeout: Duration::from_secs(args.import_connect_timeout.max(1)),
            read_timeout: Duration::from_secs(args.import_read_timeout.max(1)),
            max_retries: args.import_retries,
            ..ImportConfig::default()
        },
        max_file_size: args.max_file_size.unwrap_or(intake_core::domain::create::MAX_FILE_SIZE),
        max_pending_uploads: args.max_pending_uploads,
        rate_limit_per_second: args.rate_limit,
        rate_limit_burst: args.rate_limit_burst,
        body_idle_timeout: Duration::from_secs(args.body_idle_timeout.max(1)),
    };
    if config.import.addresses.allow_private {
        tracing::warn!(
            "INTAKE_IMPORT_ALLOW_PRIVATE is on: imports may reach loopback and private addresses (testing only)"
        );
    }
    let where_data_lives = match (&config.database_url, &config.s3) {
        (Some(_), Some(s3)) => format!("metadata in PostgreSQL, files in bucket {}", s3.bucket),
        (None, Some(s3)) => format!("metadata in {}, files in bucket {}", config.data_dir.display(), s3.bucket),
        (Some(_), None) => format!("metadata in PostgreSQL, files in {}", config.data_dir.display()),
        (None, None) => format!("data in {}", config.data_dir.display()),
    };
    let mut app = intake_server::Application::build(config).await.context("starting intake")?;
    if let Some(key) = app.take_created_key() {
        println!("Created an API key (shown only this once; keep the secret safe):");
        println!("  INTAKE_API_KEY={}", key.api_key);
        println!("  INTAKE_API_SECRET={}", key.api_secret);
        println!("  project: {}", key.project_id);
    }
    println!("intake listening on http://{} ({})", app.local_addr(), where_data_lives);
    app.run_until_stopped(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing in-flight requests and jobs");
}
