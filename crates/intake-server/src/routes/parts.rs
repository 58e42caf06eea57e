//! `PUT /parts/{uploadId}/{number}?expires=…&signature=…`: a part, through a URL intake
//! signed. No Authorization header: the signature is the credential.

use super::AppState;
use crate::error::ApiResult;
use crate::extract::QueryMap;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, BoxStream};
use futures_util::{StreamExt, TryStreamExt};
#[allow(unused_imports)]
use intake_api::ErrorBody;
use intake_core::service::PartRequest;
use std::time::Duration;

/// One part's raw bytes, through the signed URL `create` or `GET` handed out.
#[utoipa::path(put, path = "/parts/{uploadId}/{number}", tag = "parts",
    params(("uploadId" = String, Path), ("number" = String, Path),
           ("expires" = Option<String>, Query), ("signature" = Option<String>, Query)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "Stored; the ETag header is the quoted MD5 of the part"),
              (status = 400, description = "Breaks the part rules, or differs from its Content-MD5 or x-amz-checksum-crc32 (nothing stored)", body = ErrorBody), (status = 403, description = "Tampered, expired or foreign URL", body = ErrorBody), (status = 404, description = "Upload gone", body = ErrorBody), (status = 408, description = "Body stalled", body = ErrorBody), (status = 409, description = "Upload no longer pending", body = ErrorBody), (status = 413, description = "Part too large", body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    Path((upload_id, number)): Path<(String, String)>,
    QueryMap(query): QueryMap,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let content_length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let request = PartRequest {
        upload_id: &upload_id,
        part_number: &number,
        expires: query.get("expires").map(String::as_str),
        signature: query.get("signature").map(String::as_str),
        content_length,
        content_md5: headers.get("content-md5").and_then(|v| v.to_str().ok()),
        checksum_crc32: headers.get("x-amz-checksum-crc32").and_then(|v| v.to_str().ok()),
    };
    let stream =
        with_idle_timeout(body.into_data_stream().map_err(std::io::Error::other).boxed(), state.body_idle_timeout);
    let started = std::time::Instant::now();
    let part = match state.service.put_part(request, stream).await {
        Ok(part) => part,
        Err(e) => {
            state.metrics.part_refused();
            return Err(e.into());
        }
    };
    state.metrics.part_stored(part.size, started.elapsed());
    let mut response = StatusCode::OK.into_response();
    if let Some(etag) = part.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// Ends a body with a `TimedOut` error when no chunk arrives for `idle` (a client that
/// trickles or stalls must not hold a connection and a temp file forever).
fn with_idle_timeout(
    body: BoxStream<'static, std::io::Result<bytes::Bytes>>,
    idle: Duration,
) -> BoxStream<'static, std::io::Result<bytes::Bytes>> {
    stream::unfold(Some(body), move |state| async move {
        let mut body = state?;
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(item)) => Some((item, Some(body))),
            Ok(None) => None,
            Err(_) => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no bytes arrived for {} s", idle.as_secs()),
                )),
                None,
            )),
        }
    })
    .boxed()
}
