//! `GET /v1/assets/{id}` and `GET /v1/models/{id}`.

use super::AppState;
use crate::error::ApiResult;
use crate::extract::Authed;
use axum::extract::{Path, State};
use axum::Json;
use intake_api::{AssetResponse, ModelResponse};

pub async fn asset(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<AssetResponse>> {
    Ok(Json(AssetResponse { asset: state.service.get_asset(&caller, &id).await? }))
}

pub async fn model(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<ModelResponse>> {
    Ok(Json(ModelResponse { model: state.service.get_model(&caller, &id).await? }))
}
