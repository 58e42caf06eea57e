//! [`EntityStore`]: the assets and models uploads become (inserted by the lifecycle's
//! `imported` change, in [`super::lifecycle`]).

use super::db::args;
use super::SqlStore;
use crate::metadata::rows::{asset_from, model_from};
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
