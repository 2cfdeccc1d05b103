//! s3put's destination: single PUT or multipart upload, per-part ETag checks, abort, and the
//! verification HEAD that every upload ends with.

use super::client::S3Client;
use super::ops::{legal_hold_body, retention_body, tagging_body, Aborted, ChecksumAlgo, ObjectMeta, ObjectOptions};
use super::payload::Digests;
use super::url::S3Url;
use crate::error::{Error, ErrorKind, Result};
use crate::transfer::{Destination, Part};
use crate::{log, run};
use md5::{Digest as _, Md5};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, UNIX_EPOCH};

/// The limit of each cleanup request (listing, abort) after an ambiguous CreateMultipartUpload.
const CLEANUP_DEADLINE: Duration = Duration::from_secs(30);

pub(crate) struct S3Destination {
    client: S3Client,
    url: S3Url,
    opts: ObjectOptions,
    upload_id: Mutex<Option<String>>,
    /// Set by the first abort, so a second one (after parts that were on the wire) is quiet.
    aborted: AtomicBool,
}

impl S3Destination {
    pub fn new(client: S3Client, url: S3Url, opts: ObjectOptions) -> S3Destination {
        S3Destination { client, url, opts, upload_id: Mutex::new(None), aborted: AtomicBool::new(false) }
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
    /// proxy rewrote the body. Returns the ETag and the part's MD5: ours, else the server's
    /// MD5-shaped ETag (the part the server verified against the signed SHA-256), else none.
    fn check_part_etag(
        &self,
        what: &str,
        etag: Option<&str>,
        md5: Option<[u8; 16]>,
    ) -> Result<(String, Option<[u8; 16]>)> {
        let etag = etag.unwrap_or("").to_string();
        let md5_etag = (self.opts.etag_is_md5() && is_md5_hex(&etag)).then(|| md5_from_hex(&etag)).flatten();
        match (md5, md5_etag) {
            (Some(ours), Some(theirs)) if ours != theirs => Err(Error::verify(format!(
                "{what}: the server's ETag {etag} is not the MD5 of the data sent ({})",
                hex::encode(ours)
            ))),
            (Some(ours), _) => Ok((etag, Some(ours))),
            (None, theirs) => Ok((etag, theirs)),
        }
    }
}

/// Whether `which` ("retention", "legal-hold") is among what could not be read back.
fn listed(unreadable: &[(&str, String)], which: &str) -> bool {
    unreadable.iter().any(|(w, _)| *w == which)
}

fn md5_from_hex(s: &str) -> Option<[u8; 16]> {
    hex::decode(s).ok()?.try_into().ok()
}

/// `x-amz-object-lock-retain-until-date` as stores send it: RFC 3339 (AWS, Ceph) or an HTTP date.
fn parse_lock_date(s: &str) -> Option<std::time::SystemTime> {
    crate::time::parse_rfc3339(s).or_else(|| crate::time::parse_http_date(s))
}

fn is_md5_hex(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The multipart ETag of the uploaded `parts` ([`md5_of_md5s`]), when every part's MD5 is
/// known (ours, or the server's MD5-shaped part ETag).
pub(crate) fn multipart_etag(parts: &[Part]) -> Option<String> {
    let md5s: Option<Vec<[u8; 16]>> = parts.iter().map(|p| p.md5).collect();
    md5s.map(|m| md5_of_md5s(m.iter()))
}

/// `md5(concat(part md5s))-N`, the multipart ETag of AWS and most compatible stores: the one
/// formula s3put's verification and s3get's restore check both compare with.
pub(crate) fn md5_of_md5s<'a>(digests: impl ExactSizeIterator<Item = &'a [u8; 16]>) -> String {
    let n = digests.len();
    let mut h = Md5::new();
    for d in digests {
        h.update(d);
    }
    format!("{}-{n}", hex::encode(h.finalize()))
}

impl Destination for S3Destination {
    fn describe(&self) -> String {
        self.url.to_string()
    }

