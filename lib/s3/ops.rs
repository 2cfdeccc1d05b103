//! S3 operations used by the binaries, on top of `S3Client::send`.

use super::client::{describe, Request, S3Client};
use super::payload::{xml_body, Digests, Protection};
use super::responses;
use crate::error::{Error, ErrorKind, Result};
use crate::http::encoding::{base64, base64_decode};
use crate::http::{read_text, unquote_etag, Attempts};
use crate::secret::Secret;
use crate::time::parse_http_date;
use std::time::{Duration, SystemTime};

/// Opt-in flexible checksums (`--checksum`): off by default because the 2025 SDK defaults broke
/// B2, OVH, R2 and others (see providers.md). Multipart: COMPOSITE (checksum of the part
/// checksums) for all but CRC64NVME, which AWS allows only as FULL_OBJECT (the whole object's
/// CRC, combined here from the parts' CRCs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ChecksumAlgo {
    #[value(name = "crc32")]
    Crc32,
    #[value(name = "crc32c")]
    Crc32c,
    #[value(name = "crc64nvme")]
    Crc64Nvme,
    #[value(name = "sha1")]
    Sha1,
    #[value(name = "sha256")]
    Sha256,
}

impl ChecksumAlgo {
    /// As in `x-amz-checksum-algorithm` (upper case); the header suffix is its lower case.
    pub fn name(self) -> &'static str {
        match self {
            ChecksumAlgo::Crc32 => "CRC32",
            ChecksumAlgo::Crc32c => "CRC32C",
            ChecksumAlgo::Crc64Nvme => "CRC64NVME",
            ChecksumAlgo::Sha1 => "SHA1",
            ChecksumAlgo::Sha256 => "SHA256",
        }
    }

    fn header(self) -> String {
        format!("x-amz-checksum-{}", self.name().to_ascii_lowercase())
    }

    /// The raw checksum of `data` (big-endian for the CRCs), reusing the SHA-256 of `d`.
    fn raw(self, data: &[u8], d: &Digests) -> Vec<u8> {
        use crc_fast::CrcAlgorithm as A;
        match self {
            ChecksumAlgo::Crc32 => (crc_fast::checksum(A::Crc32IsoHdlc, data) as u32).to_be_bytes().to_vec(),
            ChecksumAlgo::Crc32c => (crc_fast::checksum(A::Crc32Iscsi, data) as u32).to_be_bytes().to_vec(),
            ChecksumAlgo::Crc64Nvme => crc_fast::checksum(A::Crc64Nvme, data).to_be_bytes().to_vec(),
            ChecksumAlgo::Sha1 => <sha1::Sha1 as sha1::Digest>::digest(data).to_vec(),
            ChecksumAlgo::Sha256 => {
                d.sha256.map(|h| h.to_vec()).unwrap_or_else(|| <sha2::Sha256 as sha2::Digest>::digest(data).to_vec())
            }
        }
    }

    /// The header value (base64) for `data`.
    pub(crate) fn value(self, data: &[u8], d: &Digests) -> String {
        base64(&self.raw(data, d))
    }

    /// CRC64NVME's whole-object value from the parts' values (base64) and sizes, in order.
    pub(crate) fn full_object_crc64(parts: &[(String, u64)]) -> Option<String> {
        use base64::Engine as _;
        let mut crc: Option<u64> = None;
        for (v, len) in parts {
            let raw = base64::engine::general_purpose::STANDARD.decode(v).ok()?;
            let c = u64::from_be_bytes(raw.try_into().ok()?);
            crc = Some(match crc {
                None => c,
                Some(acc) => crc_fast::checksum_combine(crc_fast::CrcAlgorithm::Crc64Nvme, acc, c, *len),
            });
        }
        crc.map(|c| base64(&c.to_be_bytes()))
    }
}

/// An SSE-C customer key (`--sse-c-key-file`): the three headers every request that reads or
/// writes the object's data must carry. Key and key MD5 are `Secret`s: never printed.
#[derive(Clone, Debug)]
pub struct SseC {
    key_b64: Secret,
    key_md5_b64: Secret,
}

