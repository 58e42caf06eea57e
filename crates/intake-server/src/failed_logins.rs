//! Slows down password guessing: failed authentications are counted per client address in
//! windows of a minute, and past `INTAKE_AUTH_FAILURES_PER_MINUTE` every further *failed*
//! attempt from that address answers 429 with `retry-after` until its minute is over.
//! Requests with valid credentials are never refused here: the check runs only after the
//! credentials were found wrong.
//!
//! The client address is the TCP peer, so behind a proxy every client shares the proxy's
//! address (and its budget). An IPv6 client is counted by its /64, the block one host
//! usually holds. The table is bounded: at most [`MAX_TRACKED`] addresses, windows older
//! than a minute are dropped, and while it is full of fresh windows, new addresses share
//! one window of their own (an attacker with many addresses is then slowed down as one).

use intake_core::Error;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a window lasts.
const WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at most (about 64 bytes each).
pub const MAX_TRACKED: usize = 65_536;
/// A full table is swept of old windows at most this often (a sweep is linear in its size).
const SWEEP_AT_MOST_EVERY: Duration = Duration::from_secs(1);

/// Where failures are counted: an address (IPv6 by /64), or `None`, the window shared by
/// the addresses that found the table full.
type Client = Option<IpAddr>;

/// The failed authentications of the last minute, per client address.
pub struct FailedLogins {
    /// Failures allowed in a window; 0 turns the check off.
    per_minute: u32,
    table: Mutex<Table>,
}

struct Table {
    windows: HashMap<Client, Window>,
    swept: Instant,
}

struct Window {
    started: Instant,
    failures: u32,
}

impl FailedLogins {
    /// `per_minute` failures per address and minute (0: no limit).
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute, table: Mutex::new(Table { windows: HashMap::new(), swept: Instant::now() }) }
    }

    /// Counts a failed authentication from `address`. `Err` holds the 429 to answer
    /// instead of the failure's own answer once the address is past its budget.
    pub fn failed(&self, address: IpAddr) -> Result<(), Error> {
        match self.failed_at(address, Instant::now()) {
            None => Ok(()),
            Some(retry_after_secs) => Err(Error::RateLimited {
                reason: format!(
                    "too many failed authentications from your address (more than {} a minute); check the API key and secret, and retry after {retry_after_secs} s",
                    self.per_minute
                ),
                retry_after_secs,
            }),
        }
    }

    /// [`Self::failed`] at `now`: the seconds until the address's window ends when it is
    /// past its budget.
    fn failed_at(&self, address: IpAddr, now: Instant) -> Option<u64> {
        if self.per_minute == 0 {
            return None;
        }
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let mut client = Some(client_of(address));
        let sweep_due = now.duration_since(table.swept);
        let full = table.windows.len() >= MAX_TRACKED && !table.windows.contains_key(&client);
        if sweep_due >= WINDOW || (full && sweep_due >= SWEEP_AT_MOST_EVERY) {
            table.windows.retain(|_, w| now.duration_since(w.started) < WINDOW);
            table.swept = now;
        }
        if table.windows.len() >= MAX_TRACKED && !table.windows.contains_key(&client) {
            client = None;
        }
        let window = table.windows.entry(client).or_insert(Window { started: now, failures: 0 });
        if now.duration_since(window.started) >= WINDOW {
            *window = Window { started: now, failures: 0 };
        }
        window.failures = window.failures.saturating_add(1);
        if window.failures <= self.per_minute {
            return None;
        }
        let left = WINDOW.saturating_sub(now.duration_since(window.started));
        Some(left.as_secs_f64().ceil().max(1.0) as u64)
    }
}

/// An IPv4 address as is (an IPv4-mapped IPv6 one too); an IPv6 address by its /64.
fn client_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn past_the_budget_failures_wait_for_the_rest_of_the_minute() {
        let limiter = FailedLogins::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.failed_at(ip("192.0.2.1"), t0), None);
        }
        assert_eq!(limiter.failed_at(ip("192.0.2.1"), t0 + Duration::from_secs(20)), Some(40));
        assert_eq!(limiter.failed_at(ip("192.0.2.1"), t0 + Duration::from_millis(59_500)), Some(1));
        assert_eq!(limiter.failed_at(ip("192.0.2.2"), t0), None, "other addresses have their own budget");
        // A new minute, a new budget.
        assert_eq!(limiter.failed_at(ip("192.0.2.1"), t0 + WINDOW), None);
        let now = FailedLogins::new(1);
        assert!(now.failed(ip("192.0.2.3")).is_ok());
        match now.failed(ip("192.0.2.3")) {
            Err(Error::RateLimited { retry_after_secs, reason }) => {
                assert!((59..=60).contains(&retry_after_secs), "{retry_after_secs}");
                assert!(reason.contains("failed authentications"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let off = FailedLogins::new(0);
        assert!((0..100).all(|_| off.failed(ip("192.0.2.1")).is_ok()), "0 turns it off");
    }

    #[test]
    fn an_ipv6_host_is_counted_by_its_slash_64() {
        let limiter = FailedLogins::new(2);
        let t0 = Instant::now();
        assert_eq!(limiter.failed_at(ip("2001:db8:1:2::1"), t0), None);
        assert_eq!(limiter.failed_at(ip("2001:db8:1:2:ffff::9"), t0), None);
        assert!(limiter.failed_at(ip("2001:db8:1:2:abcd::1"), t0).is_some(), "the same /64");
        assert_eq!(limiter.failed_at(ip("2001:db8:1:3::1"), t0), None, "another /64");
        assert_eq!(client_of(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
    }

    #[test]
    fn the_table_stays_bounded_and_a_full_one_slows_newcomers_together() {
        let limiter = FailedLogins::new(1);
        let t0 = Instant::now();
        for i in 0..MAX_TRACKED as u32 {
            limiter.failed_at(IpAddr::V4(i.into()), t0);
        }
        // Full of fresh windows: newcomers share one window.
        let newcomer = |n: u32| IpAddr::V4((MAX_TRACKED as u32 + n).into());
        assert_eq!(limiter.failed_at(newcomer(1), t0), None);
        assert!(limiter.failed_at(newcomer(2), t0).is_some(), "the shared window is spent");
        assert_eq!(limiter.table.lock().unwrap().windows.len(), MAX_TRACKED + 1);
        // Once the old windows are over, they are swept and newcomers get their own.
        let later = t0 + WINDOW;
        assert_eq!(limiter.failed_at(newcomer(3), later), None);
        assert_eq!(limiter.table.lock().unwrap().windows.len(), 1);
    }
}
