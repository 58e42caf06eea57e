//! Liveness, readiness and metrics.

use super::AppState;
use crate::error::{trace_id, ApiResult};
use crate::extract::failed_login;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use intake_core::service::Service;
use intake_core::Error;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// `/readyz` probes the stores at most this often; callers in between get the last verdict.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// A probe that takes longer than this is a failed one (a hung disk or database).
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// `GET /healthz`: 200 once the server is serving.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The last verdict of `/readyz`: it is unauthenticated, and probing the stores writes and
/// fsyncs a file on the local disk, so callers share one probe a second (concurrent callers
/// wait for the one running).
#[derive(Default)]
pub struct Readiness {
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Readiness {
    /// Whether the database and the blob store answer (`Err` holds why not), probed at
    /// most once per [`PROBE_EVERY`].
    async fn check(&self, service: &Service) -> Result<(), String> {
        self.verdict(|| async { service.check_ready().await.map_err(|e| e.to_string()) }).await
    }

    /// The last verdict if it is recent, else what `probe` says now (within
    /// [`PROBE_TIMEOUT`]).
    async fn verdict<F>(&self, probe: impl FnOnce() -> F) -> Result<(), String>
    where
        F: std::future::Future<Output = Result<(), String>>,
    {
        let mut last = self.last.lock().await;
        if let Some((at, verdict)) = last.as_ref() {
            if at.elapsed() < PROBE_EVERY {
                return verdict.clone();
            }
        }
        let verdict = match tokio::time::timeout(PROBE_TIMEOUT, probe()).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("the stores did not answer within {} s", PROBE_TIMEOUT.as_secs())),
        };
        *last = Some((Instant::now(), verdict.clone()));
        verdict
    }
}

/// `GET /readyz`: 200 when the database and the blob store answer, else 503. Callers learn
/// only which; why is in the log, under the answer's trace id.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.readiness.check(&state.service).await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(reason) => {
            let trace_id = trace_id();
            tracing::warn!(%trace_id, %reason, "not ready");
            let body = json!({"status": "unavailable", "reason": "not ready", "traceId": trace_id});
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text exposition; with `INTAKE_METRICS_TOKEN` set, only for
/// `Authorization: Bearer <token>` (a wrong one counts as a failed authentication).
pub async fn metrics(State(state): State<AppState>, request: Request) -> ApiResult<Response> {
    if let Some(token) = &state.metrics_token {
        let (parts, _) = request.into_parts();
        let presented = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let presented = presented.and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
        if !presented.is_some_and(|p| constant_time_eq(p.trim().as_bytes(), token.as_bytes())) {
            let failure = Error::Unauthenticated(
                "metrics need Authorization: Bearer <token>, the token set in INTAKE_METRICS_TOKEN".into(),
            );
            let mut response = failed_login(&parts, &state, failure).into_response();
            if response.status() == StatusCode::UNAUTHORIZED {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"intake-metrics\""));
            }
            return Ok(response);
        }
    }
    let text = state.metrics.render(&state.service).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// However many callers come at once, the stores are probed once a second at most.
    #[tokio::test]
    async fn callers_share_one_probe_a_second() {
        let readiness = Arc::new(Readiness::default());
        let probes = Arc::new(AtomicUsize::new(0));
        let ask = |answer: Result<(), String>| {
            let (readiness, probes) = (readiness.clone(), probes.clone());
            tokio::spawn(async move {
                readiness
                    .verdict(|| async move {
                        probes.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        answer
                    })
                    .await
            })
        };
        let callers: Vec<_> = (0..100).map(|_| ask(Err("the disk is gone".into()))).collect();
        for caller in callers {
            assert_eq!(caller.await.unwrap(), Err("the disk is gone".to_string()));
        }
        assert_eq!(probes.load(Ordering::SeqCst), 1);
        assert_eq!(ask(Ok(())).await.unwrap(), Err("the disk is gone".to_string()), "the verdict is kept");
        // Once it is a second old, the next caller probes again.
        readiness.last.lock().await.as_mut().unwrap().0 -= PROBE_EVERY;
        assert_eq!(ask(Ok(())).await.unwrap(), Ok(()));
        assert_eq!(probes.load(Ordering::SeqCst), 2);
    }
}
