//! The HTTP edge of errors: every core [`Error`] becomes a status code and a JSON body
//! `{"reason", "traceId", "code"}` here, and nowhere else. Internal causes are logged with
//! the trace id and never sent to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use intake_api::{ErrorBody, ErrorCode};
use intake_core::Error;

tokio::task_local! {
    /// The id of the request being served, set by the trace-id middleware.
    pub static TRACE_ID: String;
}

/// The current request's trace id (or `-` outside a request).
pub fn trace_id() -> String {
    TRACE_ID.try_with(Clone::clone).unwrap_or_else(|_| "-".into())
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// Shorthand for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A 400 with `reason`.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        ApiError(Error::BadRequest(reason.into()))
    }
}

/// The code of an error answer; its status is the contract's ([`ErrorCode::status`]).
fn code_of(e: &Error) -> ErrorCode {
    match e {
        Error::BadRequest(_) => ErrorCode::BadRequest,
        Error::PartRule(_) => ErrorCode::PartSize,
        Error::BodyAborted(_) => ErrorCode::BodyAborted,
        Error::Unauthenticated(_) => ErrorCode::Unauthenticated,
        Error::Forbidden(_) => ErrorCode::Forbidden,
        Error::BadSignature(_) => ErrorCode::BadSignature,
        Error::NotFound(_) => ErrorCode::NotFound,
        Error::Conflict(_) => ErrorCode::Conflict,
        Error::TooLarge(_) => ErrorCode::TooLarge,
        Error::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
        Error::RateLimited { .. } => ErrorCode::RateLimited,
        Error::Timeout(_) => ErrorCode::Timeout,
        Error::InsufficientStorage(_) => ErrorCode::InsufficientStorage,
        Error::Internal(_) => ErrorCode::Internal,
    }
}

fn status_and_code(e: &Error) -> (StatusCode, ErrorCode) {
    let code = code_of(e);
    (StatusCode::from_u16(code.status()).expect("the contract's statuses are valid"), code)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = status_and_code(&self.0);
        let trace_id = trace_id();
        let retry_after = match &self.0 {
            Error::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        };
        let reason = match &self.0 {
            Error::Internal(cause) => {
                tracing::error!(trace_id = %trace_id, %cause, "internal error");
                format!(
                    "something went wrong on the server; try again later, and quote trace id {trace_id} if it persists"
                )
            }
            other => {
                tracing::info!(trace_id = %trace_id, status = status.as_u16(), reason = %other, "client error");
                other.to_string()
            }
        };
        let body = ErrorBody { reason, trace_id, code: Some(code.as_str().to_string()) };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::CONFLICT {
            // The SDK retries 409s; these conflicts do not go away by retrying.
            headers.insert("x-should-retry", HeaderValue::from_static("false"));
        }
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"intake\""));
        }
        response
    }
}
