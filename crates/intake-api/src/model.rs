//! The model an upload of `kind: model` becomes (`GET /v1/models/{id}`).

use serde::{Deserialize, Serialize};

/// A model, as `GET /v1/models/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Model {
    pub id: String,
    /// Generation capabilities; empty for imported weights intake cannot run.
    pub capabilities: Vec<String>,
    pub collection_ids: Vec<String>,
    pub created_at: String,
    pub custom: bool,
    pub example_asset_ids: Vec<String>,
    pub privacy: String,
    /// `civitai|huggingface|other|scenario`.
    pub source: String,
    pub status: String,
    pub tags: Vec<String>,
    pub training_images_number: u64,
    /// `custom` where the weights' family is unknown, else e.g. `flux.1-lora`.
    #[serde(rename = "type")]
    pub type_: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_description: Option<String>,
    /// **intake extension**: what validation found in the model's file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<ModelProperties>,
}

/// What validation found in a model's file (an intake extension; clients that do not know
/// it ignore it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModelProperties {
    /// The file's format: `safetensors`, `gguf`, `pytorch` (a `torch.save` ZIP), `pickle`
    /// (a bare or legacy pickle file), `zip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// For files that hold pickles: every object they import when loaded, as sorted,
    /// distinct `module.name` strings (all of them on the accepted list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickle_imports: Option<Vec<String>>,
    /// Hex SHA-256 of the whole file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
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
}

/// `{"model": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelResponse {
    pub model: Model,
}
