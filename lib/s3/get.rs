//! Downloading one object to a writer, in order, verified.
//!
//! ```text
//! GET (no If-Match) ─▶ size, ETag ─▶ small or -j 1: stream it, resuming a cut-off body with
//!                                    Range: bytes=POS-END + If-Match
//!                                 └▶ large: chunk 0 streamed from that response by the writer
//!                                    while N workers fetch chunks 1.. with If-Match into a
//!                                    bounded pool; the writer emits them strictly in order
//! ```
//! Memory is bounded by (jobs + 1) chunk buffers plus a small copy buffer. Each chunk is
//! retried on its own, resuming from the bytes it already has. The ETag of the first answer is
//! pinned with If-Match, so an object overwritten mid-download fails with 412 instead of being
//! spliced from two versions. At the end the byte count must equal the length the server
//! announced, and the bytes must give the object's ETag: its MD5, or for a multipart object
//! the MD5 of its part MD5s (see [`super::parts`]: where the part boundaries come from, and
//! which chunks are hashed where). What was checked is in [`GetSummary::verified`]. After a
//! mismatch every part is read again ([`reread`]) to tell which one differs.

use super::client::{Request, S3Client};
use super::ops::{with_sse_c, SseC};
use super::parts::{self, Check, Layout, PartHasher, PreHashed, Verified};
use super::url::S3Url;
use crate::error::{Error, Result};
use crate::http::{unquote_etag, Attempts};
use crossbeam_channel::unbounded;
use md5::{Digest, Md5};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// `--range`: `START-END` (inclusive), `START-` or `-LAST` bytes, as in an HTTP Range header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ByteRange {
    FromTo(u64, u64),
    From(u64),
    Last(u64),
}

impl std::str::FromStr for ByteRange {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || "expected START-END, START- or -LAST, in bytes".to_string();
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let num = |v: &str| v.trim().parse::<u64>().map_err(|_| bad());
        match (a.trim().is_empty(), b.trim().is_empty()) {
            (false, false) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("START {a} is after END {b}"));
                }
                Ok(ByteRange::FromTo(a, b))
            }
            (false, true) => Ok(ByteRange::From(num(a)?)),
            (true, false) => match num(b)? {
                0 => Err("-0 is an empty range".to_string()),
                n => Ok(ByteRange::Last(n)),
            },
            (true, true) => Err(bad()),
        }
    }
}

