//! AWS Signature Version 4, hand-rolled over `hmac` + `sha2` + `hex`.
//!
//! Spec: <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>, with
//! S3's own rules from <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>
//! (header auth), <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>
//! (presigned URLs) and <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html>
//! (aws-chunked). The steps are public so tests can check each against AWS's vectors and so
//! `-v` can print the canonical request a server disagrees with.
//!
//! S3 differs from the generic algorithm in three ways, all carried by [`SigningOptions`]:
//! the path is neither normalised nor encoded twice, and `x-amz-content-sha256` is signed.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

/// Hex SHA-256 of the empty string: the payload hash of a bodiless request.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// Payload hash for bodies the signature does not cover (presigned URLs, opt-in streaming).
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Payload hash announcing an aws-chunked body whose chunks are signed one by one.
pub const STREAMING_PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// The only algorithm we speak.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

type HmacSha256 = Hmac<Sha256>;

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// SigV4's URI encoding (RFC 3986 unreserved characters stay, every other byte is `%XX` in
/// uppercase hex) and its inverse, shared with Swift: see [`crate::http::encoding`].
pub use crate::http::encoding::{percent_decode, uri_encode};

/// The canonical query string: each name and value `uri_encode(.., true)`, pairs sorted by
/// encoded name then encoded value, `name=value` joined with `&` (a valueless `?uploads` is
/// `uploads=`). Use the same string on the wire so what is sent is what was signed.
pub(crate) fn canonical_query_string(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> =
        query.iter().map(|(k, v)| (uri_encode(k, true), uri_encode(v, true))).collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Removes `.` and `..` segments and empty segments (`//`), keeping a trailing slash, as the
/// generic algorithm requires. S3 must never do this: `a//b` and `a/./b` are distinct keys.
pub fn normalize_path(path: &str) -> String {
    let mut segs: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for s in &segs {
        out.push('/');
        out.push_str(s);
    }
    let trailing = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    if out.is_empty() || (trailing && !segs.is_empty()) {
        out.push('/');
    }
    out
}

/// The canonical URI of a wire path under `opts`.
///
/// * Generic services (`double_encode_path`): the wire path is encoded again, so `%3D` on the
///   wire becomes `%253D` in the canonical request (and raw bytes like a space are encoded).
/// * S3 (single encoding): each segment is decoded and encoded again with [`uri_encode`],
///   which leaves a path made by `uri_encode(key, false)` unchanged and also canonicalises a
///   raw `$` or space the way S3 does (`/test$file.text` signs as `/test%24file.text`).
pub(crate) fn canonical_uri(path: &str, opts: &SigningOptions) -> String {
    let path = if path.is_empty() { "/" } else { path };
    let normalized;
    let path = if opts.normalize_path {
        normalized = normalize_path(path);
        normalized.as_str()
    } else {
        path
    };
    let out = if opts.double_encode_path {
        uri_encode(path, false)
    } else {
        let segs: Vec<String> = path
            .split('/')
            .map(|seg| match percent_decode(seg, false) {
                Ok(raw) => uri_encode(&raw, true),
                // Not valid escapes: sign the bytes we will send, encoded once.
                Err(_) => uri_encode(seg, true),
            })
            .collect();
        segs.join("/")
    };
    if out.starts_with('/') {
        out
    } else {
        format!("/{out}")
    }
}

/// Trims a header value and collapses each run of spaces and tabs (and folded line breaks)
/// into one space, as the canonical request requires.
fn canonical_header_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for word in v.split([' ', '\t', '\r', '\n']).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Canonical headers and the signed-headers list: names lowercased and sorted, values
/// canonicalised, the values of a repeated name joined with `,` in their original order.
/// Returns (`"name:value\n"` lines, `"a;b;c"`).
pub(crate) fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut list: Vec<(String, String)> =
        headers.iter().map(|(k, v)| (k.trim().to_ascii_lowercase(), canonical_header_value(v))).collect();
    // Stable: repeated names keep their order, which the signature depends on.
    list.sort_by(|a, b| a.0.cmp(&b.0));
    let mut lines = String::new();
    let mut names = String::new();
    let mut i = 0;
    while i < list.len() {
        let name = &list[i].0;
        let mut value = list[i].1.clone();
        let mut j = i + 1;
        while j < list.len() && &list[j].0 == name {
            value.push(',');
            value.push_str(&list[j].1);
            j += 1;
        }
        lines.push_str(name);
        lines.push(':');
        lines.push_str(&value);
        lines.push('\n');
        if !names.is_empty() {
            names.push(';');
        }
        names.push_str(name);
        i = j;
    }
    (lines, names)
}

