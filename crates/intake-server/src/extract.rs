//! Request parsing that answers mistakes in intake's own error format: JSON bodies, query
//! strings and the authenticated caller.

use crate::error::{ApiError, ApiResult};
use crate::routes::AppState;
use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use intake_core::service::Caller;
use intake_core::Error;
use std::collections::HashMap;

/// The most a JSON request body may hold.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// Reads a JSON body of at most [`MAX_JSON_BODY`] bytes.
pub async fn json_body(body: Body) -> ApiResult<serde_json::Value> {
    let bytes = axum::body::to_bytes(body, MAX_JSON_BODY)
        .await
        .map_err(|_| ApiError(Error::TooLarge(format!("the request body is larger than {MAX_JSON_BODY} bytes"))))?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request("the request body is empty; send a JSON object"));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
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

/// The authenticated caller: HTTP Basic credentials plus the optional `projectId`.
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
        let caller = state.auth.authenticate(authorization, project)?;
        state.rate_limiter.check(&caller.user_id)?;
        Ok(Authed(caller))
    }
}