    fn put_single(&self, data: &[u8]) -> Result<Part> {
        let d = Digests::compute(data, self.opts.protection(), self.opts.checksum);
        let size = data.len() as u64;
        let etag = match self.client.put_object(&self.url.bucket, &self.url.key, data, &d, &self.opts) {
            Ok(etag) => etag,
            // Attempts that timed out or lost their answer may have stored the object after all.
            // The buffer is still here: its MD5, if not computed yet, tells.
            Err(e) if e.kind() == ErrorKind::Server => {
                let expected = self.opts.etag_is_md5().then(|| hex::encode(d.md5_of(data)));
                Some(self.stored_after_all(e, size, expected)?)
            }
            Err(e) => return Err(self.creation_hint(e)),
        };
        let (etag, md5) = self.check_part_etag(&format!("PUT {}", self.url), etag.as_deref(), d.md5)?;
        Ok(Part { number: 1, size, md5, etag, extra: None })
    }

    fn begin(&self) -> Result<()> {
        let first_attempt = Instant::now();
        let (id, retried) = self.client.create_multipart(&self.url.bucket, &self.url.key, &self.opts);
        if retried {
            self.abort_unheard_uploads(first_attempt, id.as_deref().ok());
        }
        let id = id.map_err(|e| self.creation_hint(e))?;
        if self.client.verbose() >= 1 {
            log::note(format!("multipart upload of {} started", self.url));
        }
        self.set_upload_id(Some(id));
        Ok(())
    }

    fn put_part(&self, number: u32, data: &[u8]) -> Result<Part> {
        let id = self.upload_id().ok_or_else(|| Error::server("no multipart upload in progress"))?;
        let d = Digests::compute(data, self.opts.protection(), self.opts.checksum);
        let etag = self.client.upload_part(&self.url.bucket, &self.url.key, &id, number, data, &d, &self.opts)?;
        let (etag, md5) = self.check_part_etag(&format!("part {number} of {}", self.url), etag.as_deref(), d.md5)?;
        if etag.is_empty() {
            return Err(Error::server(format!("part {number} of {}: the server returned no ETag", self.url)));
        }
        let extra = self.opts.checksum.map(|a| a.value(data, &d));
        Ok(Part { number, size: data.len() as u64, md5, etag, extra })
    }

    fn complete(&self, parts: &[Part], total: u64) -> Result<()> {
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
        match self.client.complete_multipart(&self.url.bucket, &self.url.key, &id, &list, checksums) {
            Ok(_) => {}
            // An attempt whose answer was lost may have completed the upload: its retry then
            // finds no such upload, or every attempt timed out.
            Err(e) if e.code() == Some("NoSuchUpload") || e.kind() == ErrorKind::Server => {
                self.stored_after_all(e, total, self.expected_etag(parts, false))?;
            }
            Err(e) => return Err(e),
        }
        // Completed: from here on, cleanup means deleting the object, not aborting the upload.
        self.set_upload_id(None);
        Ok(())
    }

