//! The asset an upload becomes (`GET /v1/assets/{id}`).

use serde::{Deserialize, Serialize};

/// What validation found in the file, with the SDK's own field names. Only `size` is always
/// present; the rest are set where the file's kind has them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AssetProperties {
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// Whether an image holds high-dynamic-range values (floating-point samples, or a PQ or
    /// HLG transfer function).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hdr: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec_name: Option<String>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nb_frames: Option<u64>,
    /// Bits per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u64>,
    /// Audio channels; for images, the colour channels plus alpha (a palette image counts
    /// its palette's), or as many as a Photoshop document declares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u64>,
    /// Images: bits per channel sample (16 for half floats, 32 for floats), or per palette
    /// index for a palette image (as PNG defines bit depth), where the header states one for
    /// every channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bit_depth: Option<u64>,
    /// Images: whether the picture has an alpha (transparency) channel, where the header says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_alpha: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertex_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_animations: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_skeleton: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_normals: Option<bool>,
    #[serde(default, rename = "hasUVs", skip_serializing_if = "Option::is_none")]
    pub has_uvs: Option<bool>,
    /// ONNX: the model's IR version (`ModelProto.ir_version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ir_version: Option<u64>,
    /// ONNX: the opset version imported for the default (`ai.onnx`) domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opset_version: Option<u64>,
    /// ONNX: how many inputs the main graph declares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_count: Option<u64>,
    /// ONNX: how many outputs the main graph declares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_count: Option<u64>,
    /// ONNX: how many nodes (operators) the main graph holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub char_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word_count: Option<u64>,
    /// Hex SHA-256 of the whole file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Why an image has no thumbnail (too many pixels, over the memory budget, undecodable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_skipped: Option<String>,
}

/// `thumbnail` of an asset: a small PNG of it (longest side 512 px) behind a signed,
/// expiring URL. `assetId` is the asset it shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AssetThumbnail {
    pub asset_id: String,
    pub url: String,
}

/// `metadata` of an asset: its kind and how it came to be (`uploaded`, `uploaded-3d`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetMetadata {
    pub kind: String,
    #[serde(rename = "type")]
    pub type_: String,
}

/// An asset, as `GET /v1/assets/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    pub id: String,
    pub author_id: String,
    pub collection_ids: Vec<String>,
    pub created_at: String,
    pub edit_capabilities: Vec<String>,
    /// `3d|audio|document|image|image-hdr|json|text|video`.
    pub kind: String,
    pub metadata: AssetMetadata,
    pub mime_type: String,
    pub owner_id: String,
    pub privacy: String,
    pub properties: AssetProperties,
    pub source: String,
    pub status: String,
    pub tags: Vec<String>,
    pub updated_at: String,
    /// Signed, expiring URL that serves the file's bytes.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_hidden: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the asset is an image a thumbnail was made of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<AssetThumbnail>,
}

/// `{"asset": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetResponse {
    pub asset: Asset,
}
