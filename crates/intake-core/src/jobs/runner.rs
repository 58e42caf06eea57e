//! Claims and runs upload jobs, on two sets of workers: download slots for imports that are
//! fetching their file, and processing workers for everything from `complete` on, so slow
//! origins never starve validation. Each claim is fair across projects (see
//! [`crate::metadata::JobQueue::claim_job`]): a project holds at most half of the download
//! slots (rounded up), and, while another project has work waiting, at most half of the
//! processing workers.
//!
//! An attempt is counted when a job is claimed: a job claimed more than `max_attempts` times
//! without finishing (a file that kills the process while it is processed, say) ends its
//! upload `failed` instead of running again.
//!
//! On a stop, workers claim nothing more; a job in hand gets `shutdown_grace` to finish its
//! step, and a job that stopped early (a download pauses at once) or that is still running
//! then is given back: its lease is released at once, so the next start (or another
//! process) takes it without waiting for the lease to expire, and the interrupted attempt
//! is not counted. Every step is a compare-and-set, so abandoning one midway is safe.

use crate::metadata::{ClaimPolicy, JobQueue, JobRecord, Lane};
use crate::service::{ProcessOutcome, Service};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How the runner works.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Uploads validated and imported at once by this process (the processing lane).
    pub workers: usize,
    /// Imports downloading at once in this process (the download lane).
    pub import_workers: usize,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    /// How often idle workers look for jobs (they are also woken when one is enqueued).
    pub poll_interval: Duration,
    /// Claims of a job in one lane (each counted when it is claimed) before its upload is
    /// failed for good.
    pub max_attempts: u32,
    /// How often abandoned uploads are looked for and expired.
    pub sweep_interval: Duration,
    /// After a stop, how long a job in hand may go on before it is abandoned and given back.
    pub shutdown_grace: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            import_workers: 4,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            max_attempts: 5,
            sweep_interval: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// The workers of one process.
pub struct JobRunner {
    service: Arc<Service>,
    jobs: Arc<dyn JobQueue>,
    config: RunnerConfig,
    worker_prefix: String,
}

/// At most half of `n` (rounded up, at least 1).
fn half_of(n: usize) -> u32 {
    n.div_ceil(2).max(1) as u32
}

