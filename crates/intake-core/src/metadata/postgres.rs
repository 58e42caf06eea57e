//! [`MetadataStore`] on PostgreSQL: the scale-out deployment, where any number of `intake
//! serve` processes share one database. Jobs are claimed with `FOR UPDATE SKIP LOCKED`, so
//! concurrent workers never claim the same job and never wait on each other's claims; a
//! claim is a lease that the holder's heartbeat extends, and a job whose holder died is
//! claimed again once the lease runs out. Migrations run under sqlx's advisory lock, so
//! instances that start together do not race.

use super::rows::{
    asset_from, insert_upload_sql, iso, json_text, model_from, parse_enum, parse_json, upload_from, upload_values,
    Bound,
};
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
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

/// `validated → imported` with `entity_id`, inside `tx`; `false` if the upload was not
/// `validated` (the caller then inserts nothing).
async fn mark_imported(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    upload_id: &str,
    entity_id: &str,
    now_ms: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE uploads SET status = 'imported', entity_id = $1, updated_at = $2 WHERE id = $3 AND status = 'validated'",
    )
    .bind(entity_id)
    .bind(iso(now_ms))
    .bind(upload_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The first key of the advisory locks that serialize one project's creates (the second is
/// a hash of the project id): "intk", so they cannot meet another user's locks by chance.
const PENDING_LIMIT_LOCKS: i32 = 0x696e_746b;

/// How many uploads project `$1` has pending.
const COUNT_PENDING: &str = "SELECT COUNT(*) FROM uploads WHERE owner_id = $1 AND status = 'pending'";

/// The PostgreSQL metadata store.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`,
    /// with any libpq-style parameters such as `sslmode`) and applies migrations.
    /// `max_connections` bounds this process's pool.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| Error::internal(format!("INTAKE_DATABASE_URL is not a PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Creates database `name` on the server `admin_url` connects to, unless it exists, and
    /// returns `admin_url` pointing at it. For test suites and provisioning scripts: the
    /// role in `admin_url` needs the CREATEDB privilege. `name` must be a plain identifier.
    pub async fn create_database(admin_url: &str, name: &str) -> Result<String> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(Error::internal(format!("refusing database name {name:?}")));
        }
        let options = PgConnectOptions::from_str(admin_url).map_err(Error::internal)?;
        let pool = PgPoolOptions::new().max_connections(1).connect_with(options).await?;
        let exists =
            sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1").bind(name).fetch_optional(&pool).await?;
        if exists.is_none() {
            match sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await {
                Ok(_) => {}
                // Created meanwhile by a concurrent caller.
                Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("42P04" | "23505")) => {}
                Err(e) => return Err(e.into()),
            }
        }
        pool.close().await;
        let mut url = url::Url::parse(admin_url).map_err(Error::internal)?;
        url.set_path(&format!("/{name}"));
        Ok(url.to_string())
    }

    /// The connection pool (tests and tools).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// In `tx`, waits for the project's turn to add uploads (a transaction-scoped advisory
    /// lock keyed by the project, so one project's creates and imports take turns across
    /// every instance while other projects' do not wait), then `Some` refusal if it already
    /// has `max_pending` uploads pending.
    async fn project_full(tx: &mut sqlx::PgConnection, owner_id: &str, max_pending: u64) -> Result<Option<Admission>> {
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(PENDING_LIMIT_LOCKS)
            .bind(owner_id)
            .execute(&mut *tx)
            .await?;
        let pending: i64 = sqlx::query_scalar(COUNT_PENDING).bind(owner_id).fetch_one(&mut *tx).await?;
        Ok((pending as u64 >= max_pending).then_some(Admission::ProjectFull { pending: pending as u64 }))
    }

    /// Inserts `u` on `conn` (a pool connection or a transaction).
    async fn insert_upload_in(conn: &mut sqlx::PgConnection, u: &UploadRecord) -> Result<()> {
        static INSERT_UPLOAD: LazyLock<String> = LazyLock::new(|| insert_upload_sql(|n| format!("${n}")));
        let mut query = sqlx::query(&INSERT_UPLOAD);
        for value in upload_values(u) {
            query = match value {
                Bound::Text(text) => query.bind(text),
                Bound::Integer(integer) => query.bind(integer),
            };
        }
        query.execute(&mut *conn).await?;
        Ok(())
    }
}

