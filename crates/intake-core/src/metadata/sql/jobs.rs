//! [`JobQueue`]: jobs claimed with a lease, fairly across projects.
//!
//! A claim takes the lane's lock (claims of one lane take turns on every instance; a claim
//! is a few index reads), puts jobs whose lease ran out back in the queue, counts what each
//! project holds (the lane's running jobs: at most the workers of every instance), walks the
//! projects that have jobs waiting (one index seek per project, never a scan of the jobs),
//! picks one by [`choose`], and claims that project's oldest due job.

use super::db::{args, Arg, LockSpace};
use super::SqlStore;
use crate::metadata::rows::iso;
use crate::metadata::{ClaimPolicy, JobQueue, JobQueueStats, JobRecord, Lane};
use crate::{Error, Result};
use async_trait::async_trait;
use std::collections::HashMap;

/// Projects with waiting jobs looked at per claim at most (in id order): past it, the rest
/// wait until those drain. Far more than the projects one deployment has jobs waiting for.
pub(super) const MAX_PROJECTS_SEEN: i64 = 10_000;

/// Every project with a queued job in lane `$1` (walked through the `jobs_waiting` index one
/// project at a time), its earliest due time, and when it last got a job of the lane.
pub(super) const WAITING_PROJECTS: &str = "WITH RECURSIVE waiting(owner_id) AS (
        SELECT owner_id FROM (SELECT owner_id FROM jobs WHERE lane = $1 AND state = 'queued' ORDER BY owner_id LIMIT 1) AS first
        UNION ALL
        SELECT (SELECT j.owner_id FROM jobs j WHERE j.lane = $1 AND j.state = 'queued' AND j.owner_id > w.owner_id
                ORDER BY j.owner_id LIMIT 1)
        FROM waiting w WHERE w.owner_id IS NOT NULL
     )
     SELECT w.owner_id,
            (SELECT MIN(j.run_after_ms) FROM jobs j WHERE j.lane = $1 AND j.state = 'queued' AND j.owner_id = w.owner_id) AS due_ms,
            (SELECT t.last_claim_ms FROM job_turns t WHERE t.lane = $1 AND t.owner_id = w.owner_id) AS turn_ms
     FROM waiting w WHERE w.owner_id IS NOT NULL LIMIT $2";

/// The queue's depth and its oldest unfinished job, for `/metrics`. Each part reads one
/// partial index (`jobs_waiting`, `jobs_running`: only unfinished jobs), so a scrape costs
/// the same however many finished jobs the table keeps. The oldest is the smaller of one
/// minimum per state: `state IN ('queued', 'running')` matches neither partial index, and
/// both engines then read the whole table (a million finished jobs: BENCHMARKS.md, target 10).
pub(super) const JOB_QUEUE_STATS: &str = "SELECT (SELECT COUNT(*) FROM jobs WHERE state = 'queued') AS queued,
        (SELECT COUNT(*) FROM jobs WHERE state = 'running') AS running,
        (SELECT MIN(created_at) FROM (
            SELECT MIN(created_at) AS created_at FROM jobs WHERE state = 'queued'
            UNION ALL
            SELECT MIN(created_at) AS created_at FROM jobs WHERE state = 'running'
        ) AS unfinished) AS oldest";

/// A claim's first step: jobs of lane `$1` whose lease ran out before `$2` are queued again.
pub(super) const EXPIRE_LEASES: &str = "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until_ms = NULL
     WHERE lane = $1 AND state = 'running' AND lease_until_ms < $2";

/// What each project holds of lane `$1`.
pub(super) const HELD: &str =
    "SELECT owner_id, COUNT(*) AS n FROM jobs WHERE lane = $1 AND state = 'running' GROUP BY owner_id";

/// Claims project `$5`'s oldest job of lane `$4` due by `$6` for worker `$1` until `$2`.
pub(super) const CLAIM_NEXT: &str =
    "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until_ms = $2, attempts = attempts + 1, updated_at = $3
     WHERE id = (SELECT id FROM jobs
                 WHERE lane = $4 AND state = 'queued' AND owner_id = $5 AND run_after_ms <= $6
                 ORDER BY run_after_ms, id LIMIT 1)
     RETURNING id, upload_id, owner_id, lane, attempts";

/// Records that project `$2` got a job of lane `$1` at `$3`.
const TAKE_TURN: &str = "INSERT INTO job_turns (lane, owner_id, last_claim_ms) VALUES ($1, $2, $3)
     ON CONFLICT (lane, owner_id) DO UPDATE SET last_claim_ms = excluded.last_claim_ms";

