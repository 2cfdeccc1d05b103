//! swift-get: streams an object (plain, SLO or DLO) to a writer, resuming with a Range after a
//! broken connection, and verifies what was written: the length always; the MD5 of a plain
//! object; for an SLO, each segment's MD5 against its manifest entry and the manifest against
//! the object's ETag.

use super::client::{ObjectMeta, SwiftClient};
use super::slo::{self, Stored};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{self, unquote_etag, Attempts, Request};
use crate::log::printable;
use md5::{Digest as _, Md5};
use std::io::{Read, Write};

#[derive(Clone, Debug)]
pub(crate) struct GetSummary {
    pub bytes: u64,
    pub etag: String,
    /// What was checked: "md5", "segments", "length".
    pub verified: &'static str,
}

/// The leaf segments of an SLO, in order, following nested manifests. None when a manifest
/// uses byte ranges (the segment MD5s then don't describe the bytes we get).
fn leaves(client: &SwiftClient, manifest: &[Stored], depth: u32, out: &mut Vec<Stored>) -> Result<bool> {
    for s in manifest {
        if s.range.is_some() {
            return Ok(false);
        }
        if s.sub_slo {
            if depth > 10 {
                return Ok(false);
            }
            let Some((c, o)) = s.container_object() else {
                return Ok(false);
            };
            let text = client.send_text(&Request::new("GET", Some(&c), Some(&o)).query("multipart-manifest", "get"))?;
            if !leaves(client, &slo::parse_stored(&text)?, depth + 1, out)? {
                return Ok(false);
            }
        } else {
            out.push(s.clone());
        }
    }
    Ok(true)
}

/// Checks segment boundaries as bytes pass.
struct SegmentCheck {
    leaves: Vec<(String, u64)>,
    index: usize,
    filled: u64,
    md5: Md5,
}

impl SegmentCheck {
    fn feed(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let Some((hash, size)) = self.leaves.get(self.index) else {
                return Err(Error::verify("the object is longer than its manifest says"));
            };
            let take = ((size - self.filled) as usize).min(data.len());
            self.md5.update(&data[..take]);
            self.filled += take as u64;
            data = &data[take..];
            if self.filled == *size {
                let got = hex::encode(std::mem::take(&mut self.md5).finalize());
                if !got.eq_ignore_ascii_case(hash) {
                    return Err(Error::verify(format!(
                        "segment {} has MD5 {got}, its manifest says {hash}",
                        self.index
                    )));
                }
                self.index += 1;
                self.filled = 0;
                // Zero-byte segments (only the last may be) have the empty MD5.
                while self.leaves.get(self.index).is_some_and(|(_, s)| *s == 0) {
                    self.index += 1;
                }
            }
        }
        Ok(())
    }
}

