//! S3 operations used by the binaries, on top of `S3Client::send`.

use super::client::{describe, Request, S3Client};
use super::responses;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{encoding::base64, read_text, unquote_etag, Attempts};
use std::time::Duration;

/// Opt-in flexible checksums (`--checksum`): off by default because the 2025 SDK defaults broke
/// B2, OVH, R2 and others (see providers.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumAlgo {
    Sha256,
}

impl std::str::FromStr for ChecksumAlgo {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_uppercase().as_str() {
            "SHA256" => Ok(ChecksumAlgo::Sha256),
            _ => Err(format!("unsupported checksum {s:?}: use SHA256")),
        }
    }
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
        h
    }

    /// Whether the ETag of the stored object is an MD5 we can predict. SSE-KMS ETags are not.
    pub(crate) fn etag_is_md5(&self) -> bool {
        self.sse.as_deref() != Some("aws:kms")
    }
}

/// What HEAD tells about an object.
#[derive(Clone, Debug)]
pub(crate) struct ObjectMeta {
    pub size: u64,
    /// Without quotes.
    pub etag: Option<String>,
}

/// A part's or object's digests, computed once from the in-memory buffer.
pub struct Digests {
    pub md5: [u8; 16],
    pub sha256_hex: String,
    pub sha256_raw: [u8; 32],
}

impl Digests {
    pub fn of(data: &[u8]) -> Digests {
        use md5::{Digest as _, Md5};
        use sha2::Sha256;
        let md5: [u8; 16] = Md5::digest(data).into();
        let sha256_raw: [u8; 32] = Sha256::digest(data).into();
        Digests { md5, sha256_hex: hex::encode(sha256_raw), sha256_raw }
    }
}

impl S3Client {
    /// Single PUT with Content-MD5 and a signed SHA-256 payload hash. Returns the ETag.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        data: &[u8],
        d: &Digests,
        opts: &ObjectOptions,
    ) -> Result<Option<String>> {
        let mut req = Request::new("PUT", Some(bucket), Some(key)).body(data).payload_sha256(d.sha256_hex.clone());
        req.headers = opts.creation_headers();
        req = req.header("content-md5", base64(&d.md5));
        if opts.checksum == Some(ChecksumAlgo::Sha256) {
            req = req.header("x-amz-checksum-sha256", base64(&d.sha256_raw));
        }
        let resp = self.send(&req)?;
        Ok(resp.header("etag").map(unquote_etag))
    }

    pub(crate) fn create_multipart(&self, bucket: &str, key: &str, opts: &ObjectOptions) -> Result<String> {
        let mut req = Request::new("POST", Some(bucket), Some(key)).query("uploads", "");
        req.headers = opts.creation_headers();
        if let Some(plan) = &opts.part_plan {
            req = req.header(&format!("x-amz-meta-{}", super::parts::PLAN_META), plan.clone());
        }
        if opts.checksum == Some(ChecksumAlgo::Sha256) {
            req = req.header("x-amz-checksum-algorithm", "SHA256");
        }
        let body = self.send_text(&req)?;
        let init =
            responses::parse_initiate(&body).map_err(|e| e.context(format!("POST s3://{bucket}/{key}?uploads")))?;
        if init.upload_id.is_empty() {
            return Err(Error::server(format!("POST s3://{bucket}/{key}?uploads: the server returned no UploadId")));
        }
        Ok(init.upload_id)
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
        checksum: Option<ChecksumAlgo>,
    ) -> Result<Option<String>> {
        let mut req = Request::new("PUT", Some(bucket), Some(key))
            .query("partNumber", number.to_string())
            .query("uploadId", upload_id)
            .body(data)
            .payload_sha256(d.sha256_hex.clone())
            .header("content-md5", base64(&d.md5));
        if checksum == Some(ChecksumAlgo::Sha256) {
            req = req.header("x-amz-checksum-sha256", base64(&d.sha256_raw));
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
        checksums: Option<&[String]>,
    ) -> Result<responses::CompleteMultipartUpload> {
        let body = match checksums {
            None => responses::complete_body(parts),
            Some(sums) => complete_body_with_checksums(parts, sums),
        };
        // Both digests once: Content-MD5, and the payload hash the signer would compute again.
        let d = Digests::of(body.as_bytes());
        let req = Request::new("POST", Some(bucket), Some(key))
            .query("uploadId", upload_id)
            .header("content-type", "application/xml")
            .header("content-md5", base64(&d.md5))
            .body(body.as_bytes())
            .payload_sha256(d.sha256_hex.clone());
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
    /// the data path is stalled. An upload that is already gone counts as aborted.
    pub(crate) fn abort_multipart(&self, bucket: &str, key: &str, upload_id: &str) -> Result<()> {
        let mut req = Request::new("DELETE", Some(bucket), Some(key)).query("uploadId", upload_id);
        req.deadline = Some(Duration::from_secs(30));
        req.cleanup = true;
        match self.send(&req) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectMeta> {
        let resp = self.send(&Request::new("HEAD", Some(bucket), Some(key)))?;
        let size = resp
            .header("content-length")
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| Error::server(format!("HEAD s3://{bucket}/{key}: no Content-Length in the answer")))?;
        Ok(ObjectMeta { size, etag: resp.header("etag").map(unquote_etag) })
    }

    /// Deletes one object; S3 answers 204 whether or not it existed.
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        let mut req = Request::new("DELETE", Some(bucket), Some(key));
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
    ) -> Result<responses::ListUploadsPage> {
        let mut req = Request::new("GET", Some(bucket), None).query("uploads", "").query("encoding-type", "url");
        if !prefix.is_empty() {
            req = req.query("prefix", prefix);
        }
        if let Some(m) = key_marker {
            req = req.query("key-marker", m);
        }
        if let Some(m) = upload_id_marker {
            req = req.query("upload-id-marker", m);
        }
        let resp = self.send(&req)?;
        let text = read_text(resp, &describe(&req))?;
        responses::parse_list_uploads(&text)
    }
}

fn complete_body_with_checksums(parts: &[(u32, String)], sums: &[String]) -> String {
    let mut s = String::from("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for ((n, etag), sum) in parts.iter().zip(sums) {
        s.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag><ChecksumSHA256>{sum}</ChecksumSHA256></Part>",
            crate::xml::escape(etag)
        ));
    }
    s.push_str("</CompleteMultipartUpload>");
    s
}
