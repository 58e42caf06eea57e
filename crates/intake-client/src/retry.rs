//! When and how long to wait before trying a request again.

use std::time::Duration;

/// Exponential backoff with jitter, for requests whose error [`crate::Error::is_retryable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first one included (1 = never retry).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each next one.
    pub base_delay: Duration,
    /// The longest wait between two tries.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 6, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// How long to wait after failed try number `attempt` (1-based): the server's
    /// `Retry-After` when it sent one (capped at `max_delay`), else `base · 2^(attempt-1)`
    /// capped, with the upper half jittered so that many clients do not retry in step.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let exp = self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let capped = exp.min(self.max_delay);
        let half = capped / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let policy = RetryPolicy::default();
        let first = policy.delay(1, None);
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(500), "{first:?}");
        let third = policy.delay(3, None);
        assert!(third >= Duration::from_secs(1) && third <= Duration::from_secs(2), "{third:?}");
        assert!(policy.delay(30, None) <= policy.max_delay);
        assert_eq!(policy.delay(1, Some(Duration::from_secs(7))), Duration::from_secs(7));
        assert_eq!(policy.delay(1, Some(Duration::from_secs(700))), policy.max_delay);
    }
}
