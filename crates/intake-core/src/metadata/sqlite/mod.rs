//! [`MetadataStore`] on SQLite: the embedded default. WAL mode; a change is reported done only
//! once it is on disk, so it survives a crash or power loss. One process owns the file.
//!
//! Most statements go through a sqlx pool (`synchronous=FULL`); the hot paths of the API go
//! through `direct` (reads by id in place, new uploads group-committed with their own WAL
//! flush) and `cache` (uploads kept between reads).

mod cache;
mod direct;

use super::rows::{asset_from, iso, json_text, model_from, parse_enum, parse_json, upload_from, upload_values, Bound};
use super::{
    Admission, ApiKeyRecord, AssetRecord, ImportedFile, JobQueueStats, JobRecord, MetadataStore, ModelRecord,
    UploadListQuery, UploadRecord,
};
use crate::domain::time::format_time;
use crate::{Error, Result};
use async_trait::async_trait;
use chrono::Utc;
use intake_api::{Kind, Status};
use rand::RngCore;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The SQLite metadata store.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    direct: Arc<direct::Direct>,
    cache: Arc<cache::UploadCache>,
}

/// Forgets the cached copy of an upload when the method that changes it returns, whichever
/// way it returns (see [`cache`]).
struct ForgetOnDrop<'a> {
    cache: &'a cache::UploadCache,
    upload_id: &'a str,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        self.cache.forget(self.upload_id);
    }
}

