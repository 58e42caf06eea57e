//! Every setting of `intake serve`, in one table: [`Settings`]. Each field is one setting,
//! with its flag, its `INTAKE_*` variable, its default (written once, here) and its help.
//!
//! A value comes from, highest first: the command line flag, the environment variable, the
//! TOML file given with `--config` ([`mod@file`]), the default below. The file's keys are the
//! variable names without `INTAKE_`, in lower case (`listen`, `data_dir`, `hf_token`); a
//! test holds every setting to that rule and to a row in the README's settings table.
//!
//! An `INTAKE_*` variable or a file key that names no setting stops the start, with the
//! nearest known name ([`names`]); the variables that other parts of intake read (the
//! client's `INTAKE_URL`, the logs' `INTAKE_LOG`, the tests' `INTAKE_TEST_*`, …) are listed
//! there as known.
//!
//! To add a setting (say `INTAKE_THUMBNAIL_MAX_PIXELS`):
//!
//! 1. a field of [`Settings`], named as the variable without `INTAKE_` in lower case, with a
//!    doc comment (its `--help`) and its default, written here and nowhere else:
//!    `#[arg(long, env = "INTAKE_THUMBNAIL_MAX_PIXELS", default_value_t = 40_000_000)]
//!    pub thumbnail_max_pixels: u64,` (no default: an `Option<…>`; a list: a `Vec<…>` with
//!    `value_delimiter = ','`; a switch such as `--no-migrate`: a `bool`, and the file
//!    takes `true`/`false`);
//! 2. where it is used, the typed field of [`Config`] and its line in
//!    [`Settings::into_config`] (seconds become a `Duration` there, clamps go there);
//! 3. its row in the README's settings table: `every_setting_has_a_readme_row_…` fails,
//!    naming it, until the row is there with the flag and the default.
//!
//! The flag, the variable, the file key, the unknown-name check and `Config::default()`
//! follow from the field.

pub mod file;
pub mod names;
#[cfg(test)]
mod tests;

use crate::Config;
use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches};
use intake_core::blob::s3::S3Config;
use intake_core::import::{AddressPolicy, ImportConfig};
use intake_core::service::KeySpec;
use intake_core::validate::PicklePolicy;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The variable that names the settings file (flag `--config`).
pub const CONFIG_VAR: &str = "INTAKE_CONFIG";

