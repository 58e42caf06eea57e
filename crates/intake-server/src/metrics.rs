//! `/metrics` in the Prometheus text format: uploads by status and kind and the job queue
//! (read from counters the metadata store keeps, never a scan of the uploads, at scrape
//! time, so every instance reports the same totals), plus this process's own counters: bytes ingested through part PUTs and their
//! latency.

use intake_core::service::Service;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the part-latency histogram's buckets.
const PART_SECONDS_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// This process's counters.
#[derive(Default)]
pub struct Metrics {
    bytes_ingested: AtomicU64,
    parts_stored: AtomicU64,
    parts_refused: AtomicU64,
    part_buckets: [AtomicU64; PART_SECONDS_BUCKETS.len()],
    part_seconds_sum_micros: AtomicU64,
}

impl Metrics {
    /// Records a part PUT that stored `bytes` in `elapsed`.
    pub fn part_stored(&self, bytes: u64, elapsed: Duration) {
        self.bytes_ingested.fetch_add(bytes, Ordering::Relaxed);
        self.parts_stored.fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        for (bound, count) in PART_SECONDS_BUCKETS.iter().zip(&self.part_buckets) {
            if secs <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.part_seconds_sum_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// Records a part PUT that was refused or broke off.
    pub fn part_refused(&self) {
        self.parts_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// The whole exposition.
    pub async fn render(&self, service: &Service) -> intake_core::Result<String> {
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(w, "# HELP intake_uploads Uploads by status and kind.\n# TYPE intake_uploads gauge");
        for (status, kind, n) in service.counters().upload_counts().await? {
            let _ = writeln!(w, "intake_uploads{{status=\"{status}\",kind=\"{kind}\"}} {n}");
        }
        let jobs = service.jobs().job_queue_stats(chrono::Utc::now().timestamp_millis()).await?;
        let _ = writeln!(w, "# HELP intake_jobs Unfinished processing jobs by state.\n# TYPE intake_jobs gauge");
        let _ = writeln!(w, "intake_jobs{{state=\"queued\"}} {}", jobs.queued);
        let _ = writeln!(w, "intake_jobs{{state=\"running\"}} {}", jobs.running);
        let _ = writeln!(w, "# HELP intake_jobs_oldest_age_seconds Age of the oldest unfinished job.\n# TYPE intake_jobs_oldest_age_seconds gauge");
        let _ = writeln!(w, "intake_jobs_oldest_age_seconds {}", jobs.oldest_age_ms as f64 / 1000.0);
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let _ = writeln!(w, "# HELP intake_bytes_ingested_total Bytes of parts stored by this process.\n# TYPE intake_bytes_ingested_total counter");
        let _ = writeln!(w, "intake_bytes_ingested_total {}", load(&self.bytes_ingested));
        let _ = writeln!(w, "# HELP intake_parts_refused_total Part PUTs refused or broken off.\n# TYPE intake_parts_refused_total counter");
        let _ = writeln!(w, "intake_parts_refused_total {}", load(&self.parts_refused));
        let _ = writeln!(w, "# HELP intake_part_put_seconds Time to receive and store one part.\n# TYPE intake_part_put_seconds histogram");
        for (bound, count) in PART_SECONDS_BUCKETS.iter().zip(&self.part_buckets) {
            let _ = writeln!(w, "intake_part_put_seconds_bucket{{le=\"{bound}\"}} {}", load(count));
        }
        let _ = writeln!(w, "intake_part_put_seconds_bucket{{le=\"+Inf\"}} {}", load(&self.parts_stored));
        let _ = writeln!(w, "intake_part_put_seconds_sum {}", load(&self.part_seconds_sum_micros) as f64 / 1e6);
        let _ = writeln!(w, "intake_part_put_seconds_count {}", load(&self.parts_stored));
        Ok(out)
    }
}
