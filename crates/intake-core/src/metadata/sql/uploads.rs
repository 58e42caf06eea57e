//! [`UploadStore`]: new uploads (admitted under the project's limits), reads, the listing,
//! import progress and quota reservations. Status changes are in [`super::lifecycle`].

use super::counters::{admit, count_new_upload, count_project, usage_in, PROJECT_USAGE};
use super::db::{args, Arg, Dialect, LockSpace, Tx};
use super::SqlStore;
use crate::metadata::rows::{iso, json_text, upload_from, upload_values, INSERT_UPLOAD, SELECT_UPLOAD, UPLOAD_COLUMNS};
use crate::metadata::{
    Admission, Change, ImportProgress, Lane, ProjectLimits, ProjectUsage, Reservation, UploadListQuery, UploadRecord,
    UploadStore,
};
use crate::{Error, Result};
use async_trait::async_trait;
use intake_api::{Kind, Status};

/// Enqueues job `$1` of upload `$2` (project `$3`) in lane `$4`, runnable at `$5`.
pub(super) const ENQUEUE_JOB: &str =
    "INSERT INTO jobs (id, upload_id, owner_id, lane, state, attempts, run_after_ms, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $6)";

impl SqlStore {
    /// In `tx`: waits for the project's turn to add uploads (so one project's creates take
    /// turns on every instance while other projects' do not wait), then inserts `upload`
    /// and counts it, unless the project is at a limit.
    async fn admit_in(tx: &mut Tx, upload: &UploadRecord, limits: &ProjectLimits) -> Result<Admission> {
        tx.lock(LockSpace::ProjectAdmission, &upload.owner_id).await?;
        let admission = admit(usage_in(tx, &upload.owner_id).await?, upload, limits);
        if admission == Admission::Stored {
            tx.execute(&INSERT_UPLOAD, &upload_values(upload)).await?;
            count_new_upload(tx, upload).await?;
        }
        Ok(admission)
    }
}

#[async_trait]
impl UploadStore for SqlStore {
    async fn insert_upload(&self, upload: &UploadRecord, limits: &ProjectLimits) -> Result<Admission> {
        let _forget = self.changing(&upload.id);
        if let Some(fast) = &self.fast {
            return fast.insert_upload(upload, limits).await;
        }
        let mut tx = self.db.begin().await?;
        let admission = Self::admit_in(&mut tx, upload, limits).await?;
        if admission == Admission::Stored {
            tx.commit().await?;
        }
        Ok(admission)
    }

    async fn insert_import(&self, upload: &UploadRecord, now_ms: i64, limits: &ProjectLimits) -> Result<Admission> {
        let _forget = self.changing(&upload.id);
        let job_id = upload.job_id.as_deref().ok_or_else(|| Error::internal("an import needs its job id"))?;
        let mut tx = self.db.begin().await?;
        let admission = Self::admit_in(&mut tx, upload, limits).await?;
        if admission != Admission::Stored {
            return Ok(admission); // dropping `tx` rolls back
        }
        tx.execute(
            ENQUEUE_JOB,
            &args![job_id, &upload.id, &upload.owner_id, Lane::Download.as_str(), now_ms, iso(now_ms)],
        )
        .await?;
        tx.commit().await?;
        Ok(Admission::Stored)
    }

    async fn upload(&self, id: &str) -> Result<Option<UploadRecord>> {
        if let Some(fast) = &self.fast {
            return fast.upload(id).await;
        }
        self.db.fetch_optional(&SELECT_UPLOAD, &args![id], upload_from).await
    }

    async fn list_uploads(&self, q: &UploadListQuery) -> Result<Vec<UploadRecord>> {
        let (sql, values) = list_query(self.db.dialect(), q, &UPLOAD_COLUMNS.join(", "));
        self.db.fetch_all(&sql, &values, upload_from).await
    }