/// Every setting of `intake serve`, as given (seconds as numbers, lists as text); see the
/// module documentation for where each value comes from. [`Settings::into_config`] checks
/// and types them.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "INTAKE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the database and the stored files.
    #[arg(long, env = "INTAKE_DATA_DIR", default_value = "intake-data")]
    pub data_dir: PathBuf,
    /// Base URL clients reach this server at (behind a proxy); default `http://<listen>`.
    #[arg(long, env = "INTAKE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Lifetime of part URLs, in seconds.
    #[arg(long, env = "INTAKE_PART_URL_TTL", default_value_t = 3600)]
    pub part_url_ttl: u64,
    /// Lifetime of file download URLs, in seconds.
    #[arg(long, env = "INTAKE_FILE_URL_TTL", default_value_t = 3600)]
    pub file_url_ttl: u64,
    /// How long a multipart upload may stay pending, in seconds.
    #[arg(long, env = "INTAKE_UPLOAD_TTL", default_value_t = 86_400)]
    pub upload_ttl: u64,
    /// API keys: key:secret:projectId[;projectId…], comma-separated. When unset, a key is
    /// created on first start and kept in the data directory.
    #[arg(long, env = "INTAKE_API_KEYS", hide_env_values = true, value_delimiter = ',')]
    pub api_keys: Vec<String>,
    /// Uploads validated and imported at once.
    #[arg(long, env = "INTAKE_WORKERS", default_value_t = 2)]
    pub workers: usize,
    /// Imports downloading at once (their own slots, apart from INTAKE_WORKERS).
    #[arg(long, env = "INTAKE_IMPORT_WORKERS", default_value_t = 4)]
    pub import_workers: usize,
    /// Claims of a job (each counted when claimed) before its upload fails for good.
    #[arg(long, env = "INTAKE_JOB_MAX_ATTEMPTS", default_value_t = 5)]
    pub job_max_attempts: u32,
    /// Seconds a job's claim lasts without a heartbeat (at least 3).
    #[arg(long, env = "INTAKE_JOB_LEASE", default_value_t = 30)]
    pub job_lease: u64,
    /// PostgreSQL for metadata and jobs (postgres://user:password@host:5432/db), shared by
    /// any number of instances. Unset: SQLite in the data directory.
    #[arg(long, env = "INTAKE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Connections this instance keeps to PostgreSQL at most.
    #[arg(long, env = "INTAKE_DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,
    /// Do not apply database migrations at start; refuse to start if any is missing (run
    /// `intake migrate` first, with a role that may change the schema).
    #[arg(long, env = "INTAKE_NO_MIGRATE", default_value_t = false, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub no_migrate: bool,
    /// Seconds a job in hand may go on after a stop signal before it is given back (its
    /// lease released for the next start or another process).
    #[arg(long, env = "INTAKE_SHUTDOWN_GRACE", default_value_t = 5)]
    pub shutdown_grace: u64,
    /// Largest file an import (url, Hugging Face, Civitai) may fetch, in bytes.
    #[arg(long, env = "INTAKE_IMPORT_MAX_BYTES", default_value_t = 50 * 1024 * 1024 * 1024)]
    pub import_max_bytes: u64,
    /// Let imports reach loopback, private and other non-public addresses. For local
    /// testing only: it opens the server to SSRF.
    #[arg(long, env = "INTAKE_IMPORT_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub import_allow_private: bool,
    /// Non-public addresses imports may reach anyway (an internal mirror), comma-separated IPs.
    #[arg(long, env = "INTAKE_IMPORT_ALLOW_ADDRESSES", value_delimiter = ',')]
    pub import_allow_addresses: Vec<IpAddr>,
    /// Seconds allowed to connect to an import's origin.
    #[arg(long, env = "INTAKE_IMPORT_CONNECT_TIMEOUT", default_value_t = 10)]
    pub import_connect_timeout: u64,
    /// Seconds an import's origin may stay silent mid-response before the read times out.
    #[arg(long, env = "INTAKE_IMPORT_READ_TIMEOUT", default_value_t = 60)]
    pub import_read_timeout: u64,
    /// Failed attempts in a row (without progress) before an import fails.
    #[arg(long, env = "INTAKE_IMPORT_RETRIES", default_value_t = 4)]
    pub import_retries: u32,
    /// Bytes a second an import's origin must deliver on average (over the rate window).
    #[arg(long, env = "INTAKE_IMPORT_MIN_RATE", default_value_t = 16_384)]
    pub import_min_rate: u64,
    /// Seconds the import minimum rate is averaged over.
    #[arg(long, env = "INTAKE_IMPORT_RATE_WINDOW", default_value_t = 60)]
    pub import_rate_window: u64,
    /// Seconds an import may take at most, retries included.
    #[arg(long, env = "INTAKE_IMPORT_MAX_DURATION", default_value_t = 21_600)]
    pub import_max_duration: u64,
    /// Base URL of the Hugging Face Hub.
    #[arg(long, env = "INTAKE_HF_ENDPOINT", default_value = "https://huggingface.co")]
    pub hf_endpoint: String,
    /// Hugging Face token, for gated and private repos.
    #[arg(long, env = "HF_TOKEN", hide_env_values = true)]
    pub hf_token: Option<String>,
    /// Base URL of Civitai.
    #[arg(long, env = "INTAKE_CIVITAI_ENDPOINT", default_value = "https://civitai.com")]
    pub civitai_endpoint: String,
    /// Civitai API key, for downloads that need a login.
    #[arg(long, env = "CIVITAI_TOKEN", hide_env_values = true)]
    pub civitai_token: Option<String>,
    /// The largest fileSize accepted, in bytes (default: the API's largest file, 5 TiB).
    #[arg(long, env = "INTAKE_MAX_FILE_SIZE", default_value_t = intake_api::MAX_FILE_SIZE)]
    pub max_file_size: u64,
    /// Uploads one project may have pending at once.
    #[arg(long, env = "INTAKE_MAX_PENDING_UPLOADS", default_value_t = 1000)]
    pub max_pending_uploads: u64,
    /// Bytes one project may hold: stored files plus the declared sizes of its unfinished
    /// uploads (413 past it). Unset: no quota.
    #[arg(long, env = "INTAKE_PROJECT_QUOTA_BYTES")]
    pub project_quota_bytes: Option<u64>,
    /// Free bytes kept on the disk of the data directory: below it, creates and part PUTs
    /// answer 507 (reads keep working).
    #[arg(long, env = "INTAKE_MIN_FREE_BYTES", default_value_t = 1024 * 1024 * 1024)]
    pub min_free_bytes: u64,
    /// /v1 requests a second per API key (0 turns rate limiting off).
    #[arg(long, env = "INTAKE_RATE_LIMIT", default_value_t = 50.0)]
    pub rate_limit: f64,
    /// Requests a key may send at once above the rate.
    #[arg(long, env = "INTAKE_RATE_LIMIT_BURST", default_value_t = 200)]
    pub rate_limit_burst: u32,
    /// Seconds a part body may send nothing before it is cut off (408).
    #[arg(long, env = "INTAKE_BODY_IDLE_TIMEOUT", default_value_t = 30)]
    pub body_idle_timeout: u64,
    /// Seconds validating one file may take; past it the upload fails with a reason.
    #[arg(long, env = "INTAKE_VALIDATE_TIMEOUT", default_value_t = 300)]
    pub validate_timeout: u64,
    /// Images with more pixels than this get no thumbnail (0 turns thumbnails off).
    #[arg(long, env = "INTAKE_THUMBNAIL_MAX_PIXELS", default_value_t = 100_000_000)]
    pub thumbnail_max_pixels: u64,
    /// Bytes decoding one image for its thumbnail may allocate; past it there is no thumbnail.
    #[arg(long, env = "INTAKE_THUMBNAIL_MAX_MEMORY", default_value_t = 256 * 1024 * 1024)]
    pub thumbnail_max_memory: u64,
    /// Connections served at once; past it new ones wait in the kernel's backlog.
    #[arg(long, env = "INTAKE_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Seconds a connection may take to send a request's complete headers (from its
    /// accept, or from the first byte of its next request) before it is closed.
    #[arg(long, env = "INTAKE_HEADER_READ_TIMEOUT", default_value_t = 10)]
    pub header_read_timeout: u64,
    /// Seconds a connection with no request in flight stays open.
    #[arg(long, env = "INTAKE_KEEPALIVE_TIMEOUT", default_value_t = 75)]
    pub keepalive_timeout: u64,
    /// Failed authentications one client address may make in a minute before further
    /// failures answer 429 for the rest of it (0 turns it off).
    #[arg(long, env = "INTAKE_AUTH_FAILURES_PER_MINUTE", default_value_t = 60)]
    pub auth_failures_per_minute: u32,
    /// When set, /metrics needs `Authorization: Bearer <token>`.
    #[arg(long, env = "INTAKE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Imports a model's pickles may make besides torch's weights_only list and NumPy
    /// arrays: exact module.name entries, comma-separated, no wildcards. os, subprocess,
    /// builtins.eval and the like are never allowed.
    #[arg(long, env = "INTAKE_PICKLE_ALLOW", value_delimiter = ',')]
    pub pickle_allow: Vec<String>,
    /// Base URL of an S3-compatible API for the files; clients PUT parts to it, so it must
    /// be reachable by them. Unset (with the other INTAKE_S3_*): the local disk.
    #[arg(long, env = "INTAKE_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Bucket that holds the files.
    #[arg(long, env = "INTAKE_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// Region name used in signatures (Garage: the s3_region of its config, `garage` by default).
    #[arg(long, env = "INTAKE_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// Access key id.
    #[arg(long, env = "INTAKE_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,
    /// Secret access key.
    #[arg(long, env = "INTAKE_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
    /// Path-style URLs (endpoint/bucket/key: Garage, MinIO, Ceph) instead of virtual-host
    /// style (bucket.endpoint/key: AWS).
    #[arg(long, env = "INTAKE_S3_PATH_STYLE", default_value_t = false, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub s3_path_style: bool,
}

