//! [`EntityStore`]: the assets and models uploads become (inserted by the lifecycle's
//! `imported` change, in [`super::lifecycle`]).

use super::db::{args, Arg};
use super::SqlStore;
use crate::metadata::rows::{asset_from, json_text, model_from};
use crate::metadata::{AssetRecord, EntityStore, ModelRecord};
use crate::Result;
use async_trait::async_trait;

/// Inserts an asset: `$1`…`$16` in the order of the column list.
pub(super) const INSERT_ASSET: &str =
    "INSERT INTO assets (id, upload_id, owner_id, author_id, kind, metadata_type, mime_type, blob_key,
       file_name, properties, collection_ids, parent_id, hidden, created_at, updated_at, thumbnail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

/// Inserts a model: `$1`…`$13` in the order of the column list.
pub(super) const INSERT_MODEL: &str =
    "INSERT INTO models (id, upload_id, owner_id, author_id, name, model_type, source, blob_key,
       file_name, size, info, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

/// The values of [`INSERT_ASSET`] for `a`, in order.
pub(super) fn asset_values(a: &AssetRecord) -> [Arg<'_>; 16] {
    args![
        a.id.as_str(),
        a.upload_id.as_str(),
        a.owner_id.as_str(),
        a.author_id.as_str(),
        a.kind.as_str(),
        a.metadata_type.as_str(),
        a.mime_type.as_str(),
        a.blob_key.as_str(),
        a.file_name.as_str(),
        json_text(&a.properties),
        json_text(&a.collection_ids),
        a.parent_id.as_deref(),
        a.hidden,
        a.created_at.as_str(),
        a.updated_at.as_str(),
        a.thumbnail.as_ref().map(json_text),
    ]
}

/// The values of [`INSERT_MODEL`] for `m`, in order.
pub(super) fn model_values(m: &ModelRecord) -> [Arg<'_>; 13] {
    args![
        m.id.as_str(),
        m.upload_id.as_str(),
        m.owner_id.as_str(),
        m.author_id.as_str(),
        m.name.as_str(),
        m.model_type.as_str(),
        m.source.as_str(),
        m.blob_key.as_str(),
        m.file_name.as_str(),
        m.size as i64,
        json_text(&m.info),
        m.created_at.as_str(),
        m.updated_at.as_str(),
    ]
}

#[async_trait]
impl EntityStore for SqlStore {
    async fn asset(&self, id: &str) -> Result<Option<AssetRecord>> {
        self.db.fetch_optional("SELECT * FROM assets WHERE id = $1", &args![id], asset_from).await
    }

    async fn model(&self, id: &str) -> Result<Option<ModelRecord>> {
        self.db.fetch_optional("SELECT * FROM models WHERE id = $1", &args![id], model_from).await
    }

    async fn models_after(&self, after: Option<&str>, limit: u32) -> Result<Vec<ModelRecord>> {
        // The primary key's index answers this in id order from `after` on: a page costs the
        // same however many models come before it.
        self.db
            .fetch_all(
                "SELECT * FROM models WHERE id > $1 ORDER BY id LIMIT $2",
                &args![after.unwrap_or(""), i64::from(limit)],
                model_from,
            )
            .await
    }
}