    async fn project_usage(&self, owner_id: &str) -> Result<ProjectUsage> {
        if let Some(fast) = &self.fast {
            return fast.project_usage(owner_id);
        }
        let usage = self
            .db
            .fetch_optional(PROJECT_USAGE, &args![owner_id], |row| {
                Ok(ProjectUsage {
                    pending: row.required_integer("pending")?.max(0) as u64,
                    bytes: row.required_integer("bytes")?.max(0) as u64,
                })
            })
            .await?;
        Ok(usage.unwrap_or_default())
    }

    async fn apply(&self, upload_id: &str, change: Change<'_>, now_ms: i64) -> Result<bool> {
        let _forget = self.changing(upload_id);
        self.apply_change(upload_id, change, now_ms).await
    }

    async fn set_upload_config(&self, upload_id: &str, config: &serde_json::Value, now_ms: i64) -> Result<bool> {
        let _forget = self.changing(upload_id);
        let done = self
            .db
            .execute(
                "UPDATE uploads SET config = $1, updated_at = $2 WHERE id = $3 AND status = $4",
                &args![json_text(config), iso(now_ms), upload_id, Status::Pending.as_str()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn set_import_progress(&self, upload_id: &str, progress: ImportProgress, now_ms: i64) -> Result<bool> {
        let _forget = self.changing(upload_id);
        let done = self
            .db
            .execute(
                "UPDATE uploads SET bytes_received = $1, bytes_total = $2, updated_at = $3 WHERE id = $4 AND status = $5",
                &args![
                    progress.received as i64,
                    progress.total.map(|t| t as i64),
                    iso(now_ms),
                    upload_id,
                    Status::Pending.as_str()
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn reserve_import_bytes(&self, upload_id: &str, bytes: u64, quota: Option<u64>) -> Result<Reservation> {
        let _forget = self.changing(upload_id);
        let mut tx = self.db.begin().await?;
        let Some(upload) = tx.fetch_optional(&SELECT_UPLOAD, &args![upload_id], upload_from).await? else {
            return Ok(Reservation::NotPending);
        };
        if upload.status != Status::Pending {
            return Ok(Reservation::NotPending);
        }
        tx.lock(LockSpace::ProjectAdmission, &upload.owner_id).await?;
        let usage = usage_in(&mut tx, &upload.owner_id).await?;
        let others = usage.bytes.saturating_sub(upload.reserved_bytes);
        if let Some(quota) = quota {
            if others.saturating_add(bytes) > quota {
                return Ok(Reservation::OverQuota { used: others, quota });
            }
        }
        let changed = tx
            .execute(
                "UPDATE uploads SET reserved_bytes = $1 WHERE id = $2 AND status = $3",
                &args![bytes as i64, upload_id, Status::Pending.as_str()],
            )
            .await?;
        if changed == 1 {
            count_project(&mut tx, &upload.owner_id, 0, bytes as i64 - upload.reserved_bytes as i64).await?;
        }
        tx.commit().await?;
        Ok(Reservation::Reserved)
    }

    async fn expired_uploads(&self, now_ms: i64, limit: u32) -> Result<Vec<UploadRecord>> {
        let sql = format!("SELECT {} {EXPIRED_UPLOADS}", UPLOAD_COLUMNS.join(", "));
        self.db.fetch_all(&sql, &args![Status::Pending.as_str(), now_ms, i64::from(limit)], upload_from).await
    }
}

/// The pending uploads whose time ran out, oldest first (after `SELECT columns`): `$1` the
/// pending status, `$2` now, `$3` the limit. A range of the `uploads_by_status` index.
pub(super) const EXPIRED_UPLOADS: &str =
    "FROM uploads WHERE status = $1 AND expires_at_ms < $2 ORDER BY expires_at_ms LIMIT $3";

/// The statement of one page of `GET /v1/uploads`, selecting `columns`, with its arguments.
/// Every page is a range of one index, however deep: the cursor is a row-value comparison
/// on the index's own columns, not an `OR` the planner cannot turn into a range.
pub(super) fn list_query<'a>(dialect: Dialect, q: &'a UploadListQuery, columns: &str) -> (String, Vec<Arg<'a>>) {
    // Byte-wise order on both engines: SQLite compares text byte-wise by default, and
    // PostgreSQL's listing indexes (migration 0002) are `COLLATE "C"`, which the query must
    // name to use them whatever the database's locale.
    let collate = match dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => " COLLATE \"C\"",
    };
    /// Adds `value` to the arguments; returns its placeholder number.
    fn next<'a>(values: &mut Vec<Arg<'a>>, value: Arg<'a>) -> usize {
        values.push(value);
        values.len()
    }
    let sqlite_index = (dialect == Dialect::Sqlite).then(|| sqlite_listing_index(q.status, q.kind));
    let indexed_by = sqlite_index.map(|(index, _)| format!(" INDEXED BY {index}")).unwrap_or_default();
    let mut sql = format!("SELECT {columns} FROM uploads{indexed_by} WHERE owner_id = $1");
    let mut values: Vec<Arg> = vec![Arg::from(q.owner_id.as_str())];
    if let Some(status) = q.status {
        sql.push_str(&format!(" AND status = ${}", next(&mut values, Arg::from(status.as_str()))));
    }
    if let Some((_, Some(condition))) = sqlite_index {
        sql.push_str(&format!(" AND {condition}"));
    }
    if let Some(kind) = q.kind {
        sql.push_str(&format!(" AND kind = ${}", next(&mut values, Arg::from(kind.as_str()))));
    }
    if let Some(after) = &q.after {
        let c = next(&mut values, Arg::from(after.created_at.as_str()));
        let i = next(&mut values, Arg::from(after.id.as_str()));
        sql.push_str(&format!(" AND (created_at{collate}, id{collate}) < (${c}, ${i})"));
    }
    let limit = next(&mut values, Arg::from(i64::from(q.limit)));
    sql.push_str(&format!(" ORDER BY created_at{collate} DESC, id{collate} DESC LIMIT ${limit}"));
    (sql, values)
}

/// The index a SQLite listing reads, named in the query (`INDEXED BY`) so that the planner,
/// choosing between indexes keyed alike, never walks the wrong one, and the condition of that
/// index when it is partial (SQLite uses a partial index only when the query repeats its
/// condition as written there). Each is a range in listing order whatever the project's mix
/// (migrations 0004, 0009, 0011-0013): no filter, the project's listing; a kind, its own
/// index; `imported` or `failed`, with a kind or not, partial indexes of those uploads only;
/// another status, the uploads in that status, and with a kind the uploads being processed
/// in that status and kind (`pending` with a kind: the project's pending uploads, at most
/// `INTAKE_MAX_PENDING_UPLOADS` of them, checked for the kind).
fn sqlite_listing_index(status: Option<Status>, kind: Option<Kind>) -> (&'static str, Option<&'static str>) {
    const IMPORTED: &str = "status = 'imported'";
    const FAILED: &str = "status = 'failed'";
    const NOT_IMPORTED: &str = "status <> 'imported'";
    const PROCESSING: &str = "status IN ('complete', 'validating', 'validated')";
    match (status, kind) {
        (None, None) => ("uploads_by_owner", None),
        (None, Some(_)) => ("uploads_by_owner_kind", None),
        (Some(Status::Imported), None) => ("uploads_imported_by_owner", Some(IMPORTED)),
        (Some(Status::Imported), Some(_)) => ("uploads_imported_by_owner_kind", Some(IMPORTED)),
        (Some(Status::Failed), Some(_)) => ("uploads_failed_by_owner_kind", Some(FAILED)),
        (Some(Status::Complete | Status::Validating | Status::Validated), Some(_)) => {
            ("uploads_processing_by_owner_kind", Some(PROCESSING))
        }
        (Some(_), _) => ("uploads_unfinished_by_owner", Some(NOT_IMPORTED)),
    }
}