/// The settings and the file that may hold some of them: what `intake serve` (and every
/// command that opens the same stores) takes.
#[derive(Debug, Clone, clap::Args)]
pub struct SettingsArgs {
    /// A TOML file of settings (keys: the variable names without INTAKE_, in lower case);
    /// flags and variables win over it.
    #[arg(long = "config", env = CONFIG_VAR, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}

/// A command made of the settings alone (for the defaults, the file's checks and tests).
#[derive(clap::Parser)]
#[command(name = "intake-settings", no_binary_name = true)]
struct SettingsOnly {
    #[command(flatten)]
    settings: Settings,
}

impl Default for Settings {
    /// Every setting at its default, whatever the environment holds.
    fn default() -> Self {
        let command = SettingsOnly::command().mut_args(|arg| arg.env(None));
        let matches = command.try_get_matches_from(std::iter::empty::<String>()).expect("the defaults parse");
        SettingsOnly::from_arg_matches(&matches).expect("the defaults fit the settings").settings
    }
}

impl Settings {
    /// The settings' arguments, as clap sees them (flag, variable, default, help).
    pub fn arguments() -> Vec<clap::Arg> {
        Self::augment_args(clap::Command::new("intake-settings")).get_arguments().cloned().collect()
    }

    /// Checks the values and types them; an error names the setting.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let api_keys =
            KeySpec::parse_list(&self.api_keys.join(",")).map_err(anyhow::Error::msg).context("INTAKE_API_KEYS")?;
        let secs = Duration::from_secs;
        Ok(Config {
            listen: self.listen,
            data_dir: self.data_dir,
            public_url: self.public_url,
            part_url_ttl: secs(self.part_url_ttl),
            file_url_ttl: secs(self.file_url_ttl),
            upload_ttl: secs(self.upload_ttl),
            api_keys,
            workers: self.workers,
            import_workers: self.import_workers,
            job_max_attempts: self.job_max_attempts.max(1),
            job_lease: secs(self.job_lease.max(3)),
            shutdown_grace: secs(self.shutdown_grace),
            import: ImportConfig {
                max_bytes: self.import_max_bytes,
                addresses: AddressPolicy {
                    allow_private: self.import_allow_private,
                    allowed: self.import_allow_addresses,
                },
                hf_endpoint: self.hf_endpoint.trim_end_matches('/').to_string(),
                hf_token: self.hf_token.filter(|t| !t.is_empty()),
                civitai_endpoint: self.civitai_endpoint.trim_end_matches('/').to_string(),
                civitai_token: self.civitai_token.filter(|t| !t.is_empty()),
                connect_timeout: secs(self.import_connect_timeout.max(1)),
                read_timeout: secs(self.import_read_timeout.max(1)),
                max_retries: self.import_retries,
                retry_backoff: intake_core::import::RETRY_BACKOFF,
                min_rate: self.import_min_rate,
                rate_window: secs(self.import_rate_window.max(1)),
                max_duration: secs(self.import_max_duration.max(1)),
            },
            database_url: self.database_url.filter(|u| !u.is_empty()),
            database_max_connections: self.database_max_connections,
            schema: if self.no_migrate {
                intake_core::metadata::sql::schema::Schema::RequireCurrent
            } else {
                intake_core::metadata::sql::schema::Schema::Migrate
            },
            s3: s3_config(
                [self.s3_endpoint, self.s3_bucket, self.s3_access_key_id, self.s3_secret_access_key],
                self.s3_region,
                self.s3_path_style,
            )?,
            max_file_size: self.max_file_size,
            max_pending_uploads: self.max_pending_uploads,
            project_quota_bytes: self.project_quota_bytes,
            min_free_bytes: self.min_free_bytes,
            rate_limit_per_second: self.rate_limit,
            rate_limit_burst: self.rate_limit_burst,
            body_idle_timeout: secs(self.body_idle_timeout.max(1)),
            validate_timeout: secs(self.validate_timeout.max(1)),
            thumbnails: intake_core::thumbnail::ThumbnailLimits {
                max_pixels: self.thumbnail_max_pixels,
                max_memory: self.thumbnail_max_memory,
            },
            max_connections: self.max_connections.max(1),
            header_read_timeout: secs(self.header_read_timeout.max(1)),
            keepalive_timeout: secs(self.keepalive_timeout.max(1)),
            auth_failures_per_minute: self.auth_failures_per_minute,
            metrics_token: self.metrics_token.filter(|t| !t.is_empty()),
            pickle_policy: pickle_policy(&self.pickle_allow).context("INTAKE_PICKLE_ALLOW")?,
        })
    }
}