impl SseC {
    /// A key file holds 32 raw bytes, or 44 characters of base64 (surrounding whitespace allowed).
    pub fn from_file_bytes(bytes: &[u8]) -> std::result::Result<SseC, String> {
        let raw = if bytes.len() == 32 {
            bytes.to_vec()
        } else {
            let text = std::str::from_utf8(bytes).map(str::trim).unwrap_or("");
            match base64_decode(text) {
                Some(k) if text.len() == 44 && k.len() == 32 => k,
                _ => {
                    return Err(format!(
                        "expected a 256-bit key: 32 raw bytes or 44 characters of base64 (the file has {} bytes)",
                        bytes.len()
                    ))
                }
            }
        };
        use md5::{Digest as _, Md5};
        Ok(SseC { key_b64: Secret::new(base64(&raw)), key_md5_b64: Secret::new(base64(&Md5::digest(&raw))) })
    }

    /// The headers of a request that reads or writes the object's data.
    pub(crate) fn headers(&self) -> [(String, String); 3] {
        [
            ("x-amz-server-side-encryption-customer-algorithm".into(), "AES256".into()),
            ("x-amz-server-side-encryption-customer-key".into(), self.key_b64.expose().to_string()),
            ("x-amz-server-side-encryption-customer-key-md5".into(), self.key_md5_b64.expose().to_string()),
        ]
    }

    /// Whether a HEAD or GET answer says the object is encrypted with this key.
    pub(crate) fn matches(&self, meta: &ObjectMeta) -> bool {
        meta.sse_c_algorithm.as_deref() == Some("AES256")
            && meta.sse_c_key_md5.as_ref().is_some_and(|m| m.expose() == self.key_md5_b64.expose())
    }
}

/// Adds the SSE-C headers, if any, to a request.
pub(crate) fn with_sse_c<'a>(mut req: Request<'a>, sse_c: Option<&SseC>) -> Request<'a> {
    if let Some(k) = sse_c {
        req.headers.extend(k.headers());
    }
    req
}

/// Object Lock retention (`--object-lock-mode` with `--retain-until`/`--retain-for`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retention {
    /// `GOVERNANCE` or `COMPLIANCE`.
    pub mode: String,
    pub until: SystemTime,
}

/// Headers that shape a new object (single PUT or CreateMultipartUpload).
#[derive(Clone, Debug, Default)]
pub struct ObjectOptions {
    pub content_type: Option<String>,
    pub metadata: Vec<(String, String)>,
    pub storage_class: Option<String>,
    /// `AES256` or `aws:kms`.
    pub sse: Option<String>,
    pub sse_kms_key_id: Option<String>,
    pub checksum: Option<ChecksumAlgo>,
    /// The part plan ([`crate::transfer::PartPlan::to_meta`]), stored in a multipart object's
    /// metadata so that s3get knows its part boundaries (`s3::parts`).
    pub part_plan: Option<String>,
    /// Tags (`x-amz-tagging`), checked against S3's limits.
    pub tags: Vec<(String, String)>,
    pub retention: Option<Retention>,
    pub legal_hold: bool,
    pub sse_c: Option<SseC>,
    /// The hashes each body carries ([`super::payload`]).
    pub payload: Protection,
}

impl ObjectOptions {
    fn creation_headers(&self) -> Vec<(String, String)> {
        let mut h = Vec::new();
        h.push((
            "content-type".to_string(),
            self.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
        ));
        for (k, v) in &self.metadata {
            h.push((format!("x-amz-meta-{}", k.to_ascii_lowercase()), v.clone()));
        }
        if let Some(c) = &self.storage_class {
            h.push(("x-amz-storage-class".into(), c.clone()));
        }
        if let Some(s) = &self.sse {
            h.push(("x-amz-server-side-encryption".into(), s.clone()));
        }
        if let Some(k) = &self.sse_kms_key_id {
            h.push(("x-amz-server-side-encryption-aws-kms-key-id".into(), k.clone()));
        }
        if !self.tags.is_empty() {
            let enc = |s: &str| crate::http::encoding::uri_encode(s, true);
            let pairs: Vec<String> = self.tags.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
            h.push(("x-amz-tagging".into(), pairs.join("&")));
        }
        if let Some(r) = &self.retention {
            h.push(("x-amz-object-lock-mode".into(), r.mode.clone()));
            h.push(("x-amz-object-lock-retain-until-date".into(), crate::time::rfc3339(r.until)));
        }
        if self.legal_hold {
            h.push(("x-amz-object-lock-legal-hold".into(), "ON".into()));
        }
        if let Some(k) = &self.sse_c {
            h.extend(k.headers());
        }
        h
    }

