//! `GET /v1/projects` and `GET /v1/projects/{projectId}`: the projects the caller's key
//! belongs to, in the official SDK's shape, with the keys the caller may see; and an admin
//! key managing its projects' keys (`POST …/keys`, `DELETE …/keys/{apiKeyId}`).

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::json_body;
use crate::extract::{Authed, QueryMap};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::Engine;
use intake_api::{
    CreateKeyRequest, CreatedKeyResponse, ErrorBody, Project, ProjectKey, ProjectKeyProject, ProjectKeyResponse,
    ProjectList, ProjectResponse,
};
use intake_core::domain::ProjectId;
use intake_core::metadata::{ApiKeyRecord, Role};
use intake_core::service::Caller;
use intake_core::Error;

/// The most projects a page holds, and the default.
const MAX_PAGE_SIZE: usize = 100;
const DEFAULT_PAGE_SIZE: usize = 10;
/// The most keys one project lists.
const MAX_KEYS: usize = 100;
/// intake has no teams: every project of an install is in this one.
const TEAM_ID: &str = "team_intake";

/// One page of the projects the API key may act for, its default first.
#[utoipa::path(get, path = "/v1/projects", tag = "projects",
    params(("pageSize" = Option<u32>, Query, description = "Projects a page, 1 to 100 (default 10)"),
           ("paginationToken" = Option<String>, Query, description = "`nextPaginationToken` of the previous page")),
    responses((status = 200, description = "The key's projects, its default first", body = ProjectList),
              (status = 400, description = "Bad request (names the parameter)", body = ErrorBody), (status = 401, description = "Unauthenticated", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody)),
    security(("basic" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Authed(caller): Authed,
    QueryMap(query): QueryMap,
) -> ApiResult<Json<ProjectList>> {
    intake_api::only_known_parameters(&query, &["pageSize", "paginationToken", "projectId"])
        .map_err(ApiError::bad_request)?;
    let page_size = match query.get("pageSize") {
        None => DEFAULT_PAGE_SIZE,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "pageSize must be a whole number from 1 to {MAX_PAGE_SIZE}, got {v:?}"
                )))
            }
        },
    };
    let start = match query.get("paginationToken") {
        None => 0,
        Some(token) => decode_token(token)
            .ok_or_else(|| ApiError::bad_request("paginationToken is not one this server handed out"))?,
    };
    let Some(key) = state.auth.key_of(&caller) else {
        return Err(ApiError(Error::Unauthenticated("the API key was revoked".into())));
    };
    let ids: Vec<&ProjectId> = key.projects.iter().skip(start).take(page_size).collect();
    let mut projects = Vec::with_capacity(ids.len());
    for id in &ids {
        projects.push(project(&state, &caller, &key, id).await?);
    }
    let next = start + ids.len();
    let next_pagination_token = (next < key.projects.len()).then(|| encode_token(next));
    Ok(Json(ProjectList { projects, next_pagination_token }))
}

