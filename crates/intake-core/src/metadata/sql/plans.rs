//! The query plans of the statements a request or a periodic task runs, as this engine would
//! run them: for the growth checks (`tests/metadata_conformance/growth.rs`), which assert
//! that each reads a range of an index, not the whole table, at any size.

use super::db::{args, Arg};
use super::SqlStore;
use crate::metadata::rows::SELECT_UPLOAD;
use crate::Result;

impl SqlStore {
    /// The plan of one upload read by id (`GET /v1/uploads/{id}`, each key the running orphan
    /// sweep finds in flight, every lifecycle change).
    pub async fn explain_upload_by_id(&self) -> Result<Vec<String>> {
        self.explain(&format!("{}{}", self.explain_prefix(), *SELECT_UPLOAD), &args!["upload_x"]).await
    }

    /// The plans of `/metrics`' reads: the job queue's depth and age, then the upload counters.
    pub async fn explain_metrics(&self) -> Result<Vec<Vec<String>>> {
        let prefix = self.explain_prefix();
        Ok(vec![
            self.explain(&format!("{prefix}{}", super::jobs::JOB_QUEUE_STATS), &[] as &[Arg]).await?,
            self.explain(&format!("{prefix}{}", super::counters::UPLOAD_COUNTS), &[] as &[Arg]).await?,
        ])
    }

    /// The plans of one claim of a job, statement by statement: leases that ran out, what each
    /// project holds, the projects with jobs waiting, the claim of one project's next job.
    /// (Plans only: nothing is changed, `EXPLAIN` without `ANALYZE` runs nothing.)
    pub async fn explain_claim(&self) -> Result<Vec<Vec<String>>> {
        let prefix = self.explain_prefix();
        let lane = crate::metadata::Lane::Process.as_str();
        Ok(vec![
            self.explain(&format!("{prefix}{}", super::jobs::EXPIRE_LEASES), &args![lane, 0i64]).await?,
            self.explain(&format!("{prefix}{}", super::jobs::HELD), &args![lane]).await?,
            self.explain(
                &format!("{prefix}{}", super::jobs::WAITING_PROJECTS),
                &args![lane, super::jobs::MAX_PROJECTS_SEEN],
            )
            .await?,
            self.explain(
                &format!("{prefix}{}", super::jobs::CLAIM_NEXT),
                &args!["worker", 0i64, "2026-01-01T00:00:00.000Z", lane, "proj_x", 0i64],
            )
            .await?,
        ])
    }
}
