//! `GET /v1/assets/{id}` and `GET /v1/models/{id}`.

use super::AppState;
use crate::error::ApiResult;
use crate::extract::Authed;
use axum::extract::{Path, State};
use axum::Json;
use intake_api::{AssetResponse, ErrorBody, ModelResponse};

/// The asset an upload became.
#[utoipa::path(get, path = "/v1/assets/{assetId}", tag = "assets",
    params(("assetId" = String, Path), ("projectId" = Option<String>, Query)),
    responses((status = 200, description = "The asset", body = AssetResponse),
              (status = 400, description = "Bad request", body = ErrorBody), (status = 401, description = "Unauthenticated", body = ErrorBody), (status = 403, description = "Forbidden", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody)),
    security(("basic" = [])))]
pub async fn asset(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<AssetResponse>> {
    Ok(Json(AssetResponse { asset: state.service.get_asset(&caller, &id).await? }))
}

/// The model an upload of kind `model` became.
#[utoipa::path(get, path = "/v1/models/{modelId}", tag = "models",
    params(("modelId" = String, Path), ("projectId" = Option<String>, Query)),
    responses((status = 200, description = "The model", body = ModelResponse),
              (status = 400, description = "Bad request", body = ErrorBody), (status = 401, description = "Unauthenticated", body = ErrorBody), (status = 403, description = "Forbidden", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody)),
    security(("basic" = [])))]
pub async fn model(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<ModelResponse>> {
    Ok(Json(ModelResponse { model: state.service.get_model(&caller, &id).await? }))
}
