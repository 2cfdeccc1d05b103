//! What a restore can check of an object's content, and the hashes that check it as it streams.
//!
//! An S3 ETag is the MD5 of the object after a single PUT, and `md5(concat(part MD5s))-N` after a
//! multipart upload (AWS and most compatible stores; not R2's multipart ETags, nor SSE-KMS or
//! SSE-C objects, whose ETags are no MD5 of the bytes). Checking the second needs every part's
//! boundaries, which a GET does not tell. They come from, in this order:
//!
//! 1. the part plan s3put stores in the object's metadata when it creates the upload
//!    ([`PLAN_META`]): its plan is deterministic, so the plan, the size and N give every boundary
//!    without a request;
//! 2. `HEAD ?partNumber=K`, answered with part K's length and `x-amz-mp-parts-count` (AWS,
//!    Garage, MinIO; Ceph RGW 16 ignores the parameter). Parts 1 and N are asked first; when
//!    they fit uniform parts (what aws-cli, rclone and s5cmd write), uniform parts are assumed,
//!    otherwise every part is asked. An assumption is confirmed only if the ETag does not match:
//!    every part is asked then, so that a mismatch is called corruption only when the
//!    boundaries were right;
//! 3. uniform parts of a common client's default size that gives exactly N parts
//!    ([`COMMON_PART_SIZES`]: aws-cli's 8 MiB, rclone's 5 MiB...). A match proves the bytes; a
//!    mismatch proves nothing (other sizes, or corruption: the server cannot tell us which), so
//!    it is reported as a length-only check with that reason, not as an error;
//! 4. otherwise only the length is checked, and `-v` and `--json` say so.
//!
//! A match proves the bytes whatever told the boundaries. A mismatch alone cannot name the part
//! that differs: S3 keeps no per-part MD5 once an upload is complete (ListParts ends with the
//! upload, and `GET ?partNumber=K` answers with the whole object's ETag). So after a mismatch
//! every part is read a second time ([`Reread`]) and hashed again: if the second read gives the
//! ETag, the first part whose two reads differ is the one that came corrupted; if both reads
//! agree, the object as stored does not give its ETag (damaged at rest). That read costs as
//! much as the download, on the failure path only.
//!
//! Hashing happens once per byte, in stream order per part. A fetch worker hashes what of its
//! chunk does not depend on earlier bytes (the parts that begin in it: [`prehash`]); the writer
//! continues the part that runs in from the previous chunk ([`PartHasher::absorb`]). Chunks are
//! cut at part boundaries ([`Layout::chunk_end`]), so when parts are no larger than a chunk all
//! hashing runs on the workers, in parallel. Memory: 16 bytes per finished part and one running
//! MD5 per chunk in flight.

use super::client::{Request, S3Client};
use super::url::S3Url;
use crate::error::{Error, Result};
use crate::http::unquote_etag;
use crate::transfer::PartPlan;
use crate::units::human;
use md5::{Digest, Md5};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The user-metadata key (`x-amz-meta-sluice-part-plan`) under which s3put records its part plan
/// ([`PartPlan::to_meta`]) on every multipart upload.
pub(crate) const PLAN_META: &str = "sluice-part-plan";

/// Most parts an ETag may claim before it is not taken as a part count (S3 allows 10,000).
const MAX_PARTS: u64 = 100_000;

/// What a download checked: the MD5 of a single-part object, every part's MD5 against a
/// multipart ETag, or the length only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verified {
    #[default]
    Length,
    Md5,
    Parts,
}

impl Verified {
    /// `"length"`, `"md5"` or `"parts"`, as `--json` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verified::Length => "length",
            Verified::Md5 => "md5",
            Verified::Parts => "parts",
        }
    }
}

