//! Imports: files intake downloads itself, from a URL, from Hugging Face or from Civitai.
//!
//! - [`address`]: the SSRF address classifier.
//! - [`client`]: the outgoing HTTP client: only http(s), every resolved address and every
//!   IP-literal host checked, redirects followed by hand (at most [`client::MAX_REDIRECTS`])
//!   with each hop checked, credentials never sent to another origin.
//! - [`huggingface`] and [`civitai`]: resolve a model name or page URL to the file to fetch.
//! - [`content_type`]: the origin's `Content-Type` checked against what the bytes are.
//! - [`download`]: streams a file into the blob store's staging area with bounded memory,
//!   resuming with `Range` after a dropped connection or a restart, under a size cap.
//!
//! The use-case that ties them to an upload is in `service::imports`.

pub mod address;
pub mod civitai;
pub mod client;
pub mod content_type;
pub mod download;
pub mod huggingface;

pub use address::AddressPolicy;
pub use client::ImportClient;
pub use download::{DownloadPlan, Downloaded};

use std::time::Duration;

/// How imports behave.
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
    /// First pause between attempts; doubled after each failure (at most 30 s).
    pub retry_backoff: Duration,
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self {
            max_bytes: 50 * 1024 * 1024 * 1024,
            addresses: AddressPolicy::default(),
            hf_endpoint: "https://huggingface.co".into(),
            hf_token: None,
            civitai_endpoint: "https://civitai.com".into(),
            civitai_token: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            max_retries: 4,
            retry_backoff: Duration::from_millis(500),
        }
    }
}

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
