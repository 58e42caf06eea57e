//! The routes, one file per resource. Handlers are thin: parse, call the service, answer.
//!
//! | method | path | handler |
//! |---|---|---|
//! | GET | `/` and `/web/{file}` | the upload page ([`web`]) |
//! | GET | `/v1/openapi.json` | the OpenAPI document ([`crate::openapi`]) |
//! | GET | `/healthz` | [`health::healthz`] |
//! | GET | `/readyz` | [`health::readyz`] |
//! | GET | `/metrics` | [`health::metrics`] |
//! | POST | `/v1/uploads` | [`uploads::create`] |
//! | GET | `/v1/uploads` (intake extension) | [`uploads::list`] |
//! | GET | `/v1/uploads/{id}` | [`uploads::retrieve`] |
//! | GET | `/v1/projects` | [`projects::list`] |
//! | GET | `/v1/projects/{id}` | [`projects::retrieve`] |
//! | POST | `/v1/projects/{id}/keys` (admin key) | [`projects::create_key`] |
//! | DELETE | `/v1/projects/{id}/keys/{apiKeyId}` (admin key) | [`projects::revoke_key`] |
//! | POST | `/v1/uploads/{id}/action` | [`uploads::action`] |
//! | GET | `/v1/assets/{id}` | [`entities::asset`] |
//! | GET | `/v1/models/{id}` | [`entities::model`] |
//! | PUT | `/parts/{uploadId}/{number}` (signed; only where parts come to intake) | [`parts::put`] |
//! | GET, HEAD | `/files/{entityId}` (signed) | [`files::get`] |
//! | GET, HEAD | `/files/{assetId}/thumbnail` (signed) | [`files::thumbnail`] |

pub(crate) mod entities;
pub(crate) mod files;
pub(crate) mod health;
pub(crate) mod parts;
pub(crate) mod projects;
pub(crate) mod uploads;
pub(crate) mod web;

use crate::error::{trace_id, ApiError, TRACE_ID};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use intake_core::service::{Authenticator, Service};
use intake_core::Error;
use std::sync::Arc;

/// What every handler can reach: [`Shared`] behind one `Arc` (axum clones the state for
/// every request).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The service and the server's own parts, shared by all requests.
pub struct Shared {
    pub service: Arc<Service>,
    pub auth: Arc<Authenticator>,
    pub rate_limiter: Arc<crate::rate_limit::RateLimiter>,
    /// How long a part body may send nothing before it is cut off.
    pub body_idle_timeout: std::time::Duration,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The upload page's Content-Security-Policy ([`web::content_security_policy`]).
    pub web_csp: Arc<str>,
    /// Failed authentications per client address ([`crate::failed_logins`]).
    pub failed_logins: crate::failed_logins::FailedLogins,
    /// `/readyz`'s last verdict ([`health::Readiness`]).
    pub readiness: health::Readiness,
    /// The Bearer token `/metrics` needs, when one is set.
    pub metrics_token: Option<String>,
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    // Where the store presigns part URLs (S3), parts never come here: no route for them.
    let parts = if state.service.receives_parts() {
        Router::new().route("/parts/{upload_id}/{number}", put(parts::put))
    } else {
        Router::new()
    };
    Router::new()
        .route("/", get(web::index))
        .route("/web/{*path}", get(web::file))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/v1/openapi.json", get(openapi_json))
        .route("/v1/uploads", post(uploads::create).get(uploads::list))
        .route("/v1/uploads/{id}", get(uploads::retrieve))
        .route("/v1/projects", get(projects::list))
        .route("/v1/projects/{id}", get(projects::retrieve))
        .route("/v1/projects/{id}/keys", post(projects::create_key))
        .route("/v1/projects/{id}/keys/{api_key}", delete(projects::revoke_key))
        .route("/v1/uploads/{id}/action", post(uploads::action))
        .route("/v1/assets/{id}", get(entities::asset))
        .route("/v1/models/{id}", get(entities::model))
        .merge(parts)
        .route("/files/{entity_id}", get(files::get))
        .route("/files/{asset_id}/thumbnail", get(files::thumbnail))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn(edge))
        .with_state(state)
}

/// What every request gets around its handler, in one layer (each `from_fn` layer clones
/// the router and boxes a future per request: BENCHMARKS.md, target 5):
/// - a trace id: in the log span, in error bodies ([`trace_id`]) and in `x-trace-id`;
/// - CORS headers ([`add_cors_headers`]); an `OPTIONS` is answered here, as a preflight;
/// - no `WWW-Authenticate` on answers to the upload page ([`web::without_browser_prompt`]).
async fn edge(request: Request, next: Next) -> Response {
    let id = intake_core::domain::ids::random_base62(16);
    let span = tracing::info_span!("request", trace_id = %id, method = %request.method(), path = %request.uri().path());
    let started = std::time::Instant::now();
    let preflight = request.method() == Method::OPTIONS;
    let from_page = web::is_from_page(&request);
    let mut response = if preflight {
        StatusCode::OK.into_response()
    } else {
        TRACE_ID.scope(id.clone(), tracing::Instrument::instrument(next.run(request), span.clone())).await
    };
    let _enter = span.enter();
    tracing::debug!(status = response.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "served");
    add_cors_headers(&mut response, preflight);
    if from_page {
        web::without_browser_prompt(&mut response);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-trace-id", value);
    }
    response
}

/// CORS as permissive as `tower_http`'s `CorsLayer::permissive()` that it replaces (any
/// origin, method and request header; every response header readable), so a page on
/// another origin may PUT parts and read their ETag. The headers are static: that layer
/// cloned its configuration for every request (BENCHMARKS.md, target 5).
fn add_cors_headers(response: &mut Response, preflight: bool) {
    use axum::http::header::{
        ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
        ACCESS_CONTROL_EXPOSE_HEADERS, VARY,
    };
    let any = HeaderValue::from_static("*");
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, any.clone());
    if preflight {
        headers.insert(ACCESS_CONTROL_ALLOW_METHODS, any.clone());
        headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, any);
    } else {
        headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, any);
    }
    headers.append(
        VARY,
        HeaderValue::from_static("origin, access-control-request-method, access-control-request-headers"),
    );
}

/// `GET /v1/openapi.json`: the OpenAPI document of this API.
async fn openapi_json() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], crate::openapi::document())
}

async fn no_route(method: Method, uri: axum::http::Uri) -> ApiError {
    let _ = trace_id();
    ApiError(Error::NotFound(format!("there is no {method} {}; see the README for the API's routes", uri.path())))
}

async fn wrong_method(method: Method, uri: axum::http::Uri) -> Response {
    let mut response = axum::response::IntoResponse::into_response(ApiError(Error::BadRequest(format!(
        "{} does not accept {method}",
        uri.path()
    ))));
    *response.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    response
}