/// `validated → imported` with `entity_id`, inside `tx`; `false` if the upload was not
/// `validated` (the caller then inserts nothing).
async fn mark_imported(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    upload_id: &str,
    entity_id: &str,
    now_ms: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE uploads SET status = 'imported', entity_id = ?, updated_at = ? WHERE id = ? AND status = 'validated'",
    )
    .bind(entity_id)
    .bind(iso(now_ms))
    .bind(upload_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl SqliteStore {
    /// Call first in every method that changes upload `upload_id`.
    fn changing<'a>(&'a self, upload_id: &'a str) -> ForgetOnDrop<'a> {
        ForgetOnDrop { cache: &self.cache, upload_id }
    }

    /// Opens (creating if needed) the database file at `path` and applies migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // No ping before each use: a SQLite connection is a file handle that cannot drop the
        // way a network connection can, and the ping costs two thread hand-offs per query.
        let pool = SqlitePoolOptions::new().max_connections(8).test_before_acquire(false).connect_with(options).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let direct = Arc::new(direct::Direct::open(path)?);
        Ok(Self { pool, direct, cache: Default::default() })
    }

    /// Inserts `u`, counting it among its project's pending uploads if it is pending.
    async fn insert_upload_in(conn: &mut sqlx::SqliteConnection, u: &UploadRecord) -> Result<()> {
        let mut query = sqlx::query(&direct::INSERT_UPLOAD);
        for value in upload_values(u) {
            query = match value {
                Bound::Text(text) => query.bind(text),
                Bound::Integer(integer) => query.bind(integer),
            };
        }
        query.execute(&mut *conn).await?;
        if u.status == Status::Pending {
            sqlx::query(direct::COUNT_NEW_PENDING).bind(&u.owner_id).bind(1i64).execute(&mut *conn).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn signing_secret(&self) -> Result<Vec<u8>> {
        let mut fresh = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut fresh);
        sqlx::query("INSERT INTO settings (name, value) VALUES ('signing_secret', ?) ON CONFLICT (name) DO NOTHING")
            .bind(&fresh)
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT value FROM settings WHERE name = 'signing_secret'").fetch_one(&self.pool).await?;
        Ok(row.get("value"))
    }

    async fn api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        let rows = sqlx::query("SELECT api_key, secret_sha256, user_id, projects FROM api_keys ORDER BY created_at")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ApiKeyRecord {
                    api_key: r.get("api_key"),
                    secret_sha256: r.get("secret_sha256"),
                    user_id: r.get("user_id"),
                    projects: parse_json(r.get("projects"))?.unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn put_api_key(&self, key: &ApiKeyRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (api_key, secret_sha256, user_id, projects, created_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (api_key) DO UPDATE SET secret_sha256 = excluded.secret_sha256,
               user_id = excluded.user_id, projects = excluded.projects",
        )
        .bind(&key.api_key)
        .bind(&key.secret_sha256)
        .bind(&key.user_id)
        .bind(json_text(&key.projects))
        .bind(format_time(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn insert_upload(&self, u: &UploadRecord) -> Result<()> {
        let _forget = self.changing(&u.id);
        self.direct.insert_upload(u, None).await.map(|_| ())
    }

    async fn insert_upload_within(&self, u: &UploadRecord, max_pending: u64) -> Result<Admission> {
        let _forget = self.changing(&u.id);
        self.direct.insert_upload(u, Some(max_pending)).await
    }

    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>> {
        self.cache.get_or_load(id, || self.direct.upload(id))
    }

    async fn list_uploads(&self, q: &UploadListQuery) -> Result<Vec<UploadRecord>> {
        // Portable SQL (the same text runs on PostgreSQL with `$n` placeholders). On SQLite
        // one index (migration 0004) serves every filter combination in order, without a
        // sort, checking status and kind on its entries.
        let mut sql = String::from("SELECT * FROM uploads WHERE owner_id = ?");
        if q.status.is_some() {
            sql.push_str(" AND status = ?");
        }
        if q.kind.is_some() {
            sql.push_str(" AND kind = ?");
        }
        if q.after.is_some() {
            sql.push_str(" AND (created_at < ? OR (created_at = ? AND id < ?))");
        }
        sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ?");
        let mut query = sqlx::query(&sql).bind(&q.owner_id);
        if let Some(status) = q.status {
            query = query.bind(status.as_str());
        }
        if let Some(kind) = q.kind {
            query = query.bind(kind.as_str());
        }
        if let Some(after) = &q.after {
            query = query.bind(&after.created_at).bind(&after.created_at).bind(&after.id);
        }
        let rows = query.bind(q.limit as i64).fetch_all(&self.pool).await?;
        rows.iter().map(upload_from).collect()
    }

    async fn count_pending_uploads(&self, owner_id: &str) -> Result<u64> {
        self.direct.count_pending_uploads(owner_id)
    }

    async fn complete_upload(&self, upload_id: &str, job_id: &str, now_ms: i64) -> Result<bool> {
        let _forget = self.changing(upload_id);
        let mut tx = self.pool.begin().await?;
        let now = iso(now_ms);
        let moved = sqlx::query(
            "UPDATE uploads SET status = 'complete', job_id = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
        )
        .bind(job_id)
        .bind(&now)
        .bind(upload_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !moved {
            return Ok(false);
        }
        sqlx::query("INSERT INTO jobs (id, upload_id, state, attempts, run_after_ms, created_at, updated_at) VALUES (?, ?, 'queued', 0, ?, ?, ?)")
            .bind(job_id)
            .bind(upload_id)
            .bind(now_ms)
            .bind(&now)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn insert_import(&self, u: &UploadRecord, now_ms: i64, max_pending: u64) -> Result<Admission> {
        let _forget = self.changing(&u.id);
        let job_id = u.job_id.as_deref().ok_or_else(|| Error::internal("an import needs its job id"))?;
        let mut tx = self.pool.begin().await?;
        // The insert comes first: it takes SQLite's write lock, so the count read after it
        // is the latest and no other writer can change it before the commit.
        Self::insert_upload_in(&mut tx, u).await?;
        if u.status == Status::Pending {
            let pending: i64 = sqlx::query_scalar(direct::PENDING_COUNT).bind(&u.owner_id).fetch_one(&mut *tx).await?;
            let before = (pending as u64).saturating_sub(1);
            if before >= max_pending {
                return Ok(Admission::ProjectFull { pending: before }); // dropping `tx` rolls back
            }
        }
        let now = iso(now_ms);
        sqlx::query("INSERT INTO jobs (id, upload_id, state, attempts, run_after_ms, created_at, updated_at) VALUES (?, ?, 'queued', 0, ?, ?, ?)")
            .bind(job_id)
            .bind(&u.id)
            .bind(now_ms)
            .bind(&now)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Admission::Stored)
    }

    async fn set_upload_config(&self, upload_id: &str, config: &serde_json::Value, now_ms: i64) -> Result<bool> {
        let _forget = self.changing(upload_id);
        let done = sqlx::query("UPDATE uploads SET config = ?, updated_at = ? WHERE id = ? AND status = 'pending'")
            .bind(json_text(config))
            .bind(iso(now_ms))
            .bind(upload_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn complete_import(&self, upload_id: &str, f: &ImportedFile, now_ms: i64) -> Result<bool> {
        let _forget = self.changing(upload_id);
        let done = sqlx::query(
            "UPDATE uploads SET status = 'complete', file_name = ?, original_file_name = ?, content_type = ?,
               file_size = ?, config = ?, updated_at = ?
             WHERE id = ? AND status = 'pending'",
        )
        .bind(&f.file_name)
        .bind(&f.original_file_name)
        .bind(&f.content_type)
        .bind(f.file_size as i64)
        .bind(json_text(&f.config))
        .bind(iso(now_ms))
        .bind(upload_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_status(&self, upload_id: &str, from: Status, to: Status, now_ms: i64) -> Result<bool> {
        let _forget = self.changing(upload_id);
        let done = sqlx::query("UPDATE uploads SET status = ?, updated_at = ? WHERE id = ? AND status = ?")
            .bind(to.as_str())
            .bind(iso(now_ms))
            .bind(upload_id)
            .bind(from.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_validated(&self, upload_id: &str, findings: &serde_json::Value, now_ms: i64) -> Result<bool> {
        let _forget = self.changing(upload_id);
        let done = sqlx::query("UPDATE uploads SET status = 'validated', findings = ?, updated_at = ? WHERE id = ? AND status = 'validating'")
            .bind(json_text(findings))
            .bind(iso(now_ms))
            .bind(upload_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn fail_upload(&self, upload_id: &str, message: &str, now_ms: i64) -> Result<bool> {
        let _forget = self.changing(upload_id);
        let done = sqlx::query(
            "UPDATE uploads SET status = 'failed', error_message = ?, updated_at = ?
             WHERE id = ? AND status NOT IN ('imported', 'failed')",
        )
        .bind(message)
        .bind(iso(now_ms))
        .bind(upload_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn expired_uploads(&self, now_ms: i64, limit: u32) -> Result<Vec<UploadRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM uploads WHERE status = 'pending' AND expires_at_ms < ? ORDER BY expires_at_ms LIMIT ?",
        )
        .bind(now_ms)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(upload_from).collect()
    }

    async fn expire_upload(&self, upload_id: &str, message: &str, now_ms: i64) -> Result<bool> {
        let _forget = self.changing(upload_id);
        let done = sqlx::query(
            "UPDATE uploads SET status = 'failed', error_message = ?, updated_at = ?
             WHERE id = ? AND status = 'pending' AND expires_at_ms < ?",
        )
        .bind(message)
        .bind(iso(now_ms))
        .bind(upload_id)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn import_asset(&self, a: &AssetRecord, now_ms: i64) -> Result<bool> {
        let _forget = self.changing(&a.upload_id);
        let mut tx = self.pool.begin().await?;
        if !mark_imported(&mut tx, &a.upload_id, &a.id, now_ms).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO assets (id, upload_id, owner_id, author_id, kind, metadata_type, mime_type, blob_key,
               file_name, properties, collection_ids, parent_id, hidden, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&a.id)
        .bind(&a.upload_id)
        .bind(&a.owner_id)
        .bind(&a.author_id)
        .bind(&a.kind)
        .bind(&a.metadata_type)
        .bind(&a.mime_type)
        .bind(&a.blob_key)
        .bind(&a.file_name)
        .bind(json_text(&a.properties))
        .bind(json_text(&a.collection_ids))
        .bind(&a.parent_id)
        .bind(a.hidden as i64)
        .bind(&a.created_at)
        .bind(&a.updated_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn import_model(&self, m: &ModelRecord, now_ms: i64) -> Result<bool> {
        let _forget = self.changing(&m.upload_id);
        let mut tx = self.pool.begin().await?;
        if !mark_imported(&mut tx, &m.upload_id, &m.id, now_ms).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO models (id, upload_id, owner_id, author_id, name, model_type, source, blob_key,
               file_name, size, info, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&m.id)
        .bind(&m.upload_id)
        .bind(&m.owner_id)
        .bind(&m.author_id)
        .bind(&m.name)
        .bind(&m.model_type)
        .bind(&m.source)
        .bind(&m.blob_key)
        .bind(&m.file_name)
        .bind(m.size as i64)
        .bind(json_text(&m.info))
        .bind(&m.created_at)
        .bind(&m.updated_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn asset(&self, id: &str) -> Result<Option<AssetRecord>> {
        let row = sqlx::query("SELECT * FROM assets WHERE id = ?").bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(asset_from).transpose()
    }

    async fn model(&self, id: &str) -> Result<Option<ModelRecord>> {
        let row = sqlx::query("SELECT * FROM models WHERE id = ?").bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(model_from).transpose()
    }

    async fn claim_job(&self, worker: &str, now_ms: i64, lease_until_ms: i64) -> Result<Option<JobRecord>> {
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', lease_owner = ?, lease_until_ms = ?, attempts = attempts + 1, updated_at = ?
             WHERE id = (SELECT id FROM jobs
                         WHERE (state = 'queued' AND run_after_ms <= ?) OR (state = 'running' AND lease_until_ms < ?)
                         ORDER BY run_after_ms, id LIMIT 1)
             RETURNING id, upload_id, attempts",
        )
        .bind(worker)
        .bind(lease_until_ms)
        .bind(iso(now_ms))
        .bind(now_ms)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| JobRecord {
            id: r.get("id"),
            upload_id: r.get("upload_id"),
            attempts: r.get::<i64, _>("attempts") as u32,
        }))
    }

    async fn extend_lease(&self, job_id: &str, worker: &str, lease_until_ms: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE jobs SET lease_until_ms = ? WHERE id = ? AND lease_owner = ? AND state = 'running'")
                .bind(lease_until_ms)
                .bind(job_id)
                .bind(worker)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_job(&self, job_id: &str, worker: &str) -> Result<()> {
        sqlx::query("UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until_ms = NULL, updated_at = ? WHERE id = ? AND lease_owner = ?")
            .bind(format_time(Utc::now()))
            .bind(job_id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn retry_job(&self, job_id: &str, worker: &str, run_after_ms: i64, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until_ms = NULL, run_after_ms = ?, last_error = ?, updated_at = ?
             WHERE id = ? AND lease_owner = ?",
        )
        .bind(run_after_ms)
        .bind(error)
        .bind(format_time(Utc::now()))
        .bind(job_id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn release_job(&self, job_id: &str, worker: &str, now_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until_ms = NULL, run_after_ms = ?,
                    attempts = MAX(attempts - 1, 0), updated_at = ?
             WHERE id = ? AND lease_owner = ? AND state = 'running'",
        )
        .bind(now_ms)
        .bind(iso(now_ms))
        .bind(job_id)
        .bind(worker)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn recover_at_startup(&self) -> Result<u64> {
        // One process owns the file: every lease still held was held by a previous run.
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until_ms = NULL WHERE state = 'running'",
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn upload_counts(&self) -> Result<Vec<(Status, Kind, u64)>> {
        let rows = sqlx::query("SELECT status, kind, COUNT(*) AS n FROM uploads GROUP BY status, kind")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    parse_enum(r.get::<&str, _>("status"), "status")?,
                    parse_enum(r.get::<&str, _>("kind"), "kind")?,
                    r.get::<i64, _>("n") as u64,
                ))
            })
            .collect()
    }

    async fn job_queue_stats(&self, now_ms: i64) -> Result<JobQueueStats> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(state = 'queued'), 0) AS queued, COALESCE(SUM(state = 'running'), 0) AS running,
                    MIN(CASE WHEN state != 'done' THEN created_at END) AS oldest
             FROM jobs WHERE state != 'done'",
        )
        .fetch_one(&self.pool)
        .await?;
        let oldest_age_ms = row
            .get::<Option<String>, _>("oldest")
            .and_then(|t| crate::domain::time::parse_time(&t))
            .map(|t| (now_ms - t.timestamp_millis()).max(0) as u64)
            .unwrap_or(0);
        Ok(JobQueueStats {
            queued: row.get::<i64, _>("queued") as u64,
            running: row.get::<i64, _>("running") as u64,
            oldest_age_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{ListCursor, UploadListQuery};

    /// Every filter combination of `list_uploads` is a read of the one listing index, in
    /// order: SQLite never sorts, nor picks the expiry sweep's status index instead.
    #[tokio::test]
    async fn listing_uploads_reads_an_index_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("intake.db")).await.unwrap();
        let after = Some(ListCursor { created_at: "2026-01-01T00:00:00.000Z".into(), id: "upload_x".into() });
        for status in [None, Some(Status::Failed)] {
            for kind in [None, Some(Kind::Image)] {
                for after in [None, after.clone()] {
                    let mut sql = String::from("EXPLAIN QUERY PLAN SELECT * FROM uploads WHERE owner_id = 'p'");
                    if let Some(s) = status {
                        sql.push_str(&format!(" AND status = '{s}'"));
                    }
                    if let Some(k) = kind {
                        sql.push_str(&format!(" AND kind = '{k}'"));
                    }
                    if let Some(a) = &after {
                        let (c, i) = (&a.created_at, &a.id);
                        sql.push_str(&format!(" AND (created_at < '{c}' OR (created_at = '{c}' AND id < '{i}'))"));
                    }
                    sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT 20");
                    let plan: Vec<String> = sqlx::query(&sql)
                        .fetch_all(&store.pool)
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| r.get::<String, _>("detail"))
                        .collect();
                    let plan = plan.join("; ");
                    assert!(plan.contains("USING INDEX uploads_by_owner"), "{sql}: {plan}");
                    assert!(!plan.contains("TEMP B-TREE"), "{sql} sorts: {plan}");
                }
            }
        }
        // And the method itself runs on an empty store.
        let query = UploadListQuery { owner_id: "p".into(), status: None, kind: None, after, limit: 5 };
        assert!(store.list_uploads(&query).await.unwrap().is_empty());
    }
}