/// Task 1, the canonical request: method, canonical URI, canonical query, canonical headers,
/// an empty line's worth of `\n`, signed headers, payload hash. Returns it with the
/// signed-headers list.
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    headers: &[(String, String)],
    payload_hash: &str,
) -> (String, String) {
    let (lines, signed) = canonical_headers(headers);
    let creq = format!("{method}\n{canonical_uri}\n{canonical_query}\n{lines}\n{signed}\n{payload_hash}");
    (creq, signed)
}

/// `20150830/us-east-1/service/aws4_request`.
pub fn credential_scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/aws4_request")
}

/// Task 2, the string to sign: algorithm, request time, scope, hex SHA-256 of the canonical
/// request.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// Task 3a, the signing key: HMAC chain over `"AWS4" + secret`, the date (`YYYYMMDD`), the
/// region, the service and `aws4_request`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// Task 3b, the signature: hex HMAC of the string to sign under the signing key.
pub fn signature(signing_key: &[u8], string_to_sign: &str) -> String {
    hex::encode(hmac(signing_key, string_to_sign.as_bytes()))
}

/// Access key, secret and optional session token. `Debug` never shows the secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    secret_access_key: Secret,
    session_token: Option<Secret>,
}

impl Credentials {
    pub fn new(id: impl Into<String>, secret: impl Into<String>, token: Option<String>) -> Self {
        Credentials {
            access_key_id: id.into(),
            secret_access_key: Secret::new(secret),
            session_token: token.map(Secret::new),
        }
    }

    /// The secret, for code that must prove possession of it (signing). Never print it.
    pub fn secret_access_key(&self) -> &Secret {
        &self.secret_access_key
    }

    /// The session token of temporary credentials, sent with every request.
    pub fn session_token(&self) -> Option<&Secret> {
        self.session_token.as_ref()
    }
}

/// The request facts the signature covers.
pub struct SignableRequest<'a> {
    pub method: &'a str,
    /// As sent on the wire, already URI-encoded once by the caller (`uri_encode(path, false)`).
    pub path: &'a str,
    /// Decoded pairs; send them as [`canonical_query_string`] so the wire matches the signature.
    pub query: &'a [(String, String)],
    /// Headers to sign; must include `host`. Names in any case. Do not include the headers the
    /// signer adds (`x-amz-date`, `x-amz-security-token`, `x-amz-content-sha256`,
    /// `authorization`): copies of them here are ignored.
    pub headers: &'a [(String, String)],
    /// Hex SHA-256 of the body, [`UNSIGNED_PAYLOAD`] or a streaming constant.
    pub payload_hash: &'a str,
}

/// The service-specific rules of the algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningOptions {
    /// Remove `.`/`..`/empty path segments before encoding (every service but S3).
    pub normalize_path: bool,
    /// Encode the (already encoded) wire path again (every service but S3).
    pub double_encode_path: bool,
    /// Send and sign `x-amz-content-sha256` in header auth (S3 requires it).
    pub content_sha256_header: bool,
    /// Sign the session token (header `x-amz-security-token` or query `X-Amz-Security-Token`).
    /// A few services (IoT) want it added after signing instead; S3 signs it.
    pub sign_session_token: bool,
}

impl SigningOptions {
    /// S3: no normalisation, single encoding, `x-amz-content-sha256` signed, token signed.
    pub const fn s3() -> Self {
        SigningOptions {
            normalize_path: false,
            double_encode_path: false,
            content_sha256_header: true,
            sign_session_token: true,
        }
    }

