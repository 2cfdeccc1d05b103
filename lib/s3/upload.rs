//! s3put's destination: single PUT or multipart upload, per-part ETag checks, abort, and the
//! verification HEAD that every upload ends with.

use super::client::S3Client;
use super::ops::{Aborted, ChecksumAlgo, Digests, ObjectOptions};
use super::url::S3Url;
use crate::error::{Error, Result};
use crate::transfer::{Destination, Part};
use crate::{log, run};
use md5::{Digest as _, Md5};
use std::sync::Mutex;

pub(crate) struct S3Destination {
    client: S3Client,
    url: S3Url,
    opts: ObjectOptions,
    upload_id: Mutex<Option<String>>,
}

impl S3Destination {
    pub fn new(client: S3Client, url: S3Url, opts: ObjectOptions) -> S3Destination {
        S3Destination { client, url, opts, upload_id: Mutex::new(None) }
    }

    fn upload_id(&self) -> Option<String> {
        self.upload_id.lock().map(|g| g.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    fn set_upload_id(&self, id: Option<String>) {
        match self.upload_id.lock() {
            Ok(mut g) => *g = id,
            Err(p) => *p.into_inner() = id,
        }
    }

    /// A returned ETag that looks like an MD5 must be the MD5 we computed: catches corruption
    /// between our buffer and the server's disk that Content-MD5 alone would not reveal if a
    /// proxy rewrote the body.
    fn check_part_etag(&self, what: &str, etag: Option<&str>, md5: &[u8; 16]) -> Result<String> {
        let etag = etag.unwrap_or("").to_string();
        if self.opts.etag_is_md5() && is_md5_hex(&etag) && !etag.eq_ignore_ascii_case(&hex::encode(md5)) {
            return Err(Error::verify(format!(
                "{what}: the server's ETag {etag} is not the MD5 of the data sent ({})",
                hex::encode(md5)
            )));
        }
        Ok(etag)
    }
}

fn is_md5_hex(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `md5(concat(part md5s))-N`, the multipart ETag of AWS and most compatible stores.
pub(crate) fn multipart_etag(parts: &[Part]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p.md5);
    }
    format!("{}-{}", hex::encode(h.finalize()), parts.len())
}

impl Destination for S3Destination {
    fn describe(&self) -> String {
        self.url.to_string()
    }

    fn put_single(&self, data: &[u8]) -> Result<Part> {
        let d = Digests::of(data);
        let etag = self.client.put_object(&self.url.bucket, &self.url.key, data, &d, &self.opts)?;
        let etag = self.check_part_etag(&format!("PUT {}", self.url), etag.as_deref(), &d.md5)?;
        Ok(Part { number: 1, size: data.len() as u64, md5: d.md5, etag, extra: None })
    }

    fn begin(&self) -> Result<()> {
        let id = self.client.create_multipart(&self.url.bucket, &self.url.key, &self.opts)?;
        if self.client.verbose() >= 1 {
            log::note(format!("multipart upload of {} started", self.url));
        }
        self.set_upload_id(Some(id));
        Ok(())
    }

    fn put_part(&self, number: u32, data: &[u8]) -> Result<Part> {
        let id = self.upload_id().ok_or_else(|| Error::server("no multipart upload in progress"))?;
        let d = Digests::of(data);
        let etag =
            self.client.upload_part(&self.url.bucket, &self.url.key, &id, number, data, &d, self.opts.checksum)?;
        let etag = self.check_part_etag(&format!("part {number} of {}", self.url), etag.as_deref(), &d.md5)?;
        if etag.is_empty() {
            return Err(Error::server(format!("part {number} of {}: the server returned no ETag", self.url)));
        }
        let extra = self.opts.checksum.map(|a| a.value(data, &d));
        Ok(Part { number, size: data.len() as u64, md5: d.md5, etag, extra })
    }

    fn complete(&self, parts: &[Part], _total: u64) -> Result<()> {
        let id = self.upload_id().ok_or_else(|| Error::server("no multipart upload in progress"))?;
        let list: Vec<(u32, String)> = parts.iter().map(|p| (p.number, p.etag.clone())).collect();
        let sums: Vec<String> = parts.iter().filter_map(|p| p.extra.clone()).collect();
        let checksums = self.opts.checksum.map(|a| {
            let full = (a == ChecksumAlgo::Crc64Nvme)
                .then(|| {
                    let sized: Vec<(String, u64)> =
                        parts.iter().filter_map(|p| p.extra.clone().map(|e| (e, p.size))).collect();
                    ChecksumAlgo::full_object_crc64(&sized)
                })
                .flatten();
            (a, &sums[..], full)
        });
        self.client.complete_multipart(&self.url.bucket, &self.url.key, &id, &list, checksums)?;
        // Completed: from here on, cleanup means deleting the object, not aborting the upload.
        self.set_upload_id(None);
        Ok(())
    }

