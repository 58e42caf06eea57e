//! Conversions shared by the SQL stores: times, JSON text columns, enum names, and each
//! record read from its row ([`Columns`]).

use super::sql::db::Arg;
use super::{AssetRecord, ImportProgress, ModelRecord, UploadRecord};
use crate::domain::time::format_time;
use crate::{Error, Result};
use chrono::{TimeZone, Utc};
use std::str::FromStr;

/// Unix milliseconds as the ISO-8601 text clients see.
pub(crate) fn iso(ms: i64) -> String {
    format_time(Utc.timestamp_millis_opt(ms).single().unwrap_or_else(Utc::now))
}

/// A record field as JSON text.
pub(crate) fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("records serialize")
}

/// A JSON text column back into a value.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(s: Option<String>) -> Result<Option<T>> {
    s.map(|s| serde_json::from_str(&s).map_err(|e| Error::internal(format!("stored JSON is unreadable: {e}"))))
        .transpose()
}

/// A stored enum name (kind, status, …) back into its value.
pub(crate) fn parse_enum<T: FromStr>(s: &str, what: &str) -> Result<T> {
    s.parse().map_err(|_| Error::internal(format!("stored {what} {s:?} is unknown")))
}

/// One row's columns read by name, whichever driver produced it, so every store (sqlx's
/// SQLite and PostgreSQL rows, and the `rusqlite` rows of the SQLite hot paths in
/// `sqlite::direct`) shares one mapping per record.
pub trait Columns {
    /// A text column; `None` for NULL.
    fn text(&self, column: &str) -> Result<Option<String>>;
    /// An integer column; `None` for NULL.
    fn integer(&self, column: &str) -> Result<Option<i64>>;
    /// The integer in column `i` (0-based), whatever its name (`SELECT COUNT(*)`, …).
    fn integer_at(&self, i: usize) -> Result<Option<i64>>;
    /// A bytes column; `None` for NULL.
    fn bytes(&self, column: &str) -> Result<Option<Vec<u8>>>;

    /// A text column that must not be NULL.
    fn required_text(&self, column: &str) -> Result<String> {
        self.text(column)?.ok_or_else(|| Error::internal(format!("stored {column} is NULL")))
    }
    /// An integer column that must not be NULL.
    fn required_integer(&self, column: &str) -> Result<i64> {
        self.integer(column)?.ok_or_else(|| Error::internal(format!("stored {column} is NULL")))
    }
    /// A yes/no column: an integer on SQLite (this default), a `BOOLEAN` on PostgreSQL.
    fn flag(&self, column: &str) -> Result<bool> {
        Ok(self.required_integer(column)? != 0)
    }
}

fn unreadable(column: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("stored {column} is unreadable: {e}"))
}

impl Columns for sqlx::sqlite::SqliteRow {
    fn text(&self, column: &str) -> Result<Option<String>> {
        sqlx::Row::try_get(self, column).map_err(|e| unreadable(column, e))
    }
    fn integer(&self, column: &str) -> Result<Option<i64>> {
        sqlx::Row::try_get(self, column).map_err(|e| unreadable(column, e))
    }
    fn integer_at(&self, i: usize) -> Result<Option<i64>> {
        sqlx::Row::try_get(self, i).map_err(|e| unreadable(&format!("column {i}"), e))
    }
    fn bytes(&self, column: &str) -> Result<Option<Vec<u8>>> {
        sqlx::Row::try_get(self, column).map_err(|e| unreadable(column, e))
    }
}

impl Columns for sqlx::postgres::PgRow {
    fn text(&self, column: &str) -> Result<Option<String>> {
        sqlx::Row::try_get(self, column).map_err(|e| unreadable(column, e))
    }
    fn integer(&self, column: &str) -> Result<Option<i64>> {
        sqlx::Row::try_get(self, column).map_err(|e| unreadable(column, e))
    }
    fn integer_at(&self, i: usize) -> Result<Option<i64>> {
        sqlx::Row::try_get(self, i).map_err(|e| unreadable(&format!("column {i}"), e))
    }
    fn bytes(&self, column: &str) -> Result<Option<Vec<u8>>> {
        sqlx::Row::try_get(self, column).map_err(|e| unreadable(column, e))
    }
    fn flag(&self, column: &str) -> Result<bool> {
        sqlx::Row::try_get(self, column).map_err(|e| unreadable(column, e))
    }
}

/// The columns of `uploads`, in the order [`upload_values`] gives their values.
pub(crate) const UPLOAD_COLUMNS: [&str; 26] = [
    "id",
    "owner_id",
    "author_id",
    "kind",
    "source",
    "provider",
    "status",
    "file_name",
    "original_file_name",
    "content_type",
    "file_size",
    "parts_count",
    "url",
    "asset_options",
    "config",
    "entity_id",
    "error_message",
    "job_id",
    "store_handle",
    "findings",
    "created_at",
    "updated_at",
    "expires_at_ms",
    "reserved_bytes",
    "bytes_received",
    "bytes_total",
];

/// `INSERT INTO uploads (…) VALUES ($1, …)`: the one insert of a new upload, whichever
/// engine and driver runs it.
pub(crate) static INSERT_UPLOAD: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let values: Vec<String> = (1..=UPLOAD_COLUMNS.len()).map(|n| format!("${n}")).collect();
    format!("INSERT INTO uploads ({}) VALUES ({})", UPLOAD_COLUMNS.join(", "), values.join(", "))
});

/// One upload by id (`$1`), its columns in the order of [`UPLOAD_COLUMNS`].
pub(crate) static SELECT_UPLOAD: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {} FROM uploads WHERE id = $1", UPLOAD_COLUMNS.join(", ")));