/// The most jobs one [`JobRunner::run_pending`] call runs.
pub const RUN_PENDING_CAP: usize = 10_000;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl JobRunner {
    /// A runner for `service`; `instance` names this process in leases.
    pub fn new(service: Arc<Service>, config: RunnerConfig, instance: &str) -> Self {
        let jobs = service.jobs();
        Self { service, jobs, config, worker_prefix: instance.to_string() }
    }

    /// How a worker of `lane` claims.
    fn policy(&self, lane: Lane) -> ClaimPolicy {
        match lane {
            Lane::Download => ClaimPolicy { lane, per_project: half_of(self.config.import_workers), strict: true },
            Lane::Process => ClaimPolicy { lane, per_project: (self.config.workers / 2).max(1) as u32, strict: false },
        }
    }

    /// Runs the workers (and the sweeper of abandoned uploads) until `stop` turns true;
    /// each worker finishes the job in hand within `shutdown_grace`, or gives it back.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        let me = Arc::new(self);
        let mut workers = JoinSet::new();
        {
            let (me, stop) = (me.clone(), stop.clone());
            workers.spawn(async move { me.sweeper(stop).await });
        }
        for n in 0..me.config.workers.max(1) {
            let (me, stop) = (me.clone(), stop.clone());
            workers.spawn(async move { me.worker(Lane::Process, format!("{}-p{n}", me.worker_prefix), stop).await });
        }
        for n in 0..me.config.import_workers.max(1) {
            let (me, stop) = (me.clone(), stop.clone());
            workers.spawn(async move { me.worker(Lane::Download, format!("{}-d{n}", me.worker_prefix), stop).await });
        }
        while workers.join_next().await.is_some() {}
    }

    /// Runs here and now, one at a time, every job that is due in either lane and every
    /// job those enqueue in turn (a finished download hands its upload to processing),
    /// after expiring abandoned uploads and sweeping orphaned bytes as the sweeper would;
    /// returns, with how many jobs it ran, once no job is due. Jobs waiting out a retry
    /// backoff are not due and stay queued; each job runs to its end (no stop, no grace).
    ///
    /// For tests and tools that need the jobs done at a known moment rather than awaited:
    /// a runner used this way does not also [`run`](Self::run) (see
    /// `intake_server::Application::spawn_with_manual_jobs`), so no other worker of this
    /// process takes a job meanwhile and "returned" means "drained". At most
    /// [`RUN_PENDING_CAP`] jobs run per call, so a queue that refills itself cannot hold
    /// the caller forever.
    pub async fn run_pending(&self) -> crate::Result<usize> {
        self.service.expire_abandoned_uploads().await?;
        self.service.sweep_orphans(crate::service::SweepScope::Running).await?;
        // Never sent: a job run here has no stop to heed.
        let (_never_stop, stop) = watch::channel(false);
        let worker = format!("{}-now", self.worker_prefix);
        let lease_ms = self.config.lease.as_millis() as i64;
        let mut ran = 0;
        'drain: while ran < RUN_PENDING_CAP {
            for lane in [Lane::Download, Lane::Process] {
                let policy = ClaimPolicy { lane, per_project: u32::MAX, strict: false };
                let now = now_ms();
                if let Some(job) = self.jobs.claim_job(&worker, &policy, now, now + lease_ms).await? {
                    if job.attempts > self.config.max_attempts {
                        self.give_up(&worker, &job).await;
                    } else {
                        self.run_job(&worker, job, stop.clone()).await;
                    }
                    ran += 1;
                    continue 'drain;
                }
            }
            break;
        }
        Ok(ran)
    }

    async fn worker(&self, lane: Lane, id: String, mut stop: watch::Receiver<bool>) {
        let lease_ms = self.config.lease.as_millis() as i64;
        let policy = self.policy(lane);
        while !*stop.borrow() {
            let now = now_ms();
            match self.jobs.claim_job(&id, &policy, now, now + lease_ms).await {
                Ok(Some(job)) if job.attempts > self.config.max_attempts => self.give_up(&id, &job).await,
                Ok(Some(job)) => {
                    self.run_job(&id, job, stop.clone()).await;
                    // Another job may wait that this one's project share held back.
                    self.service.jobs_waiting(lane).notify_one();
                }
                Ok(None) => {
                    tokio::select! {
                        _ = self.service.jobs_waiting(lane).notified() => {}
                        _ = tokio::time::sleep(self.config.poll_interval) => {}
                        _ = stop.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(worker = %id, error = %e, "claiming a job failed");
                    tokio::time::sleep(self.config.poll_interval).await;
                }
            }
        }
    }

    async fn sweeper(&self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            match self.service.expire_abandoned_uploads().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "expired abandoned uploads"),
                Err(e) => tracing::warn!(error = %e, "sweeping abandoned uploads failed"),
            }
            match self.service.sweep_orphans(crate::service::SweepScope::Running).await {
                Ok(r) if r == Default::default() => {}
                Ok(r) => tracing::info!(?r, "removed orphaned bytes"),
                Err(e) => tracing::warn!(error = %e, "sweeping orphaned bytes failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.sweep_interval) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Ends the upload of a job that was claimed more often than allowed without finishing.
    async fn give_up(&self, worker: &str, job: &JobRecord) {
        let interrupted = job.attempts - 1;
        let what = match job.lane {
            Lane::Download => "downloading the file",
            Lane::Process => "processing the file",
        };
        let message = format!(
            "{what} was interrupted {interrupted} times (the server stopped or crashed while it ran); the file may be what crashes it, so it was given up: check the file, upload it again, and tell the operator if it keeps happening"
        );
        tracing::error!(job = %job.id, upload = %job.upload_id, attempts = job.attempts, "giving up a job that never finished");
        let ended = async {
            self.service.fail(&job.upload_id, &message).await?;
            self.jobs.finish_job(&job.id, worker).await
        };
        if let Err(e) = ended.await {
            tracing::warn!(job = %job.id, error = %e, "giving up a job failed; it will be claimed again");
        }
    }

    async fn run_job(&self, worker: &str, job: JobRecord, mut stop: watch::Receiver<bool>) {
        let meta = self.jobs.clone();
        let lease = self.config.lease;
        // Heartbeat: extend the lease every third of it while the job runs.
        let heartbeat = {
            let (meta, job_id, worker) = (meta.clone(), job.id.clone(), worker.to_string());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    let until = now_ms() + lease.as_millis() as i64;
                    if !matches!(meta.extend_lease(&job_id, &worker, until).await, Ok(true)) {
                        break;
                    }
                }
            })
        };
        let span = tracing::info_span!("job", job = %job.id, upload = %job.upload_id, lane = job.lane.as_str(), attempt = job.attempts);
        let work = async {
            match job.lane {
                Lane::Download => self.service.download_upload(&job.upload_id).await,
                Lane::Process => self.service.process_upload(&job.upload_id).await,
            }
        };
        let work = tracing::Instrument::instrument(work, span);
        let grace = self.config.shutdown_grace;
        let stopped_and_out_of_grace = async {
            if stop.wait_for(|s| *s).await.is_err() {
                // No one can ask for a stop any more: run to the end.
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(grace).await;
        };
        let outcome = tokio::select! {
            outcome = work => outcome,
            _ = stopped_and_out_of_grace => Ok(ProcessOutcome::Interrupted),
        };
        heartbeat.abort();
        let result = match outcome {
            Ok(ProcessOutcome::Interrupted) => match meta.release_job(&job.id, worker, now_ms()).await {
                Ok(released) => {
                    tracing::info!(job = %job.id, upload = %job.upload_id, released, "stopping: job given back");
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Ok(ProcessOutcome::Finished(status)) => {
                tracing::info!(job = %job.id, upload = %job.upload_id, %status, "job finished");
                meta.finish_job(&job.id, worker).await
            }
            Ok(ProcessOutcome::NotReady) => meta.finish_job(&job.id, worker).await,
            Ok(ProcessOutcome::HandedOff) => {
                // The job is in the processing lane now, no longer this worker's.
                self.service.jobs_waiting(Lane::Process).notify_one();
                Ok(())
            }
            Err(e) if job.attempts < self.config.max_attempts => {
                let backoff = Duration::from_secs(1u64 << job.attempts.min(8));
                tracing::warn!(job = %job.id, error = %e, ?backoff, "job failed; it will be retried");
                meta.retry_job(&job.id, worker, now_ms() + backoff.as_millis() as i64, &e.to_string()).await
            }
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "job failed for good");
                let message = "processing failed repeatedly because of a storage or database error on the server; upload the file again, and contact the operator if it keeps happening";
                match self.service.fail(&job.upload_id, message).await {
                    Ok(_) => meta.finish_job(&job.id, worker).await,
                    Err(e) => Err(e),
                }
            }
        };
        if let Err(e) = result {
            tracing::warn!(job = %job.id, error = %e, "recording the job's end failed; its lease will expire and it will run again");
        }
    }
}
