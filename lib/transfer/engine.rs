//! The streaming upload engine shared by s3put and swift-slo-put.
//!
//! ```text
//! stdin ─▶ reader (main thread) ─▶ bounded buffer pool ─▶ N workers ─▶ Destination::put_part
//!                                                       retry from the buffer; abort on failure/signal
//!          complete ─▶ verify (HEAD: size, ETag) ─▶ summary
//! ```
//! Memory is bounded by (jobs + 2) buffers of the current part size: the reader takes a buffer
//! only when fewer than that many exist, otherwise it waits for a worker to hand one back. The
//! engine knows nothing of S3 or Swift: a `Destination` does the protocol work.

use super::{PartPlan, Source, Tee};
use crate::error::{Error, ErrorKind, Result};
use crate::log;
use crate::rate::RateLimit;
use crate::signals;
use crate::units::human;
use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One stored part (S3 part, Swift segment, or the whole object for a single PUT).
#[derive(Clone, Debug, Default)]
pub(crate) struct Part {
    /// 1-based, in stream order.
    pub number: u32,
    pub size: u64,
    /// The part's MD5 when known: computed by us (Swift always; S3 when Content-MD5 is sent),
    /// else an S3 part's MD5-shaped ETag, which the server computed from the bytes it verified.
    pub md5: Option<[u8; 16]>,
    /// As the server returned it, unquoted.
    pub etag: String,
    /// Backend extras: a flexible checksum (S3) or the segment path (Swift).
    pub extra: Option<String>,
}

/// Where the stream goes. Methods are called from several threads (`put_part` concurrently);
/// retries of a single request are the destination's business, from the buffer it is given.
pub(crate) trait Destination: Send + Sync {
    /// "s3://bucket/key", for messages.
    fn describe(&self) -> String;
    /// Stores input smaller than two parts as one plain object.
    fn put_single(&self, data: &[u8]) -> Result<Part>;
    /// Starts a multipart upload (or prepares a segment container).
    fn begin(&self) -> Result<()>;
    fn put_part(&self, number: u32, data: &[u8]) -> Result<Part>;
    /// Makes the parts one object (CompleteMultipartUpload, SLO manifest).
    fn complete(&self, parts: &[Part], total: u64) -> Result<()>;
    /// Checks the stored object against what was read; on mismatch it removes the object and
    /// returns a `Verify` error. Returns the object's ETag.
    fn verify(&self, parts: &[Part], total: u64, single: bool) -> Result<String>;
    /// Best-effort cleanup of an unfinished upload (abort multipart, delete segments). Must use
    /// fresh requests with their own deadlines and report its own failures on stderr. The
    /// engine calls it a second time only when part requests were on the wire during the first
    /// (one of them may have landed after it); that call must be quiet about what the first
    /// one already did or reported.
    fn abort(&self);
}

pub(crate) struct Options<'a> {
    pub jobs: usize,
    pub plan: PartPlan,
    pub allow_empty: bool,
    /// Print bytes and rate to stderr about once a second.
    pub progress: bool,
    pub verbose: u8,
    /// Copy everything read to this writer as it is read (`--tee`).
    pub tee: Option<&'a mut dyn Tee>,
    /// `--limit-rate`: progress then shows the bytes sent through it and their rate.
    pub rate: Option<Arc<RateLimit>>,
}

#[derive(Clone, Debug)]
pub(crate) struct Summary {
    pub bytes: u64,
    /// 0 for a single PUT.
    pub parts: u32,
    pub etag: String,
    pub elapsed: Duration,
}

impl Summary {
    /// The elapsed time in seconds, to the millisecond (for JSON results).
    pub(crate) fn seconds(&self) -> f64 {
        (self.elapsed.as_secs_f64() * 1000.0).round() / 1000.0
    }
}

fn interrupted(sig: i32, dest: &dyn Destination) -> Error {
    let why = signals::reason(sig);
    Error::new(ErrorKind::Signal(sig), format!("{why}: upload of {} aborted, nothing stored", dest.describe()))
}

/// Fills `buf` from the source; returns fewer bytes than `buf.len()` only at EOF. `before`:
/// the bytes read before this buffer, for progress while a slow stream fills a part.
fn read_full(
    src: &mut dyn Source,
    buf: &mut [u8],
    dest: &dyn Destination,
    progress: &mut Progress,
    before: u64,
) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        if let Some(sig) = signals::pending() {
            return Err(interrupted(sig, dest));
        }
        match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                crate::run::add_bytes(n as u64);
                progress.tick(before + filled as u64, false);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("reading the input", e)),
        }
    }
    if let Some(sig) = signals::pending() {
        return Err(interrupted(sig, dest));
    }
    Ok(filled)
}

struct Progress {
    enabled: bool,
    start: Instant,
    last: Instant,
    rate: Option<Arc<RateLimit>>,
}

