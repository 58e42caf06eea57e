//! [`UploadStore::apply`](crate::metadata::UploadStore::apply): the one place an upload's
//! status changes. In one transaction it reads the status the row holds, asks
//! [`lifecycle::transition`] where the change leads from there, writes the new status as a
//! compare-and-set on the old one, and performs the change's side effects: the job it
//! enqueues or hands over, the asset or model it inserts, the quota it gives back, and the
//! counters. No status name is written into this module's SQL: every status is bound from
//! the lifecycle's answer.

use super::counters::{count_project, count_status};
use super::db::{args, Arg, Tx};
use super::entities::{asset_values, model_values, INSERT_ASSET, INSERT_MODEL};
use super::uploads::ENQUEUE_JOB;
use super::SqlStore;
use crate::domain::lifecycle::{self, Event};
use crate::metadata::rows::{iso, json_text, upload_from, SELECT_UPLOAD};
use crate::metadata::{Change, Lane, UploadRecord};
use crate::Result;
use intake_api::Status;

impl Change<'_> {
    /// The lifecycle event this change is.
    pub fn event(&self) -> Event {
        match self {
            Change::Completed { .. } | Change::Downloaded { .. } => Event::BytesInPlace,
            Change::ValidationStarted => Event::ValidationStarted,
            Change::Validated { .. } => Event::ValidationPassed,
            Change::ImportedAsset { .. } | Change::ImportedModel { .. } => Event::EntityCreated,
            Change::Failed { .. } | Change::Expired { .. } => Event::Failed,
        }
    }
}

impl SqlStore {
    pub(super) async fn apply_change(&self, upload_id: &str, change: Change<'_>, now_ms: i64) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        let Some(upload) = tx.fetch_optional(&SELECT_UPLOAD, &args![upload_id], upload_from).await? else {
            return Ok(false);
        };
        let Ok(to) = lifecycle::transition(upload.status, change.event()) else {
            return Ok(false);
        };
        if let Change::Expired { .. } = change {
            if upload.status != Status::Pending || upload.expires_at_ms >= now_ms {
                return Ok(false);
            }
        }
        // The compare-and-set: `$1` the new status, `$3` the id, `$4` the status read above;
        // the change's own columns follow from `$5`.
        let (columns, values) = recorded_columns(&change, &upload);
        let mut bound: Vec<Arg> = args![to.as_str(), iso(now_ms), upload_id, upload.status.as_str()].into();
        bound.extend(values);
        let sql = format!("UPDATE uploads SET status = $1, updated_at = $2{columns} WHERE id = $3 AND status = $4");
        if tx.execute(&sql, &bound).await? != 1 {
            return Ok(false); // another change won the race; dropping `tx` rolls back
        }
        side_effects(&mut tx, &change, &upload, now_ms).await?;
        count_status(&mut tx, &upload, upload.status, -1).await?;
        count_status(&mut tx, &upload, to, 1).await?;
        let left_pending = i64::from(upload.status == Status::Pending);
        let bytes = reserved_after(&change, &upload) as i64 - upload.reserved_bytes as i64;
        count_project(&mut tx, &upload.owner_id, -left_pending, bytes).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The bytes `upload` holds against its quota once `change` is applied.
fn reserved_after(change: &Change<'_>, upload: &UploadRecord) -> u64 {
    match change {
        Change::Failed { .. } | Change::Expired { .. } => 0,
        Change::Downloaded { file } => file.file_size,
        _ => upload.reserved_bytes,
    }
}

/// What `change` records besides the status: `, column = $5, …` and the values, in order.
fn recorded_columns<'a>(change: &Change<'a>, upload: &UploadRecord) -> (&'static str, Vec<Arg<'a>>) {
    let reserved = reserved_after(change, upload) as i64;
    match *change {
        Change::Completed { job_id } => (", job_id = $5", args![job_id].into()),
        Change::Downloaded { file } => (
            ", file_name = $5, original_file_name = $6, content_type = $7, file_size = $8, config = $9, reserved_bytes = $10, \
             bytes_received = $8, bytes_total = $8",
            args![
                file.file_name.as_str(),
                file.original_file_name.as_str(),
                file.content_type.as_deref(),
                file.file_size as i64,
                json_text(&file.config),
                reserved,
            ]
            .into(),
        ),
        Change::ValidationStarted => ("", Vec::new()),
        Change::Validated { findings } => (", findings = $5", args![json_text(findings)].into()),
        Change::ImportedAsset { asset } => (", entity_id = $5", args![asset.id.as_str()].into()),
        Change::ImportedModel { model } => (", entity_id = $5", args![model.id.as_str()].into()),
        Change::Failed { message } | Change::Expired { message } => {
            (", error_message = $5, reserved_bytes = $6", args![message, reserved].into())
        }
    }
}

/// The writes that go with `change`, in its transaction.
async fn side_effects(tx: &mut Tx, change: &Change<'_>, upload: &UploadRecord, now_ms: i64) -> Result<()> {
    match change {
        Change::Completed { job_id } => {
            let values = args![
                *job_id,
                upload.id.as_str(),
                upload.owner_id.as_str(),
                Lane::Process.as_str(),
                now_ms,
                iso(now_ms)
            ];
            tx.execute(ENQUEUE_JOB, &values).await?;
        }
        Change::Downloaded { .. } => {
            // The download slot is free once this commits: the job waits for a validation
            // worker, its attempts counted afresh in the new lane.
            if let Some(job_id) = upload.job_id.as_deref() {
                tx.execute(
                    "UPDATE jobs SET lane = $1, state = 'queued', attempts = 0, lease_owner = NULL, lease_until_ms = NULL,
                            run_after_ms = $2, updated_at = $3
                     WHERE id = $4",
                    &args![Lane::Process.as_str(), now_ms, iso(now_ms), job_id],
                )
                .await?;
            }
        }
        Change::ImportedAsset { asset } => {
            tx.execute(INSERT_ASSET, &asset_values(asset)).await?;
        }
        Change::ImportedModel { model } => {
            tx.execute(INSERT_MODEL, &model_values(model)).await?;
        }
        Change::ValidationStarted | Change::Validated { .. } | Change::Failed { .. } | Change::Expired { .. } => {}
    }
    Ok(())
}
