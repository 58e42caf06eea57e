//! Liveness, readiness and metrics.

use super::AppState;
use crate::error::{trace_id, ApiResult};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// `GET /healthz`: 200 once the server is serving.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: 200 when the database and the blob store answer, else 503 with which.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.service.check_ready().await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(e) => {
            let trace_id = trace_id();
            tracing::warn!(%trace_id, error = %e, "not ready");
            let body = json!({"status": "unavailable", "reason": format!("not ready: {e}"), "traceId": trace_id});
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> ApiResult<Response> {
    let text = state.metrics.render(&state.service).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}
