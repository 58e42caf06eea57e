//! The body of every error answer, and the codes it may carry.

use serde::{Deserialize, Serialize};

/// `{"reason", "traceId", "code"}`: `reason` is a sentence that says what to fix, `traceId`
/// finds the request in the server's log, `code` is a stable machine-readable name (intake
/// sends one of the `ErrorCode` values; other servers of the API may send others, or none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub reason: String,
    pub trace_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<ErrorCode>))]
    pub code: Option<String>,
}

impl ErrorBody {
    /// The code, when it is one intake knows.
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.code.as_deref().and_then(|c| c.parse().ok())
    }
}

/// The `code` of an error answer, with the HTTP status it comes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the request is malformed; the reason names the field or parameter.
    BadRequest,
    /// 400: a part or the file breaks the part-size rules ([`crate::limits`]).
    PartSize,
    /// 400: the request body ended before its declared length.
    BodyAborted,
    /// 401: no credentials, or wrong ones.
    Unauthenticated,
    /// 403: the key may not act for that project.
    Forbidden,
    /// 403: a part or file URL is tampered with, expired or someone else's.
    BadSignature,
    /// 404: no such resource (also another project's).
    NotFound,
    /// 409: the resource is not in a state that allows this (not retried by the SDK).
    Conflict,
    /// 413: larger than allowed (file size, part, quota).
    TooLarge,
    /// 415: the body is not sent as the type the endpoint reads.
    UnsupportedMediaType,
    /// 429: too many requests or failed logins; `retry-after` says when to come back.
    RateLimited,
    /// 408: the body sent nothing for too long.
    Timeout,
    /// 507: the server's disk is too full to take more.
    InsufficientStorage,
    /// 500: the server failed; the reason quotes the trace id.
    Internal,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::BadRequest,
        ErrorCode::PartSize,
        ErrorCode::BodyAborted,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::BadSignature,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::TooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::RateLimited,
        ErrorCode::Timeout,
        ErrorCode::InsufficientStorage,
        ErrorCode::Internal,
    ];

    /// The code as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::PartSize => "part_size",
            ErrorCode::BodyAborted => "body_aborted",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Timeout => "timeout",
            ErrorCode::InsufficientStorage => "insufficient_storage",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status an answer with this code has.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest | ErrorCode::PartSize | ErrorCode::BodyAborted => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden | ErrorCode::BadSignature => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Timeout => 408,
            ErrorCode::Conflict => 409,
            ErrorCode::TooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::InsufficientStorage => 507,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ErrorCode {
    type Err = crate::UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| crate::UnknownValue(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_as_they_are_written() {
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>().unwrap(), code);
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert!((400..600).contains(&code.status()), "{code}");
        }
        assert!("teapot".parse::<ErrorCode>().is_err());
        let body = ErrorBody { reason: "r".into(), trace_id: "t".into(), code: Some("too_large".into()) };
        assert_eq!(body.error_code(), Some(ErrorCode::TooLarge));
    }
}