/// The S3 store's settings (endpoint, bucket, key id, secret), `None` when none is given;
/// an error names what is missing.
fn s3_config(given: [Option<String>; 4], region: String, path_style: bool) -> anyhow::Result<Option<S3Config>> {
    if given.iter().all(Option::is_none) {
        return Ok(None);
    }
    let names = ["INTAKE_S3_ENDPOINT", "INTAKE_S3_BUCKET", "INTAKE_S3_ACCESS_KEY_ID", "INTAKE_S3_SECRET_ACCESS_KEY"];
    let missing: Vec<&str> =
        given.iter().zip(names).filter(|(v, _)| v.as_deref().is_none_or(str::is_empty)).map(|(_, n)| n).collect();
    if !missing.is_empty() {
        anyhow::bail!("S3 storage is partly configured: set {} too (or none of INTAKE_S3_*)", missing.join(", "));
    }
    let [endpoint, bucket, access_key_id, secret_access_key] = given.map(Option::unwrap_or_default);
    Ok(Some(S3Config { endpoint, bucket, region, access_key_id, secret_access_key, path_style }))
}

/// The pickle policy, saying in the log which entries are ignored because intake never
/// allows them.
fn pickle_policy(extra: &[String]) -> anyhow::Result<PicklePolicy> {
    let (policy, ignored) = PicklePolicy::with_extra(extra).map_err(anyhow::Error::msg)?;
    for (entry, why) in ignored {
        tracing::warn!("INTAKE_PICKLE_ALLOW names {entry}, {why}: intake never allows it, so the entry is ignored");
    }
    let extra: Vec<&str> = policy.extra().collect();
    if !extra.is_empty() {
        tracing::info!("model pickles may also import: {}", extra.join(", "));
    }
    Ok(policy)
}
