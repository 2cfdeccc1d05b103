//! The S3 client: URL building (path or virtual-hosted), signing, sending with retries,
//! wrong-region correction, and error classification. Operations live in `ops.rs`.

use crate::config::{AddressingStyle, Endpoint, S3Config};
use crate::credentials::CredentialCache;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{self, Failure, HttpOptions};
use crate::log::printable;
use crate::sigv4::{self, SignableRequest, Signer};
use crate::xml;
use std::cell::Cell;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

pub use crate::http::Request;

pub struct S3Client {
    http: http::Client,
    endpoint: Endpoint,
    addressing: AddressingStyle,
    /// Shared by every worker; renews the credentials before they run out.
    credentials: Arc<CredentialCache>,
    /// Behind a lock because a wrong-region answer corrects it for every later request, and a
    /// renewal replaces its credentials.
    signer: RwLock<Signer>,
    /// The profile's `s3 = payload_signing_enabled`, for the uploader's choice ([`super::payload`]).
    payload_signing_enabled: Option<bool>,
}

impl std::fmt::Debug for S3Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Client")
            .field("endpoint", &self.endpoint)
            .field("addressing", &self.addressing)
            .field("region", &self.region())
            .finish_non_exhaustive()
    }
}

impl S3Client {
    pub fn new(cfg: &S3Config, http_opts: HttpOptions, verbose: u8) -> Result<S3Client> {
        let opts = HttpOptions { https: cfg.endpoint.https, ca_bundle: cfg.ca_bundle.clone(), ..http_opts };
        Ok(S3Client {
            http: http::Client::new(&opts, verbose)?,
            endpoint: cfg.endpoint.clone(),
            addressing: cfg.addressing,
            signer: RwLock::new(Signer::s3(cfg.credentials.current()?, &cfg.region)),
            credentials: cfg.credentials.clone(),
            payload_signing_enabled: cfg.payload_signing_enabled,
        })
    }

    /// The profile's `s3 = payload_signing_enabled`, when set.
    pub(crate) fn payload_signing_enabled(&self) -> Option<bool> {
        self.payload_signing_enabled
    }

