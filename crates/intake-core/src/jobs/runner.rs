//! Claims and runs upload-processing jobs.
//!
//! On a stop, workers claim nothing more; a job in hand gets `shutdown_grace` to finish its
//! step, and a job that stopped early (a download pauses at once) or that is still running
//! then is given back: its lease is released at once, so the next start (or another
//! process) takes it without waiting for the lease to expire, and the interrupted attempt
//! is not counted. Every step is a compare-and-set, so abandoning one midway is safe.

use crate::service::{ProcessOutcome, Service};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How the runner works.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Jobs processed at once by this process.
    pub workers: usize,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    /// How often idle workers look for jobs (they are also woken when one is enqueued).
    pub poll_interval: Duration,
    /// Attempts before a job's upload is failed for good.
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
    config: RunnerConfig,
    worker_prefix: String,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl JobRunner {
    /// A runner for `service`; `instance` names this process in leases.
    pub fn new(service: Arc<Service>, config: RunnerConfig, instance: &str) -> Self {
        Self { service, config, worker_prefix: instance.to_string() }
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
            workers.spawn(async move { me.worker(format!("{}-{n}", me.worker_prefix), stop).await });
        }
        while workers.join_next().await.is_some() {}
    }

    async fn worker(&self, id: String, mut stop: watch::Receiver<bool>) {
        let lease_ms = self.config.lease.as_millis() as i64;
        while !*stop.borrow() {
            let now = now_ms();
            match self.service.metadata().claim_job(&id, now, now + lease_ms).await {
                Ok(Some(job)) => self.run_job(&id, job, stop.clone()).await,
                Ok(None) => {
                    tokio::select! {
                        _ = self.service.jobs_waiting().notified() => {}
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

    async fn run_job(&self, worker: &str, job: crate::metadata::JobRecord, mut stop: watch::Receiver<bool>) {
        let meta = self.service.metadata().clone();
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
        let span = tracing::info_span!("job", job = %job.id, upload = %job.upload_id, attempt = job.attempts);
        let work = tracing::Instrument::instrument(self.service.process_upload(&job.upload_id), span);
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
            Err(e) if job.attempts < self.config.max_attempts => {
                let backoff = Duration::from_secs(1u64 << job.attempts.min(8));
                tracing::warn!(job = %job.id, error = %e, ?backoff, "job failed; it will be retried");
                meta.retry_job(&job.id, worker, now_ms() + backoff.as_millis() as i64, &e.to_string()).await
            }
            Err(e) => {
                tracing::error!(job = %job.id, error = %e, "job failed for good");
                let message = "processing failed repeatedly because of a storage or database error on the server; upload the file again, and contact the operator if it keeps happening";
                match meta.fail_upload(&job.upload_id, message, now_ms()).await {
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