/// A project with jobs waiting in the lane being claimed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Waiting {
    pub owner_id: String,
    /// When its earliest waiting job is due.
    pub due_ms: i64,
    /// When it last got a job of this lane (`None`: never).
    pub turn_ms: Option<i64>,
}

/// Which of the projects with due work gets the next job: among those holding fewer than
/// `policy.per_project` jobs, the one holding the fewest, then the one served longest ago.
/// When every project with due work is at its share, a strict lane (downloads) gives none;
/// otherwise (processing) the work goes to the one holding the fewest rather than leaving a
/// worker idle.
pub(crate) fn choose<'a>(policy: &ClaimPolicy, due: &'a [Waiting], held: &HashMap<String, u32>) -> Option<&'a Waiting> {
    let holds = |w: &Waiting| held.get(&w.owner_id).copied().unwrap_or(0);
    let order = |w: &&'a Waiting| (holds(w), w.turn_ms.unwrap_or(i64::MIN), w.owner_id.clone());
    let cap = policy.per_project.max(1);
    let below_share = due.iter().filter(|w| holds(w) < cap).min_by_key(order);
    match below_share {
        Some(w) => Some(w),
        None if policy.strict => None,
        None => due.iter().min_by_key(order),
    }
}

fn job_from(row: &dyn crate::metadata::rows::Columns) -> Result<JobRecord> {
    let lane = row.required_text("lane")?;
    Ok(JobRecord {
        id: row.required_text("id")?.into(),
        upload_id: row.required_text("upload_id")?.into(),
        owner_id: row.required_text("owner_id")?.into(),
        lane: Lane::parse(&lane).ok_or_else(|| Error::internal(format!("stored lane {lane:?} is unknown")))?,
        attempts: row.required_integer("attempts")?.max(0) as u32,
    })
}

