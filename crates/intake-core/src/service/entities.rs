//! What uploads become: assets and models, their wire forms, and their files behind
//! signed, expiring URLs.

use super::{Caller, Service};
use crate::blob::ByteStream;
use crate::domain::ids::{looks_like, IdKind};
use crate::metadata::{AssetRecord, ModelRecord};
use crate::signing::{Grant, SignatureError};
use crate::{Error, Result};
use intake_api::{Asset, AssetMetadata, AssetThumbnail, Model, ModelProperties};

/// A file that a signed URL grants, ready to stream.
#[derive(Debug, Clone)]
pub struct FileDownload {
    pub blob_key: String,
    pub size: u64,
    pub mime_type: String,
    pub file_name: String,
}

impl Service {
    fn file_url(&self, entity_id: &str) -> String {
        self.signed_url(Grant::ReadFile { entity_id }, self.config.file_url_ttl)
    }

    /// `GET /v1/assets/{id}` for the asset's owner.
    pub async fn get_asset(&self, caller: &Caller, id: &str) -> Result<Asset> {
        let not_found = || Error::NotFound(format!("no asset {id:?} in project {:?}", caller.project_id));
        if !looks_like(IdKind::Asset, id) {
            return Err(not_found());
        }
        let a = match self.meta.asset(id).await? {
            Some(a) if a.owner_id == caller.project_id => a,
            _ => return Err(not_found()),
        };
        Ok(self.asset_to_wire(&a))
    }

    fn asset_to_wire(&self, a: &AssetRecord) -> Asset {
        Asset {
            id: a.id.to_string(),
            author_id: a.author_id.clone(),
            collection_ids: a.collection_ids.clone(),
            created_at: a.created_at.clone(),
            edit_capabilities: Vec::new(),
            kind: a.kind.to_string(),
            metadata: AssetMetadata { kind: a.kind.to_string(), type_: a.metadata_type.clone() },
            mime_type: a.mime_type.clone(),
            owner_id: a.owner_id.to_string(),
            privacy: "private".into(),
            properties: a.properties.clone(),
            source: a.metadata_type.clone(),
            status: "success".into(),
            tags: Vec::new(),
            updated_at: a.updated_at.clone(),
            url: self.file_url(&a.id),
            is_hidden: Some(a.hidden),
            parent_id: a.parent_id.clone(),
            description: None,
            thumbnail: a
                .thumbnail
                .as_ref()
                .map(|_| AssetThumbnail { asset_id: a.id.to_string(), url: self.thumbnail_url(&a.id) }),
        }
    }

    /// The project with this id, as `intake projects create` recorded it (callers check
    /// that the caller's key belongs to it).
    pub async fn project(&self, id: &str) -> Result<Option<crate::metadata::ProjectRecord>> {
        self.meta.project(id).await
    }

    /// `GET /v1/models/{id}` for the model's owner.
    pub async fn get_model(&self, caller: &Caller, id: &str) -> Result<Model> {
        let not_found = || Error::NotFound(format!("no model {id:?} in project {:?}", caller.project_id));
        if !looks_like(IdKind::Model, id) {
            return Err(not_found());
        }
        let m = match self.meta.model(id).await? {
            Some(m) if m.owner_id == caller.project_id => m,
            _ => return Err(not_found()),
        };
        Ok(self.model_to_wire(&m))
    }

    fn model_to_wire(&self, m: &ModelRecord) -> Model {
        Model {
            id: m.id.to_string(),
            capabilities: Vec::new(),
            collection_ids: Vec::new(),
            created_at: m.created_at.clone(),
            custom: m.model_type == "custom",
            example_asset_ids: Vec::new(),
            privacy: "private".into(),
            source: m.source.to_string(),
            status: "trained".into(),
            tags: Vec::new(),
            training_images_number: 0,
            type_: m.model_type.clone(),
            updated_at: m.updated_at.clone(),
            author_id: Some(m.author_id.clone()),
            owner_id: Some(m.owner_id.to_string()),
            name: Some(m.name.clone()),
            short_description: Some(describe_weights(m)),
            properties: Some(model_properties(m)),
        }
    }