    /// The generic algorithm of the IAM guide, as the AWS test suites exercise it.
    pub const fn generic() -> Self {
        SigningOptions {
            normalize_path: true,
            double_encode_path: true,
            content_sha256_header: false,
            sign_session_token: true,
        }
    }
}

/// Every intermediate of one signature, for tests and diagnostics. `canonical_request` is the
/// text that was signed, so with temporary credentials it holds the session token: print it
/// only through `Debug`, which redacts the token (raw and URI-encoded).
#[derive(Clone)]
pub struct SigningSteps {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signed_headers: String,
    pub signature: String,
    token: Option<Secret>,
}

impl fmt::Debug for SigningSteps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut creq = self.canonical_request.clone();
        if let Some(t) = self.token.as_ref().map(Secret::expose).filter(|t| !t.is_empty()) {
            creq = creq.replace(t, "<redacted>").replace(&uri_encode(t, true), "<redacted>");
        }
        f.debug_struct("SigningSteps")
            .field("canonical_request", &creq)
            .field("string_to_sign", &self.string_to_sign)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &self.signature)
            .finish()
    }
}

/// (YYYYMMDD, key): the signing key depends only on the date for a given signer.
type DatedKey = (String, [u8; 32]);

/// Signs requests for one (credentials, region, service). Cheap to clone and share between
/// threads; the signing key is cached per day. `Debug` never shows the secrets.
#[derive(Clone)]
pub struct Signer {
    credentials: Credentials,
    region: String,
    service: String,
    opts: SigningOptions,
    key_cache: Arc<Mutex<Option<DatedKey>>>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("credentials", &self.credentials)
            .field("region", &self.region)
            .field("service", &self.service)
            .field("opts", &self.opts)
            .finish()
    }
}

/// Header names the signer owns; a caller's copy would be signed twice.
const SIGNER_HEADERS: [&str; 4] = ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];

impl Signer {
    /// S3 rules: service `s3`, no path normalisation, single encoding, `x-amz-content-sha256`
    /// signed.
    pub fn s3(credentials: Credentials, region: &str) -> Self {
        Self::new(credentials, region, "s3", SigningOptions::s3())
    }

    pub fn new(credentials: Credentials, region: &str, service: &str, opts: SigningOptions) -> Self {
        Signer {
            credentials,
            region: region.to_owned(),
            service: service.to_owned(),
            opts,
            key_cache: Arc::new(Mutex::new(None)),
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn options(&self) -> SigningOptions {
        self.opts
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The same signer for another region (wrong-region auto-correction), with its own cache.
    pub fn with_region(&self, region: &str) -> Self {
        Self::new(self.credentials.clone(), region, &self.service, self.opts)
    }

    /// The signing key for a `YYYYMMDD` date, from the cache when the day has not changed.
    pub fn signing_key(&self, date: &str) -> [u8; 32] {
        // A poisoned lock only means another thread panicked mid-update; the value is a cache.
        let mut cache = self.key_cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((d, key)) = cache.as_ref() {
            if d == date {
                return *key;
            }
        }
        let key = signing_key(self.credentials.secret_access_key.expose(), date, &self.region, &self.service);
        *cache = Some((date.to_owned(), key));
        key
    }

    pub fn scope(&self, date: &str) -> String {
        credential_scope(date, &self.region, &self.service)
    }

    fn caller_headers<'r>(&self, req: &'r SignableRequest) -> impl Iterator<Item = &'r (String, String)> {
        req.headers.iter().filter(|(k, _)| !SIGNER_HEADERS.iter().any(|s| k.trim().eq_ignore_ascii_case(s)))
    }

    fn steps(
        &self,
        canonical_request: String,
        string_to_sign: String,
        signed_headers: String,
        signature: String,
    ) -> SigningSteps {
        let token = self.credentials.session_token().cloned();
        SigningSteps { canonical_request, string_to_sign, signed_headers, signature, token }
    }

    /// Header auth. Returns the headers to add to the request (lowercase names):
    /// `x-amz-date`, `x-amz-security-token` (with a session token), `x-amz-content-sha256`
    /// (S3), `authorization`. All but `authorization` are signed, with every `req.headers`.
    pub fn sign(&self, req: &SignableRequest, now: SystemTime) -> Vec<(String, String)> {
        self.sign_steps(req, now).0
    }

    /// [`Signer::sign`] that also returns the intermediate steps.
    pub fn sign_steps(&self, req: &SignableRequest, now: SystemTime) -> (Vec<(String, String)>, SigningSteps) {
        let amz_date = crate::time::amz_date(now);
        let date = &amz_date[..8];
        let mut added: Vec<(String, String)> = vec![("x-amz-date".into(), amz_date.clone())];
        let mut unsigned_token = None;
        if let Some(token) = self.credentials.session_token() {
            let header = ("x-amz-security-token".to_owned(), token.expose().to_owned());
            if self.opts.sign_session_token {
                added.push(header);
            } else {
                unsigned_token = Some(header);
            }
        }
        if self.opts.content_sha256_header {
            added.push(("x-amz-content-sha256".into(), req.payload_hash.to_owned()));
        }
        let mut headers: Vec<(String, String)> = self.caller_headers(req).cloned().collect();
        headers.extend(added.iter().cloned());

        let (creq, signed_headers) = canonical_request(
            req.method,
            &canonical_uri(req.path, &self.opts),
            &canonical_query_string(req.query),
            &headers,
            req.payload_hash,
        );
        let scope = self.scope(date);
        let sts = string_to_sign(&amz_date, &scope, &creq);
        let sig = signature(&self.signing_key(date), &sts);
        let authorization = format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={sig}",
            self.credentials.access_key_id
        );
        added.extend(unsigned_token);
        added.push(("authorization".into(), authorization));
        (added, self.steps(creq, sts, signed_headers, sig))
    }