/// Where a layout's boundaries came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// One part: the whole object.
    Whole,
    /// s3put's part plan, from the object's metadata.
    Plan,
    /// Uniform parts, assumed from the sizes of parts 1 and N.
    Assumed,
    /// Uniform parts of a common client's size, guessed from the part count alone (the server
    /// does not tell part sizes): a match proves the bytes, a mismatch proves nothing.
    Guessed,
    /// Every part's size, as the server told it.
    Probed,
}

/// The parts of a stored object, as the offset just past each one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    ends: Vec<u64>,
    source: Source,
}

impl Layout {
    /// From part sizes; None unless every part holds bytes and they add up to `total`.
    fn from_sizes(sizes: impl IntoIterator<Item = u64>, total: u64, source: Source) -> Option<Layout> {
        let mut ends = Vec::new();
        let mut end = 0u64;
        for s in sizes {
            if s == 0 {
                return None;
            }
            end = end.checked_add(s)?;
            ends.push(end);
        }
        (end == total && !ends.is_empty()).then_some(Layout { ends, source })
    }

    /// The whole object as one part (a single-part object, or a multipart one of one part).
    fn whole(total: u64) -> Layout {
        Layout { ends: vec![total], source: Source::Whole }
    }

    /// `count` parts cut by `plan`: all but the last as planned, the last holding the rest.
    fn from_plan(plan: &PartPlan, count: u64, total: u64, source: Source) -> Option<Layout> {
        let count = u32::try_from(count).ok()?;
        let mut sizes = Vec::with_capacity(count as usize);
        let mut sum = 0u64;
        for n in 1..count {
            sizes.push(plan.size_of(n));
            sum = sum.checked_add(plan.size_of(n))?;
        }
        let last = total.checked_sub(sum)?;
        if last == 0 || last > plan.size_of(count) {
            return None;
        }
        sizes.push(last);
        Layout::from_sizes(sizes, total, source)
    }

    pub(crate) fn count(&self) -> usize {
        self.ends.len()
    }

    fn total(&self) -> u64 {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Part `i`'s first byte and the offset just past it.
    pub(crate) fn bounds(&self, i: usize) -> (u64, u64) {
        (self.start(i), self.ends[i])
    }

    fn start(&self, i: usize) -> u64 {
        if i == 0 {
            0
        } else {
            self.ends[i - 1]
        }
    }

    /// The index of the part holding byte `pos` (the last part for `pos` past the end).
    fn part_at(&self, pos: u64) -> usize {
        self.ends.partition_point(|&e| e <= pos).min(self.ends.len() - 1)
    }

    /// Where a chunk starting at `from` ends: as many whole parts as fit in `chunk` bytes, or,
    /// for a part larger than that, one of the equal pieces of at most `chunk` bytes it is cut
    /// into. Chunks never straddle a part boundary, so workers can hash whole parts.
    pub(crate) fn chunk_end(&self, from: u64, chunk: u64) -> u64 {
        let i = self.part_at(from);
        let (start, end) = (self.start(i), self.ends[i]);
        if end - from > chunk {
            let len = end - start;
            let piece = len.div_ceil(len.div_ceil(chunk));
            return (from + piece).min(end);
        }
        let j = self.ends[i..].partition_point(|&e| e - from <= chunk);
        self.ends[i + j.max(1) - 1]
    }

    /// "128 parts of 8 MiB, sizes from the server", for messages.
    pub(crate) fn describe(&self) -> String {
        let source = match self.source {
            Source::Whole => "",
            Source::Plan => ", from s3put's part plan",
            Source::Assumed => ", assumed uniform from parts 1 and N",
            Source::Guessed => ", guessed from the part count (the server does not tell part sizes)",
            Source::Probed => ", sizes from the server",
        };
        format!("{}{source}", self.describe_shape())
    }

    /// "128 parts of 8 MiB".
    fn describe_shape(&self) -> String {
        let n = self.count();
        let sizes = || self.ends.iter().enumerate().map(|(i, &e)| e - self.start(i));
        let first = sizes().next().unwrap_or(0);
        let shape = if n == 1 {
            "1 part".to_string()
        } else if sizes().take(n - 1).all(|s| s == first) {
            format!("{n} parts of {}", human(first))
        } else {
            let (lo, hi) = (sizes().min().unwrap_or(0), sizes().max().unwrap_or(0));
            format!("{n} parts of {} to {}", human(lo), human(hi))
        };
        shape
    }
}

/// What the ETag says about the bytes.
#[derive(Debug, PartialEq, Eq)]
enum EtagKind {
    /// The MD5 of the object.
    Md5,
    /// `md5(concat(part MD5s))-N`.
    Multipart(u64),
    /// Anything else: not an MD5 of the bytes.
    Other,
}

fn etag_kind(etag: &str) -> EtagKind {
    let is_md5 = |h: &str| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit());
    if is_md5(etag) {
        return EtagKind::Md5;
    }
    match etag.split_once('-') {
        Some((h, n)) if is_md5(h) && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => match n.parse() {
            Ok(n) if (1..=MAX_PARTS).contains(&n) => EtagKind::Multipart(n),
            _ => EtagKind::Other,
        },
        _ => EtagKind::Other,
    }
}