/// The values of [`UPLOAD_COLUMNS`] for `u`, in that order.
pub(crate) fn upload_values(u: &UploadRecord) -> [Arg<'_>; 26] {
    use std::borrow::Cow::{Borrowed, Owned};
    fn text(s: &Option<String>) -> Arg<'_> {
        Arg::Text(s.as_deref().map(std::borrow::Cow::Borrowed))
    }
    let name = |s: &'static str| Arg::Text(Some(Borrowed(s)));
    let json = |v: Option<String>| Arg::Text(v.map(Owned));
    [
        Arg::Text(Some(Borrowed(&u.id))),
        Arg::Text(Some(Borrowed(&u.owner_id))),
        Arg::Text(Some(Borrowed(&u.author_id))),
        name(u.kind.as_str()),
        name(u.source.as_str()),
        Arg::Text(u.provider.map(|p| Borrowed(p.as_str()))),
        name(u.status.as_str()),
        Arg::Text(Some(Borrowed(&u.file_name))),
        text(&u.original_file_name),
        text(&u.content_type),
        Arg::Integer(u.file_size.map(|v| v as i64)),
        Arg::Integer(u.parts_count.map(i64::from)),
        text(&u.url),
        json(u.asset_options.as_ref().map(json_text)),
        json(u.config.as_ref().map(json_text)),
        text(&u.entity_id),
        text(&u.error_message),
        Arg::from(u.job_id.as_ref()),
        text(&u.store_handle),
        json(u.findings.as_ref().map(json_text)),
        Arg::Text(Some(Borrowed(&u.created_at))),
        Arg::Text(Some(Borrowed(&u.updated_at))),
        Arg::Integer(Some(u.expires_at_ms)),
        Arg::Integer(Some(u.reserved_bytes as i64)),
        Arg::Integer(u.import_progress.map(|p| p.received as i64)),
        Arg::Integer(u.import_progress.and_then(|p| p.total).map(|t| t as i64)),
    ]
}

/// An `uploads` row as an [`UploadRecord`].
pub(crate) fn upload_from(row: &dyn Columns) -> Result<UploadRecord> {
    Ok(UploadRecord {
        id: row.required_text("id")?.into(),
        owner_id: row.required_text("owner_id")?.into(),
        author_id: row.required_text("author_id")?,
        kind: parse_enum(&row.required_text("kind")?, "kind")?,
        source: parse_enum(&row.required_text("source")?, "source")?,
        provider: row.text("provider")?.map(|p| parse_enum(&p, "provider")).transpose()?,
        status: parse_enum(&row.required_text("status")?, "status")?,
        file_name: row.required_text("file_name")?,
        original_file_name: row.text("original_file_name")?,
        content_type: row.text("content_type")?,
        file_size: row.integer("file_size")?.map(|v| v as u64),
        parts_count: row.integer("parts_count")?.map(|v| v as u32),
        url: row.text("url")?,
        asset_options: parse_json(row.text("asset_options")?)?,
        config: parse_json(row.text("config")?)?,
        entity_id: row.text("entity_id")?,
        error_message: row.text("error_message")?,
        job_id: row.text("job_id")?.map(Into::into),
        store_handle: row.text("store_handle")?,
        findings: parse_json(row.text("findings")?)?,
        created_at: row.required_text("created_at")?,
        updated_at: row.required_text("updated_at")?,
        expires_at_ms: row.required_integer("expires_at_ms")?,
        reserved_bytes: row.required_integer("reserved_bytes")?.max(0) as u64,
        import_progress: row
            .integer("bytes_received")?
            .map(|received| -> Result<ImportProgress> {
                Ok(ImportProgress {
                    received: received.max(0) as u64,
                    total: row.integer("bytes_total")?.map(|t| t.max(0) as u64),
                })
            })
            .transpose()?,
    })
}

/// An `assets` row as an [`AssetRecord`].
pub(crate) fn asset_from(row: &dyn Columns) -> Result<AssetRecord> {
    Ok(AssetRecord {
        id: row.required_text("id")?.into(),
        upload_id: row.required_text("upload_id")?.into(),
        owner_id: row.required_text("owner_id")?.into(),
        author_id: row.required_text("author_id")?,
        kind: parse_enum(&row.required_text("kind")?, "kind")?,
        metadata_type: row.required_text("metadata_type")?,
        mime_type: row.required_text("mime_type")?,
        blob_key: row.required_text("blob_key")?,
        file_name: row.required_text("file_name")?,
        properties: parse_json(row.text("properties")?)?.unwrap_or_default(),
        collection_ids: parse_json(row.text("collection_ids")?)?.unwrap_or_default(),
        parent_id: row.text("parent_id")?,
        hidden: row.flag("hidden")?,
        created_at: row.required_text("created_at")?,
        updated_at: row.required_text("updated_at")?,
        thumbnail: parse_json(row.text("thumbnail")?)?,
    })
}

/// A `models` row as a [`ModelRecord`].
pub(crate) fn model_from(row: &dyn Columns) -> Result<ModelRecord> {
    Ok(ModelRecord {
        id: row.required_text("id")?.into(),
        upload_id: row.required_text("upload_id")?.into(),
        owner_id: row.required_text("owner_id")?.into(),
        author_id: row.required_text("author_id")?,
        name: row.required_text("name")?,
        model_type: row.required_text("model_type")?,
        source: parse_enum(&row.required_text("source")?, "source")?,
        blob_key: row.required_text("blob_key")?,
        file_name: row.required_text("file_name")?,
        size: row.required_integer("size")? as u64,
        info: parse_json(row.text("info")?)?.unwrap_or_default(),
        created_at: row.required_text("created_at")?,
        updated_at: row.required_text("updated_at")?,
    })
}
