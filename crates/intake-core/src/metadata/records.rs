//! Rows as the stores read and write them.

use intake_api::{AssetOptions, AssetProperties, Kind, Provider, Source, Status};

/// An upload as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRecord {
    pub id: String,
    pub owner_id: String,
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
    pub job_id: Option<String>,
    pub store_handle: Option<String>,
    pub findings: Option<serde_json::Value>,
    pub created_at: String,
    pub updated_at: String,
    pub expires_at_ms: i64,
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
    /// The upload's final `config` (progress and what was imported).
    pub config: serde_json::Value,
}

/// A background job: process the upload `upload_id` from its current status on.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: String,
    pub upload_id: String,
    /// How many times it was claimed, this claim included.
    pub attempts: u32,
}

/// An asset as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetRecord {
    pub id: String,
    pub upload_id: String,
    pub owner_id: String,
    pub author_id: String,
    /// `3d|audio|document|image|json|text|video`.
    pub kind: String,
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
}

/// A model as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRecord {
    pub id: String,
    pub upload_id: String,
    pub owner_id: String,
    pub author_id: String,
    pub name: String,
    /// Scenario model type: `custom`, `flux.1-lora`, …
    pub model_type: String,
    /// `civitai|huggingface|other`.
    pub source: String,
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
    pub projects: Vec<String>,
}