/// What will be checked of a download's content.
#[derive(Debug)]
pub(crate) enum Check {
    /// The length only, and why (said under -v).
    Length(String),
    /// The bytes against `etag`, part by part along `layout`.
    Content { etag: String, multipart: bool, layout: Arc<Layout> },
}

impl Check {
    pub(crate) fn layout(&self) -> Option<Arc<Layout>> {
        match self {
            Check::Content { layout, .. } => Some(Arc::clone(layout)),
            Check::Length(_) => None,
        }
    }
}

/// Decides what can be checked of a whole object (size `total`) from the first GET's answer,
/// asking the server for part sizes when it must.
pub(crate) fn check_for(
    client: &S3Client,
    url: &S3Url,
    resp: &ureq::Response,
    total: u64,
    jobs: usize,
) -> Result<Check> {
    let Some(etag) = resp.header("etag").map(unquote_etag).filter(|e| !e.is_empty()) else {
        return Ok(Check::Length("the server sent no ETag".into()));
    };
    // SSE-KMS and SSE-C ETags are not MD5s of the plaintext (S3 API reference, Object).
    let sse = resp.header("x-amz-server-side-encryption").unwrap_or("").trim();
    if sse.starts_with("aws:kms") || resp.header("x-amz-server-side-encryption-customer-algorithm").is_some() {
        return Ok(Check::Length("the object is encrypted with SSE-KMS or SSE-C, whose ETags are not MD5s".into()));
    }
    let count = match etag_kind(&etag) {
        EtagKind::Md5 => return Ok(Check::Content { etag, multipart: false, layout: Arc::new(Layout::whole(total)) }),
        EtagKind::Other => return Ok(Check::Length(format!("the ETag {etag} is not an MD5 of the content"))),
        EtagKind::Multipart(n) => n,
    };
    if !client.endpoint().provider().multipart_etag_is_md5_of_md5s() {
        return Ok(Check::Length("this provider's multipart ETags are not MD5s of the parts".into()));
    }
    if count > total {
        return Ok(Check::Length(format!("the ETag {etag} claims more parts than the object has bytes")));
    }
    if count == 1 {
        return Ok(Check::Content { etag, multipart: true, layout: Arc::new(Layout::whole(total)) });
    }
    let header = format!("x-amz-meta-{PLAN_META}");
    let planned = resp
        .header(&header)
        .and_then(PartPlan::from_meta)
        .and_then(|plan| Layout::from_plan(&plan, count, total, Source::Plan));
    let layout = match planned {
        Some(l) => l,
        None => match probe(client, url, &etag, count, total, jobs)? {
            Ok(l) => l,
            Err(why) => match guess(count, total) {
                Some(l) if why == NO_PART_SIZES => l,
                _ => return Ok(Check::Length(why)),
            },
        },
    };
    Ok(Check::Content { etag, multipart: true, layout: Arc::new(layout) })
}

