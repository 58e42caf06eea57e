//! `GET /v1/projects` and `GET /v1/projects/{projectId}`: projects as the official SDK's
//! types have them (every field its strict validation requires).

use serde::{Deserialize, Serialize};

/// A project an API key may act for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Project {
    /// Pass as `?projectId=` to act in this project.
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
    /// intake has no teams: the same id for every project of an install.
    pub team_id: String,
    pub privacy_mode: bool,
    /// The project's API keys the caller may see: all of them for an admin key, its own
    /// key for the others.
    pub keys: Vec<ProjectKey>,
    /// intake has keys, not user accounts: always empty.
    pub users: Vec<ProjectUser>,
}

/// An API key of a project (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProjectKey {
    /// The user behind the key (`authorId` of what it creates).
    pub id: String,
    /// The API key (the Basic user name).
    pub api_key_id: String,
    /// `active`, or `inactive` once revoked.
    pub api_key_status: String,
    pub created_at: String,
    pub updated_at: String,
    pub name: String,
    /// `admin`, `editor` or `reader`.
    pub role: String,
    /// Always `project`.
    pub scope: String,
    /// Every project of the key, with its role there.
    pub projects: Vec<ProjectKeyProject>,
}

/// One project of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProjectKeyProject {
    pub project_id: String,
    pub role: String,
}

/// A user of a project (intake has none; the type is here for the document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProjectUser {
    pub id: String,
    pub created_at: String,
    pub email: String,
    pub role: String,
    pub updated_at: String,
}

/// `GET /v1/projects`: one page of the key's projects, its default first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProjectList {
    pub projects: Vec<Project>,
    /// Pass as `paginationToken` to read the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_pagination_token: Option<String>,
}

/// `GET /v1/projects/{projectId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProjectResponse {
    pub project: Project,
}

/// `POST /v1/projects/{projectId}/keys` (an admin key of the project): a new key for
/// that project alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// `admin`, `editor` or `reader`.
    pub role: String,
    /// A label for people (at most 100 characters).
    #[serde(default)]
    pub name: String,
}

/// The answer to [`CreateKeyRequest`]: the key, and its secret, shown only this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedKeyResponse {
    pub key: ProjectKey,
    /// The Basic user name.
    pub api_key: String,
    /// The Basic password: intake keeps only its hash.
    pub api_secret: String,
}

/// `DELETE /v1/projects/{projectId}/keys/{apiKeyId}`: the key, now `inactive`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProjectKeyResponse {
    pub key: ProjectKey,
}