    /// Whether the ETag of the stored object is an MD5 we can predict. SSE-KMS and SSE-C ETags
    /// are not (S3 API reference, Object: "ETag").
    pub(crate) fn etag_is_md5(&self) -> bool {
        self.sse.as_deref() != Some("aws:kms") && self.sse_c.is_none()
    }

    /// Whether the object asks for S3 Object Lock (retention or legal hold).
    pub(crate) fn locks(&self) -> bool {
        self.retention.is_some() || self.legal_hold
    }

    /// The hashes each body carries: the chosen ones, with Content-MD5 where S3 requires it
    /// (object-lock uploads: "Content-MD5 or x-amz-checksum is required").
    pub(crate) fn protection(&self) -> Protection {
        Protection { content_md5: self.payload.content_md5 || self.locks(), ..self.payload }
    }
}

/// What AbortMultipartUpload did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aborted {
    Done,
    /// NoSuchUpload (or a bare 404): completed or aborted already, or the key is wrong.
    NotFound,
}

/// What HEAD tells about an object.
#[derive(Clone, Debug, Default)]
pub(crate) struct ObjectMeta {
    pub size: u64,
    /// Without quotes.
    pub etag: Option<String>,
    /// `x-amz-server-side-encryption` and its KMS key id, as HEAD shows them.
    pub sse: Option<String>,
    pub sse_kms_key_id: Option<String>,
    /// `x-amz-object-lock-mode`, `-retain-until-date` (as sent) and `-legal-hold`.
    pub lock_mode: Option<String>,
    pub retain_until: Option<String>,
    pub legal_hold: Option<String>,
    /// `x-amz-server-side-encryption-customer-algorithm` and `-key-MD5`.
    pub sse_c_algorithm: Option<String>,
    pub sse_c_key_md5: Option<Secret>,
    /// `x-amz-tagging-count` (Ceph sends it on HEAD, AWS only on GET).
    pub tag_count: Option<usize>,
    /// `x-amz-version-id`: Object Lock buckets are versioned, so cleanup deletes this version.
    pub version_id: Option<String>,
}

