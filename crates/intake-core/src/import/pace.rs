//! The pace an import must keep: an origin that trickles (one byte every few seconds keeps
//! every read within its timeout) must not hold a download slot for hours. While an import
//! resolves and downloads, [`Pace`] watches the bytes the origin delivers: less than
//! `min_rate × window` within any full window, or more than `max_duration` in all, and the
//! import ends with a message that says so. Retries and their pauses count against both:
//! the clock starts with the import's first attempt in this process and never resets.

use super::download::Progress;
use super::{ImportConfig, ImportError, ImportResult};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Samples of delivered bytes kept per window (the check's resolution).
const SAMPLES_PER_WINDOW: u32 = 20;

/// The watch over one import's pace.
pub struct Pace {
    progress: Arc<Progress>,
    /// Bytes per second the origin must keep up, on average over `window`.
    min_rate: u64,
    window: Duration,
    max_duration: Duration,
    started: Instant,
    /// `(when, bytes delivered by then)`, oldest first, reaching back one window.
    samples: Mutex<VecDeque<(Instant, u64)>>,
}

impl Pace {
    /// Starts the clock for an import whose bytes `progress` counts.
    pub fn start(config: &ImportConfig, progress: Arc<Progress>) -> Self {
        let now = Instant::now();
        let delivered = progress.delivered.load(Ordering::Relaxed);
        Self {
            progress,
            min_rate: config.min_rate,
            window: config.rate_window.max(Duration::from_millis(100)),
            max_duration: config.max_duration,
            started: now,
            samples: Mutex::new(VecDeque::from([(now, delivered)])),
        }
    }

    /// Runs `work` unless the import falls below its pace or runs out of time first; then
    /// `work` is dropped (a download keeps what it stored) and the import is refused.
    pub async fn guard<T>(&self, work: impl Future<Output = ImportResult<T>>) -> ImportResult<T> {
        tokio::select! {
            result = work => result,
            refusal = self.watch() => Err(refusal),
        }
    }

    /// Resolves when the import is too slow or too long, with the refusal to give.
    async fn watch(&self) -> ImportError {
        let tick = self.window / SAMPLES_PER_WINDOW;
        let deadline = self.started + self.max_duration;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = tokio::time::sleep_until(deadline) => return self.too_long(),
            }
            if let Some(refusal) = self.check(Instant::now()) {
                return refusal;
            }
        }
    }

    /// Records a sample at `now` and judges the last full window.
    fn check(&self, now: Instant) -> Option<ImportError> {
        if now >= self.started + self.max_duration {
            return Some(self.too_long());
        }
        let delivered = self.progress.delivered.load(Ordering::Relaxed);
        let mut samples = self.samples.lock().expect("pace samples");
        samples.push_back((now, delivered));
        // Keep the newest sample at least one window old: the start of the window judged.
        while samples.len() > 2 && now.duration_since(samples[1].0) >= self.window {
            samples.pop_front();
        }
        let (since, before) = *samples.front().expect("at least one sample");
        let span = now.duration_since(since);
        if span < self.window {
            return None; // no full window yet
        }
        let got = delivered.saturating_sub(before);
        let needed = (self.min_rate as f64 * self.window.as_secs_f64()) as u64;
        (got < needed).then(|| self.too_slow(got, span))
    }

    fn too_slow(&self, got: u64, span: Duration) -> ImportError {
        ImportError::Refused(format!(
            "the origin was too slow: it delivered {got} bytes in the last {} s, less than the {} bytes a second this server requires on average (INTAKE_IMPORT_MIN_RATE over INTAKE_IMPORT_RATE_WINDOW); try a faster mirror, or upload the file instead",
            span.as_secs(),
            self.min_rate
        ))
    }

    fn too_long(&self) -> ImportError {
        let delivered = self.progress.delivered.load(Ordering::Relaxed);
        ImportError::Refused(format!(
            "the import took too long: it was still running after {} s (INTAKE_IMPORT_MAX_DURATION), with {delivered} bytes received; the origin is too slow for a file this size, so upload the file instead",
            self.max_duration.as_secs()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(min_rate: u64, window_ms: u64, max_ms: u64) -> ImportConfig {
        ImportConfig {
            min_rate,
            rate_window: Duration::from_millis(window_ms),
            max_duration: Duration::from_millis(max_ms),
            ..ImportConfig::offline()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_origin_keeps_its_pace() {
        let progress = Arc::new(Progress::default());
        let pace = Pace::start(&config(1000, 1000, 60_000), progress.clone());
        let feeder = {
            let progress = progress.clone();
            async move {
                for _ in 0..100 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    progress.delivered.fetch_add(150, Ordering::Relaxed);
                }
                Ok::<_, ImportError>("done")
            }
        };
        assert_eq!(pace.guard(feeder).await.unwrap(), "done");
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_is_cut_after_one_full_window() {
        let progress = Arc::new(Progress::default());
        let pace = Pace::start(&config(1000, 2000, 60_000), progress.clone());
        let started = Instant::now();
        let trickle = {
            let progress = progress.clone();
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    progress.delivered.fetch_add(1, Ordering::Relaxed);
                }
                #[allow(unreachable_code)]
                Ok::<(), ImportError>(())
            }
        };
        let Err(ImportError::Refused(message)) = pace.guard(trickle).await else { panic!("not refused") };
        assert!(message.contains("too slow") && message.contains("delivered"), "{message}");
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(2) && took < Duration::from_millis(2300), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_silence_fails_one_window_after_the_burst() {
        // 10 kB at once satisfies the first windows; a full window of silence after it does not.
        let progress = Arc::new(Progress::default());
        let pace = Pace::start(&config(1000, 2000, 60_000), progress.clone());
        progress.delivered.store(10_000, Ordering::Relaxed);
        let started = Instant::now();
        let silent = std::future::pending::<ImportResult<()>>();
        assert!(pace.guard(silent).await.is_err());
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(2) && took <= Duration::from_millis(4200), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn every_import_ends_at_the_longest_duration() {
        let progress = Arc::new(Progress::default());
        let pace = Pace::start(&config(0, 1000, 5000), progress.clone());
        let started = Instant::now();
        let Err(ImportError::Refused(message)) = pace.guard(std::future::pending::<ImportResult<()>>()).await else {
            panic!("not refused")
        };
        assert!(message.contains("took too long"), "{message}");
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }
}
