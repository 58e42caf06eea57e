//! Request parsing that answers mistakes in intake's own error format: JSON bodies, query
//! strings and the authenticated caller.

use crate::error::{ApiError, ApiResult};
use crate::routes::AppState;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use intake_core::service::Caller;
use intake_core::Error;
use std::collections::HashMap;
use std::net::SocketAddr;

/// The most a JSON request body may hold.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// Reads a JSON body of at most [`MAX_JSON_BODY`] bytes, sent as `application/json`.
///
/// Any other Content-Type (or none) is refused with 415: a browser sends a cross-site form
/// or a "simple" `fetch` as `text/plain`, `application/x-www-form-urlencoded` or
/// `multipart/form-data` without asking first, with Basic credentials it has cached for
/// this origin; only `application/json` needs its CORS preflight, which a script on
/// another site cannot pass with credentials.
pub async fn json_body(headers: &HeaderMap, body: Body) -> ApiResult<serde_json::Value> {
    check_json_content_type(headers)?;
    let bytes = axum::body::to_bytes(body, MAX_JSON_BODY)
        .await
        .map_err(|_| ApiError(Error::TooLarge(format!("the request body is larger than {MAX_JSON_BODY} bytes"))))?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request("the request body is empty; send a JSON object"));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

/// Refuses a request body that is not declared `application/json` (parameters such as
/// `; charset=utf-8` are fine).
fn check_json_content_type(headers: &HeaderMap) -> ApiResult<()> {
    let declared = headers.get(header::CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let essence = declared.as_deref().map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/json") => Ok(()),
        _ => Err(ApiError(Error::UnsupportedMediaType(match declared {
            None => "the request has no Content-Type; send the JSON body with Content-Type: application/json".into(),
            Some(v) => format!(
                "the body is declared as {:?}; send it as JSON with Content-Type: application/json",
                v.chars().take(100).collect::<String>()
            ),
        }))),
    }
}

/// The query string as a map (the last of repeated names wins).
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| ApiError::bad_request(format!("the query string is malformed: {e}")))?;
        Ok(QueryMap(pairs.into_iter().collect()))
    }
}

/// The authenticated caller: HTTP Basic credentials plus the optional `projectId`. A
/// failure counts against the client's address ([`crate::failed_logins`]). A request that
/// is not a `GET` or `HEAD` needs a key whose role may write (403 naming the role).
pub struct Authed(pub Caller);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let QueryMap(query) = QueryMap::from_request_parts(parts, state).await?;
        let authorization =
            match parts.headers.get(header::AUTHORIZATION) {
                None => None,
                Some(v) => Some(v.to_str().map_err(|_| {
                    ApiError(Error::Unauthenticated("the Authorization header is not valid text".into()))
                })?),
            };
        let project = query.get("projectId").map(String::as_str);
        let caller = state.auth.authenticate(authorization, project).map_err(|e| failed_login(parts, state, e))?;
        state.rate_limiter.check(&caller.user_id)?;
        // Every /v1 call but a read changes something: a reader key may not make it.
        if !matches!(parts.method, axum::http::Method::GET | axum::http::Method::HEAD) {
            caller.require_write(&format!("{} {}", parts.method, parts.uri.path()))?;
        }
        Ok(Authed(caller))
    }
}

/// A failed authentication: counted against the client's address; answered with the
/// failure itself, or with 429 once the address is past its budget.
pub fn failed_login(parts: &Parts, state: &AppState, failure: Error) -> ApiError {
    if !matches!(failure, Error::Unauthenticated(_)) {
        return ApiError(failure);
    }
    let address = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
    match state.failed_logins.failed(address) {
        Ok(()) => ApiError(failure),
        Err(too_many) => {
            tracing::info!(%address, "failed authentications past the limit");
            ApiError(too_many)
        }
    }
}