impl ByteRange {
    fn header(self) -> String {
        match self {
            ByteRange::FromTo(a, b) => format!("bytes={a}-{b}"),
            ByteRange::From(a) => format!("bytes={a}-"),
            ByteRange::Last(n) => format!("bytes=-{n}"),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct GetOptions {
    /// Concurrent ranged GETs for a large object (1: one sequential stream).
    pub jobs: usize,
    pub chunk_size: u64,
    pub range: Option<ByteRange>,
    /// `--sse-c-key-file`: sent with every GET of the object.
    pub sse_c: Option<SseC>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct GetSummary {
    pub bytes: u64,
    /// The ETag of the object (unquoted), as s3put reports it.
    pub etag: Option<String>,
    /// What was checked besides the length.
    pub verified: Verified,
    /// How: the parts and where their sizes came from, or why only the length was checked.
    pub how: Option<String>,
    /// Ranged requests made after the first one (chunks and resumptions).
    pub ranged_requests: u64,
    /// Bodies cut short and resumed.
    pub resumed: u64,
}

/// What the first answer says about the bytes to come.
struct Head {
    /// First byte offset and length of what will be written; length None when unknown.
    start: u64,
    len: Option<u64>,
    /// Whole object length, when known.
    total: Option<u64>,
    etag: Option<String>,
}

/// Writes `url`'s bytes (or `opts.range` of them) to `out`, verified; see the module docs.
pub(crate) fn download(
    client: &Arc<S3Client>,
    url: &S3Url,
    out: &mut dyn Write,
    opts: &GetOptions,
) -> Result<GetSummary> {
    let mut first = Request::new("GET", Some(&url.bucket), Some(&url.key));
    if let Some(r) = opts.range {
        first = first.header("range", r.header());
    }
    let first = with_sse_c(first, opts.sse_c.as_ref());
    let resp = client.send(&first).map_err(|e| sse_c_hint(range_error(e, url, opts.range), url, opts))?;
    let head = read_head(&resp, url, opts.range)?;
    // The last bytes wait for the verdict: a reader never sees the whole stream (an RDB's
    // trailer, a tar's end) of an object that then fails verification.
    let mut held = HoldBack::new(out, HOLD_BACK);
    let out: &mut dyn Write = &mut held;
    let mut summary = GetSummary { etag: head.etag.clone(), ..GetSummary::default() };

    // The content is checked when the whole object is read (also through a --range that
    // covers all of it); the check's boundaries also decide where chunks are cut.
    let whole = match (head.len, head.total) {
        (Some(len), Some(total)) if head.start == 0 && len == total => Some(total),
        _ => None,
    };
    let check = match whole {
        Some(total) => parts::check_for(client, url, &resp, total, opts.jobs)?,
        None => Check::Length("--range reads part of the object".into()),
    };
    let layout = check.layout();
    let mut hasher = layout.clone().map(PartHasher::new);
    let chunk = opts.chunk_size.max(1);
    let ctx = Ctx { client, url, etag: head.etag.as_deref(), sse_c: opts.sse_c.as_ref() };
    match head.len {
        Some(len) if opts.jobs > 1 && len > chunk => {
            let plan = Chunks { pos: head.start, end: head.start + len, chunk, layout };
            parallel(&ctx, resp, plan, out, hasher.as_mut(), opts.jobs, &mut summary)?;
        }
        len => {
            let end = len.map(|l| head.start + l);
            let n = stream(&ctx, resp, head.start, end, out, hasher.as_mut(), &mut summary)?;
            summary.bytes = n;
        }
    }
    if let Some(len) = head.len {
        if summary.bytes != len {
            return Err(Error::verify(format!(
                "{url}: received {} bytes but the server announced {len}; the output is incomplete",
                summary.bytes
            )));
        }
    }
    let why = match &check {
        Check::Length(why) => Some(why.clone()),
        Check::Content { .. } => None,
    };
    let read_again = |layout: &Layout| reread(&ctx, layout, opts.jobs);
    let (verified, how) = parts::conclude(client, url, check, hasher, opts.jobs, &read_again)?;
    summary.verified = verified;
    summary.how = how.or(why);
    held.release()?;
    Ok(summary)
}

/// Bytes of each object s3get keeps back until the object is verified.
const HOLD_BACK: usize = 64 << 10;

/// A writer that passes everything on except the last `keep` bytes written, which go out only
/// on [`HoldBack::release`]; dropped without it, they are never written.
struct HoldBack<'a> {
    out: &'a mut dyn Write,
    held: Vec<u8>,
    keep: usize,
}

impl<'a> HoldBack<'a> {
    fn new(out: &'a mut dyn Write, keep: usize) -> HoldBack<'a> {
        HoldBack { out, held: Vec::with_capacity(keep), keep }
    }

    fn release(self) -> Result<()> {
        self.out.write_all(&self.held).and_then(|_| self.out.flush()).map_err(Error::stdout)
    }
}

impl Write for HoldBack<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let total = self.held.len() + buf.len();
        if total > self.keep {
            let emit = total - self.keep;
            let from_held = emit.min(self.held.len());
            self.out.write_all(&self.held[..from_held])?;
            self.out.write_all(&buf[..emit - from_held])?;
            self.held.drain(..from_held);
            self.held.extend_from_slice(&buf[emit - from_held..]);
        } else {
            self.held.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

struct Ctx<'a> {
    client: &'a Arc<S3Client>,
    url: &'a S3Url,
    etag: Option<&'a str>,
    sse_c: Option<&'a SseC>,
}

impl Ctx<'_> {
    /// After a body was cut short (`cut` says how, `at` where when known): waits the shared
    /// backoff and returns Ok to resume, or the error once the attempts are used up.
    fn resume(&self, attempts: &mut Attempts, cut: &str, at: Option<u64>) -> Result<()> {
        let Some(pause) = attempts.failed() else {
            return Err(attempts.gave_up(Error::server(format!("GET {}: {cut}", self.url))));
        };
        let at_text = at.map(|p| format!(" at byte {p}")).unwrap_or_default();
        let what = format!("GET {}", self.url);
        let message = format!("{what}: {cut}; resuming{at_text}");
        crate::http::resume_event(message, &what, cut, attempts, pause, at, self.client.verbose() >= 1);
        std::thread::sleep(pause);
        Ok(())
    }
}

/// A GET refused with 400 and no key given: the object is most likely SSE-C encrypted (AWS and
/// Garage answer InvalidRequest, Ceph InvalidArgument); with a key, a wrong one (403 on AWS).
fn sse_c_hint(e: Error, url: &S3Url, opts: &GetOptions) -> Error {
    match (e.status(), &opts.sse_c) {
        (Some(400), None) => Error::new(
            e.kind(),
            format!("{}; if {url} is encrypted with SSE-C, pass its key with --sse-c-key-file", e.message()),
        ),
        (Some(400 | 403), Some(_))
            if matches!(e.code(), Some("InvalidRequest" | "InvalidArgument" | "AccessDenied")) =>
        {
            Error::new(e.kind(), format!("{}; is --sse-c-key-file the key {url} was stored with?", e.message()))
        }
        _ => e,
    }
}

fn range_error(e: Error, url: &S3Url, range: Option<ByteRange>) -> Error {
    match (e.status(), range) {
        (Some(416), Some(r)) => {
            Error::usage(format!("--range {}: outside of {url}", r.header().trim_start_matches("bytes=")))
        }
        _ => e,
    }
}

fn read_head(resp: &ureq::Response, url: &S3Url, range: Option<ByteRange>) -> Result<Head> {
    let etag = resp.header("etag").map(unquote_etag).filter(|e| !e.is_empty());
    let content_length = resp.header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if resp.status() == 206 {
        let cr = resp.header("content-range").unwrap_or("");
        let (start, end, total) = parse_content_range(cr)
            .ok_or_else(|| Error::server(format!("GET {url}: unusable Content-Range {cr:?} in a 206 answer")))?;
        return Ok(Head { start, len: Some(end + 1 - start), total, etag });
    }
    if range.is_some() {
        return Err(Error::server(format!(
            "GET {url}: the server ignored the Range header (answered {})",
            resp.status()
        )));
    }
    Ok(Head { start: 0, len: content_length, total: content_length, etag })
}

/// `bytes 0-99/1234` (or `/*`) as (first, last, total).
pub(crate) fn parse_content_range(v: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    let (a, b) = (a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?);
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse::<u64>().ok()?),
    };
    (a <= b && total.is_none_or(|t| b < t)).then_some((a, b, total))
}

/// Sends a ranged GET for bytes `from..end` (end exclusive, None: to the end) pinned to the ETag,
/// and checks the answer covers what was asked.
fn ranged(ctx: &Ctx, from: u64, end: Option<u64>) -> Result<ureq::Response> {
    let range = match end {
        Some(e) => format!("bytes={from}-{}", e - 1),
        None => format!("bytes={from}-"),
    };
    let req = Request::new("GET", Some(&ctx.url.bucket), Some(&ctx.url.key)).header("range", range.clone());
    let mut req = with_sse_c(req, ctx.sse_c);
    if let Some(etag) = ctx.etag {
        req = req.header("if-match", format!("\"{etag}\""));
    }
    let resp = ctx.client.send(&req).map_err(|e| changed(e, ctx))?;
    // Servers that ignore If-Match still send the ETag: compare it ourselves.
    if let (Some(want), Some(got)) = (ctx.etag, resp.header("etag").map(unquote_etag)) {
        if got != want {
            return Err(changed_error(ctx));
        }
    }
    let ok = resp.status() == 206
        && resp
            .header("content-range")
            .and_then(parse_content_range)
            .is_some_and(|(a, b, _)| a == from && end.is_none_or(|e| b + 1 == e));
    if !ok {
        return Err(Error::server(format!(
            "GET {} ({range}): the server answered {} with Content-Range {:?}, not the range asked for",
            ctx.url,
            resp.status(),
            resp.header("content-range").unwrap_or("")
        )));
    }
    Ok(resp)
}

fn changed(e: Error, ctx: &Ctx) -> Error {
    if e.status() == Some(412) || e.code() == Some("PreconditionFailed") {
        changed_error(ctx)
    } else {
        e
    }
}

fn changed_error(ctx: &Ctx) -> Error {
    parts::changed(ctx.url, ctx.etag.unwrap_or("?"))
}

/// Streams `resp` (whose body starts at `pos`) to `out` until `end` (exclusive; None: EOF),
/// resuming with a ranged request when the body is cut short. Returns the bytes written.
fn stream(
    ctx: &Ctx,
    resp: ureq::Response,
    start: u64,
    end: Option<u64>,
    out: &mut dyn Write,
    mut hasher: Option<&mut PartHasher>,
    summary: &mut GetSummary,
) -> Result<u64> {
    let mut attempts = Attempts::new(ctx.client.http().retry());
    let mut pos = start;
    let mut reader = limited(ctx, resp, start, end);
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let cut = match reader.read(&mut buf) {
            Ok(0) if end.is_none_or(|e| pos >= e) => return Ok(pos - start),
            Ok(0) => format!("the body ended after {} of {} bytes", pos - start, end.unwrap_or(0) - start),
            Ok(n) => {
                out.write_all(&buf[..n]).map_err(Error::stdout)?;
                if let Some(h) = hasher.as_deref_mut() {
                    h.update(&buf[..n]);
                }
                pos += n as u64;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => format!("reading the body: {e}"),
        };
        ctx.resume(&mut attempts, &cut, Some(pos))?;
        summary.resumed += 1;
        summary.ranged_requests += 1;
        reader = limited(ctx, ranged(ctx, pos, end)?, pos, end);
    }
}

/// The body of `resp` (through `--limit-rate`), cut at `end` when known.
fn limited(ctx: &Ctx, resp: ureq::Response, from: u64, end: Option<u64>) -> Box<dyn Read + Send> {
    let body = ctx.client.http().body_reader(resp);
    match end {
        Some(e) => Box::new(body.take(e - from)),
        None => body,
    }
}

/// Fetches bytes `from..end` into `buf` (cleared first), resuming a cut-off body from what it
/// already holds.
fn fetch_chunk(ctx: &Ctx, from: u64, end: u64, buf: &mut Vec<u8>, stop: &AtomicBool) -> Result<(u64, u64)> {
    let mut attempts = Attempts::new(ctx.client.http().retry());
    let want = (end - from) as usize;
    buf.clear();
    let (mut requests, mut resumed) = (0u64, 0u64);
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(Error::data("cancelled"));
        }
        let have = buf.len() as u64;
        requests += 1;
        let resp = ranged(ctx, from + have, Some(end))?;
        let res = ctx.client.http().body_reader(resp).take(end - from - have).read_to_end(buf);
        let cut = match res {
            Ok(_) if buf.len() == want => return Ok((requests, resumed)),
            Ok(_) => format!("bytes {from}-{}: the body ended after {} of {want} bytes", end - 1, buf.len()),
            Err(e) => format!("bytes {from}-{}: {e}", end - 1),
        };
        ctx.resume(&mut attempts, &cut, None)?;
        resumed += 1;
    }
}