impl Progress {
    fn tick(&mut self, bytes: u64, force: bool) {
        if !self.enabled || (!force && self.last.elapsed() < Duration::from_millis(1000)) {
            return;
        }
        self.last = Instant::now();
        log::progress(bytes, self.start.elapsed().as_secs_f64(), force, self.rate.as_deref());
    }
}

type Done = (u32, Result<Part>, Vec<u8>);

/// Uploads the whole source to `dest`. On any failure or abort signal the destination is
/// aborted and nothing is left behind; the error says what happened.
pub(crate) fn upload(src: &mut dyn Source, dest: Arc<dyn Destination>, mut opts: Options) -> Result<Summary> {
    let start = Instant::now();
    let mut progress = Progress { enabled: opts.progress, start, last: start, rate: opts.rate.clone() };
    let plan = opts.plan.clone();
    let d: &dyn Destination = &*dest;

    // Read up to two parts before deciding: a stream that fits in one part is a single PUT.
    let mut first = vec![0u8; plan.size_of(1) as usize];
    let n1 = read_full(src, &mut first, d, &mut progress, 0)?;
    first.truncate(n1);
    tee(&mut opts, &first)?;
    let mut second = Vec::new();
    if n1 as u64 == plan.size_of(1) {
        second = vec![0u8; plan.size_of(2) as usize];
        let n2 = read_full(src, &mut second, d, &mut progress, n1 as u64)?;
        second.truncate(n2);
        tee(&mut opts, &second)?;
    }
    progress.tick((first.len() + second.len()) as u64, false);

    if second.is_empty() {
        // First: a command that failed before writing anything is the news, not the empty input.
        src.finish()?;
        if first.is_empty() && !opts.allow_empty {
            return Err(Error::data(format!(
                "no input: refusing to store an empty object at {} (pass --allow-empty to store one)",
                d.describe()
            )));
        }
        if let Some(sig) = signals::pending() {
            return Err(interrupted(sig, d));
        }
        let part = d.put_single(&first)?;
        let total = first.len() as u64;
        let etag = d.verify(std::slice::from_ref(&part), total, true)?;
        progress.tick(total, true);
        return Ok(Summary { bytes: total, parts: 0, etag, elapsed: start.elapsed() });
    }

    d.begin()?;
    let result = multipart(src, &dest, &mut opts, first, second, &mut progress);
    match result {
        Ok((parts, total)) => {
            let finished = (|| {
                d.complete(&parts, total)?;
                d.verify(&parts, total, false)
            })();
            match finished {
                Ok(etag) => {
                    progress.tick(total, true);
                    Ok(Summary { bytes: total, parts: parts.len() as u32, etag, elapsed: start.elapsed() })
                }
                Err(e) => {
                    // complete may have failed half-way: abort what is left of the upload.
                    d.abort();
                    Err(e)
                }
            }
        }
        Err(e) => Err(e),
    }
}

fn tee(opts: &mut Options, data: &[u8]) -> Result<()> {
    match opts.tee.as_mut() {
        Some(t) if !data.is_empty() => t.write_chunk(data),
        _ => Ok(()),
    }
}