/// GETs one object into `sink`, resuming with a Range after a broken connection as long as
/// the ETag stays the same. Returns the bytes delivered.
fn stream(
    client: &SwiftClient,
    container: &str,
    object: &str,
    size: u64,
    expected_etag: &str,
    name: &str,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<u64> {
    let mut pos: u64 = 0;
    let mut attempts = Attempts::new(client.http().retry());
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let mut req = Request::new("GET", Some(container), Some(object));
        if pos > 0 {
            req = req.header("Range", format!("bytes={pos}-"));
        }
        let resp = client.send(&req)?;
        let etag = unquote_etag(resp.header("Etag").unwrap_or(""));
        if !etag.is_empty() && !expected_etag.is_empty() && !etag.eq_ignore_ascii_case(expected_etag) {
            return Err(Error::verify(format!(
                "{name} changed while it was read (ETag {expected_etag} became {etag})"
            )));
        }
        if pos > 0 && resp.status() != 206 {
            return Err(Error::server(format!(
                "{name}: the server ignored the Range of a resumed read (HTTP {})",
                resp.status()
            )));
        }
        let mut reader = client.http().body_reader(resp);
        let cut = loop {
            match reader.read(&mut buf) {
                // A connection closed early looks like EOF to some readers: resume it too.
                Ok(0) if pos < size => break format!("the connection ended at byte {pos} of {size}"),
                Ok(0) => return Ok(pos),
                Ok(n) => {
                    sink(&buf[..n])?;
                    pos += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if http::io_error_retryable(&e) => break format!("read failed at byte {pos} ({e})"),
                Err(e) => return Err(Error::server(format!("{name}: reading at byte {pos}: {e}"))),
            }
        };
        let Some(pause) = attempts.failed() else {
            return Err(attempts.gave_up(Error::server(format!("{name}: {cut}"))));
        };
        let message = format!("{name}: {cut}; resuming");
        http::resume_event(message, &format!("GET {name}"), &cut, &attempts, pause, Some(pos), client.verbose() >= 1);
        std::thread::sleep(pause);
    }
}

/// Streams `container/object` to `out`.
pub(crate) fn get(client: &SwiftClient, container: &str, object: &str, out: &mut dyn Write) -> Result<GetSummary> {
    let name = format!("swift://{container}/{}", printable(object));
    let meta: ObjectMeta = client.head_object(container, object).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            Error::new(ErrorKind::NotFound, format!("{name}: no such object (or container)"))
        } else {
            e
        }
    })?;
    let mut check = None;
    let mut verified = "length";
    let mut segments = Vec::new();
    if meta.slo {
        let text =
            client.send_text(&Request::new("GET", Some(container), Some(object)).query("multipart-manifest", "get"))?;
        let top = slo::parse_stored(&text)?;
        let expected = slo::slo_etag(top.iter().map(|s| s.hash.as_str()));
        if top.iter().all(|s| s.range.is_none()) && !expected.eq_ignore_ascii_case(&meta.etag) {
            return Err(Error::verify(format!(
                "{name}: the manifest's ETags give {expected}, the object says {}",
                meta.etag
            )));
        }
        if leaves(client, &top, 0, &mut segments)? {
            let l = segments.iter().map(|s| (s.hash.clone(), s.bytes)).collect();
            check = Some(SegmentCheck { leaves: l, index: 0, filled: 0, md5: Md5::new() });
            verified = "segments";
        } else {
            segments.clear();
        }
    }
    let plain_md5 = !meta.slo && meta.dlo.is_none() && meta.etag.len() == 32;
    if plain_md5 {
        verified = "md5";
    }
    let mut md5 = Md5::new();
    // The sink borrows the checks and the output until every byte went through it.
    let pos = {
        let mut sink = |data: &[u8]| -> Result<()> {
            if let Some(c) = check.as_mut() {
                c.feed(data).map_err(|e| e.context(&name))?;
            }
            if plain_md5 {
                md5.update(data);
            }
            out.write_all(data).map_err(Error::stdout)
        };
        if segments.is_empty() {
            stream(client, container, object, meta.size, &meta.etag, &name, &mut sink)?
        } else {
            // Each segment is read directly: Swift's SLO GET slows to one segment per second
            // after the first ten (rate_limit_after_segment), which would cap a 64 MiB-segment
            // backup at 64 MiB/s.
            let mut total = 0;
            for seg in &segments {
                let Some((c, o)) = seg.container_object() else {
                    return Err(Error::server(format!("{name}: bad segment path {:?} in the manifest", seg.name)));
                };
                if seg.bytes == 0 {
                    continue;
                }
                let label = format!("{name} segment /{c}/{}", printable(&o));
                let n = stream(client, &c, &o, seg.bytes, &seg.hash, &label, &mut sink)?;
                if n != seg.bytes {
                    return Err(Error::verify(format!("{label}: got {n} bytes, the manifest says {}", seg.bytes)));
                }
                total += n;
            }
            total
        }
    };
    out.flush().map_err(Error::stdout)?;
    if pos != meta.size {
        return Err(Error::verify(format!("{name}: got {pos} bytes, the object has {}", meta.size)));
    }
    if let Some(c) = &check {
        if c.index < c.leaves.len() && c.leaves[c.index..].iter().any(|(_, s)| *s > 0) {
            return Err(Error::verify(format!("{name}: the data ended inside segment {}", c.index)));
        }
    }
    if plain_md5 {
        let got = hex::encode(md5.finalize());
        if !got.eq_ignore_ascii_case(&meta.etag) {
            return Err(Error::verify(format!("{name}: the data's MD5 is {got}, the object's ETag {}", meta.etag)));
        }
    }
    Ok(GetSummary { bytes: pos, etag: meta.etag, verified })
}