/// One part as `HEAD ?partNumber=K` describes it.
struct PartHead {
    start: Option<u64>,
    len: u64,
    count: Option<u64>,
}

/// `HEAD ?partNumber=k`, pinned to the ETag. None when the server does not answer for parts:
/// Ceph RGW 16 ignores the parameter (200, the whole object, no parts count); others refuse it.
fn head_part(client: &S3Client, url: &S3Url, etag: &str, k: u64) -> Result<Option<PartHead>> {
    let req = Request::new("HEAD", Some(&url.bucket), Some(&url.key))
        .query("partNumber", k.to_string())
        .header("if-match", format!("\"{etag}\""));
    let resp = match client.send(&req) {
        Ok(r) => r,
        Err(e) if e.status() == Some(412) => return Err(changed(url, etag)),
        Err(e) if matches!(e.status(), Some(400..=499 | 501)) => return Ok(None),
        Err(e) => return Err(e.context("asking the server for the object's part sizes")),
    };
    if resp.header("etag").map(unquote_etag).is_some_and(|e| e != etag) {
        return Err(changed(url, etag));
    }
    let count = resp.header("x-amz-mp-parts-count").and_then(|v| v.trim().parse::<u64>().ok());
    let range = resp.header("content-range").and_then(super::get::parse_content_range);
    if count.is_none() && (resp.status() != 206 || range.is_none()) {
        return Ok(None);
    }
    let len = match range {
        Some((a, b, _)) => b + 1 - a,
        None => match resp.header("content-length").and_then(|v| v.trim().parse::<u64>().ok()) {
            Some(l) => l,
            None => return Ok(None),
        },
    };
    Ok(Some(PartHead { start: range.map(|r| r.0), len, count }))
}

pub(crate) fn changed(url: &S3Url, etag: &str) -> Error {
    Error::verify(format!("{url} changed while being read (its ETag is no longer {etag}); the output is incomplete"))
}

const NO_PART_SIZES: &str =
    "the server does not tell part sizes (HEAD ?partNumber) and the object carries no s3put part plan";

/// Part sizes other clients use by default, most common first: aws-cli and boto3 (8 MiB),
/// rclone (5 MiB), s3put before it recorded its plan and MinIO's mc (16 MiB), s3cmd (15 MiB),
/// s5cmd (50 MiB), 64 MiB.
const COMMON_PART_SIZES: [u64; 6] = [8 << 20, 5 << 20, 16 << 20, 15 << 20, 50 << 20, 64 << 20];

/// Uniform parts of the first common size that cuts `total` bytes into exactly `count` parts.
fn guess(count: u64, total: u64) -> Option<Layout> {
    let size = COMMON_PART_SIZES.into_iter().find(|&s| total.div_ceil(s) == count)?;
    Layout::from_plan(&PartPlan::uniform(size, u32::MAX), count, total, Source::Guessed)
}

/// The layout from `HEAD ?partNumber` answers, or why there is none.
fn probe(
    client: &S3Client,
    url: &S3Url,
    etag: &str,
    count: u64,
    total: u64,
    jobs: usize,
) -> Result<std::result::Result<Layout, String>> {
    let Some(first) = head_part(client, url, etag, 1)? else { return Ok(Err(NO_PART_SIZES.into())) };
    if first.count.is_some_and(|c| c != count) || first.start.is_some_and(|s| s != 0) {
        return Ok(Err(format!(
            "the server describes other parts than the ETag's {count} (parts count {:?})",
            first.count
        )));
    }
    let Some(last) = head_part(client, url, etag, count)? else { return Ok(Err(NO_PART_SIZES.into())) };
    let (p1, pn) = (first.len, last.len);
    let layout = if count == 2 {
        Layout::from_sizes([p1, pn], total, Source::Probed)
    } else if p1.checked_mul(count - 1).and_then(|s| s.checked_add(pn)) == Some(total) && pn <= p1 {
        // Exact for three parts (the middle one is what is left); assumed beyond.
        let source = if count == 3 { Source::Probed } else { Source::Assumed };
        Layout::from_plan(&PartPlan::uniform(p1, u32::MAX), count, total, source)
    } else {
        match probe_all(client, url, etag, count, jobs)? {
            Some(sizes) => Layout::from_sizes(sizes, total, Source::Probed),
            None => return Ok(Err(NO_PART_SIZES.into())),
        }
    };
    Ok(layout.ok_or_else(|| format!("the part sizes the server gives do not add up to the object's {total} bytes")))
}

