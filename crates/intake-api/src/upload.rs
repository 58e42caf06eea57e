//! The upload object and the bodies of the three Uploads endpoints.

use crate::enums::{Kind, Provider, Source, Status};
use crate::wire;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// Options applied to the asset an upload becomes (not available for `kind: model`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AssetOptions {
    /// At most 100 non-empty ids of at most 256 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide: Option<bool>,
    /// A non-empty id of at most 256 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
}

/// The fields of [`AssetOptions`] as they are read, each naming its own mistakes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssetOptionsFields {
    #[serde(default, deserialize_with = "wire::id_list")]
    collection_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "wire::flag")]
    hide: Option<bool>,
    #[serde(default, deserialize_with = "wire::id")]
    parent_id: Option<String>,
}

/// Reads an object with [`AssetOptionsFields`]; anything else is refused with what arrived
/// ("must be an object, got a string"), which serde's derive cannot word.
impl<'de> Deserialize<'de> for AssetOptions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        fn got<E: de::Error>(what: &str) -> Result<AssetOptions, E> {
            Err(E::custom(format!("must be an object, got {what}")))
        }
        impl<'de> Visitor<'de> for Fields {
            type Value = AssetOptions;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<AssetOptions, A::Error> {
                let f = AssetOptionsFields::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(AssetOptions { collection_ids: f.collection_ids, hide: f.hide, parent_id: f.parent_id })
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<AssetOptions, E> {
                got("a boolean")
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<AssetOptions, E> {
                got("a number")
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<AssetOptions, E> {
                got("a number")
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<AssetOptions, E> {
                got("a number")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<AssetOptions, E> {
                got("a string")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<AssetOptions, A::Error> {
                got("a list")
            }
        }
        d.deserialize_any(Fields)
    }
}

/// One part URL of a pending multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadPart {
    /// 1-based part number.
    pub number: u32,
    /// Where to `PUT` the raw bytes of this part.
    pub url: String,
    /// ISO-8601 UTC time after which `url` is refused.
    pub expires: String,
}

/// The upload object, as every Uploads endpoint returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    pub id: String,
    pub author_id: String,
    pub created_at: String,
    pub file_name: String,
    pub kind: Kind,
    pub owner_id: String,
    pub source: Source,
    pub status: Status,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_options: Option<AssetOptions>,
    /// Server-side processing details (intake reports progress here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub config: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_file_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<Vec<UploadPart>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `{"upload": …}`: the answer of create, retrieve and action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadResponse {
    pub upload: Upload,
}

/// The answer of a create with `?dryRun=true|api` (status 269).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DryRunResponse {
    pub creative_units_cost: f64,
}

impl DryRunResponse {
    /// Scenario's HTTP status for a dry run's answer.
    pub const STATUS: u16 = 269;
}

/// The body of `POST /v1/uploads`, as a client builds it and as the server reads it: each
/// field checks its JSON type and names itself in a mistake; which fields go together (the
/// four ways to create an upload) and their limits are the server's rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreateUploadRequest {
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "wire::text")]
    pub file_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "wire::text")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "wire::whole_number")]
    pub file_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "wire::part_count")]
    pub parts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "wire::kind")]
    pub kind: Option<Kind>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "wire::text")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "wire::text")]
    pub hugging_face_model_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "wire::text")]
    pub civitai_model_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_options: Option<AssetOptions>,
}

impl CreateUploadRequest {
    /// Reads the body the server was sent; a mistake is a sentence naming the field
    /// ("fileSize must be a whole number, got a string").
    pub fn from_json(body: &serde_json::Value) -> Result<Self, String> {
        wire::from_json(body)
    }
}

/// The body of `POST /v1/uploads/{id}/action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionRequest {
    pub action: String,
}

impl ActionRequest {
    /// The one action there is.
    pub const COMPLETE: &'static str = "complete";

    /// Reads the body the server was sent; the reason of a mistake says what to send.
    pub fn from_json(body: &serde_json::Value) -> Result<Self, String> {
        match body.get("action") {
            Some(serde_json::Value::String(action)) => Ok(Self { action: action.clone() }),
            Some(_) => Err("action must be a string: \"complete\"".into()),
            None => Err("the body needs an action: {\"action\": \"complete\"}".into()),
        }
    }
}

/// `GET /v1/uploads` (an intake extension): one page of the project's uploads, newest
/// first. Pending uploads come without `parts`; `GET /v1/uploads/{id}` hands those out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UploadList {
    pub uploads: Vec<Upload>,
    /// Pass as `paginationToken` to read the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_pagination_token: Option<String>,
}
