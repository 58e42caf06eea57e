//! `GET /files/{entityId}?expires=…&signature=…`: the bytes of an asset or model through a
//! URL intake signed, with single-range requests (`Range: bytes=…`).

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryMap;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
#[allow(unused_imports)]
use intake_api::ErrorBody;
use intake_core::service::FileDownload;
use intake_core::Error;

/// The bytes of an asset or model, through a signed URL (single `Range` supported).
#[utoipa::path(get, path = "/files/{entityId}", tag = "files",
    params(("entityId" = String, Path), ("expires" = Option<String>, Query), ("signature" = Option<String>, Query)),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
              (status = 206, description = "A range of the file", content_type = "application/octet-stream"),
              (status = 400, description = "Bad request", body = ErrorBody), (status = 403, description = "Tampered or expired URL", body = ErrorBody), (status = 404, description = "Gone", body = ErrorBody), (status = 416, description = "Range not satisfiable", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Path(entity_id): Path<String>,
    QueryMap(query): QueryMap,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let file = state
        .service
        .file_for_url(&entity_id, query.get("expires").map(String::as_str), query.get("signature").map(String::as_str))
        .await?;
    serve(&state, file, method, &headers).await
}

/// The thumbnail of an image asset (PNG, longest side 512 px), through a signed URL.
#[utoipa::path(get, path = "/files/{assetId}/thumbnail", tag = "files",
    params(("assetId" = String, Path), ("expires" = Option<String>, Query), ("signature" = Option<String>, Query)),
    responses((status = 200, description = "The thumbnail", content_type = "image/png"),
              (status = 403, description = "Tampered or expired URL", body = ErrorBody), (status = 404, description = "Gone", body = ErrorBody)))]
pub async fn thumbnail(
    State(state): State<AppState>,
    Path(asset_id): Path<String>,
    QueryMap(query): QueryMap,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let file = state
        .service
        .thumbnail_for_url(
            &asset_id,
            query.get("expires").map(String::as_str),
            query.get("signature").map(String::as_str),
        )
        .await?;
    serve(&state, file, method, &headers).await
}

/// Answers with `file`'s bytes (or the range `headers` asks for).
async fn serve(state: &AppState, file: FileDownload, method: Method, headers: &HeaderMap) -> ApiResult<Response> {
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(spec) => match parse_range(spec, file.size) {
            RangeSpec::Satisfiable(start, end) => Some((start, end)),
            RangeSpec::Ignored => None,
            RangeSpec::Unsatisfiable => {
                let mut response = ApiError(Error::BadRequest(format!(
                    "the range {spec:?} lies outside the file's {} bytes",
                    file.size
                )))
                .into_response();
                *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
                response.headers_mut().insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes */{}", file.size)).expect("ascii"),
                );
                return Ok(response);
            }
        },
    };
    let (start, end) = range.unwrap_or((0, file.size));
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from_stream(state.service.file_bytes(&file, start, end).await?)
    };
    let mut response = Response::new(body);
    *response.status_mut() = if range.is_some() { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
    let h = response.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&file.mime_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&content_disposition(&file.file_name)).expect("encoded"),
    );
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    // Uploaded files never run as pages of this origin.
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    if range.is_some() {
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {start}-{}/{}", end - 1, file.size)).expect("ascii"),
        );
    }
    Ok(response)
}

/// `inline; filename*=UTF-8''<percent-encoded name>`.
fn content_disposition(name: &str) -> String {
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("inline; filename*=UTF-8''{encoded}")
}

#[derive(Debug, PartialEq, Eq)]
enum RangeSpec {
    /// Bytes `start..end` (end exclusive).
    Satisfiable(u64, u64),
    /// Not a single byte range we serve (multiple ranges, other units): send the whole file.
    Ignored,
    Unsatisfiable,
}

/// A single `bytes=` range (RFC 9110, 14.1.2), whatever its numbers: a position past
/// `u64` is as far as any file goes (so a first byte there is past the end: 416, and a last
/// byte there means the end), never an overflow.
fn parse_range(spec: &str, size: u64) -> RangeSpec {
    let Some(ranges) = spec.trim().strip_prefix("bytes=") else { return RangeSpec::Ignored };
    if ranges.contains(',') {
        return RangeSpec::Ignored;
    }
    let Some((a, b)) = ranges.trim().split_once('-') else { return RangeSpec::Ignored };
    let (a, b) = (a.trim(), b.trim());
    match (position(a), position(b)) {
        (Some(start), _) if start >= size => RangeSpec::Unsatisfiable,
        (Some(start), None) if b.is_empty() => RangeSpec::Satisfiable(start, size),
        (Some(start), Some(last)) if last >= start => RangeSpec::Satisfiable(start, last.min(size - 1) + 1),
        (None, Some(0)) if a.is_empty() => RangeSpec::Unsatisfiable,
        (None, Some(suffix)) if a.is_empty() => RangeSpec::Satisfiable(size.saturating_sub(suffix), size),
        _ => RangeSpec::Ignored,
    }
}

/// A byte position: ASCII digits only (no sign, no space), saturating at `u64::MAX`.
fn position(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.bytes().fold(0u64, |n, d| n.saturating_mul(10).saturating_add(u64::from(d - b'0'))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_as_rfc_9110_says() {
        assert_eq!(parse_range("bytes=0-9", 100), RangeSpec::Satisfiable(0, 10));
        assert_eq!(parse_range("bytes=90-", 100), RangeSpec::Satisfiable(90, 100));
        assert_eq!(parse_range("bytes=-5", 100), RangeSpec::Satisfiable(95, 100));
        assert_eq!(parse_range("bytes=50-500", 100), RangeSpec::Satisfiable(50, 100));
        assert_eq!(parse_range("bytes=100-", 100), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), RangeSpec::Ignored);
        assert_eq!(parse_range("items=0-1", 100), RangeSpec::Ignored);
        assert_eq!(parse_range("bytes=9-3", 100), RangeSpec::Ignored);
        assert_eq!(parse_range("bytes=+5-9", 100), RangeSpec::Ignored);
    }

    #[test]
    fn positions_past_u64_neither_overflow_nor_drop_the_connection() {
        assert_eq!(parse_range("bytes=5-18446744073709551615", 100), RangeSpec::Satisfiable(5, 100));
        assert_eq!(parse_range("bytes=5-99999999999999999999999", 100), RangeSpec::Satisfiable(5, 100));
        assert_eq!(parse_range("bytes=18446744073709551615-", 100), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range("bytes=18446744073709551616-", 100), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range("bytes=18446744073709551616-18446744073709551617", 100), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range("bytes=-18446744073709551616", 100), RangeSpec::Satisfiable(0, 100));
        assert_eq!(parse_range("bytes=0-18446744073709551615", u64::MAX), RangeSpec::Satisfiable(0, u64::MAX));
    }

    #[test]
    fn file_names_are_encoded_for_the_header() {
        assert_eq!(content_disposition("a b\"é.png"), "inline; filename*=UTF-8''a%20b%22%C3%A9.png");
    }
}