/// Every part's size, asked with `jobs` requests in flight; None if the server stops answering.
fn probe_all(client: &S3Client, url: &S3Url, etag: &str, count: u64, jobs: usize) -> Result<Option<Vec<u64>>> {
    parallel_map(count as usize, jobs, |i| match head_part(client, url, etag, i as u64 + 1)? {
        Some(p) if p.count.is_none_or(|c| c == count) => Ok(Some(p.len)),
        _ => Ok(None),
    })
}

/// `f(0..n)` with up to `jobs` (at most 16) threads, in order. Stops at the first error, or the
/// first `None` (then the whole answer is None).
pub(crate) fn parallel_map<T: Clone + Default + Send>(
    n: usize,
    jobs: usize,
    f: impl Fn(usize) -> Result<Option<T>> + Sync,
) -> Result<Option<Vec<T>>> {
    let next = AtomicUsize::new(0);
    let values = Mutex::new(vec![T::default(); n]);
    let failed: Mutex<Option<Result<()>>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, 16).min(n) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n || lock(&failed).is_some() {
                    return;
                }
                let outcome = match f(i) {
                    Ok(Some(v)) => {
                        lock(&values)[i] = v;
                        continue;
                    }
                    Ok(None) => Ok(()),
                    Err(e) => Err(e),
                };
                lock(&failed).get_or_insert(outcome);
                return;
            });
        }
    });
    match failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        None => Ok(Some(values.into_inner().unwrap_or_else(|p| p.into_inner()))),
        Some(Ok(())) => Ok(None),
        Some(Err(e)) => Err(e),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a fetch worker hashed of its chunk: everything but the `tail` bytes that continue a
/// part begun in an earlier chunk (they need the writer's running state).
pub(crate) struct PreHashed {
    tail: usize,
    /// MD5s of the parts that begin and end in the chunk.
    parts: Vec<[u8; 16]>,
    /// The running MD5 of a part that begins in the chunk and goes on past it.
    open: Option<Md5>,
}

/// Hashes the parts that begin in the chunk `buf` holding the bytes from `from` on.
pub(crate) fn prehash(layout: &Layout, from: u64, buf: &[u8]) -> PreHashed {
    let end = from + buf.len() as u64;
    let i = layout.part_at(from);
    let tail = if from == layout.start(i) { 0 } else { layout.ends[i].min(end) - from };
    let mut pre = PreHashed { tail: tail as usize, parts: Vec::new(), open: None };
    let mut pos = from + tail;
    while pos < end {
        let part_end = layout.ends[layout.part_at(pos)];
        let bytes = &buf[(pos - from) as usize..(part_end.min(end) - from) as usize];
        if part_end <= end {
            pre.parts.push(Md5::digest(bytes).into());
        } else {
            let mut h = Md5::new();
            h.update(bytes);
            pre.open = Some(h);
        }
        pos = part_end.min(end);
    }
    pre
}

/// The writer's side: the bytes in stream order, cut into parts along the layout.
pub(crate) struct PartHasher {
    layout: Arc<Layout>,
    /// Bytes hashed so far; `part` holds the next one.
    pos: u64,
    part: usize,
    current: Md5,
    digests: Vec<[u8; 16]>,
}

impl PartHasher {
    pub(crate) fn new(layout: Arc<Layout>) -> PartHasher {
        PartHasher { layout, pos: 0, part: 0, current: Md5::new(), digests: Vec::new() }
    }

