//! Rows as the stores read and write them.

use crate::domain::{AssetId, JobId, ModelId, ProjectId, UploadId};
use intake_api::{AssetKind, AssetOptions, AssetProperties, Kind, Provider, Source, Status};

/// An upload as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRecord {
    pub id: UploadId,
    pub owner_id: ProjectId,
    pub author_id: String,
    pub kind: Kind,
    pub source: Source,
    pub provider: Option<Provider>,
    pub status: Status,
    pub file_name: String,
    pub original_file_name: Option<String>,
    pub content_type: Option<String>,
    pub file_size: Option<u64>,
    pub parts_count: Option<u32>,
    pub url: Option<String>,
    pub asset_options: Option<AssetOptions>,
    pub config: Option<serde_json::Value>,
    pub entity_id: Option<String>,
    pub error_message: Option<String>,
    pub job_id: Option<JobId>,
    pub store_handle: Option<String>,
    pub findings: Option<serde_json::Value>,
    pub created_at: String,
    pub updated_at: String,
    pub expires_at_ms: i64,
    /// Bytes this upload holds against its project's quota: a multipart upload's
    /// `fileSize` from its create, an import's size once known; given back (0) when it fails.
    pub reserved_bytes: u64,
    /// An import's download so far (`None` for a multipart upload).
    pub import_progress: Option<ImportProgress>,
}

/// How far an import's download is: shown as `config.bytesReceived` / `config.bytesTotal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportProgress {
    pub received: u64,
    /// The whole file's size, once the origin said it.
    pub total: Option<u64>,
}

/// What an import downloaded, recorded when it moves to `complete`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedFile {
    /// A safe name (no directories, no control characters).
    pub file_name: String,
    /// The name as the origin gave it (`Content-Disposition`, the URL path, the hub's file name).
    pub original_file_name: String,
    /// The origin's `Content-Type`, if it sent one.
    pub content_type: Option<String>,
    pub file_size: u64,
    /// The upload's final `config` (what was imported; the progress is `file_size` of
    /// `file_size`).
    pub config: serde_json::Value,
}

/// A background job: take upload `upload_id` through the steps of its lane.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: JobId,
    pub upload_id: UploadId,
    /// The project the upload belongs to (whose share of the workers the job takes).
    pub owner_id: ProjectId,
    pub lane: super::Lane,
    /// How many times it was claimed in this lane, this claim included.
    pub attempts: u32,
}

/// An asset as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetRecord {
    pub id: AssetId,
    pub upload_id: UploadId,
    pub owner_id: ProjectId,
    pub author_id: String,
    pub kind: AssetKind,
    /// `uploaded`, `uploaded-3d`, …
    pub metadata_type: String,
    pub mime_type: String,
    pub blob_key: String,
    pub file_name: String,
    pub properties: AssetProperties,
    pub collection_ids: Vec<String>,
    pub parent_id: Option<String>,
    pub hidden: bool,
    pub created_at: String,
    pub updated_at: String,
    /// The asset's thumbnail, where one was made.
    pub thumbnail: Option<ThumbnailRecord>,
}

/// A thumbnail as stored: a small PNG object of the blob store, beside the asset's file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThumbnailRecord {
    /// Its key in the blob store ([`crate::blob::thumbnail_key`] of the file's key).
    pub blob_key: String,
    pub size: u64,
    pub width: u32,
    pub height: u32,
}

/// A model as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRecord {
    pub id: ModelId,
    pub upload_id: UploadId,
    pub owner_id: ProjectId,
    pub author_id: String,
    pub name: String,
    /// Scenario model type: `custom`, `flux.1-lora`, …
    pub model_type: String,
    /// The hub it was imported from, `other` for an upload or a URL import.
    pub source: Provider,
    pub blob_key: String,
    pub file_name: String,
    pub size: u64,
    /// What validation found: format, tensor count, dtypes.
    pub info: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
}

/// An API key: HTTP Basic user `api_key`, password hashed with SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRecord {
    pub api_key: String,
    pub secret_sha256: String,
    pub user_id: String,
    /// Projects the key may act for; the first is its default.
    pub projects: Vec<ProjectId>,
    /// What the key may do in them.
    pub role: Role,
    /// A label for people (`intake keys create --name`); may be empty.
    pub name: String,
    /// Where the key comes from.
    pub origin: KeyOrigin,
    /// RFC 3339, as every stored time.
    pub created_at: String,
    /// When it was revoked (`intake keys revoke`); a revoked key never authenticates.
    pub revoked_at: Option<String>,
}

/// What a key may do in its projects, as Scenario's key roles: a `reader` reads (uploads,
/// assets, models, files, projects), an `editor` also creates and completes, an `admin`
/// also sees and manages its projects' keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Reader,
    Editor,
    Admin,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 3] = [Role::Reader, Role::Editor, Role::Admin];

    /// The stored and printed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    /// The role a name names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// Where a key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Kept in the database: created on first start or with `intake keys create`.
    Database,
    /// `INTAKE_API_KEYS` of some instance: recorded so `intake keys list` shows it, read-only
    /// (it cannot be revoked from the database), and authenticated only from the setting.
    Environment,
}

impl KeyOrigin {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyOrigin::Database => "database",
            KeyOrigin::Environment => "environment",
        }
    }
}

/// A project, as `intake projects create` makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRecord {
    pub id: ProjectId,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
}

/// One generation of the URL-signing secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningSecret {
    /// 1, 2, …: the newest signs.
    pub generation: i64,
    pub secret: Vec<u8>,
    pub created_at_ms: i64,
    /// When a newer one replaced it (`None`: the current one). A retired secret still
    /// verifies the URLs it signed until they expire.
    pub retired_at_ms: Option<i64>,
}

/// What [`super::KeyStore::revoke_api_key`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    /// It was revoked before; nothing changed.
    AlreadyRevoked,
    /// It comes from `INTAKE_API_KEYS`: remove it there.
    FromEnvironment,
    /// No such key.
    Unknown,
}
