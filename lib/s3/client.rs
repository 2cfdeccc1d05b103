//! The S3 client: URL building (path or virtual-hosted), signing, sending with retries,
//! wrong-region correction, and error classification. Operations live in `ops.rs`.

use crate::config::{AddressingStyle, Endpoint, S3Config};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{self, HttpOptions, Retry};
use crate::sigv4::{self, SignableRequest, Signer};
use crate::xml;
use std::io::Read;
use std::sync::RwLock;
use std::time::{Duration, SystemTime};

/// One S3 request. `body` is held in memory so a retry can resend it: parts and single PUTs
/// come from the engine's buffers, never re-read from the stream.
pub struct Request<'a> {
    pub method: &'static str,
    pub bucket: Option<&'a str>,
    pub key: Option<&'a str>,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
    /// Hex SHA-256 of `body`; computed here when None.
    pub payload_sha256: Option<String>,
    /// Whole-request deadline, for requests that must not wait on a stalled peer (abort).
    pub deadline: Option<Duration>,
}

impl<'a> Request<'a> {
    pub fn new(method: &'static str, bucket: Option<&'a str>, key: Option<&'a str>) -> Self {
        Request {
            method,
            bucket,
            key,
            query: Vec::new(),
            headers: Vec::new(),
            body: &[],
            payload_sha256: None,
            deadline: None,
        }
    }
    pub fn query(mut self, k: &str, v: impl Into<String>) -> Self {
        self.query.push((k.to_string(), v.into()));
        self
    }
    pub fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_ascii_lowercase(), v.into()));
        self
    }
    pub fn body(mut self, body: &'a [u8], sha256_hex: Option<String>) -> Self {
        self.body = body;
        self.payload_sha256 = sha256_hex;
        self
    }
}