    /// Hashes the next bytes of the stream.
    pub(crate) fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let end = self.layout.ends[self.part.min(self.layout.count() - 1)];
            let n = (end.saturating_sub(self.pos) as usize).min(data.len());
            if n == 0 {
                // More bytes than the layout holds: the length check reports it.
                self.current.update(data);
                self.pos += data.len() as u64;
                return;
            }
            self.current.update(&data[..n]);
            self.pos += n as u64;
            data = &data[n..];
            if self.pos == end {
                let d = std::mem::take(&mut self.current).finalize().into();
                self.finish_part(d);
            }
        }
    }

    fn finish_part(&mut self, d: [u8; 16]) {
        self.digests.push(d);
        self.part += 1;
    }

    /// Takes the next chunk `buf`, of which a worker hashed all but the tail (see [`prehash`]).
    pub(crate) fn absorb(&mut self, buf: &[u8], pre: PreHashed) {
        let start = self.pos;
        self.update(&buf[..pre.tail]);
        for d in pre.parts {
            self.finish_part(d);
        }
        if let Some(h) = pre.open {
            self.current = h;
        }
        self.pos = start + buf.len() as u64;
    }

    /// The ETag the bytes give (their MD5, or the MD5 of the part MD5s with the part count),
    /// and every part's MD5.
    fn finish(mut self, multipart: bool) -> (String, Vec<[u8; 16]>) {
        if self.digests.len() < self.layout.count() && self.pos == self.layout.total() {
            // Only an empty object ends without its last part being finished by `update`.
            let d = std::mem::take(&mut self.current).finalize().into();
            self.finish_part(d);
        }
        (etag_of(&self.digests, multipart), self.digests)
    }
}

fn etag_of(digests: &[[u8; 16]], multipart: bool) -> String {
    if multipart {
        super::upload::md5_of_md5s(digests.iter())
    } else {
        digests.first().map(hex::encode).unwrap_or_default()
    }
}

/// Reads every part of a layout again and returns their MD5s (the download's own requests:
/// pinned to the ETag, resumed when cut, through `--limit-rate`).
pub(crate) type Reread<'a> = &'a dyn Fn(&Layout) -> Result<Vec<[u8; 16]>>;

/// After a mismatch: what a second read of every part says about where the bytes differ.
fn locate(url: &S3Url, etag: &str, layout: &Layout, first: &[[u8; 16]], multipart: bool, reread: Reread) -> String {
    crate::log::warn(format!(
        "{url}: the bytes received do not give its ETag {etag}; reading its {} again to find what differs",
        human(layout.total())
    ));
    let second = match reread(layout) {
        Ok(d) => d,
        Err(e) => return format!("which part differs is unknown: reading it again failed ({})", e.message()),
    };
    let name = |i: usize| match layout.count() {
        1 => "the object".to_string(),
        n => {
            let (a, b) = layout.bounds(i);
            format!("part {} of {n} (bytes {a}-{})", i + 1, b - 1)
        }
    };
    let differs = first.iter().zip(&second).position(|(a, b)| a != b);
    match (etag_of(&second, multipart).eq_ignore_ascii_case(etag), differs) {
        (true, Some(i)) => {
            format!("{} came corrupted: a second read of it gives the ETag, so it was damaged in transit", name(i))
        }
        (true, None) => "a second read gives the ETag".to_string(),
        (false, Some(i)) => format!("{} read differently twice and neither read gives the ETag", name(i)),
        (false, None) => {
            let unsure = match layout.source {
                Source::Plan | Source::Assumed => ", or its parts are not where they were taken to be",
                _ => "",
            };
            format!("a second read gives the same bytes, so the object as stored does not give its ETag (damaged at rest{unsure})")
        }
    }
}

