//! The errors of every call: what the server said (status, `reason`, `traceId`), or why the
//! request never got an answer.

use std::path::PathBuf;
use std::time::Duration;

/// What every call returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error answer from the server: its status and the JSON body's `reason`, `traceId` and
/// `code` (where the server sent them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status (4xx or 5xx).
    pub status: u16,
    /// The server's sentence saying what went wrong (or the body's text, or the status's
    /// canonical reason, when the answer was not the API's JSON error).
    pub reason: String,
    /// Finds the request in the server's log.
    pub trace_id: Option<String>,
    /// A stable machine-readable name, e.g. `part_size`.
    pub code: Option<String>,
    /// `Retry-After`, when the server sent one (429, 503).
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// The code, when it is one of the contract's ([`intake_api::ErrorCode`]; intake sends
    /// one on every error, other servers of the API may not).
    pub fn error_code(&self) -> Option<intake_api::ErrorCode> {
        self.code.as_deref().and_then(|c| c.parse().ok())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (HTTP {}", self.reason, self.status)?;
        if let Some(trace) = &self.trace_id {
            write!(f, ", traceId {trace}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for ApiError {}

/// Everything that can go wrong in a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error status.
    #[error("{0}")]
    Api(#[from] ApiError),
    /// No answer: connection refused or reset, DNS, TLS, a timeout.
    #[error("{context}: {source}")]
    Transport {
        /// What was being done, e.g. `PUT part 3`.
        context: String,
        #[source]
        source: reqwest::Error,
    },
    /// A part stopped moving for longer than the idle timeout.
    #[error("{context}: no progress for {idle:?}")]
    Stalled { context: String, idle: Duration },
    /// An answer that is not what the API promises (bad JSON, missing fields).
    #[error("unexpected answer to {context}: {message}")]
    InvalidResponse { context: String, message: String },
    /// Reading the local file, writing a download or the resume journal.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Settings or arguments that cannot work (missing credentials, a part size that breaks
    /// the rules, a file too large): fix the call, retrying will not help.
    #[error("{0}")]
    Invalid(String),
    /// [`crate::Client::wait`] gave up before the upload reached `imported` or `failed`.
    #[error("upload {id} is still {status} after {waited:?}")]
    WaitTimeout { id: String, status: intake_api::Status, waited: Duration },
}

impl Error {
    /// The HTTP status, for an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            _ => None,
        }
    }

    /// The server's error answer, if this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// Whether a part URL was refused in a way fresh URLs may fix: 403 (expired or badly
    /// signed), or the 400 some S3-compatible stores answer for an expired presigned URL
    /// (Garage: "Date is too old"; others say the request "has expired").
    pub fn is_refused_url(&self) -> bool {
        match self {
            Error::Api(api) if api.status == 403 => true,
            Error::Api(api) if api.status == 400 => {
                let reason = api.reason.to_ascii_lowercase();
                reason.contains("expired") || reason.contains("too old")
            }
            _ => false,
        }
    }

    /// Whether trying the same request again may succeed: 408, 429, 5xx, transport errors
    /// and stalls. Other 4xx answers say the request itself must change.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => matches!(api.status, 408 | 429) || api.status >= 500,
            Error::Transport { .. } | Error::Stalled { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    pub(crate) fn transport(context: impl Into<String>, source: reqwest::Error) -> Self {
        // Part and file URLs carry a signature in their query: never print them.
        Error::Transport { context: context.into(), source: source.without_url() }
    }
}