/// One project of the API key's.
#[utoipa::path(get, path = "/v1/projects/{projectId}", tag = "projects",
    params(("projectId" = String, Path)),
    responses((status = 200, description = "The project", body = ProjectResponse),
              (status = 401, description = "Unauthenticated", body = ErrorBody), (status = 404, description = "Not one of the key's projects", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody)),
    security(("basic" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<ProjectResponse>> {
    let key = state.auth.key_of(&caller).filter(|k| k.projects.iter().any(|p| p == &id));
    let Some(key) = key else {
        return Err(ApiError(Error::NotFound(format!("no project {id:?} among this API key's projects"))));
    };
    Ok(Json(ProjectResponse { project: project(&state, &caller, &key, &id).await? }))
}

/// Creates a key for the project (the caller's key must be an admin of it); its secret is
/// in this answer only.
#[utoipa::path(post, path = "/v1/projects/{projectId}/keys", tag = "projects", request_body = CreateKeyRequest,
    params(("projectId" = String, Path)),
    responses((status = 201, description = "The new key and its secret (shown only this once)", body = CreatedKeyResponse),
              (status = 400, description = "Bad request", body = ErrorBody), (status = 401, description = "Unauthenticated", body = ErrorBody), (status = 403, description = "The caller's key is not an admin key (names its role)", body = ErrorBody), (status = 404, description = "Not one of the key's projects", body = ErrorBody), (status = 409, description = "The project has as many keys as it may", body = ErrorBody), (status = 415, description = "The body is not sent as application/json", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody)),
    security(("basic" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<CreatedKeyResponse>)> {
    let request: CreateKeyRequest = serde_json::from_value(json_body(&headers, body).await?)
        .map_err(|e| ApiError::bad_request(format!("the body is not a key request: {e}")))?;
    let role = Role::parse(&request.role).ok_or_else(|| {
        ApiError::bad_request(format!("role must be admin, editor or reader, got {:?}", request.role))
    })?;
    let (record, secret) = state.service.create_key(&state.auth, &caller, &id, role, request.name).await?;
    let response = CreatedKeyResponse { key: project_key(&record), api_key: record.api_key, api_secret: secret };
    Ok((StatusCode::CREATED, Json(response)))
}

/// Revokes a key of the project: every instance refuses it within seconds; the part and
/// file URLs it obtained stay valid until they expire. The caller's key must be an admin of
/// every project the revoked key belongs to.
#[utoipa::path(delete, path = "/v1/projects/{projectId}/keys/{apiKeyId}", tag = "projects",
    params(("projectId" = String, Path), ("apiKeyId" = String, Path, description = "The API key (the Basic user name)")),
    responses((status = 200, description = "The key, now inactive", body = ProjectKeyResponse),
              (status = 401, description = "Unauthenticated", body = ErrorBody), (status = 403, description = "The caller's key is not an admin key of every project of the key (names why)", body = ErrorBody), (status = 404, description = "No such key in a project of the caller's key", body = ErrorBody), (status = 409, description = "The key comes from INTAKE_API_KEYS", body = ErrorBody), (status = 429, description = "Rate limited", body = ErrorBody)),
    security(("basic" = [])))]
pub async fn revoke_key(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path((id, api_key)): Path<(String, String)>,
) -> ApiResult<Json<ProjectKeyResponse>> {
    let record = state.service.revoke_key(&state.auth, &caller, &id, &api_key).await?;
    Ok(Json(ProjectKeyResponse { key: project_key(&record) }))
}

/// Project `id` of `key`, with the keys `caller` may see.
async fn project(state: &AppState, caller: &Caller, key: &ApiKeyRecord, id: &str) -> ApiResult<Project> {
    let record = state.service.project(id).await?;
    let (name, created_at, updated_at) = match record {
        Some(p) => (p.name, p.created_at, p.updated_at),
        // Recorded with every key that names it; a project missing anyway keeps its id as name.
        None => (id.to_string(), key.created_at.clone(), key.created_at.clone()),
    };
    let keys = state.auth.keys_visible_in(caller, id, MAX_KEYS).iter().map(project_key).collect();
    Ok(Project {
        id: id.to_string(),
        name,
        created_at,
        updated_at,
        team_id: TEAM_ID.into(),
        privacy_mode: false,
        keys,
        users: Vec::new(),
    })
}

fn project_key(k: &ApiKeyRecord) -> ProjectKey {
    ProjectKey {
        id: k.user_id.clone(),
        api_key_id: k.api_key.clone(),
        api_key_status: if k.revoked_at.is_some() { "inactive" } else { "active" }.into(),
        created_at: k.created_at.clone(),
        updated_at: k.revoked_at.clone().unwrap_or_else(|| k.created_at.clone()),
        name: k.name.clone(),
        role: k.role.as_str().into(),
        scope: "project".into(),
        projects: k
            .projects
            .iter()
            .map(|p| ProjectKeyProject { project_id: p.to_string(), role: k.role.as_str().into() })
            .collect(),
    }
}

/// A page token: base64url of `p<offset>`.
fn encode_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("p{offset}"))
}

fn decode_token(token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    std::str::from_utf8(&bytes).ok()?.strip_prefix('p')?.parse().ok()
}
