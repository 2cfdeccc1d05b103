//! The one request type of the S3 and Swift clients.

use std::fmt;
use std::time::Duration;

/// One request to an object store. The protocol client turns `bucket` and `key` into a URL
/// and adds its authentication (a SigV4 signature, a Swift token) to each attempt. `body` is
/// held in memory so a retry can resend it: parts and single PUTs come from the engine's
/// buffers, never re-read from the stream. Secrets never go in here: authentication headers
/// are added per attempt, so `Debug` is safe to print (it leaves out the body and header values).
#[derive(Clone)]
pub struct Request<'a> {
    pub method: &'static str,
    /// The bucket (S3) or container (Swift); None addresses the service or account.
    pub bucket: Option<&'a str>,
    /// The object's key (S3) or name (Swift).
    pub key: Option<&'a str>,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
    /// Hex SHA-256 of `body` when the caller has it already (S3 signs it; computed there when None).
    pub payload_sha256: Option<String>,
    /// Whole-request deadline, for requests that must not wait on a stalled peer (cleanup).
    pub deadline: Option<Duration>,
    /// The cleanup of a failed transfer (aborting a multipart upload): sent even when the
    /// credentials expired and could not be renewed, so the server decides; see
    /// `credentials::CredentialCache::for_cleanup`.
    pub cleanup: bool,
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
            cleanup: false,
        }
    }
    pub fn query(mut self, k: &str, v: impl Into<String>) -> Self {
        self.query.push((k.to_string(), v.into()));
        self
    }
    pub fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_string(), v.into()));
        self
    }
    pub fn body(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self
    }
    /// The hex SHA-256 of the body, when already computed (S3 signs it).
    pub(crate) fn payload_sha256(mut self, hex: String) -> Self {
        self.payload_sha256 = Some(hex);
        self
    }
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = Some(d);
        self
    }
    /// The value of a query parameter.
    pub(crate) fn query_value(&self, k: &str) -> Option<&str> {
        self.query.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.as_str())
    }
    /// Whether the request goes without a body (`call()` rather than a send with a length).
    pub(crate) fn bodiless(&self) -> bool {
        self.body.is_empty() && matches!(self.method, "GET" | "HEAD" | "DELETE")
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        write!(
            f,
            "Request({} {:?} {:?}, query {:?}, headers {headers:?}, ",
            self.method, self.bucket, self.key, self.query
        )?;
        write!(f, "{} body bytes, deadline {:?})", self.body.len(), self.deadline)
    }
}