    /// Query auth (presigned URL): returns the complete wire query string, the request's own
    /// parameters and the `X-Amz-*` ones in canonical order, `X-Amz-Signature` last. Pass
    /// [`UNSIGNED_PAYLOAD`] as the payload hash for S3. S3 accepts 1 to 604800 seconds.
    pub fn presign(&self, req: &SignableRequest, now: SystemTime, expires_secs: u64) -> String {
        self.presign_steps(req, now, expires_secs).0
    }

    /// [`Signer::presign`] that also returns the intermediate steps.
    pub fn presign_steps(&self, req: &SignableRequest, now: SystemTime, expires_secs: u64) -> (String, SigningSteps) {
        let amz_date = crate::time::amz_date(now);
        let date = &amz_date[..8];
        let scope = self.scope(date);
        let headers: Vec<(String, String)> = self.caller_headers(req).cloned().collect();
        let (_, signed_headers) = canonical_headers(&headers);

        let mut query: Vec<(String, String)> = req.query.to_vec();
        query.push(("X-Amz-Algorithm".into(), ALGORITHM.into()));
        query.push(("X-Amz-Credential".into(), format!("{}/{scope}", self.credentials.access_key_id)));
        query.push(("X-Amz-Date".into(), amz_date.clone()));
        query.push(("X-Amz-Expires".into(), expires_secs.to_string()));
        query.push(("X-Amz-SignedHeaders".into(), signed_headers.clone()));
        let mut unsigned_token = None;
        if let Some(token) = self.credentials.session_token() {
            if self.opts.sign_session_token {
                query.push(("X-Amz-Security-Token".into(), token.expose().to_owned()));
            } else {
                unsigned_token = Some(token.expose());
            }
        }
        let cqs = canonical_query_string(&query);
        let (creq, _) =
            canonical_request(req.method, &canonical_uri(req.path, &self.opts), &cqs, &headers, req.payload_hash);
        let sts = string_to_sign(&amz_date, &scope, &creq);
        let sig = signature(&self.signing_key(date), &sts);

        let mut wire = cqs;
        if let Some(token) = unsigned_token {
            wire.push_str("&X-Amz-Security-Token=");
            wire.push_str(&uri_encode(token, true));
        }
        wire.push_str("&X-Amz-Signature=");
        wire.push_str(&sig);
        (wire, self.steps(creq, sts, signed_headers, sig))
    }

