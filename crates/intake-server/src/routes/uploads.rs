//! `POST /v1/uploads`, `GET /v1/uploads/{id}`, `POST /v1/uploads/{id}/action`.

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{json_body, Authed, QueryMap};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use intake_api::{DryRunResponse, UploadResponse};
use intake_core::service::CreateOutcome;

/// Scenario's status for a dry run's answer.
const DRY_RUN_STATUS: u16 = 269;

pub async fn create(
    State(state): State<AppState>,
    Authed(caller): Authed,
    QueryMap(query): QueryMap,
    body: Body,
) -> ApiResult<Response> {
    let dry_run = match query.get("dryRun").map(String::as_str) {
        None | Some("false") => false,
        Some("true") | Some("api") => true,
        Some(other) => return Err(ApiError::bad_request(format!("dryRun must be true or api, got {other:?}"))),
    };
    let body = json_body(body).await?;
    match state.service.create_upload(&caller, &body, dry_run).await? {
        CreateOutcome::Created(upload) => Ok(Json(UploadResponse { upload: *upload }).into_response()),
        CreateOutcome::DryRun { creative_units_cost } => {
            let status = StatusCode::from_u16(DRY_RUN_STATUS).expect("269 is a valid status");
            Ok((status, Json(DryRunResponse { creative_units_cost })).into_response())
        }
    }
}

pub async fn retrieve(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<UploadResponse>> {
    let upload = state.service.get_upload(&caller, &id).await?;
    Ok(Json(UploadResponse { upload }))
}

pub async fn action(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<Json<UploadResponse>> {
    let body = json_body(body).await?;
    let action = match body.get("action") {
        Some(serde_json::Value::String(a)) => a.clone(),
        Some(_) => return Err(ApiError::bad_request("action must be a string: \"complete\"")),
        None => return Err(ApiError::bad_request("the body needs an action: {\"action\": \"complete\"}")),
    };
    if action != "complete" {
        return Err(ApiError::bad_request(format!("unknown action {action:?}: the only action is \"complete\"")));
    }
    let upload = state.service.complete_upload(&caller, &id).await?;
    Ok(Json(UploadResponse { upload }))
}
