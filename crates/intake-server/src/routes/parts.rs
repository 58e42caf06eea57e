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
use intake_core::service::PartRequest;
use std::time::Duration;

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