/// The multipart phase: returns the parts in order and the total, or aborts the destination.
fn multipart(
    src: &mut dyn Source,
    dest: &Arc<dyn Destination>,
    opts: &mut Options,
    first: Vec<u8>,
    second: Vec<u8>,
    progress: &mut Progress,
) -> Result<(Vec<Part>, u64)> {
    let plan = opts.plan.clone();
    let jobs = opts.jobs.max(1);
    let (job_tx, job_rx) = unbounded::<(u32, Vec<u8>)>();
    let (done_tx, done_rx) = unbounded::<Done>();
    let stop = Arc::new(AtomicBool::new(false));
    // Part requests on the wire right now (not those waiting in the queue).
    let sending = Arc::new(AtomicUsize::new(0));

    // Workers inherit a mask blocking the abort signals, so the main thread gets them.
    let workers: Vec<_> = signals::with_aborts_blocked(|| {
        (0..jobs)
            .map(|_| {
                let (rx, tx, dest) = (job_rx.clone(), done_tx.clone(), Arc::clone(dest));
                let (stop, sending) = (Arc::clone(&stop), Arc::clone(&sending));
                std::thread::spawn(move || {
                    for (number, buf) in rx {
                        // Counted before `stop` is read: the engine sets `stop`, then reads the
                        // count, so a part it does not count is one that sees `stop` and is not sent.
                        sending.fetch_add(1, Ordering::SeqCst);
                        let r = if stop.load(Ordering::SeqCst) {
                            Err(Error::data("cancelled"))
                        } else {
                            dest.put_part(number, &buf)
                        };
                        sending.fetch_sub(1, Ordering::SeqCst);
                        if tx.send((number, r, buf)).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect()
    });
    drop(done_tx);

    let limit = jobs + 2;
    let mut allocated = 2usize;
    let mut free: Vec<Vec<u8>> = Vec::new();
    let mut parts: Vec<Part> = Vec::new();
    let mut outstanding = 0usize;
    let mut total = (first.len() + second.len()) as u64;
    let mut failure: Option<Error> = None;
    let second_full = second.len() as u64 == plan.size_of(2);
    let d: &dyn Destination = &**dest;

    // Workers run until job_tx is dropped, so sending cannot fail while we hold it.
    let _ = job_tx.send((1, first));
    let _ = job_tx.send((2, second));
    outstanding += 2;
    let mut next = 3u32;
    let mut eof = !second_full;

    let verbose = opts.verbose;
    let handle = |done: Done, parts: &mut Vec<Part>, free: &mut Vec<Vec<u8>>, failure: &mut Option<Error>| {
        let (number, r, buf) = done;
        free.push(buf);
        match r {
            Ok(p) => {
                if verbose >= 2 {
                    log::debug(format!("part {number} stored ({})", human(p.size)));
                }
                parts.push(p)
            }
            Err(e) => {
                if failure.is_none() {
                    *failure = Some(e.context(format!("part {number}")));
                }
            }
        }
    };

    while !eof && failure.is_none() {
        // Take back finished buffers without blocking.
        while let Ok(done) = done_rx.try_recv() {
            outstanding -= 1;
            handle(done, &mut parts, &mut free, &mut failure);
        }
        if failure.is_some() {
            break;
        }
        if next > plan.max_parts {
            failure = Some(Error::data(format!(
                "the input is larger than {} parts hold ({}); pass --expected-size or a larger --part-size",
                plan.max_parts,
                human(plan.capacity())
            )));
            break;
        }
        let mut buf = match free.pop() {
            Some(b) => b,
            None if allocated < limit => {
                allocated += 1;
                Vec::new()
            }
            None => match wait(&done_rx, d, &mut || progress.tick(total, false)) {
                Ok(done) => {
                    outstanding -= 1;
                    handle(done, &mut parts, &mut free, &mut failure);
                    continue;
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            },
        };
        let size = plan.size_of(next) as usize;
        buf.resize(size, 0);
        let n = match read_full(src, &mut buf, d, progress, total) {
            Ok(n) => n,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        buf.truncate(n);
        if let Err(e) = tee(opts, &buf) {
            failure = Some(e);
            break;
        }
        total += n as u64;
        progress.tick(total, false);
        if n == 0 {
            free.push(buf);
            break;
        }
        eof = n < size;
        let _ = job_tx.send((next, buf));
        outstanding += 1;
        next += 1;
    }
    drop(job_tx);

    // Let the in-flight parts finish (each is bounded by the HTTP timeouts), still watching
    // for signals so Ctrl-C is prompt.
    while outstanding > 0 && failure.is_none() {
        match wait(&done_rx, d, &mut || progress.tick(total, false)) {
            Ok(done) => {
                outstanding -= 1;
                handle(done, &mut parts, &mut free, &mut failure);
            }
            Err(e) => failure = Some(e),
        }
    }
    if failure.is_none() {
        if let Err(e) = src.finish() {
            failure = Some(e);
        } else if let Some(sig) = signals::pending() {
            failure = Some(interrupted(sig, d));
        }
    }
    if let Some(err) = failure {
        stop.store(true, Ordering::SeqCst);
        if opts.verbose >= 1 {
            log::note(format!("aborting the upload of {}", d.describe()));
        }
        // A part request on the wire may land after the abort (S3 documents this race, and a
        // Swift segment would stay): once those requests have ended, or after 5 s, abort once
        // more. Parts that merely wait in the queue are cancelled and need nothing.
        let on_the_wire = sending.load(Ordering::SeqCst) > 0;
        d.abort();
        if on_the_wire {
            let deadline = Instant::now() + Duration::from_secs(5);
            while sending.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
                let _ = done_rx.recv_timeout(Duration::from_millis(100));
            }
            d.abort();
        }
        return Err(err);
    }
    for w in workers {
        let _ = w.join();
    }
    parts.sort_by_key(|p| p.number);
    Ok((parts, total))
}

/// Waits for one finished part, polling for abort signals (and ticking the progress line).
fn wait(rx: &Receiver<Done>, dest: &dyn Destination, tick: &mut dyn FnMut()) -> Result<Done> {
    loop {
        if let Some(sig) = signals::pending() {
            return Err(interrupted(sig, dest));
        }
        tick();
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(done) => return Ok(done),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Err(Error::server("upload workers stopped unexpectedly")),
        }
    }
}