#[async_trait]
impl MetadataStore for PostgresStore {
    async fn signing_secret(&self) -> Result<Vec<u8>> {
        let mut fresh = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut fresh);
        sqlx::query("INSERT INTO settings (name, value) VALUES ('signing_secret', $1) ON CONFLICT (name) DO NOTHING")
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
            "INSERT INTO api_keys (api_key, secret_sha256, user_id, projects, created_at) VALUES ($1, $2, $3, $4, $5)
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
        let mut conn = self.pool.acquire().await?;
        Self::insert_upload_in(&mut conn, u).await
    }

    /// Exact under racing creates and imports, across instances: see `project_full`.
    async fn insert_upload_within(&self, u: &UploadRecord, max_pending: u64) -> Result<Admission> {
        let mut tx = self.pool.begin().await?;
        if let Some(full) = Self::project_full(&mut tx, &u.owner_id, max_pending).await? {
            return Ok(full);
        }
        Self::insert_upload_in(&mut tx, u).await?;
        tx.commit().await?;
        Ok(Admission::Stored)
    }

    async fn insert_import(&self, u: &UploadRecord, now_ms: i64, max_pending: u64) -> Result<Admission> {
        let job_id = u.job_id.as_deref().ok_or_else(|| Error::internal("an import needs its job id"))?;
        let mut tx = self.pool.begin().await?;
        if let Some(full) = Self::project_full(&mut tx, &u.owner_id, max_pending).await? {
            return Ok(full);
        }
        Self::insert_upload_in(&mut tx, u).await?;
        let now = iso(now_ms);
        sqlx::query("INSERT INTO jobs (id, upload_id, state, attempts, run_after_ms, created_at, updated_at) VALUES ($1, $2, 'queued', 0, $3, $4, $5)")
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
        let done = sqlx::query("UPDATE uploads SET config = $1, updated_at = $2 WHERE id = $3 AND status = 'pending'")
            .bind(json_text(config))
            .bind(iso(now_ms))
            .bind(upload_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn complete_import(&self, upload_id: &str, f: &ImportedFile, now_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE uploads SET status = 'complete', file_name = $1, original_file_name = $2, content_type = $3,
               file_size = $4, config = $5, updated_at = $6
             WHERE id = $7 AND status = 'pending'",
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

    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>> {
        let row = sqlx::query("SELECT * FROM uploads WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(upload_from).transpose()
    }

    async fn list_uploads(&self, q: &UploadListQuery) -> Result<Vec<UploadRecord>> {
        // The SQLite query with `$n` placeholders and byte-wise comparison (the indexes of
        // migration 0002 use the same collation, so each filter is an index range read).
        let mut sql = String::from("SELECT * FROM uploads WHERE owner_id = $1");
        let mut n = 1;
        let mut next = || {
            n += 1;
            n
        };
        if q.status.is_some() {
            sql.push_str(&format!(" AND status = ${}", next()));
        }
        if q.kind.is_some() {
            sql.push_str(&format!(" AND kind = ${}", next()));
        }
        if q.after.is_some() {
            let (c, i) = (next(), next());
            sql.push_str(&format!(
                " AND (created_at COLLATE \"C\" < ${c} OR (created_at COLLATE \"C\" = ${c} AND id COLLATE \"C\" < ${i}))"
            ));
        }
        sql.push_str(&format!(" ORDER BY created_at COLLATE \"C\" DESC, id COLLATE \"C\" DESC LIMIT ${}", next()));
        let mut query = sqlx::query(&sql).bind(&q.owner_id);
        if let Some(status) = q.status {
            query = query.bind(status.as_str());
        }
        if let Some(kind) = q.kind {
            query = query.bind(kind.as_str());
        }
        if let Some(after) = &q.after {
            query = query.bind(&after.created_at).bind(&after.id);
        }
        let rows = query.bind(q.limit as i64).fetch_all(&self.pool).await?;
        rows.iter().map(upload_from).collect()
    }

    async fn count_pending_uploads(&self, owner_id: &str) -> Result<u64> {
        let pending: i64 = sqlx::query_scalar(COUNT_PENDING).bind(owner_id).fetch_one(&self.pool).await?;
        Ok(pending as u64)
    }

    async fn complete_upload(&self, upload_id: &str, job_id: &str, now_ms: i64) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let now = iso(now_ms);
        let moved = sqlx::query(
            "UPDATE uploads SET status = 'complete', job_id = $1, updated_at = $2 WHERE id = $3 AND status = 'pending'",
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
        sqlx::query("INSERT INTO jobs (id, upload_id, state, attempts, run_after_ms, created_at, updated_at) VALUES ($1, $2, 'queued', 0, $3, $4, $5)")
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

    async fn set_status(&self, upload_id: &str, from: Status, to: Status, now_ms: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE uploads SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
            .bind(to.as_str())
            .bind(iso(now_ms))
            .bind(upload_id)
            .bind(from.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_validated(&self, upload_id: &str, findings: &serde_json::Value, now_ms: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE uploads SET status = 'validated', findings = $1, updated_at = $2 WHERE id = $3 AND status = 'validating'")
            .bind(json_text(findings))
            .bind(iso(now_ms))
            .bind(upload_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn fail_upload(&self, upload_id: &str, message: &str, now_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE uploads SET status = 'failed', error_message = $1, updated_at = $2
             WHERE id = $3 AND status NOT IN ('imported', 'failed')",
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
            "SELECT * FROM uploads WHERE status = 'pending' AND expires_at_ms < $1 ORDER BY expires_at_ms LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(upload_from).collect()
    }

    async fn expire_upload(&self, upload_id: &str, message: &str, now_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE uploads SET status = 'failed', error_message = $1, updated_at = $2
             WHERE id = $3 AND status = 'pending' AND expires_at_ms < $4",
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
        let mut tx = self.pool.begin().await?;
        if !mark_imported(&mut tx, &a.upload_id, &a.id, now_ms).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO assets (id, upload_id, owner_id, author_id, kind, metadata_type, mime_type, blob_key,
               file_name, properties, collection_ids, parent_id, hidden, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
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
        .bind(a.hidden)
        .bind(&a.created_at)
        .bind(&a.updated_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn import_model(&self, m: &ModelRecord, now_ms: i64) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if !mark_imported(&mut tx, &m.upload_id, &m.id, now_ms).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO models (id, upload_id, owner_id, author_id, name, model_type, source, blob_key,
               file_name, size, info, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
        let row = sqlx::query("SELECT * FROM assets WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(asset_from).transpose()
    }

    async fn model(&self, id: &str) -> Result<Option<ModelRecord>> {
        let row = sqlx::query("SELECT * FROM models WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(model_from).transpose()
    }

    async fn claim_job(&self, worker: &str, now_ms: i64, lease_until_ms: i64) -> Result<Option<JobRecord>> {
        // The inner SELECT locks the one row it picks and skips rows other claimers hold
        // locked, so two workers never get the same job and never block each other; the
        // UPDATE then takes it under that lock.
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until_ms = $2, attempts = attempts + 1, updated_at = $3
             WHERE id = (SELECT id FROM jobs
                         WHERE state <> 'done'
                           AND ((state = 'queued' AND run_after_ms <= $4) OR (state = 'running' AND lease_until_ms < $4))
                         ORDER BY run_after_ms, id
                         LIMIT 1
                         FOR UPDATE SKIP LOCKED)
             RETURNING id, upload_id, attempts",
        )
        .bind(worker)
        .bind(lease_until_ms)
        .bind(iso(now_ms))
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
            sqlx::query("UPDATE jobs SET lease_until_ms = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'")
                .bind(lease_until_ms)
                .bind(job_id)
                .bind(worker)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_job(&self, job_id: &str, worker: &str) -> Result<()> {
        sqlx::query("UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until_ms = NULL, updated_at = $1 WHERE id = $2 AND lease_owner = $3")
            .bind(format_time(Utc::now()))
            .bind(job_id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn retry_job(&self, job_id: &str, worker: &str, run_after_ms: i64, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until_ms = NULL, run_after_ms = $1, last_error = $2, updated_at = $3
             WHERE id = $4 AND lease_owner = $5",
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
            "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until_ms = NULL, run_after_ms = $1,
                    attempts = GREATEST(attempts - 1, 0), updated_at = $2
             WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
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
        // Other instances share this database: the jobs marked running are theirs (or a dead
        // instance's, claimable once the lease runs out). Releasing them here would hand a
        // live instance's job to a second worker.
        Ok(0)
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
            "SELECT COUNT(*) FILTER (WHERE state = 'queued') AS queued,
                    COUNT(*) FILTER (WHERE state = 'running') AS running,
                    MIN(created_at) AS oldest
             FROM jobs WHERE state <> 'done'",
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