    /// Checks a file URL's signature and finds the file it grants.
    pub async fn file_for_url(
        &self,
        entity_id: &str,
        expires: Option<&str>,
        signature: Option<&str>,
    ) -> Result<FileDownload> {
        let expires: i64 = expires.and_then(|e| e.parse().ok()).ok_or(SignatureError::Malformed)?;
        let signature = signature.ok_or(SignatureError::Malformed)?;
        self.signer().verify(Grant::ReadFile { entity_id }, expires, signature, chrono::Utc::now().timestamp())?;
        let gone = || Error::NotFound(format!("{entity_id:?} no longer exists"));
        if looks_like(IdKind::Asset, entity_id) {
            let a = self.meta.asset(entity_id).await?.ok_or_else(gone)?;
            Ok(FileDownload {
                blob_key: a.blob_key,
                size: a.properties.size,
                mime_type: a.mime_type,
                file_name: a.file_name,
            })
        } else if looks_like(IdKind::Model, entity_id) {
            let m = self.meta.model(entity_id).await?.ok_or_else(gone)?;
            Ok(FileDownload {
                blob_key: m.blob_key,
                size: m.size,
                mime_type: "application/octet-stream".into(),
                file_name: m.file_name,
            })
        } else {
            Err(gone())
        }
    }

    /// Checks a thumbnail URL's signature and finds the thumbnail it grants.
    pub async fn thumbnail_for_url(
        &self,
        asset_id: &str,
        expires: Option<&str>,
        signature: Option<&str>,
    ) -> Result<FileDownload> {
        let expires: i64 = expires.and_then(|e| e.parse().ok()).ok_or(SignatureError::Malformed)?;
        let signature = signature.ok_or(SignatureError::Malformed)?;
        self.signer().verify(Grant::ReadThumbnail { asset_id }, expires, signature, chrono::Utc::now().timestamp())?;
        let gone = || Error::NotFound(format!("{asset_id:?} has no thumbnail"));
        let a = self.meta.asset(asset_id).await?.ok_or_else(gone)?;
        let t = a.thumbnail.ok_or_else(gone)?;
        let stem = a.file_name.rsplit_once('.').map(|(stem, _)| stem).unwrap_or(&a.file_name);
        Ok(FileDownload {
            blob_key: t.blob_key,
            size: t.size,
            mime_type: "image/png".into(),
            file_name: format!("{stem}.thumbnail.png"),
        })
    }

    /// Streams bytes `start..end` of a granted file.
    pub async fn file_bytes(&self, file: &FileDownload, start: u64, end: u64) -> Result<ByteStream> {
        self.blobs.read_range(&file.blob_key, start, end).await
    }
}

/// What validation found in the model's file, from the findings kept with it.
fn model_properties(m: &ModelRecord) -> ModelProperties {
    let info = &m.info;
    ModelProperties {
        format: info["format"].as_str().map(String::from),
        pickle_imports: info["pickleImports"]
            .as_array()
            .map(|list| list.iter().filter_map(|v| v.as_str().map(String::from)).collect()),
        sha256: info["properties"]["sha256"].as_str().map(String::from),
        ir_version: info["properties"]["irVersion"].as_u64(),
        opset_version: info["properties"]["opsetVersion"].as_u64(),
        input_count: info["properties"]["inputCount"].as_u64(),
        output_count: info["properties"]["outputCount"].as_u64(),
        node_count: info["properties"]["nodeCount"].as_u64(),
    }
}

/// One line on what was imported: "safetensors, 912 tensors, 85.6M parameters (BF16)".
fn describe_weights(m: &ModelRecord) -> String {
    let info = &m.info;
    let mut words = vec![info["format"].as_str().unwrap_or("weights").to_string()];
    if let Some(n) = info["tensorCount"].as_u64() {
        words.push(format!("{n} tensors"));
    }
    if let Some(p) = info["parameterCount"].as_u64() {
        let dtypes = info["dtypes"]
            .as_array()
            .map(|d| d.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        let params =
            if p >= 1_000_000 { format!("{:.1}M parameters", p as f64 / 1e6) } else { format!("{p} parameters") };
        words.push(if dtypes.is_empty() { params } else { format!("{params} ({dtypes})") });
    }
    let origin = info["importedFrom"].as_str().unwrap_or(&m.file_name);
    format!("Imported from {origin}: {}", words.join(", "))
}