/// Every part's MD5 from a second read of the object, `jobs` parts at a time (after a mismatch).
fn reread(ctx: &Ctx, layout: &Layout, jobs: usize) -> Result<Vec<[u8; 16]>> {
    let hash_part = |i| {
        let (from, end) = layout.bounds(i);
        hash_range(ctx, from, end).map(Some)
    };
    // Every part gives Some or an error: None is never the answer.
    parts::parallel_map(layout.count(), jobs, hash_part)?.ok_or_else(|| Error::server("no part was read again"))
}

/// The MD5 of bytes `from..end`, read with ranged GETs and resumed where a body is cut.
fn hash_range(ctx: &Ctx, from: u64, end: u64) -> Result<[u8; 16]> {
    let mut h = Md5::new();
    if from == end {
        return Ok(h.finalize().into());
    }
    let mut attempts = Attempts::new(ctx.client.http().retry());
    let mut buf = vec![0u8; 256 << 10];
    let mut pos = from;
    loop {
        let mut body = limited(ctx, ranged(ctx, pos, Some(end))?, pos, Some(end));
        let cut = loop {
            match body.read(&mut buf) {
                Ok(0) if pos == end => return Ok(h.finalize().into()),
                Ok(0) => break format!("bytes {from}-{}: the body ended after {} bytes", end - 1, pos - from),
                Ok(n) => {
                    h.update(&buf[..n]);
                    pos += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break format!("bytes {from}-{}: {e}", end - 1),
            }
        };
        ctx.resume(&mut attempts, &cut, Some(pos))?;
    }
}

/// A finished chunk: its index, how it went, its buffer, and what the worker hashed of it.
type Done = (u64, Result<(u64, u64)>, Vec<u8>, Option<PreHashed>);

/// The chunks of `pos..end` in order: `chunk` bytes each, or cut at part boundaries when the
/// object's layout is known (so workers can hash whole parts).
struct Chunks {
    pos: u64,
    end: u64,
    chunk: u64,
    layout: Option<Arc<Layout>>,
}

impl Iterator for Chunks {
    type Item = (u64, u64);
    fn next(&mut self) -> Option<(u64, u64)> {
        if self.pos >= self.end {
            return None;
        }
        let to = match &self.layout {
            Some(l) => l.chunk_end(self.pos, self.chunk),
            None => self.pos + self.chunk,
        };
        let from = self.pos;
        self.pos = to.min(self.end);
        Some((from, self.pos))
    }
}

fn parallel(
    ctx: &Ctx,
    first: ureq::Response,
    mut chunks: Chunks,
    out: &mut dyn Write,
    mut hasher: Option<&mut PartHasher>,
    jobs: usize,
    summary: &mut GetSummary,
) -> Result<()> {
    let jobs = jobs.max(1);
    let capacity = chunks.chunk as usize;
    let layout = chunks.layout.clone();
    let (job_tx, job_rx) = unbounded::<(u64, u64, u64, Vec<u8>)>();
    let (done_tx, done_rx) = unbounded::<Done>();
    let stop = Arc::new(AtomicBool::new(false));
    // Workers own what they use, so the writer can return at once (reader gone, failure)
    // without waiting for requests in flight; they notice `stop` or the closed channel.
    for _ in 0..jobs {
        let (rx, tx, stop) = (job_rx.clone(), done_tx.clone(), Arc::clone(&stop));
        let client = Arc::clone(ctx.client);
        let url = ctx.url.clone();
        let etag = ctx.etag.map(str::to_string);
        let layout = layout.clone();
        let sse_c = ctx.sse_c.cloned();
        std::thread::spawn(move || {
            let ctx = Ctx { client: &client, url: &url, etag: etag.as_deref(), sse_c: sse_c.as_ref() };
            for (i, from, end, mut buf) in rx {
                let r = fetch_chunk(&ctx, from, end, &mut buf, &stop);
                // Hashed here, in parallel, once the chunk is complete (resumes included).
                let pre = match (&r, &layout) {
                    (Ok(_), Some(l)) => Some(parts::prehash(l, from, &buf)),
                    _ => None,
                };
                if tx.send((i, r, buf, pre)).is_err() {
                    break;
                }
            }
        });
    }
    drop(done_tx);
    let _cancel = Cancel(Arc::clone(&stop));

    // Chunk 0 comes from the first answer; jobs + 1 buffers keep the workers busy while the
    // writer drains the next chunk in order.
    let (start, end0) = chunks.next().ok_or_else(|| Error::server("nothing to download"))?;
    let mut next_job = 1u64;
    while next_job <= jobs as u64 + 1 {
        let Some((from, end)) = chunks.next() else { break };
        let _ = job_tx.send((next_job, from, end, Vec::with_capacity(capacity)));
        next_job += 1;
    }
    let n = stream(ctx, first, start, Some(end0), out, hasher.as_deref_mut(), summary)?;
    summary.bytes = n;

    let mut ready: BTreeMap<u64, (Vec<u8>, Option<PreHashed>)> = BTreeMap::new();
    let mut next_write = 1u64;
    while next_write < next_job {
        let (buf, pre) = match ready.remove(&next_write) {
            Some(b) => b,
            None => {
                let (i, r, buf, pre) =
                    done_rx.recv().map_err(|_| Error::server("download workers stopped unexpectedly"))?;
                let (requests, resumed) = r?;
                summary.ranged_requests += requests;
                summary.resumed += resumed;
                ready.insert(i, (buf, pre));
                continue;
            }
        };
        out.write_all(&buf).map_err(Error::stdout)?;
        if let Some(h) = hasher.as_deref_mut() {
            match pre {
                Some(pre) => h.absorb(&buf, pre),
                None => h.update(&buf),
            }
        }
        summary.bytes += buf.len() as u64;
        next_write += 1;
        if let Some((from, end)) = chunks.next() {
            let _ = job_tx.send((next_job, from, end, buf));
            next_job += 1;
        }
    }
    Ok(())
}

/// Tells the workers to stop when the writer leaves, whatever the reason.
struct Cancel(Arc<AtomicBool>);

impl Drop for Cancel {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_back_keeps_the_tail_until_released() {
        let mut sink = Vec::new();
        let mut h = HoldBack::new(&mut sink, 4);
        for piece in [&b"ab"[..], b"cdef", b"", b"g", b"hijklmn"] {
            h.write_all(piece).unwrap();
        }
        drop(h);
        assert_eq!(sink, b"abcdefghij");
        let mut sink = Vec::new();
        let mut h = HoldBack::new(&mut sink, 4);
        h.write_all(b"abcdefghijklmn").unwrap();
        h.release().unwrap();
        assert_eq!(sink, b"abcdefghijklmn");
    }

    #[test]
    fn ranges() {
        assert_eq!("0-99".parse::<ByteRange>().unwrap(), ByteRange::FromTo(0, 99));
        assert_eq!("100-".parse::<ByteRange>().unwrap(), ByteRange::From(100));
        assert_eq!("-5".parse::<ByteRange>().unwrap(), ByteRange::Last(5));
        for bad in ["", "-", "5", "9-3", "a-b", "-0", "1-2-3"] {
            assert!(bad.parse::<ByteRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn content_range() {
        assert_eq!(parse_content_range("bytes 0-99/1234"), Some((0, 99, Some(1234))));
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, 9, None)));
        assert_eq!(parse_content_range("bytes 5-9/9"), None);
        assert_eq!(parse_content_range("bytes */1234"), None);
        assert_eq!(parse_content_range("junk"), None);
    }
}