    fn verify(&self, parts: &[Part], total: u64, single: bool) -> Result<String> {
        let head = || {
            self.client.head_object(&self.url.bucket, &self.url.key, self.opts.sse_c.as_ref()).map_err(|e| {
                self.discard(None);
                e.context(format!("verifying {}", self.url))
            })
        };
        let mut meta = head()?;
        let mut unreadable = self.read_hidden_lock(&mut meta);
        let mut failed_fixes = Vec::new();
        let set = self.apply_dropped_policy(&meta, &unreadable, &mut failed_fixes);
        if !set.is_empty() {
            meta = head()?;
            unreadable = self.read_hidden_lock(&mut meta);
        }
        let got = meta.etag.clone().unwrap_or_default();
        let expected = self.expected_etag(parts, single);
        let mut expected_checked = false;
        let mut problem = self.policy_problem(&meta, &unreadable).map(|p| {
            if failed_fixes.is_empty() {
                p
            } else {
                format!("{p} ({})", failed_fixes.join("; "))
            }
        });
        if problem.is_none() && meta.size != total {
            problem = Some(format!("the stored object has {} bytes but {total} were read", meta.size));
        } else if let (None, Some(exp)) = (&problem, expected.clone()) {
            // Only compare an ETag of the shape we predicted; some stores (HCP, SSE-C) use others.
            let comparable = if single { is_md5_hex(&got) } else { got.contains('-') };
            if comparable && !got.eq_ignore_ascii_case(&exp) {
                problem = Some(format!("the stored ETag {got} is not the expected {exp}"));
            }
            expected_checked = comparable;
        }
        if problem.is_none() {
            problem = self.encryption_problem(&meta);
        }
        if problem.is_none() && !unreadable.is_empty() {
            // The bytes are verified; the lock may well hold: deleting would be wrong (and is
            // refused for a locked version), calling it unprotected too.
            let what: Vec<String> = unreadable
                .iter()
                .map(|(w, why)| {
                    let put = if set.contains(w) { ", PUT accepted" } else { "" };
                    format!("GET ?{w}: {why}{put}")
                })
                .collect();
            return Err(Error::verify(format!(
                "verification of {} failed: the Object Lock asked for cannot be read back ({}); grant \
                 s3:GetObjectRetention and s3:GetObjectLegalHold (HEAD shows the lock only to who may read it); \
                 the object was kept: its size and ETag are verified, its lock is not",
                self.url,
                what.join("; ")
            )));
        }
        if let Some(p) = problem {
            let fate = if self.discard(meta.version_id.as_deref()) {
                "the object was deleted"
            } else {
                "the object could NOT be deleted"
            };
            return Err(Error::verify(format!("verification of {} failed: {p}; {fate}", self.url)));
        }
        if self.client.verbose() >= 1 {
            let unknown_part = parts.iter().any(|p| p.md5.is_none());
            log::note(format!("verified {}: {}", self.url, self.checked(total, &got, expected_checked, unknown_part)));
        }
        Ok(got)
    }

