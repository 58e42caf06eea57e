//! `POST /v1/uploads`, `GET /v1/uploads` (intake's listing extension), `GET /v1/uploads/{id}`,
//! `POST /v1/uploads/{id}/action`.

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{json_body, Authed, QueryMap};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use intake_api::{
    ActionRequest, CreateUploadRequest, DryRunResponse, ErrorBody, Kind, ListUploadsQuery, Status, Upload, UploadList,
    UploadResponse,
};
use intake_core::domain::parse_create_request;
use intake_core::service::CreateOutcome;

/// Creates an upload (multipart; `dryRun` answers 269 with the cost and creates nothing).
#[utoipa::path(post, path = "/v1/uploads", tag = "uploads", request_body = CreateUploadRequest,
    params(("projectId" = Option<String>, Query, description = "Owner project; default: the key's"),
           ("dryRun" = Option<String>, Query, description = "`true` or `api`: estimate only")),
    responses((status = 200, description = "The new upload", body = UploadResponse),
              (status = 269, description = "Dry run: the cost", body = DryRunResponse),
              (status = 400, description = "Bad request", body = ErrorBody), (status = 401, description = "Unauthenticated", body = ErrorBody), (status = 403, description = "Forbidden", body = ErrorBody), (status = 409, description = "Conflict", body = ErrorBody), (status = 413, description = "Too large", body = ErrorBody), (status = 415, description = "The body is not sent as application/json", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody)),
    security(("basic" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Authed(caller): Authed,
    QueryMap(query): QueryMap,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let dry_run = match query.get("dryRun").map(String::as_str) {
        None | Some("false") => false,
        Some("true") | Some("api") => true,
        Some(other) => return Err(ApiError::bad_request(format!("dryRun must be true or api, got {other:?}"))),
    };
    let body = json_body(&headers, body).await?;
    let request = CreateUploadRequest::from_json(&body).map_err(ApiError::bad_request)?;
    let mode = parse_create_request(&request).map_err(|e| ApiError::bad_request(e.reason))?;
    match state.service.create_upload(&caller, mode, dry_run).await? {
        CreateOutcome::Created(upload) => Ok(upload_response(*upload)),
        CreateOutcome::DryRun { creative_units_cost } => {
            let status = StatusCode::from_u16(DryRunResponse::STATUS).expect("269 is a valid status");
            Ok((status, Json(DryRunResponse { creative_units_cost })).into_response())
        }
    }
}

/// `{"upload": …}` as a response. Serialized into one buffer sized for a pending upload's
/// part URLs (axum's `Json` starts at 128 bytes and grows, copying, on the hot paths).
fn upload_response(upload: Upload) -> Response {
    match upload_json(&UploadResponse { upload }) {
        Ok(body) => ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => ApiError(intake_core::Error::internal(e)).into_response(),
    }
}

/// The JSON of an upload answer, by `sonic_rs`: the same bytes as `serde_json` writes (a
/// test holds them equal), but its SIMD string escaping makes it several times faster on
/// the ~2 KB of part URLs a pending upload carries; with `serde_json`'s byte-by-byte
/// escaping, serializing was the largest cost of a `GET` in the server's own code
/// (BENCHMARKS.md, target 5).
fn upload_json(answer: &UploadResponse) -> sonic_rs::Result<Vec<u8>> {
    let parts = answer.upload.parts.as_ref().map_or(0, Vec::len);
    let mut body = Vec::with_capacity(1024 + 256 * parts);
    sonic_rs::to_writer(&mut body, answer)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use intake_api::{AssetOptions, Provider, Source, UploadPart};

    /// Uploads with every optional field, strings that need escaping of every kind, and a
    /// `config` holding numbers, nesting and nulls.
    fn tricky_uploads() -> Vec<Upload> {
        let nasty = "quote \" backslash \\ slash / tab \t newline \n nul \u{0} bell \u{7} del \u{7f} \
                     é ü 日本 🎮 </script> \u{2028} \u{2029} \u{1f}";
        let full = Upload {
            id: "upload_0123456789abcdefghijkl".into(),
            author_id: "user_a".into(),
            created_at: "2026-11-28T01:02:03.456Z".into(),
            file_name: nasty.into(),
            kind: Kind::Model,
            owner_id: "proj_x".into(),
            source: Source::Multipart,
            status: Status::Pending,
            updated_at: "2026-11-28T01:02:04.000Z".into(),
            asset_options: Some(AssetOptions {
                collection_ids: Some(vec!["c1".into(), nasty.into()]),
                hide: Some(true),
                parent_id: Some("asset_p".into()),
            }),
            config: Some(serde_json::json!({
                "progress": 0.25, "tiny": 1e-300, "huge": 1.7976931348623157e308, "negative": -42,
                "big": u64::MAX, "nested": [[], {}, [null, true, false, "x"]], "text": nasty
            })),
            content_type: Some("application/octet-stream".into()),
            entity_id: Some("model_e".into()),
            error_message: Some(nasty.into()),
            file_size: Some(u64::MAX),
            job_id: Some("job_j".into()),
            original_file_name: Some(nasty.into()),
            parts: Some(
                (1..=10)
                    .map(|number| UploadPart {
                        number,
                        url: format!("http://127.0.0.1:8080/parts/upload_x/{number}?expires=1764291723&signature=ab01"),
                        expires: "2026-11-28T02:02:03Z".into(),
                    })
                    .collect(),
            ),
            parts_count: Some(10),
            provider: Some(Provider::HuggingFace),
            url: Some("https://example.com/a b?c=\"d\"&e=é".into()),
        };
        let bare = Upload {
            asset_options: None,
            config: None,
            content_type: None,
            entity_id: None,
            error_message: None,
            file_size: None,
            job_id: None,
            original_file_name: None,
            parts: None,
            parts_count: None,
            provider: None,
            url: None,
            file_name: String::new(),
            ..full.clone()
        };
        let empty_parts = Upload { parts: Some(Vec::new()), ..bare.clone() };
        vec![full, bare, empty_parts]
    }

    #[test]
    fn answers_are_the_bytes_serde_json_writes() {
        for upload in tricky_uploads() {
            let answer = UploadResponse { upload };
            let ours = upload_json(&answer).unwrap();
            let reference = serde_json::to_vec(&answer).unwrap();
            assert_eq!(String::from_utf8(ours.clone()).unwrap(), String::from_utf8(reference).unwrap());
            let back: UploadResponse = serde_json::from_slice(&ours).unwrap();
            assert_eq!(back, answer);
        }
    }
}

/// Lists the project's uploads, newest first (an intake extension of the Uploads API).
#[utoipa::path(get, path = "/v1/uploads", tag = "uploads",
    params(("projectId" = Option<String>, Query, description = "Whose uploads; default: the key's project"),
           ("pageSize" = Option<u32>, Query, description = "Uploads per page, 1 to 100 (default 20)"),
           ("paginationToken" = Option<String>, Query, description = "The previous page's `nextPaginationToken`"),
           ("status" = Option<Status>, Query, description = "Only uploads in this status"),
           ("kind" = Option<Kind>, Query, description = "Only uploads of this kind")),
    responses((status = 200, description = "One page of uploads, newest first; pending ones without `parts`", body = UploadList),
              (status = 400, description = "Bad request (names the parameter)", body = ErrorBody), (status = 401, description = "Unauthenticated", body = ErrorBody), (status = 403, description = "Forbidden", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody)),
    security(("basic" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Authed(caller): Authed,
    QueryMap(query): QueryMap,
) -> ApiResult<Json<UploadList>> {
    let request = ListUploadsQuery::from_pairs(&query).map_err(ApiError::bad_request)?;
    Ok(Json(state.service.list_uploads(&caller, &request).await?))
}

/// The upload; while pending, with freshly signed part URLs.
#[utoipa::path(get, path = "/v1/uploads/{uploadId}", tag = "uploads",
    params(("uploadId" = String, Path), ("projectId" = Option<String>, Query)),
    responses((status = 200, description = "The upload", body = UploadResponse),
              (status = 400, description = "Bad request", body = ErrorBody), (status = 401, description = "Unauthenticated", body = ErrorBody), (status = 403, description = "Forbidden", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody)),
    security(("basic" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let upload = state.service.get_upload(&caller, &id).await?;
    Ok(upload_response(upload))
}

/// `{"action": "complete"}`: seals the parts and starts processing; idempotent.
#[utoipa::path(post, path = "/v1/uploads/{uploadId}/action", tag = "uploads", request_body = ActionRequest,
    params(("uploadId" = String, Path), ("projectId" = Option<String>, Query)),
    responses((status = 200, description = "The upload", body = UploadResponse),
              (status = 400, description = "Bad request (names missing parts)", body = ErrorBody), (status = 401, description = "Unauthenticated", body = ErrorBody), (status = 403, description = "Forbidden", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody), (status = 409, description = "Conflict", body = ErrorBody), (status = 413, description = "Too large", body = ErrorBody), (status = 415, description = "The body is not sent as application/json", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody)),
    security(("basic" = [])))]
pub async fn action(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let body = json_body(&headers, body).await?;
    let ActionRequest { action } = ActionRequest::from_json(&body).map_err(ApiError::bad_request)?;
    if action != ActionRequest::COMPLETE {
        return Err(ApiError::bad_request(format!("unknown action {action:?}: the only action is \"complete\"")));
    }
    let upload = state.service.complete_upload(&caller, &id).await?;
    Ok(upload_response(upload))
}