    pub fn region(&self) -> String {
        self.signer.read().map(|s| s.region().to_string()).unwrap_or_default()
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub(crate) fn verbose(&self) -> u8 {
        self.http.verbose()
    }

    /// The HTTP client, for callers that retry beyond `send` (a body cut short mid-read).
    pub(crate) fn http(&self) -> &http::Client {
        &self.http
    }

    /// The signer for the credentials of the moment (renewed when due): the same signer, and
    /// its cached signing key, until a renewal changes them. A cleanup request gets the last
    /// credentials even once they expired.
    fn signer(&self, cleanup: bool) -> Result<Signer> {
        let creds = if cleanup { self.credentials.for_cleanup() } else { self.credentials.current()? };
        let current = match self.signer.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if current.credentials() == &creds {
            return Ok(current);
        }
        let mut guard = match self.signer.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if guard.credentials() != &creds {
            *guard = Signer::s3(creds, guard.region());
        }
        Ok(guard.clone())
    }

    fn set_region(&self, region: &str) {
        let mut guard = match self.signer.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = guard.with_region(region);
    }

    /// Host (for the Host header) and encoded path for a bucket/key under the current region.
    pub fn location(&self, bucket: Option<&str>, key: Option<&str>, region: &str) -> (String, String) {
        let authority = if self.endpoint.is_aws_default {
            Endpoint::aws(region).authority
        } else {
            self.endpoint.authority.clone()
        };
        let key_path = key.map(|k| http::encoding::uri_encode(k, false)).unwrap_or_default();
        let base = &self.endpoint.base_path;
        match bucket {
            None => (authority, format!("{base}/")),
            Some(b) if self.virtual_hosted(b) => (format!("{b}.{authority}"), format!("{base}/{key_path}")),
            Some(b) => {
                let path = if key.is_some() { format!("{base}/{b}/{key_path}") } else { format!("{base}/{b}") };
                (authority, path)
            }
        }
    }

    fn virtual_hosted(&self, bucket: &str) -> bool {
        match self.addressing {
            AddressingStyle::Path => false,
            AddressingStyle::Virtual => true,
            // Dots break TLS wildcard certificates, so auto keeps those path-style; so are IP
            // and localhost endpoints, where `bucket.HOST` is no host at all.
            AddressingStyle::Auto => {
                !self.endpoint.host_is_ip_or_localhost()
                    && bucket.len() >= 3
                    && bucket.len() <= 63
                    && bucket.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                    && !bucket.starts_with('-')
                    && !bucket.ends_with('-')
            }
        }
    }

    /// Sends a request, retrying what is worth retrying, correcting a wrong region once.
    /// Returns the successful (2xx) response; every failure is an `Error` naming the request.
    pub fn send(&self, req: &Request) -> Result<ureq::Response> {
        self.send_counted(req).0
    }

    /// Like [`S3Client::send`], also saying how many attempts failed before the outcome (see
    /// [`http::Client::send_counted`]).
    pub(crate) fn send_counted(&self, req: &Request) -> (Result<ureq::Response>, u32) {
        let what = describe(req);
        let payload_hash = match &req.payload_sha256 {
            Some(h) => h.clone(),
            None if req.body.is_empty() => sigv4::EMPTY_SHA256.to_string(),
            None => sigv4::sha256_hex(req.body),
        };
        let wire_query = sigv4::canonical_query_string(&req.query);
        let region_corrected = Cell::new(false);
        self.http.send_counted(&what, || {
            // Signed at each attempt: the signature covers the time, the region and the
            // credentials of the moment (renewed during long transfers).
            let signer = self.signer(req.cleanup)?;
            let (host, path) = self.location(req.bucket, req.key, signer.region());
            let mut headers = req.headers.clone();
            headers.push(("host".into(), host.clone()));
            let signable = SignableRequest {
                method: req.method,
                path: &path,
                query: &req.query,
                headers: &headers,
                payload_hash: &payload_hash,
            };
            let signed = signer.sign(&signable, SystemTime::now());
            let url = if wire_query.is_empty() {
                format!("{}://{host}{path}", self.endpoint.scheme())
            } else {
                format!("{}://{host}{path}?{wire_query}", self.endpoint.scheme())
            };
            // ureq derives Host from the URL; we signed the same value.
            match self.http.call(req, &url, &signed) {
                Ok(resp) => Ok(resp),
                Err(ureq::Error::Transport(t)) => Err(self.http.transport_failure(&what, req, &t)),
                Err(ureq::Error::Status(status, resp)) => {
                    let bucket_region = resp.header("x-amz-bucket-region").map(str::to_string);
                    let request_id = resp.header("x-amz-request-id").map(str::to_string);
                    let parsed = xml::parse_s3_error(&http::error_body(resp, 64 << 10));
                    let correction = corrected_region(status, parsed.as_ref(), bucket_region.as_deref())
                        .filter(|r| !region_corrected.get() && r != signer.region());
                    if let Some(region) = correction {
                        if self.verbose() >= 1 {
                            crate::log::note(format!(
                                "the server wants region {region:?}, not {:?}; retrying with it",
                                signer.region()
                            ));
                        }
                        self.set_region(&region);
                        region_corrected.set(true);
                        return Err(Failure::Again);
                    }
                    let (err, retryable) = classify(&what, status, parsed, request_id);
                    let err = if retryable { err } else { refused_setting(req, signer.region(), err) };
                    Err(Failure::new(err, retryable))
                }
            }
        })
    }

    /// Sends and reads the whole (small, XML) response body.
    pub(crate) fn send_text(&self, req: &Request) -> Result<String> {
        http::read_text(self.send(req)?, &describe(req))
    }
}

/// A short human name for a request in messages: "PUT s3://bucket/key?partNumber=3".
pub(crate) fn describe(req: &Request) -> String {
    let mut s = format!("{} s3://{}", req.method, req.bucket.unwrap_or(""));
    if let Some(k) = req.key {
        s.push('/');
        s.push_str(&printable(k));
    }
    let interesting: Vec<String> = req
        .query
        .iter()
        .filter(|(k, _)| k != "uploadId" && k != "continuation-token" && k != "marker")
        .map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k}={v}") })
        .collect();
    if !interesting.is_empty() {
        s.push('?');
        s.push_str(&interesting.join("&"));
    }
    s
}