    fn abort(&self) {
        let Some(id) = self.upload_id() else { return };
        let again = self.aborted.swap(true, Ordering::SeqCst);
        // An upload already gone (the first abort's work) counts as aborted.
        match self.client.abort_multipart(&self.url.bucket, &self.url.key, &id) {
            Ok(Aborted::Done) => {
                run::cleanup("upload_aborted", true);
                if self.client.verbose() >= 1 && !again {
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
                // Said once: a second abort is not tried after this one failed.
                self.set_upload_id(None);
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
    /// The ETag a store gives an object made of `parts`, when it can be predicted: the MD5
    /// of a single PUT, `md5-of-md5s-N` of a multipart upload on stores that use it. Not with
    /// SSE-KMS (and not on stores whose multipart ETags are something else).
    fn expected_etag(&self, parts: &[Part], single: bool) -> Option<String> {
        if !self.opts.etag_is_md5() {
            None
        } else if single {
            // Without our MD5, the ETag the PUT returned (checked to be MD5-shaped).
            parts[0].md5.map(hex::encode)
        } else if self.client.endpoint().provider().multipart_etag_is_md5_of_md5s() {
            multipart_etag(parts)
        } else {
            None
        }
    }

    /// After a request whose outcome is unknown (answers lost or late; a retried completion
    /// that finds the upload gone): an object at the key with the size read and the `expected`
    /// ETag holds exactly the bytes read, so the upload succeeded; its ETag is returned.
    /// Anything else keeps `err`, and an object that is there but cannot be proven ours is left
    /// alone: it is not ours to delete.
    fn stored_after_all(&self, err: Error, size: u64, expected: Option<String>) -> Result<String> {
        let Some(expected) = expected else { return Err(err) };
        let Ok(meta) = self.client.head_object(&self.url.bucket, &self.url.key, self.opts.sse_c.as_ref()) else {
            return Err(err);
        };
        if meta.size != size || !meta.etag.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&expected)) {
            return Err(err);
        }
        if self.client.verbose() >= 1 {
            log::note(format!(
                "{}; but {} holds the {size} bytes read (ETag {expected}): it was stored",
                err.message(),
                self.url
            ));
        }
        Ok(expected)
    }

    /// After a CreateMultipartUpload that needed more than one attempt: a failed attempt may
    /// have started an upload whose id never reached us, which nobody would ever abort. Aborts
    /// the uploads of exactly this key that the server started since our first attempt, by its
    /// own clock (its Date header, less the time since that attempt, less 2 s for one-second
    /// resolutions), except `keep`. Another writer of the same key in those seconds would lose
    /// its upload: two writers of one key conflict anyway. Each request has its own deadline.
    fn abort_unheard_uploads(&self, first_attempt: Instant, keep: Option<&str>) {
        let (bucket, key) = (&self.url.bucket, &self.url.key);
        let listed = self.client.uploads_of_key(bucket, key, CLEANUP_DEADLINE);
        let uploads = match listed {
            Ok((uploads, Some(server_now))) => {
                let since = server_now.checked_sub(first_attempt.elapsed() + Duration::from_secs(2)).unwrap_or(UNIX_EPOCH);
                uploads
                    .into_iter()
                    .filter(|u| Some(u.upload_id.as_str()) != keep && u.initiated.is_some_and(|t| t >= since))
                    .collect::<Vec<_>>()
            }
            Ok((_, None)) => {
                return log::warn(format!(
                    "the server's clock is unknown (no Date header): uploads of {} that attempts of ours may have started were not aborted; check with `s3ls --uploads {}`",
                    self.url, self.url
                ))
            }
            Err(e) => {
                return log::warn(format!(
                    "could not list the uploads of {} that attempts of ours may have started: {}; check with `s3ls --uploads {}`",
                    self.url,
                    e.message(),
                    self.url
                ))
            }
        };
        for u in uploads {
            match self.client.abort_multipart(bucket, key, &u.upload_id) {
                Ok(_) if self.client.verbose() >= 1 => log::note(format!(
                    "aborted upload {} of {}, started by an attempt whose answer was lost",
                    u.upload_id, self.url
                )),
                Ok(_) => {}
                Err(e) => log::warn(format!(
                    "could not abort the multipart upload of {} (upload id {}): {}; abort it with `s3ls --uploads | s3rm --uploads`",
                    self.url,
                    u.upload_id,
                    e.message()
                )),
            }
        }
    }

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

    /// A refused PUT or CreateMultipartUpload that asked for Object Lock: most likely the
    /// bucket has none (AWS: 400 InvalidRequest "Bucket is missing Object Lock Configuration").
    fn creation_hint(&self, e: Error) -> Error {
        let lock_refused = self.opts.locks()
            && e.status() == Some(400)
            && matches!(e.code(), Some("InvalidRequest" | "InvalidArgument" | "InvalidBucketState"));
        if !lock_refused {
            return e;
        }
        Error::new(
            ErrorKind::Config,
            format!(
                "{}; the bucket {} probably has no Object Lock: it must be created with Object Lock enabled \
                 (x-amz-bucket-object-lock-enabled: true, e.g. aws s3api create-bucket --object-lock-enabled-for-bucket), \
                 or drop --object-lock-mode/--legal-hold",
                e.message(),
                self.url.bucket
            ),
        )
    }

    /// Sets again, with PutObjectTagging/-Retention/-LegalHold, what HEAD shows the store
    /// dropped (Ceph RGW 16 ignores x-amz-tagging and the Object Lock headers of
    /// CreateMultipartUpload), and the lock asked for that cannot be read back (`unreadable`):
    /// the same mode and date again change nothing where it holds. Returns what was set;
    /// failures go to `failed`.
    fn apply_dropped_policy(
        &self,
        meta: &ObjectMeta,
        unreadable: &[(&str, String)],
        failed: &mut Vec<String>,
    ) -> Vec<&'static str> {
        let o = &self.opts;
        let mut fixes: Vec<(&'static str, String)> = Vec::new();
        if !o.tags.is_empty() && meta.tag_count.is_some_and(|n| n != o.tags.len()) {
            fixes.push(("tagging", tagging_body(&o.tags)));
        }
        if let (Some(r), None) = (&o.retention, &meta.lock_mode) {
            fixes.push(("retention", retention_body(r)));
        }
        if o.legal_hold && meta.legal_hold.is_none() {
            fixes.push(("legal-hold", legal_hold_body()));
        }
        let mut set = Vec::new();
        for (which, body) in fixes {
            let (b, k, v) = (&self.url.bucket, &self.url.key, meta.version_id.as_deref());
            let hidden = listed(unreadable, which);
            match self.client.put_object_subresource(b, k, v, which, &body) {
                Ok(()) => {
                    set.push(which);
                    if self.client.verbose() >= 1 {
                        let why =
                            if hidden { "it cannot be read back" } else { "the store dropped the one given at upload" };
                        log::note(format!("{}: {why}; set the {which} with PUT ?{which}", self.url));
                    }
                }
                Err(e) => failed.push(format!("PUT ?{which} failed: {}", e.message())),
            }
        }
        set
    }

    /// Asks GET ?retention and ?legal-hold for the lock asked for that HEAD does not show: AWS
    /// (and Ceph RGW) leave the lock headers out of HEAD for a caller without
    /// s3:GetObjectRetention / s3:GetObjectLegalHold. What they tell is put into `meta`; what
    /// could not be read is returned, with why.
    fn read_hidden_lock(&self, meta: &mut ObjectMeta) -> Vec<(&'static str, String)> {
        let (b, k, v) = (&self.url.bucket, &self.url.key, meta.version_id.clone());
        let mut unreadable = Vec::new();
        let ask = |which: &str| self.client.get_object_subresource(b, k, v.as_deref(), which);
        let why = |e: Error| match (e.code(), e.status()) {
            (Some(code), Some(status)) => format!("{code} (HTTP {status})"),
            _ => e.message().to_string(),
        };
        if self.opts.retention.is_some() && meta.lock_mode.is_none() && meta.retain_until.is_none() {
            match ask("retention").and_then(|body| body.as_deref().map(super::responses::parse_retention).transpose()) {
                Ok(Some((mode, until))) => (meta.lock_mode, meta.retain_until) = (mode, until),
                Ok(None) => {}
                Err(e) => unreadable.push(("retention", why(e))),
            }
        }
        if self.opts.legal_hold && meta.legal_hold.is_none() {
            match ask("legal-hold").and_then(|body| body.as_deref().map(super::responses::parse_legal_hold).transpose())
            {
                Ok(Some(status)) => meta.legal_hold = status,
                Ok(None) => {}
                Err(e) => unreadable.push(("legal-hold", why(e))),
            }
        }
        unreadable
    }

    /// What HEAD shows against the policy asked for: retention, legal hold, SSE-C key. A lock
    /// the store silently ignored must fail the upload: the user believes the backup immutable.
    /// What cannot be read back (`unreadable`) is not judged here.
    fn policy_problem(&self, meta: &ObjectMeta, unreadable: &[(&str, String)]) -> Option<String> {
        let readable = |which: &str| !listed(unreadable, which);
        if let Some(r) = self.opts.retention.as_ref().filter(|_| readable("retention")) {
            let want = crate::time::rfc3339(r.until);
            let got_until = meta.retain_until.as_deref().and_then(parse_lock_date);
            let same_time = got_until.is_some_and(|t| {
                let d = if t > r.until { t.duration_since(r.until) } else { r.until.duration_since(t) };
                d.map(|d| d.as_secs() < 2).unwrap_or(false)
            });
            if meta.lock_mode.as_deref() != Some(r.mode.as_str()) || !same_time {
                return Some(if meta.lock_mode.is_none() && meta.retain_until.is_none() {
                    format!(
                        "HEAD shows no Object Lock retention, though {} until {want} was asked: the store ignored it \
                         (it has no Object Lock support, e.g. Garage), so the object is NOT protected",
                        r.mode
                    )
                } else {
                    format!(
                        "HEAD shows retention {} until {}, not the {} until {want} asked for",
                        meta.lock_mode.as_deref().unwrap_or("(none)"),
                        meta.retain_until.as_deref().unwrap_or("(none)"),
                        r.mode
                    )
                });
            }
        }
        if let Some(n) = meta.tag_count.filter(|&n| !self.opts.tags.is_empty() && n != self.opts.tags.len()) {
            return Some(format!("HEAD shows {n} tags, not the {} given", self.opts.tags.len()));
        }
        if self.opts.legal_hold
            && readable("legal-hold")
            && !meta.legal_hold.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("ON"))
        {
            return Some(format!(
                "HEAD shows legal hold {}, not ON: the store ignored --legal-hold, so the object is NOT protected",
                meta.legal_hold.as_deref().unwrap_or("(none)")
            ));
        }
        if let Some(k) = &self.opts.sse_c {
            if !k.matches(meta) {
                return Some(format!(
                    "HEAD does not show the object encrypted with the given SSE-C key (algorithm {}, key MD5 {})",
                    meta.sse_c_algorithm.as_deref().unwrap_or("(none)"),
                    if meta.sse_c_key_md5.is_some() { "different" } else { "(none)" }
                ));
            }
        }
        None
    }

    /// What verification checked, for `-v`: size always, ETag when comparable, then policy.
    /// `unknown_part`: a part's MD5 is unknown (no Content-MD5 sent and a part ETag that is
    /// no MD5), which is why the ETag could not be predicted.
    fn checked(&self, total: u64, etag: &str, etag_checked: bool, unknown_part: bool) -> String {
        let mut what = vec![format!("size {total} bytes")];
        if etag_checked {
            what.push(format!("ETag {etag} (the MD5s of the data sent)"));
        } else if self.opts.sse_c.is_some() {
            what.push(format!("not the ETag {etag} (with SSE-C it is not an MD5 of the data)"));
        } else if !self.opts.etag_is_md5() {
            what.push(format!("not the ETag {etag} (with SSE-KMS it is not an MD5 of the data)"));
        } else if unknown_part {
            what.push(format!(
                "not the ETag {etag} (a part's ETag from the store was no MD5 and no Content-MD5 was sent; \
                 --content-md5 makes it checkable)"
            ));
        } else {
            what.push(format!("not the ETag {etag} (not an MD5 this store lets us predict)"));
        }
        if self.opts.sse_c.is_some() {
            what.push("SSE-C AES256 with the given key (key MD5 echoed by HEAD)".into());
        }
        if let Some(r) = &self.opts.retention {
            what.push(format!("retention {} until {}", r.mode, crate::time::rfc3339(r.until)));
        }
        if self.opts.legal_hold {
            what.push("legal hold ON".into());
        }
        what.join(", ")
    }

    /// Deletes the stored object after a failed verification (best effort, reported).
    /// Object Lock buckets are versioned: the version itself is deleted, not hidden behind a
    /// delete marker.
    fn discard(&self, version: Option<&str>) -> bool {
        match self.client.delete_version(&self.url.bucket, &self.url.key, version) {
            Ok(()) => {
                run::cleanup("object_deleted", true);
                true
            }
            Err(e) => {
                run::cleanup("object_deleted", false);
                log::warn(format!("could not delete {} after failed verification: {}", self.url, e.message()));
                false
            }
        }
    }
}