    fn verify(&self, parts: &[Part], total: u64, single: bool) -> Result<String> {
        let meta = self.client.head_object(&self.url.bucket, &self.url.key).map_err(|e| {
            self.discard();
            e.context(format!("verifying {}", self.url))
        })?;
        let got = meta.etag.clone().unwrap_or_default();
        let expected = if !self.opts.etag_is_md5() {
            None
        } else if single {
            Some(hex::encode(parts[0].md5))
        } else if self.client.endpoint().provider().multipart_etag_is_md5_of_md5s() {
            Some(multipart_etag(parts))
        } else {
            None
        };
        let mut problem = None;
        if meta.size != total {
            problem = Some(format!("the stored object has {} bytes but {total} were read", meta.size));
        } else if let Some(exp) = expected {
            // Only compare an ETag of the shape we predicted; some stores (HCP, SSE-C) use others.
            let comparable = if single { is_md5_hex(&got) } else { got.contains('-') };
            if comparable && !got.eq_ignore_ascii_case(&exp) {
                problem = Some(format!("the stored ETag {got} is not the expected {exp}"));
            }
        }
        if problem.is_none() {
            problem = self.encryption_problem(&meta);
        }
        if let Some(p) = problem {
            self.discard();
            return Err(Error::verify(format!("verification of {} failed: {p}; the object was deleted", self.url)));
        }
        if self.client.verbose() >= 1 {
            log::note(format!("verified {}: {total} bytes, ETag {got}", self.url));
        }
        Ok(got)
    }

    fn abort(&self) {
        let Some(id) = self.upload_id() else { return };
        match self.client.abort_multipart(&self.url.bucket, &self.url.key, &id) {
            Ok(Aborted::Done) => {
                run::cleanup("upload_aborted", true);
                if self.client.verbose() >= 1 {
                    log::note(format!("aborted the multipart upload of {}", self.url));
                }
            }
            // Aborted already (a second abort after a part raced the first, or a lost answer).
            Ok(Aborted::NotFound) => {
                run::cleanup("upload_aborted", true);
                if self.client.verbose() >= 2 {
                    log::note(format!("the multipart upload of {} was already aborted", self.url));
                }
            }
            Err(e) => {
                run::cleanup("upload_aborted", false);
                run::cleanup("upload_id", id.as_str());
                log::warn(format!(
                    "could not abort the multipart upload of {} (upload id {id}): {}; abort it with `s3ls --uploads | s3rm --uploads`",
                    self.url,
                    e.message()
                ))
            }
        }
    }
}

impl S3Destination {
    /// `--sse` asked for but HEAD does not show it applied: the server ignored the header
    /// (Ceph RGW 16 has no SSE-S3, Garage ignores SSE), so the object is stored in clear.
    fn encryption_problem(&self, meta: &super::ops::ObjectMeta) -> Option<String> {
        let want = self.opts.sse.as_deref()?;
        let got = meta.sse.as_deref().unwrap_or("");
        if !got.eq_ignore_ascii_case(want) {
            let shown = if got.is_empty() { "no encryption".to_string() } else { format!("{got:?}") };
            return Some(format!(
                "--sse {want} was asked for but the server shows {shown}: it does not support or ignored it \
                 (Ceph RGW 16 has no SSE-S3; Garage has no server-side encryption)"
            ));
        }
        // AWS shows the key's ARN for a key id or alias given.
        match (self.opts.sse_kms_key_id.as_deref(), meta.sse_kms_key_id.as_deref()) {
            (Some(w), Some(g)) if !g.ends_with(w) => {
                Some(format!("--sse-kms-key-id {w} was asked for but the server used the key {g:?}"))
            }
            _ => None,
        }
    }

    /// Deletes the stored object after a failed verification (best effort, reported).
    fn discard(&self) {
        match self.client.delete_object(&self.url.bucket, &self.url.key) {
            Ok(()) => run::cleanup("object_deleted", true),
            Err(e) => {
                run::cleanup("object_deleted", false);
                log::warn(format!("could not delete {} after failed verification: {}", self.url, e.message()));
            }
        }
    }
}
