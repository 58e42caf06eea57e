//! Per-key rate limiting of the `/v1` API: a token bucket per API key, refilled at a steady
//! rate with room for a burst. Part PUTs are not limited here (they carry no key; their
//! signed URLs are bounded by the upload's part count).

use intake_core::Error;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Token buckets, one per key.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl RateLimiter {
    /// `per_second` requests a second on average, up to `burst` at once. `per_second == 0`
    /// turns limiting off.
    pub fn new(per_second: f64, burst: u32) -> Self {
        Self { per_second, burst: burst.max(1) as f64, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `key`, or says how long to wait for one.
    pub fn check(&self, key: &str) -> Result<(), Error> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket { tokens: self.burst, refilled: now });
        let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / self.per_second).ceil().max(1.0) as u64;
        Err(Error::RateLimited {
            reason: format!(
                "too many requests with this API key (at most {} a second, bursts of {}); retry after {wait} s",
                self.per_second, self.burst
            ),
            retry_after_secs: wait,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let limiter = RateLimiter::new(1.0, 3);
        for _ in 0..3 {
            assert!(limiter.check("k").is_ok());
        }
        match limiter.check("k") {
            Err(Error::RateLimited { retry_after_secs, .. }) => assert_eq!(retry_after_secs, 1),
            other => panic!("{other:?}"),
        }
        assert!(limiter.check("other key").is_ok(), "keys have their own buckets");
        assert!(RateLimiter::new(0.0, 1).check("k").is_ok());
    }
}