/// The end of a download: compares what the bytes give with the ETag. Returns what was
/// verified and, when that is the length only, why.
pub(crate) fn conclude(
    client: &S3Client,
    url: &S3Url,
    check: Check,
    hasher: Option<PartHasher>,
    jobs: usize,
    reread: Reread,
) -> Result<(Verified, Option<String>)> {
    let (Check::Content { etag, multipart, layout }, Some(hasher)) = (check, hasher) else {
        return Ok((Verified::Length, None));
    };
    let (got, digests) = hasher.finish(multipart);
    if got.eq_ignore_ascii_case(&etag) {
        return Ok(if multipart { (Verified::Parts, Some(layout.describe())) } else { (Verified::Md5, None) });
    }
    if !multipart {
        let located = locate(url, &etag, &layout, &digests, false, reread);
        return Err(Error::verify(format!(
            "{url}: the bytes received do not match the object: expected ETag {etag}, computed {got} (their MD5); \
             {located}; the output is corrupt"
        )));
    }
    // Guessed boundaries cannot be checked: other boundaries give another ETag.
    if layout.source == Source::Guessed {
        return Ok((
            Verified::Length,
            Some(format!(
                "the server does not tell part sizes and the bytes do not give the ETag {etag} with {}: either \
                 the parts have other sizes or the content is corrupt, which cannot be told apart here",
                layout.describe_shape()
            )),
        ));
    }
    // Boundaries that were assumed or read from metadata are checked before calling it
    // corruption: with other boundaries, the same bytes give another ETag.
    if matches!(layout.source, Source::Assumed | Source::Plan) {
        let count = layout.count() as u64;
        let probed = match head_part(client, url, &etag, 1)? {
            Some(_) => probe_all(client, url, &etag, count, jobs)?,
            None => None,
        };
        if let Some(sizes) = probed {
            if Layout::from_sizes(sizes.iter().copied(), layout.total(), Source::Probed).map(|l| l.ends)
                != Some(layout.ends.clone())
            {
                let what = if layout.source == Source::Plan { "the part plan in its metadata" } else { "uniform" };
                return Ok((
                    Verified::Length,
                    Some(format!(
                        "its parts are not {what} after all ({}), so the content could not be checked",
                        describe_sizes(&sizes)
                    )),
                ));
            }
        }
    }
    let located = locate(url, &etag, &layout, &digests, true, reread);
    Err(Error::verify(format!(
        "{url}: the bytes received do not match the object: expected ETag {etag}, computed {got} ({}); {located}; \
         the output is corrupt",
        layout.describe()
    )))
}

