//! Counters kept in the same transactions as the changes they count: uploads by status and
//! kind (for `/metrics`), and per project its pending uploads and reserved bytes (for the
//! pending limit and the quota). Reading one costs a row or a few, however many uploads
//! there are.

use super::db::{args, Arg, Tx};
use super::SqlStore;
use crate::metadata::rows::parse_enum;
use crate::metadata::{Admission, Counters, ProjectLimits, ProjectUsage, UploadRecord};
use crate::Result;
use async_trait::async_trait;
use intake_api::{Kind, Status};

/// Adds `$4` to the count of uploads in status `$1` of kind `$2` (shard `$3`).
pub(super) const COUNT_UPLOADS: &str = "INSERT INTO upload_counts (status, kind, shard, n) VALUES ($1, $2, $3, $4)
     ON CONFLICT (status, kind, shard) DO UPDATE SET n = upload_counts.n + excluded.n";

/// Adds `$2` pending uploads and `$3` reserved bytes to project `$1`.
pub(super) const COUNT_PROJECT: &str = "INSERT INTO project_counts (owner_id, pending, bytes) VALUES ($1, $2, $3)
     ON CONFLICT (owner_id) DO UPDATE SET pending = project_counts.pending + excluded.pending,
                                          bytes = project_counts.bytes + excluded.bytes";

/// Project `$1`'s pending uploads and reserved bytes.
pub(super) const PROJECT_USAGE: &str = "SELECT pending, bytes FROM project_counts WHERE owner_id = $1";

/// Uploads by status and kind, summed over the shards (a few dozen rows at most).
pub(super) const UPLOAD_COUNTS: &str =
    "SELECT status, kind, CAST(SUM(n) AS BIGINT) AS n FROM upload_counts GROUP BY status, kind";

/// Shards of `upload_counts` (see migration 0006): changes of different uploads rarely
/// update the same row, so they rarely wait on each other.
const SHARDS: u8 = 8;

/// The `upload_counts` shard upload `id` is counted in.
pub(super) fn shard_of(id: &str) -> i64 {
    i64::from(id.bytes().last().unwrap_or(0) % SHARDS)
}

/// Whether `upload` may be stored in a project that holds `usage`, under `limits`.
pub(crate) fn admit(usage: ProjectUsage, upload: &UploadRecord, limits: &ProjectLimits) -> Admission {
    if upload.status == Status::Pending && usage.pending >= limits.max_pending {
        return Admission::ProjectFull { pending: usage.pending };
    }
    if let Some(quota) = limits.quota_bytes {
        if usage.bytes.saturating_add(upload.reserved_bytes) > quota {
            return Admission::OverQuota { used: usage.bytes, quota };
        }
    }
    Admission::Stored
}

/// What `owner_id` holds, read in `tx`.
pub(super) async fn usage_in(tx: &mut Tx, owner_id: &str) -> Result<ProjectUsage> {
    let row = tx
        .fetch_optional(PROJECT_USAGE, &args![owner_id], |row| {
            Ok(ProjectUsage {
                pending: row.required_integer("pending")?.max(0) as u64,
                bytes: row.required_integer("bytes")?.max(0) as u64,
            })
        })
        .await?;
    Ok(row.unwrap_or_default())
}

/// Counts a new upload (its status and kind; pending and reserved bytes of its project), in
/// the transaction that inserts it.
pub(super) async fn count_new_upload(tx: &mut Tx, upload: &UploadRecord) -> Result<()> {
    count_status(tx, upload, upload.status, 1).await?;
    let pending = i64::from(upload.status == Status::Pending);
    count_project(tx, &upload.owner_id, pending, upload.reserved_bytes as i64).await
}

/// Adds `delta` to the uploads in `status` of `upload`'s kind.
pub(super) async fn count_status(tx: &mut Tx, upload: &UploadRecord, status: Status, delta: i64) -> Result<()> {
    tx.execute(COUNT_UPLOADS, &args![status.as_str(), upload.kind.as_str(), shard_of(&upload.id), delta]).await?;
    Ok(())
}

/// Adds to a project's pending uploads and reserved bytes.
pub(super) async fn count_project(tx: &mut Tx, owner_id: &str, pending: i64, bytes: i64) -> Result<()> {
    if pending != 0 || bytes != 0 {
        tx.execute(COUNT_PROJECT, &args![owner_id, pending, bytes]).await?;
    }
    Ok(())
}

#[async_trait]
impl Counters for SqlStore {
    async fn ping(&self) -> Result<()> {
        self.db.execute("SELECT 1", &[]).await?;
        Ok(())
    }

    async fn upload_counts(&self) -> Result<Vec<(Status, Kind, u64)>> {
        let rows = self
            .db
            .fetch_all(UPLOAD_COUNTS, &[] as &[Arg], |row| {
                Ok((
                    parse_enum(&row.required_text("status")?, "status")?,
                    parse_enum(&row.required_text("kind")?, "kind")?,
                    row.required_integer("n")?.max(0) as u64,
                ))
            })
            .await?;
        Ok(rows.into_iter().filter(|(_, _, n)| *n > 0).collect())
    }
}
