//! The HTTP edge of errors: every core [`Error`] becomes a status code and a JSON body
//! `{"reason", "traceId", "code"}` here, and nowhere else. Internal causes are logged with
//! the trace id and never sent to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use intake_api::ErrorBody;
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

fn status_and_code(e: &Error) -> (StatusCode, &'static str) {
    match e {
        Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
        Error::PartRule(_) => (StatusCode::BAD_REQUEST, "part_size"),
        Error::NotEnabled(_) => (StatusCode::BAD_REQUEST, "mode_not_enabled"),
        Error::BodyAborted(_) => (StatusCode::BAD_REQUEST, "body_aborted"),
        Error::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
        Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        Error::BadSignature(_) => (StatusCode::FORBIDDEN, "bad_signature"),
        Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
        Error::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        Error::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        Error::Timeout(_) => (StatusCode::REQUEST_TIMEOUT, "timeout"),
        Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
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
        let body = ErrorBody { reason, trace_id, code: Some(code.to_string()) };
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