fn describe_sizes(sizes: &[u64]) -> String {
    let shown: Vec<String> = sizes.iter().take(4).map(|&s| human(s)).collect();
    let more = if sizes.len() > 4 { ", ..." } else { "" };
    format!("{}{more}", shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::MIB;

    fn sizes(l: &Layout) -> Vec<u64> {
        (0..l.count()).map(|i| l.ends[i] - l.start(i)).collect()
    }

    #[test]
    fn etag_kinds() {
        assert_eq!(etag_kind("d41d8cd98f00b204e9800998ecf8427e"), EtagKind::Md5);
        assert_eq!(etag_kind("6b9d3e4f8ca729b4d7c96be50b72e57f-3"), EtagKind::Multipart(3));
        for other in ["", "abc", "6b9d3e4f8ca729b4d7c96be50b72e57f-", "6b9d3e4f8ca729b4d7c96be50b72e57f-0", "x-3"] {
            assert_eq!(etag_kind(other), EtagKind::Other, "{other}");
        }
        assert_eq!(etag_kind("6b9d3e4f8ca729b4d7c96be50b72e57f-100001"), EtagKind::Other);
    }

    #[test]
    fn layouts_from_plans() {
        let plan = PartPlan::growing_s3(16 * MIB);
        let total = 1000 * 16 * MIB + 40 * MIB;
        let l = Layout::from_plan(&plan, 1002, total, Source::Plan).unwrap();
        assert_eq!(sizes(&l)[999], 16 * MIB);
        assert_eq!(sizes(&l)[1000], 32 * MIB);
        assert_eq!(sizes(&l)[1001], 8 * MIB);
        // The count must fit the size: too few or too many parts is no layout.
        assert!(Layout::from_plan(&plan, 1001, total, Source::Plan).is_none());
        assert!(Layout::from_plan(&plan, 1003, total, Source::Plan).is_none());
        assert_eq!(l.describe(), "1002 parts of 8.0 MiB to 32.0 MiB, from s3put's part plan");
    }

    #[test]
    fn part_sizes_are_guessed_from_the_count() {
        // aws-cli's 8 MiB parts: 3 parts for 20 MiB (5 MiB would make 4).
        let l = guess(3, 20 * MIB).unwrap();
        assert_eq!(sizes(&l), [8 * MIB, 8 * MIB, 4 * MIB]);
        // rclone's 5 MiB: 4 parts for 16 MB (8 MiB would make 2).
        assert_eq!(sizes(&guess(4, 16_000_000).unwrap())[0], 5 * MIB);
        // No common size makes 7 parts of 20 MiB.
        assert!(guess(7, 20 * MIB).is_none());
        assert!(guess(2, 20 * MIB).unwrap().describe().contains("guessed"));
    }

    #[test]
    fn chunks_follow_part_boundaries() {
        let cut = |l: &Layout, chunk: u64| {
            let mut pos = 0;
            let mut out = Vec::new();
            while pos < l.total() {
                let e = l.chunk_end(pos, chunk);
                out.push(e - pos);
                pos = e;
            }
            out
        };
        let five = Layout::from_sizes([5, 5, 5, 2], 17, Source::Probed).unwrap();
        assert_eq!(cut(&five, 8), [5, 5, 7]);
        assert_eq!(cut(&five, 5), [5, 5, 5, 2]);
        assert_eq!(cut(&five, 10), [10, 7]);
        let big = Layout::from_sizes([16, 16, 3], 35, Source::Probed).unwrap();
        assert_eq!(cut(&big, 8), [8, 8, 8, 8, 3]);
        let odd = Layout::from_sizes([20], 20, Source::Whole).unwrap();
        assert_eq!(cut(&odd, 8), [7, 7, 6]);
    }

    /// Workers and writer together give the MD5s of a plain hasher, for any chunking.
    #[test]
    fn prehashed_chunks_give_the_same_etag() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let layout = Arc::new(Layout::from_sizes([300, 300, 300, 100], 1000, Source::Probed).unwrap());
        let mut plain = PartHasher::new(Arc::clone(&layout));
        plain.update(&data);
        let want = plain.finish(true).0;
        let mut expected = Md5::new();
        for p in data.chunks(300) {
            expected.update(Md5::digest(p));
        }
        assert_eq!(want, format!("{}-4", hex::encode(expected.finalize())));
        for cuts in [vec![1000], vec![300, 700], vec![150, 150, 300, 400], vec![1, 299, 2, 698], vec![450, 550]] {
            let mut h = PartHasher::new(Arc::clone(&layout));
            let mut pos = 0usize;
            for c in cuts.iter() {
                let chunk = &data[pos..pos + c];
                if pos == 0 {
                    h.update(chunk);
                } else {
                    h.absorb(chunk, prehash(&layout, pos as u64, chunk));
                }
                pos += c;
            }
            assert_eq!(h.finish(true).0, want, "{cuts:?}");
        }
    }

    #[test]
    fn single_part_and_empty_objects() {
        let mut h = PartHasher::new(Arc::new(Layout::whole(0)));
        h.update(b"");
        assert_eq!(h.finish(false).0, "d41d8cd98f00b204e9800998ecf8427e");
        let mut h = PartHasher::new(Arc::new(Layout::whole(3)));
        h.update(b"abc");
        assert_eq!(h.finish(false).0, "900150983cd24fb0d6963f7d28e17f72");
    }
}