pub struct S3Client {
    agent: ureq::Agent,
    endpoint: Endpoint,
    addressing: AddressingStyle,
    /// Behind a lock because a wrong-region answer corrects it for every later request.
    signer: RwLock<Signer>,
    retry: Retry,
    verbose: u8,
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
            agent: http::build_agent(&opts)?,
            endpoint: cfg.endpoint.clone(),
            addressing: cfg.addressing,
            signer: RwLock::new(Signer::s3(cfg.credentials.clone(), &cfg.region)),
            retry: opts.retry,
            verbose,
        })
    }

    pub fn region(&self) -> String {
        self.signer.read().map(|s| s.region().to_string()).unwrap_or_default()
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn verbose(&self) -> u8 {
        self.verbose
    }

    /// The retry policy, for callers that retry beyond `send` (a body cut short mid-read).
    pub fn retry_policy(&self) -> Retry {
        self.retry
    }

    fn signer(&self) -> Signer {
        match self.signer.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
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
        let key_path = key.map(|k| sigv4::uri_encode(k, false)).unwrap_or_default();
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
            // Dots break TLS wildcard certificates, so auto keeps those path-style.
            AddressingStyle::Auto => {
                bucket.len() >= 3
                    && bucket.len() <= 63
                    && bucket.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                    && !bucket.starts_with('-')
                    && !bucket.ends_with('-')
            }
        }
    }

    /// A short human name for a request in messages: "PUT s3://bucket/key?partNumber=3".
    pub fn describe(req: &Request) -> String {
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

    /// Sends a request, retrying what is worth retrying, correcting a wrong region once.
    /// Returns the successful (2xx) response; every failure is an `Error` naming the request.
    pub fn send(&self, req: &Request) -> Result<ureq::Response> {
        let what = Self::describe(req);
        let payload_hash = match &req.payload_sha256 {
            Some(h) => h.clone(),
            None if req.body.is_empty() => sigv4::EMPTY_SHA256.to_string(),
            None => sigv4::sha256_hex(req.body),
        };
        let wire_query = sigv4::canonical_query_string(&req.query);
        let mut attempt = 0;
        let mut region_corrected = false;
        loop {
            attempt += 1;
            let signer = self.signer();
            let (host, path) = self.location(req.bucket, req.key, signer.region());
            let mut headers = req.headers.clone();
            headers.push(("host".into(), host.clone()));
            let signed = signer.sign(
                &SignableRequest {
                    method: req.method,
                    path: &path,
                    query: &req.query,
                    headers: &headers,
                    payload_hash: &payload_hash,
                },
                SystemTime::now(),
            );
            let url = if wire_query.is_empty() {
                format!("{}://{host}{path}", self.endpoint.scheme())
            } else {
                format!("{}://{host}{path}?{wire_query}", self.endpoint.scheme())
            };
            let mut r = self.agent.request(req.method, &url);
            // ureq derives Host from the URL; we signed the same value.
            for (k, v) in headers.iter().chain(signed.iter()).filter(|(k, _)| k != "host") {
                r = r.set(k, v);
            }
            if let Some(d) = req.deadline {
                r = r.timeout(d);
            }
            if self.verbose >= 2 {
                crate::log::note(format!("{what} (attempt {attempt}, region {})", signer.region()));
            }
            let result = if req.body.is_empty() && matches!(req.method, "GET" | "HEAD" | "DELETE") {
                r.call()
            } else {
                r.send_bytes(req.body)
            };
            let (err, retryable) = match result {
                Ok(resp) => return Ok(resp),
                Err(ureq::Error::Transport(t)) => http::transport_error(&what, &t),
                Err(ureq::Error::Status(status, resp)) => {
                    let bucket_region = resp.header("x-amz-bucket-region").map(str::to_string);
                    let request_id = resp.header("x-amz-request-id").map(str::to_string);
                    let body = read_error_body(resp);
                    let parsed = xml::parse_s3_error(&body);
                    if !region_corrected {
                        if let Some(region) = corrected_region(status, parsed.as_ref(), bucket_region.as_deref()) {
                            if region != signer.region() {
                                if self.verbose >= 1 {
                                    crate::log::note(format!(
                                        "the server wants region {region:?}, not {:?}; retrying with it",
                                        signer.region()
                                    ));
                                }
                                self.set_region(&region);
                                region_corrected = true;
                                attempt -= 1;
                                continue;
                            }
                        }
                    }
                    classify(&what, status, parsed, request_id)
                }
            };
            if retryable && attempt < self.retry.max_attempts {
                let pause = self.retry.delay(attempt);
                if self.verbose >= 1 {
                    crate::log::note(format!("{}; retry {attempt} in {:.1}s", err.message(), pause.as_secs_f64()));
                }
                std::thread::sleep(pause);
                continue;
            }
            return Err(if retryable && attempt > 1 {
                let (code, status) = (err.code().map(str::to_string), err.status());
                Error::new(err.kind(), format!("{} (gave up after {attempt} attempts)", err.message()))
                    .with_code(code, status)
            } else {
                err
            });
        }
    }

    /// Sends and reads the whole (small, XML) response body.
    pub fn send_text(&self, req: &Request) -> Result<String> {
        let what = Self::describe(req);
        let resp = self.send(req)?;
        read_text(resp, &what)
    }
}

/// Reads a small response body (XML answers), bounded so a misbehaving server can't exhaust memory.
pub fn read_text(resp: ureq::Response, what: &str) -> Result<String> {
    let mut s = String::new();
    resp.into_reader()
        .take(64 << 20)
        .read_to_string(&mut s)
        .map_err(|e| Error::server(format!("{what}: reading the response: {e}")))?;
    Ok(s)
}

fn read_error_body(resp: ureq::Response) -> String {
    let mut s = String::new();
    let _ = resp.into_reader().take(64 << 10).read_to_string(&mut s);
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
];

/// Turns an error response into an `Error` of the right kind, and says whether to retry.
pub fn classify(what: &str, status: u16, body: Option<xml::S3ErrorBody>, request_id: Option<String>) -> (Error, bool) {
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

pub use crate::log::printable;

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
