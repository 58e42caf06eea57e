//! The errors of the core, one variant per way a use-case can end badly. The HTTP edge maps
//! each variant to a status code and a `reason` in one place; `Internal` causes are logged
//! there and never shown to clients.

use crate::domain::PartPlanError;
use crate::signing::SignatureError;

/// A core result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a use-case can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or breaks a rule; the message says what to fix (400).
    #[error("{0}")]
    BadRequest(String),
    /// The credentials are missing or wrong (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// A signed URL was refused (403).
    #[error("{0}")]
    BadSignature(#[from] SignatureError),
    /// No such resource for this owner (404): never reveals another owner's resources.
    #[error("{0}")]
    NotFound(String),
    /// The resource is not in a state that allows this; retrying will not help (409).
    #[error("{0}")]
    Conflict(String),
    /// A body or file is larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// A part breaks the part-size rules (400).
    #[error("{0}")]
    PartRule(#[from] PartPlanError),
    /// A request body of a media type this endpoint does not take (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many requests for this key; retry after the given seconds (429).
    #[error("{reason}")]
    RateLimited { reason: String, retry_after_secs: u64 },
    /// The client stalled: no bytes arrived for too long (408).
    #[error("{0}")]
    Timeout(String),
    /// The server's disk is too full to take more bytes; reads still work (507).
    #[error("{0}")]
    InsufficientStorage(String),
    /// The client went away or sent a broken body mid-stream (400).
    #[error("{0}")]
    BodyAborted(String),
    /// Our fault: storage, database, a bug. Logged; the client sees a generic sentence.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// An internal error from any displayable cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Internal(format!("database: {e}"))
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Error::Internal(format!("database migration: {e}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Internal(format!("storage: {e}"))
    }
}
