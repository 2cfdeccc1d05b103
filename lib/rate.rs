//! `--limit-rate`: one token bucket shared by every thread of a transfer.
//!
//! Each worker takes its bytes from the same [`RateLimit`] in small slices (at most
//! [`SLICE`] bytes) just before sending or just after receiving them, so N concurrent parts
//! together move at the limit, and the traffic is smooth: the bucket holds at most
//! [`BURST`] worth of bytes, so nothing goes out in multi-second bursts. Like curl's
//! `--limit-rate`, time spent not sending (reading and hashing the first parts, a thread woken
//! late on a busy machine) is made up afterwards, up to that one second. Only bodies count
//! (parts, objects, segments; the few small XML/JSON bodies too), not headers.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The largest slice taken at once: keeps the sleeps short at low rates.
pub const SLICE: usize = 16 << 10;
/// How much unused allowance the bucket keeps: the longest burst after an idle pause.
const BURST: Duration = Duration::from_secs(1);

/// A token bucket in its "virtual schedule" form (GCRA): `next` is when the bytes taken so
/// far would have finished at exactly the rate; a taker sleeps until its bytes are due.
#[derive(Debug)]
pub struct RateLimit {
    bytes_per_sec: f64,
    next: Mutex<Instant>,
    taken: AtomicU64,
    start: Instant,
}

impl RateLimit {
    /// A limit of `bytes_per_sec` (more than 0).
    pub fn new(bytes_per_sec: u64) -> RateLimit {
        let now = Instant::now();
        RateLimit {
            bytes_per_sec: bytes_per_sec.max(1) as f64,
            next: Mutex::new(now),
            taken: AtomicU64::new(0),
            start: now,
        }
    }

    /// The limit, in bytes per second.
    pub fn bytes_per_sec(&self) -> u64 {
        self.bytes_per_sec as u64
    }

    /// Payload bytes that went through the limit so far (all threads).
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    /// The average rate since the limit was created, in bytes per second.
    pub fn average(&self) -> u64 {
        (self.taken() as f64 / self.start.elapsed().as_secs_f64().max(1e-3)) as u64
    }

    /// Waits until `n` more bytes may go. Callers pass slices of at most [`SLICE`] bytes.
    pub fn take(&self, n: usize) {
        if n == 0 {
            return;
        }
        let cost = Duration::from_secs_f64(n as f64 / self.bytes_per_sec);
        let due = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            // Unused time beyond BURST is forgotten: an idle pause buys no long burst later.
            let start = (*next).max(now.checked_sub(BURST).unwrap_or(now));
            *next = start + cost;
            start
        };
        self.taken.fetch_add(n as u64, Ordering::Relaxed);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

/// A reader whose bytes go through a [`RateLimit`] (a request body being sent, a response
/// body being received), at most [`SLICE`] bytes per read.
pub struct Throttled<R> {
    inner: R,
    limit: Arc<RateLimit>,
}

impl<R: Read> Throttled<R> {
    pub fn new(inner: R, limit: Arc<RateLimit>) -> Self {
        Throttled { inner, limit }
    }
}

impl<R: Read> Read for Throttled<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len().min(SLICE);
        let n = self.inner.read(&mut buf[..len])?;
        self.limit.take(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_by_threads_and_close_to_the_rate() {
        let limit = Arc::new(RateLimit::new(4 << 20));
        let start = Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let l = limit.clone();
                std::thread::spawn(move || {
                    for _ in 0..(256 << 10) / SLICE {
                        l.take(SLICE);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // 1 MiB at 4 MiB/s: 0.25 s (taking at once: no idle time to make up).
        let secs = start.elapsed().as_secs_f64();
        assert!((0.2..0.4).contains(&secs), "{secs}");
        assert_eq!(limit.taken(), 1 << 20);
    }

    #[test]
    fn throttled_reader_passes_bytes_through() {
        let limit = Arc::new(RateLimit::new(1 << 30));
        let mut out = Vec::new();
        Throttled::new(&[7u8; 100_000][..], limit.clone()).read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 100_000);
        assert_eq!(limit.taken(), 100_000);
    }
}