/// The region the server says we should use, from AuthorizationHeaderMalformed's `<Region>`
/// (AWS, Garage) or the `x-amz-bucket-region` header of a 301/400/403.
fn corrected_region(status: u16, err: Option<&xml::S3ErrorBody>, header: Option<&str>) -> Option<String> {
    let valid = |r: &str| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if let Some(e) = err {
        if matches!(
            e.code.as_str(),
            "AuthorizationHeaderMalformed" | "PermanentRedirect" | "IllegalLocationConstraintException"
        ) {
            if let Some(r) = e.region.as_deref().filter(|r| valid(r)) {
                return Some(r.to_string());
            }
        }
    }
    match (status, header) {
        (301 | 307 | 400, Some(r)) if valid(r) => Some(r.to_string()),
        _ => None,
    }
}

/// Error codes that mean "try again later" whatever the status (S3 error responses list).
const RETRYABLE_CODES: &[&str] = &[
    "SlowDown",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
    "Throttling",
    "ThrottlingException",
    "RequestThrottled",
    "RequestLimitExceeded",
    "OperationAborted",
    "BandwidthLimitExceeded",
    // The body did not give the hash it was sent with: corrupted in transit. It is still in
    // memory, so it is sent again. A Content-MD5 mismatch is BadDigest (AWS, Garage, Ceph); a
    // signed SHA-256 mismatch XAmzContentSHA256Mismatch (AWS, Ceph) or InvalidDigest (Garage;
    // AWS uses that for a malformed Content-MD5, which we never send: retrying costs little).
    "BadDigest",
    "XAmzContentSHA256Mismatch",
    "InvalidDigest",
];

/// A 4xx the request's own settings caused (a flag value the server does not take): a usage
/// error (exit 2) naming the flags the request carried, or for a refused bucket location a
/// configuration error (exit 3) naming the region; never "server or network" (exit 4).
/// BadDigest, InvalidDigest and XAmzContentSHA256Mismatch never get here: they are retried
/// ([`RETRYABLE_CODES`]), as corruption in transit.
fn refused_setting(req: &Request, region: &str, err: Error) -> Error {
    let code = err.code().unwrap_or("").to_string();
    let lower = err.message().to_ascii_lowercase();
    let header = |name: &str| req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let flags = || {
        let mut f = Vec::new();
        if let Some(v) = header("x-amz-storage-class") {
            f.push(format!("--storage-class {v}"));
        }
        if let Some(v) = header("x-amz-server-side-encryption") {
            f.push(format!("--sse {v}"));
        }
        if let Some(v) = header("x-amz-server-side-encryption-aws-kms-key-id") {
            f.push(format!("--sse-kms-key-id {v}"));
        }
        if let Some((k, _)) = req.headers.iter().find(|(k, _)| k.starts_with("x-amz-checksum-")) {
            f.push(format!("--checksum ({k})"));
        }
        f
    };
    let (kind, hint) = match code.as_str() {
        "InvalidLocationConstraint" | "IllegalLocationConstraintException" => (
            ErrorKind::Config,
            format!("; the server refused --region {region} as the new bucket's location: pass the server's own region (its zonegroup on Ceph RGW)"),
        ),
        "InvalidBucketName" => (ErrorKind::Usage, "; check the bucket name (3-63 lower-case letters, digits, - and .)".to_string()),
        // Ceph RGW names a KMS key it cannot find InvalidAccessKeyId: the KMS key id is wrong.
        "InvalidAccessKeyId" if lower.contains("kms") => (
            ErrorKind::Usage,
            format!("; the server's KMS does not know the key: check {}", flags().join(", ")),
        ),
        "InvalidArgument" | "InvalidStorageClass" | "InvalidEncryptionAlgorithmError" | "InvalidRequest"
        | "UnsupportedArgument" => {
            let f = flags();
            let hint = if f.is_empty() {
                "; the server refused a value of this request".to_string()
            } else {
                format!("; the server refused a setting of this request: check {}", f.join(", "))
            };
            (ErrorKind::Usage, hint)
        }
        c if c.starts_with("KMS.") => (ErrorKind::Usage, format!("; check {}", flags().join(", "))),
        _ => return err,
    };
    let message = match err.message().find("; the access key id is unknown") {
        Some(i) => &err.message()[..i],
        None => err.message(),
    };
    Error::new(kind, format!("{message}{hint}")).with_code(err.code().map(str::to_owned), err.status())
}