impl S3Client {
    /// Single PUT carrying the hashes `opts.protection()` asks for (`d`). Returns the ETag.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        data: &[u8],
        d: &Digests,
        opts: &ObjectOptions,
    ) -> Result<Option<String>> {
        let mut req =
            Request::new("PUT", Some(bucket), Some(key)).body(data).payload_sha256(d.payload_hash(opts.protection()));
        req.headers = opts.creation_headers();
        if let Some(md5) = d.md5 {
            req = req.header("content-md5", base64(&md5));
        }
        if let Some(a) = opts.checksum {
            req = req.header(&a.header(), a.value(data, d));
        }
        let resp = self.send(&req)?;
        Ok(resp.header("etag").map(unquote_etag))
    }

    /// CreateMultipartUpload: the upload id, and whether an attempt failed first. Such an
    /// attempt may have started an upload whose id never reached us (its answer lost or late).
    pub(crate) fn create_multipart(&self, bucket: &str, key: &str, opts: &ObjectOptions) -> (Result<String>, bool) {
        let mut req = Request::new("POST", Some(bucket), Some(key)).query("uploads", "");
        req.headers = opts.creation_headers();
        if let Some(plan) = &opts.part_plan {
            req = req.header(&format!("x-amz-meta-{}", super::parts::PLAN_META), plan.clone());
        }
        if let Some(a) = opts.checksum {
            req = req.header("x-amz-checksum-algorithm", a.name());
            if a == ChecksumAlgo::Crc64Nvme {
                req = req.header("x-amz-checksum-type", "FULL_OBJECT");
            }
        }
        let (resp, failed) = self.send_counted(&req);
        let id = resp.and_then(|r| read_text(r, &describe(&req))).and_then(|body| {
            let init =
                responses::parse_initiate(&body).map_err(|e| e.context(format!("POST s3://{bucket}/{key}?uploads")))?;
            if init.upload_id.is_empty() {
                return Err(Error::server(format!(
                    "POST s3://{bucket}/{key}?uploads: the server returned no UploadId"
                )));
            }
            Ok(init.upload_id)
        });
        (id, failed > 0)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: u32,
        data: &[u8],
        d: &Digests,
        opts: &ObjectOptions,
    ) -> Result<Option<String>> {
        let req = Request::new("PUT", Some(bucket), Some(key))
            .query("partNumber", number.to_string())
            .query("uploadId", upload_id)
            .body(data)
            .payload_sha256(d.payload_hash(opts.protection()));
        let req = match d.md5 {
            Some(md5) => req.header("content-md5", base64(&md5)),
            None => req,
        };
        let mut req = with_sse_c(req, opts.sse_c.as_ref());
        if let Some(a) = opts.checksum {
            req = req.header(&a.header(), a.value(data, d));
        }
        let resp = self.send(&req)?;
        Ok(resp.header("etag").map(unquote_etag))
    }

    /// CompleteMultipartUpload. A 200 OK carrying `<Error>` is an error, retried when its code
    /// says so (AWS documents InternalError there).
    pub(crate) fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
        checksums: Option<(ChecksumAlgo, &[String], Option<String>)>,
    ) -> Result<responses::CompleteMultipartUpload> {
        let body = match checksums {
            Some((algo, sums, _)) => complete_body_with_checksums(parts, algo, sums),
            None => responses::complete_body(parts),
        };
        let req = xml_body(Request::new("POST", Some(bucket), Some(key)).query("uploadId", upload_id), &body);
        // FULL_OBJECT (CRC64NVME): the whole object's checksum goes with the request.
        let req = match checksums {
            Some((algo, _, Some(full))) => req.header(&algo.header(), full),
            _ => req,
        };
        let mut attempts = Attempts::new(self.http().retry());
        loop {
            let text = self.send_text(&req)?;
            let e = match responses::parse_complete(&text) {
                Ok(done) => return Ok(done),
                Err(e) => e.context(format!("POST s3://{bucket}/{key}?uploadId (complete)")),
            };
            if !matches!(e.code(), Some("InternalError" | "SlowDown" | "ServiceUnavailable")) {
                return Err(e);
            }
            let Some(pause) = attempts.failed() else { return Err(attempts.gave_up(e)) };
            std::thread::sleep(pause);
        }
    }

    /// Aborts with a fresh request bounded by its own deadline, so cleanup can't hang even when
    /// the data path is stalled. An upload that is already gone (NoSuchUpload, 404) is told
    /// apart: fine for an uploader's own cleanup (a retried abort whose first answer was lost),
    /// a failure for `s3rm --uploads` (the listed upload was not the one aborted).
    pub(crate) fn abort_multipart(&self, bucket: &str, key: &str, upload_id: &str) -> Result<Aborted> {
        let mut req = Request::new("DELETE", Some(bucket), Some(key)).query("uploadId", upload_id);
        req.deadline = Some(Duration::from_secs(30));
        req.cleanup = true;
        match self.send(&req) {
            Ok(_) => Ok(Aborted::Done),
            Err(e) if e.kind() == ErrorKind::NotFound && e.code() != Some("NoSuchBucket") => Ok(Aborted::NotFound),
            Err(e) => Err(e),
        }
    }

    /// HEAD, with the SSE-C key when the object is encrypted with one (required then).
    pub(crate) fn head_object(&self, bucket: &str, key: &str, sse_c: Option<&SseC>) -> Result<ObjectMeta> {
        let resp = self.send(&with_sse_c(Request::new("HEAD", Some(bucket), Some(key)), sse_c))?;
        let size = resp
            .header("content-length")
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| Error::server(format!("HEAD s3://{bucket}/{key}: no Content-Length in the answer")))?;
        let h = |name: &str| resp.header(name).map(|v| v.trim().to_string());
        Ok(ObjectMeta {
            size,
            etag: resp.header("etag").map(unquote_etag),
            sse: resp.header("x-amz-server-side-encryption").map(str::to_owned),
            sse_kms_key_id: resp.header("x-amz-server-side-encryption-aws-kms-key-id").map(str::to_owned),
            lock_mode: h("x-amz-object-lock-mode"),
            retain_until: h("x-amz-object-lock-retain-until-date"),
            legal_hold: h("x-amz-object-lock-legal-hold"),
            sse_c_algorithm: h("x-amz-server-side-encryption-customer-algorithm"),
            sse_c_key_md5: h("x-amz-server-side-encryption-customer-key-md5").map(Secret::new),
            tag_count: h("x-amz-tagging-count").and_then(|v| v.parse().ok()),
            version_id: h("x-amz-version-id").filter(|v| !v.is_empty() && v != "null"),
        })
    }

    /// PUT ?tagging, ?retention or ?legal-hold (one version when given): sets what some stores
    /// drop from a multipart upload's creation headers. These bodies need Content-MD5.
    pub(crate) fn put_object_subresource(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        which: &str,
        body: &str,
    ) -> Result<()> {
        let mut req = xml_body(Request::new("PUT", Some(bucket), Some(key)).query(which, ""), body);
        if let Some(v) = version {
            req = req.query("versionId", v);
        }
        crate::http::drain(self.send(&req)?);
        Ok(())
    }

    /// GET ?retention or ?legal-hold (of one version when given): the body, or None when the
    /// object has none (404 NoSuchObjectLockConfiguration), the bucket has no Object Lock (400)
    /// or the store does not implement it (501). Other refusals, 403 among them, are errors.
    pub(crate) fn get_object_subresource(
        &self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        which: &str,
    ) -> Result<Option<String>> {
        let mut req = Request::new("GET", Some(bucket), Some(key)).query(which, "");
        if let Some(v) = version {
            req = req.query("versionId", v);
        }
        match self.send_text(&req) {
            Ok(body) => Ok(Some(body)),
            Err(e) if matches!(e.status(), Some(400 | 404 | 501)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes one object; S3 answers 204 whether or not it existed.
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        self.delete_version(bucket, key, None)
    }

    /// Deletes one object, or one version of it (in a versioned bucket a plain DELETE only
    /// hides the object behind a delete marker).
    pub(crate) fn delete_version(&self, bucket: &str, key: &str, version: Option<&str>) -> Result<()> {
        let mut req = Request::new("DELETE", Some(bucket), Some(key));
        if let Some(v) = version {
            req = req.query("versionId", v);
        }
        req.deadline = Some(Duration::from_secs(30));
        match self.send(&req) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Creates the bucket if it is missing. us-east-1 takes no CreateBucketConfiguration;
    /// BucketAlreadyOwnedByYou means it is already there, which is what we wanted.
    pub(crate) fn create_bucket(&self, bucket: &str) -> Result<bool> {
        check_new_bucket_name(bucket)?;
        let region = self.region();
        let mut result = self.put_bucket(bucket, &region);
        // The server corrected the signing region (Garage names its own): the location
        // constraint sent with the old one is then refused, so ask again for the server's region.
        if result.is_err() && self.region() != region {
            result = self.put_bucket(bucket, &self.region());
        }
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => Ok(false),
            Err(e) if e.code() == Some("BucketAlreadyExists") => Err(Error::new(
                ErrorKind::Denied,
                format!("bucket {bucket} already exists and belongs to someone else; choose another name"),
            )),
            Err(e) => Err(e),
        }
    }

    /// CreateBucket with the LocationConstraint `region` needs (none for us-east-1).
    fn put_bucket(&self, bucket: &str, region: &str) -> Result<ureq::Response> {
        let body = responses::create_bucket_body(region);
        let mut req = Request::new("PUT", Some(bucket), None);
        if let Some(b) = &body {
            req = req.header("content-type", "application/xml").body(b.as_bytes());
        }
        self.send(&req)
    }

    /// One page of ListMultipartUploads for a bucket (and prefix).
    pub(crate) fn list_uploads_page(
        &self,
        bucket: &str,
        prefix: &str,
        key_marker: Option<&str>,
        upload_id_marker: Option<&str>,
        url_encoding: bool,
    ) -> Result<responses::ListUploadsPage> {
        self.uploads_page(bucket, prefix, key_marker, upload_id_marker, url_encoding, None).map(|(page, _)| page)
    }

    /// One ListMultipartUploads page and the server's clock (its Date header) when it answered;
    /// `deadline` bounds the request when given.
    fn uploads_page(
        &self,
        bucket: &str,
        prefix: &str,
        key_marker: Option<&str>,
        upload_id_marker: Option<&str>,
        url_encoding: bool,
        deadline: Option<Duration>,
    ) -> Result<(responses::ListUploadsPage, Option<SystemTime>)> {
        let mut req = Request::new("GET", Some(bucket), None).query("uploads", "");
        if url_encoding {
            req = req.query("encoding-type", "url");
        }
        if !prefix.is_empty() {
            req = req.query("prefix", prefix);
        }
        if let Some(m) = key_marker {
            req = req.query("key-marker", m);
        }
        if let Some(m) = upload_id_marker {
            req = req.query("upload-id-marker", m);
        }
        if let Some(d) = deadline {
            req = req.deadline(d);
        }
        let resp = self.send(&req)?;
        let date = resp.header("date").and_then(parse_http_date);
        let text = read_text(resp, &describe(&req))?;
        Ok((responses::parse_list_uploads(&text)?, date))
    }
}

/// The bodies of PutObjectTagging, PutObjectRetention and PutObjectLegalHold.
pub(crate) fn tagging_body(tags: &[(String, String)]) -> String {
    let esc = crate::xml::escape;
    let tags: String =
        tags.iter().map(|(k, v)| format!("<Tag><Key>{}</Key><Value>{}</Value></Tag>", esc(k), esc(v))).collect();
    format!("<Tagging xmlns=\"{NS}\"><TagSet>{tags}</TagSet></Tagging>")
}

pub(crate) fn retention_body(r: &Retention) -> String {
    format!(
        "<Retention xmlns=\"{NS}\"><Mode>{}</Mode><RetainUntilDate>{}</RetainUntilDate></Retention>",
        r.mode,
        crate::time::rfc3339(r.until)
    )
}

pub(crate) fn legal_hold_body() -> String {
    format!("<LegalHold xmlns=\"{NS}\"><Status>ON</Status></LegalHold>")
}

const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

impl S3Client {
    /// The in-progress uploads of exactly `key` (not of longer keys it prefixes), and the time
    /// by the server's clock (its Date header) when it listed them. Each page has `deadline`.
    pub(crate) fn uploads_of_key(
        &self,
        bucket: &str,
        key: &str,
        deadline: Duration,
    ) -> Result<(Vec<responses::UploadEntry>, Option<SystemTime>)> {
        let (mut found, mut server_now) = (Vec::new(), None);
        let (mut key_marker, mut id_marker): (Option<String>, Option<String>) = (None, None);
        // Pages hold 1000 uploads; a key with more than 10 pages of them is not ours to sort out.
        for _ in 0..10 {
            // Raw keys: Ceph RGW encodes them without saying so when asked for url encoding.
            let (page, date) =
                self.uploads_page(bucket, key, key_marker.as_deref(), id_marker.as_deref(), false, Some(deadline))?;
            server_now = server_now.or(date);
            found.extend(page.uploads.into_iter().filter(|u| u.key == key));
            // Keys come in order: past `key`, only longer keys follow.
            match page.next_key_marker {
                Some(m) if page.is_truncated && m == key => {
                    key_marker = Some(m);
                    id_marker = page.next_upload_id_marker;
                }
                _ => break,
            }
        }
        Ok((found, server_now))
    }
}

/// S3's rules for a NEW bucket's name (existing buckets may be older and laxer): 3-63
/// characters, lower-case letters, digits, `-` and `.`, starting and ending with a letter or
/// digit, not an IP address. Checked before CreateBucket (exit 2, no request).
fn check_new_bucket_name(b: &str) -> Result<()> {
    let ok = (3..=63).contains(&b.len())
        && b.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !b.contains("..")
        && b.parse::<std::net::Ipv4Addr>().is_err();
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "--create-bucket: {b:?} is not a valid bucket name: 3-63 lower-case letters, digits, - and ., \
             starting and ending with a letter or digit"
        )))
    }
}

fn complete_body_with_checksums(parts: &[(u32, String)], algo: ChecksumAlgo, sums: &[String]) -> String {
    let mut s = String::from("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    let el = format!("Checksum{}", algo.name());
    for ((n, etag), sum) in parts.iter().zip(sums) {
        s.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag><{el}>{sum}</{el}></Part>",
            crate::xml::escape(etag)
        ));
    }
    s.push_str("</CompleteMultipartUpload>");
    s
}
