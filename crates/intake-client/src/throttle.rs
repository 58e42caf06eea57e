//! A bandwidth limit shared by every part (and every file) that uses it.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Caps the bytes per second sent through it, across all the tasks that share it (clone it
/// to share). Each chunk is given the next free slot on a virtual clock, so the average rate
/// never exceeds the limit, whatever the concurrency.
#[derive(Debug, Clone)]
pub struct RateLimit {
    bytes_per_second: u64,
    next_free: Arc<Mutex<Option<Instant>>>,
}

impl RateLimit {
    /// At most `bytes_per_second` (at least 1).
    pub fn new(bytes_per_second: u64) -> Self {
        Self { bytes_per_second: bytes_per_second.max(1), next_free: Arc::new(Mutex::new(None)) }
    }

    /// The limit, in bytes per second.
    pub fn bytes_per_second(&self) -> u64 {
        self.bytes_per_second
    }

    /// Waits until `bytes` more may be sent.
    pub async fn acquire(&self, bytes: u64) {
        let cost = Duration::from_secs_f64(bytes as f64 / self.bytes_per_second as f64);
        let done_at = {
            let mut next = self.next_free.lock().expect("rate limit lock");
            let now = Instant::now();
            // An idle limiter does not bank more than a moment of credit.
            let start = next.map_or(now, |n| n.max(now - Duration::from_millis(50)));
            let done_at = start + cost;
            *next = Some(done_at);
            done_at
        };
        tokio::time::sleep_until(done_at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_average_rate_stays_under_the_limit() {
        let limit = RateLimit::new(1_000_000);
        let started = std::time::Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let limit = limit.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..5 {
                    limit.acquire(10_000).await;
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        // 200 kB at 1 MB/s: at least 0.15 s even with the initial credit.
        assert!(started.elapsed() >= Duration::from_millis(150), "{:?}", started.elapsed());
    }
}
