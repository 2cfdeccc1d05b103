//! The one retry policy: how many attempts, and how long to wait between them. Requests
//! ([`super::Client::send`]) and resumed downloads (s3get, swift-get) count their failures
//! with the same [`Attempts`], so `--retries` means the same everywhere.

use crate::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
/// Jitter"): sleep a random time in [0, min(cap, base * 2^attempt)).
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Total attempts including the first (`--retries` + 1).
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { max_attempts: 5, base: Duration::from_millis(200), cap: Duration::from_secs(10) }
    }
}

impl Retry {
    /// The pause before retry number `attempt` (1 for the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempt.min(16));
        let ceiling = exp.min(self.cap).as_nanos() as u64;
        Duration::from_nanos(if ceiling == 0 { 0 } else { jitter() % ceiling })
    }
}

/// Counts the failures of one request (or one resumed body) against a [`Retry`] policy.
#[derive(Clone, Debug)]
pub(crate) struct Attempts {
    policy: Retry,
    failures: u32,
}

impl Attempts {
    pub fn new(policy: Retry) -> Attempts {
        Attempts { policy, failures: 0 }
    }

    /// Counts one failure: the pause to take before the next attempt, or None when the
    /// attempts are used up.
    pub fn failed(&mut self) -> Option<Duration> {
        self.failures += 1;
        (self.failures < self.policy.max_attempts).then(|| self.policy.delay(self.failures))
    }

    /// Total attempts allowed.
    pub fn max(&self) -> u32 {
        self.policy.max_attempts
    }

    /// Failures counted so far; after the first attempt, the retries made.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// `err` once the attempts are used up: after more than one attempt the message says so,
    /// keeping the error's kind, code and status.
    pub(crate) fn gave_up(&self, err: Error) -> Error {
        if self.failures <= 1 {
            return err;
        }
        let (code, status) = (err.code().map(str::to_string), err.status());
        Error::new(err.kind(), format!("{} (gave up after {} attempts)", err.message(), self.failures))
            .with_code(code, status)
    }
}

/// A cheap random number for jitter (splitmix64 over time and a counter); not for secrets.
fn jitter() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let mut z = nanos ^ COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded() {
        let r = Retry { max_attempts: 5, base: Duration::from_millis(100), cap: Duration::from_secs(1) };
        for a in 1..20 {
            assert!(r.delay(a) < Duration::from_secs(1));
        }
    }

    #[test]
    fn attempts_follow_the_policy() {
        let none = Retry { base: Duration::ZERO, ..Retry::default() };
        let mut a = Attempts::new(Retry { max_attempts: 3, ..none });
        assert!(a.failed().is_some());
        assert!(a.failed().is_some());
        assert!(a.failed().is_none(), "three attempts in all");
        assert!(a.gave_up(Error::server("x")).message().ends_with("(gave up after 3 attempts)"));
        let mut once = Attempts::new(Retry { max_attempts: 1, ..none });
        assert!(once.failed().is_none());
        assert_eq!(once.gave_up(Error::server("x")).message(), "x");
    }
}