#[async_trait]
impl JobQueue for SqlStore {
    async fn claim_job(
        &self,
        worker: &str,
        policy: &ClaimPolicy,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<Option<JobRecord>> {
        let lane = policy.lane.as_str();
        let mut tx = self.db.begin().await?;
        tx.lock(LockSpace::JobClaims, lane).await?;
        // A lease that ran out: its worker died (or lost touch); the attempt stays counted.
        tx.execute(EXPIRE_LEASES, &args![lane, now_ms]).await?;
        let held: HashMap<String, u32> = tx
            .fetch_all(HELD, &args![lane], |row| {
                Ok((row.required_text("owner_id")?, row.required_integer("n")?.max(0) as u32))
            })
            .await?
            .into_iter()
            .collect();
        let waiting = tx
            .fetch_all(WAITING_PROJECTS, &args![lane, MAX_PROJECTS_SEEN], |row| {
                Ok(Waiting {
                    owner_id: row.required_text("owner_id")?,
                    due_ms: row.required_integer("due_ms")?,
                    turn_ms: row.integer("turn_ms")?,
                })
            })
            .await?;
        let due: Vec<Waiting> = waiting.into_iter().filter(|w| w.due_ms <= now_ms).collect();
        let Some(chosen) = choose(policy, &due, &held) else {
            return Ok(None);
        };
        let job = tx
            .fetch_optional(
                CLAIM_NEXT,
                &args![worker, lease_until_ms, iso(now_ms), lane, chosen.owner_id.as_str(), now_ms],
                job_from,
            )
            .await?;
        tx.execute(TAKE_TURN, &args![lane, chosen.owner_id.as_str(), now_ms]).await?;
        tx.commit().await?;
        Ok(job)
    }

    async fn extend_lease(&self, job_id: &str, worker: &str, lease_until_ms: i64) -> Result<bool> {
        let done = self
            .db
            .execute(
                "UPDATE jobs SET lease_until_ms = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
                &args![lease_until_ms, job_id, worker],
            )
            .await?;
        Ok(done == 1)
    }

    async fn finish_job(&self, job_id: &str, worker: &str) -> Result<()> {
        self.db
            .execute(
                "UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until_ms = NULL, updated_at = $1
                 WHERE id = $2 AND lease_owner = $3",
                &args![crate::domain::time::format_time(chrono::Utc::now()), job_id, worker],
            )
            .await?;
        Ok(())
    }

    async fn retry_job(&self, job_id: &str, worker: &str, run_after_ms: i64, error: &str) -> Result<()> {
        self.db
            .execute(
                "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until_ms = NULL, run_after_ms = $1,
                        last_error = $2, updated_at = $3
                 WHERE id = $4 AND lease_owner = $5",
                &args![run_after_ms, error, crate::domain::time::format_time(chrono::Utc::now()), job_id, worker],
            )
            .await?;
        Ok(())
    }

    async fn release_job(&self, job_id: &str, worker: &str, now_ms: i64) -> Result<bool> {
        let done = self
            .db
            .execute(
                "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until_ms = NULL, run_after_ms = $1,
                        attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, updated_at = $2
                 WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
                &args![now_ms, iso(now_ms), job_id, worker],
            )
            .await?;
        Ok(done == 1)
    }

    async fn recover_at_startup(&self) -> Result<u64> {
        match self.db.dialect() {
            // One process owns the file: every lease still held was held by a previous run.
            super::db::Dialect::Sqlite => {
                self.db
                    .execute(
                        "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until_ms = NULL WHERE state = 'running'",
                        &[] as &[Arg],
                    )
                    .await
            }
            // Other instances share this database: the jobs marked running are theirs (or a
            // dead instance's, claimable once the lease runs out). Releasing them here would
            // hand a live instance's job to a second worker.
            super::db::Dialect::Postgres => Ok(0),
        }
    }

    async fn job_queue_stats(&self, now_ms: i64) -> Result<JobQueueStats> {
        let stats = self
            .db
            .fetch_optional(JOB_QUEUE_STATS, &[], |row| {
                let oldest_age_ms = row
                    .text("oldest")?
                    .and_then(|t| crate::domain::time::parse_time(&t))
                    .map(|t| (now_ms - t.timestamp_millis()).max(0) as u64)
                    .unwrap_or(0);
                Ok(JobQueueStats {
                    queued: row.required_integer("queued")?.max(0) as u64,
                    running: row.required_integer("running")?.max(0) as u64,
                    oldest_age_ms,
                })
            })
            .await?;
        Ok(stats.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(owner: &str, turn: Option<i64>) -> Waiting {
        Waiting { owner_id: owner.into(), due_ms: 0, turn_ms: turn }
    }

    fn held(pairs: &[(&str, u32)]) -> HashMap<String, u32> {
        pairs.iter().map(|(o, n)| (o.to_string(), *n)).collect()
    }

    const DOWNLOADS: ClaimPolicy = ClaimPolicy { lane: Lane::Download, per_project: 2, strict: true };
    const PROCESS: ClaimPolicy = ClaimPolicy { lane: Lane::Process, per_project: 1, strict: false };

    #[test]
    fn the_project_served_longest_ago_goes_first() {
        let due = [waiting("a", Some(30)), waiting("b", Some(10)), waiting("c", None)];
        assert_eq!(choose(&DOWNLOADS, &due, &held(&[])).unwrap().owner_id, "c", "never served goes first");
        assert_eq!(choose(&DOWNLOADS, &due[..2], &held(&[])).unwrap().owner_id, "b");
    }

    #[test]
    fn a_project_holding_fewer_goes_first() {
        let due = [waiting("a", None), waiting("b", Some(99))];
        assert_eq!(choose(&DOWNLOADS, &due, &held(&[("a", 1)])).unwrap().owner_id, "b");
    }

    #[test]
    fn a_strict_lane_never_gives_a_project_more_than_its_share() {
        let due = [waiting("a", None)];
        assert!(choose(&DOWNLOADS, &due, &held(&[("a", 2)])).is_none(), "even with nobody else waiting");
        assert_eq!(choose(&DOWNLOADS, &due, &held(&[("a", 1)])).unwrap().owner_id, "a");
    }

    #[test]
    fn processing_shares_only_while_another_project_waits() {
        let alone = [waiting("a", None)];
        assert_eq!(choose(&PROCESS, &alone, &held(&[("a", 1)])).unwrap().owner_id, "a", "nobody else waits");
        let both = [waiting("a", None), waiting("b", Some(5))];
        assert_eq!(choose(&PROCESS, &both, &held(&[("a", 1)])).unwrap().owner_id, "b", "b is below its share");
        // Both at their share: the work goes on rather than leaving a worker idle.
        assert_eq!(choose(&PROCESS, &both, &held(&[("a", 1), ("b", 2)])).unwrap().owner_id, "a");
    }
}