/// Turns an error response into an `Error` of the right kind, and says whether to retry.
pub(crate) fn classify(
    what: &str,
    status: u16,
    body: Option<xml::S3ErrorBody>,
    request_id: Option<String>,
) -> (Error, bool) {
    let (code, message, rid) = match &body {
        Some(b) => (b.code.clone(), b.message.clone(), b.request_id.clone().or(request_id)),
        None => (String::new(), String::new(), request_id),
    };
    let detail = {
        let mut d = if code.is_empty() { format!("HTTP {status}") } else { format!("{code} (HTTP {status})") };
        if !message.is_empty() {
            d = format!("{d}: {}", printable(&message));
        }
        if let Some(id) = rid.filter(|id| !id.is_empty()) {
            d = format!("{d} [request id {id}]");
        }
        d
    };
    let retryable = RETRYABLE_CODES.contains(&code.as_str())
        || (code.is_empty() && http::status_is_retryable(status))
        || (status >= 500 && code != "NotImplemented");
    let (kind, hint) = match code.as_str() {
        _ if retryable => (ErrorKind::Server, ""),
        "InvalidAccessKeyId" => {
            (ErrorKind::Config, "; the access key id is unknown to the server: check AWS_ACCESS_KEY_ID or the profile")
        }
        "SignatureDoesNotMatch" => {
            (ErrorKind::Config, "; the secret access key is probably wrong: check AWS_SECRET_ACCESS_KEY or the profile")
        }
        "ExpiredToken" | "InvalidToken" | "TokenRefreshRequired" => (ErrorKind::Config, "; refresh AWS_SESSION_TOKEN"),
        "RequestTimeTooSkewed" => (ErrorKind::Config, "; the local clock is off: fix it (NTP)"),
        "AuthorizationHeaderMalformed" | "InvalidRegion" => (ErrorKind::Config, "; check --region / AWS_REGION"),
        // Garage (and some gateways) answer a wrong secret with AccessDenied "Invalid signature".
        "AccessDenied" if message.to_ascii_lowercase().contains("signature") => {
            (ErrorKind::Config, "; the secret access key is probably wrong: check AWS_SECRET_ACCESS_KEY or the profile")
        }
        "AccessDenied" | "AllAccessDisabled" | "AccountProblem" => (ErrorKind::Denied, ""),
        "NoSuchBucket" | "NoSuchKey" | "NoSuchUpload" | "NotFound" => (ErrorKind::NotFound, ""),
        "" if status == 404 => (ErrorKind::NotFound, ""),
        // Garage and a few others answer a bad signature with a bare 403.
        "" if status == 403 => (ErrorKind::Denied, "; check the credentials and the bucket policy"),
        _ => (ErrorKind::Server, ""),
    };
    let code_opt = if code.is_empty() { None } else { Some(code) };
    (Error::new(kind, format!("{what}: {detail}{hint}")).with_code(code_opt, Some(status)), retryable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let body = |code: &str| {
            Some(xml::S3ErrorBody {
                code: code.into(),
                message: "m".into(),
                request_id: Some("R".into()),
                host_id: None,
                region: None,
                bucket: None,
                key: None,
            })
        };
        assert!(classify("x", 503, body("SlowDown"), None).1);
        assert!(classify("x", 400, body("RequestTimeout"), None).1);
        assert!(classify("x", 502, None, None).1);
        let (e, r) = classify("x", 403, body("SignatureDoesNotMatch"), None);
        assert!(!r);
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains("secret access key"));
        assert_eq!(classify("x", 404, body("NoSuchBucket"), None).0.kind(), ErrorKind::NotFound);
        assert_eq!(classify("x", 403, body("AccessDenied"), None).0.kind(), ErrorKind::Denied);
    }

    #[test]
    fn region_from_header_or_body() {
        assert_eq!(corrected_region(301, None, Some("eu-west-1")).as_deref(), Some("eu-west-1"));
        assert_eq!(corrected_region(403, None, Some("eu-west-1")), None);
    }
}
