//! Imports: files intake downloads itself, from a URL, from Hugging Face or from Civitai.
//!
//! - [`address`]: the SSRF address classifier.
//! - [`client`]: the outgoing HTTP client: only http(s), every resolved address and every
//!   IP-literal host checked, redirects followed by hand (at most [`client::MAX_REDIRECTS`])
//!   with each hop checked, credentials never sent to another origin.
//! - [`huggingface`] and [`civitai`]: resolve a model name or page URL to the file to fetch.
//! - [`content_type`]: the origin's `Content-Type` checked against what the bytes are.
//! - [`download`]: streams a file into the blob store's staging area with bounded memory,
//!   resuming with `Range` after a dropped connection or a restart, under a size cap and the
//!   project's quota ([`download::SizeGate`]).
//! - [`pace`]: the minimum rate and the longest duration an import may take.
//!
//! The use-case that ties them to an upload is in `service::imports`.

pub mod address;
pub mod civitai;
pub mod client;
pub mod content_type;
pub mod download;
pub mod huggingface;
pub mod pace;

pub use address::AddressPolicy;
pub use client::ImportClient;
pub use download::{DownloadPlan, Downloaded};

use std::time::Duration;

/// How imports behave. The values come from the settings (`intake_server::settings`),
/// which hold their defaults.
#[derive(Debug, Clone)]
pub struct ImportConfig {
    /// Largest file an import may fetch (`INTAKE_IMPORT_MAX_BYTES`).
    pub max_bytes: u64,
    /// Which addresses imports may connect to.
    pub addresses: AddressPolicy,
    /// Base of the Hugging Face Hub (`INTAKE_HF_ENDPOINT`), without a trailing slash.
    pub hf_endpoint: String,
    /// Token for gated and private Hugging Face repos (`HF_TOKEN`).
    pub hf_token: Option<String>,
    /// Base of Civitai (`INTAKE_CIVITAI_ENDPOINT`), without a trailing slash.
    pub civitai_endpoint: String,
    /// Token for Civitai downloads that need one (`CIVITAI_TOKEN`).
    pub civitai_token: Option<String>,
    /// Time allowed to establish a connection.
    pub connect_timeout: Duration,
    /// Time allowed between two reads of a response (a stalled origin times out).
    pub read_timeout: Duration,
    /// Failed attempts in a row (without a byte of progress) before an import fails.
    pub max_retries: u32,
    /// First pause between attempts; doubled after each failure (at most 30 s);
    /// [`RETRY_BACKOFF`] in service.
    pub retry_backoff: Duration,
    /// Bytes a second an origin must deliver on average over `rate_window`
    /// (`INTAKE_IMPORT_MIN_RATE`); slower imports fail ([`pace`]).
    pub min_rate: u64,
    /// The window the minimum rate is averaged over (`INTAKE_IMPORT_RATE_WINDOW`).
    pub rate_window: Duration,
    /// The longest an import may resolve and download, retries included
    /// (`INTAKE_IMPORT_MAX_DURATION`).
    pub max_duration: Duration,
}

impl ImportConfig {
    /// A configuration for a service that imports nothing (tests of other parts, tools
    /// that only read the stores): no origin, private addresses refused, no token, no
    /// retry. Not the service's defaults: those are the settings' (`intake_server::settings`).
    pub fn offline() -> Self {
        Self {
            max_bytes: 0,
            addresses: AddressPolicy::default(),
            hf_endpoint: String::new(),
            hf_token: None,
            civitai_endpoint: String::new(),
            civitai_token: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            max_retries: 0,
            retry_backoff: RETRY_BACKOFF,
            min_rate: 0,
            rate_window: Duration::from_secs(60),
            max_duration: Duration::from_secs(3600),
        }
    }
}

/// The first pause between an import's attempts, doubled after each failure (at most 30 s).
pub const RETRY_BACKOFF: Duration = Duration::from_millis(500);

/// Why an import attempt did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// It cannot succeed as asked: the message, for a person, becomes the `errorMessage`.
    #[error("{0}")]
    Refused(String),
    /// Network trouble that another attempt may not have (timeouts, resets, 5xx).
    #[error("{0}")]
    Transient(String),
    /// Our own storage or database failed.
    #[error(transparent)]
    Internal(#[from] crate::Error),
    /// The server is shutting down; the import resumes when it starts again.
    #[error("the server is shutting down")]
    Stopped,
}

/// Shorthand.
pub type ImportResult<T> = std::result::Result<T, ImportError>;