    /// The signature of one aws-chunked chunk (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`): chains
    /// from the previous chunk's signature, the seed being the request's own signature.
    /// `now` must be the instant the request was signed with.
    pub fn chunk_signature(&self, now: SystemTime, previous_signature: &str, chunk: &[u8]) -> String {
        let amz_date = crate::time::amz_date(now);
        let date = &amz_date[..8];
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{}\n{previous_signature}\n{EMPTY_SHA256}\n{}",
            self.scope(date),
            sha256_hex(chunk)
        );
        signature(&self.signing_key(date), &sts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_steps_debug_redacts_the_session_token() {
        let signer = Signer::s3(Credentials::new("AKID", "sekrit", Some("TOKEN/+=".into())), "us-east-1");
        let headers = vec![("host".to_owned(), "h".to_owned())];
        let req =
            SignableRequest { method: "GET", path: "/", query: &[], headers: &headers, payload_hash: EMPTY_SHA256 };
        let (_, steps) = signer.sign_steps(&req, std::time::UNIX_EPOCH);
        assert!(steps.canonical_request.contains("x-amz-security-token:TOKEN/+="));
        let (_, query) = signer.presign_steps(&req, std::time::UNIX_EPOCH, 60);
        assert!(query.canonical_request.contains("X-Amz-Security-Token=TOKEN%2F%2B%3D"));
        for s in [format!("{steps:?}"), format!("{query:#?}")] {
            assert!(!s.contains("TOKEN") && !s.contains("sekrit") && s.contains("<redacted>"), "{s}");
        }
    }

    #[test]
    fn constants() {
        assert_eq!(sha256_hex(b""), EMPTY_SHA256);
    }

    #[test]
    fn canonical_query_sorts_encoded() {
        let q = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        assert_eq!(canonical_query_string(&q(&[("prefix", "J"), ("max-keys", "2")])), "max-keys=2&prefix=J");
        assert_eq!(canonical_query_string(&q(&[("uploads", "")])), "uploads=");
        assert_eq!(canonical_query_string(&q(&[("b", "2"), ("b", "1"), ("a b", "c/d")])), "a%20b=c%2Fd&b=1&b=2");
        assert_eq!(canonical_query_string(&[]), "");
    }

    #[test]
    fn normalizes() {
        for (i, o) in [
            ("/", "/"),
            ("", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/a/b/../c/", "/a/c/"),
            ("/a/.", "/a/"),
            ("/..", "/"),
        ] {
            assert_eq!(normalize_path(i), o, "{i}");
        }
    }

    #[test]
    fn s3_canonical_uri_is_single_encoded_and_idempotent() {
        let o = SigningOptions::s3();
        assert_eq!(canonical_uri("/test$file.text", &o), "/test%24file.text");
        assert_eq!(canonical_uri("/test%24file.text", &o), "/test%24file.text");
        assert_eq!(canonical_uri("/b/a//./b/../c%2Fd", &o), "/b/a//./b/../c%2Fd");
        assert_eq!(canonical_uri("/b/x%zz", &o), "/b/x%25zz");
        assert_eq!(canonical_uri("", &o), "/");
        let key = "dir/ a+b=c&d ሴ %41";
        let wire = format!("/bucket/{}", uri_encode(key, false));
        assert_eq!(canonical_uri(&wire, &o), wire);
    }

    #[test]
    fn header_values_are_trimmed_and_collapsed() {
        let h = vec![
            ("My-Header2".to_string(), " \"a   b   c\" ".to_string()),
            ("host".to_string(), "x".to_string()),
            ("my-header1".to_string(), "v2".to_string()),
            ("MY-HEADER1".to_string(), "v1".to_string()),
        ];
        let (lines, names) = canonical_headers(&h);
        assert_eq!(lines, "host:x\nmy-header1:v2,v1\nmy-header2:\"a b c\"\n");
        assert_eq!(names, "host;my-header1;my-header2");
    }
}
