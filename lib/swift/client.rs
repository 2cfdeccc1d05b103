//! The Swift client: requests against the storage URL with the session token, renewing the
//! token on 401 (once per request: tokens expire during long uploads), retries with backoff,
//! error classification, and the cluster's limits from `/info`.

use super::auth::{self, AuthConfig, Session};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{self, drain, encoding::uri_encode, unquote_etag, Failure, HttpOptions, Request};
use crate::log::{self, printable};
use serde_json::Value;
use std::cell::Cell;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

/// "PUT backups/full.tar", for messages: the container and object of `req` (the account
/// without one), and the SLO and bulk-delete query that changes what a request does.
pub(crate) fn describe(req: &Request) -> String {
    let mut s = format!("{} ", req.method);
    match (req.bucket, req.key) {
        (None, _) => s.push_str("(account)"),
        (Some(c), None) => s.push_str(&printable(c)),
        (Some(c), Some(o)) => s.push_str(&format!("{}/{}", printable(c), printable(o))),
    }
    for k in ["multipart-manifest", "bulk-delete"] {
        match req.query_value(k) {
            Some("") => {
                s.push_str(&format!("?{k}"));
                break;
            }
            Some(v) => {
                s.push_str(&format!("?{k}={v}"));
                break;
            }
            None => {}
        }
    }
    s
}

/// The cluster's limits and features (`GET /info`), with Swift's defaults when it is hidden.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Info {
    pub max_file_size: u64,
    pub max_manifest_segments: usize,
    pub max_manifest_size: u64,
    pub min_segment_size: u64,
    /// Deletes per bulk-delete request, when the bulk middleware is there.
    pub bulk_delete: Option<usize>,
    pub slo: bool,
}

impl Default for Info {
    fn default() -> Self {
        Info {
            max_file_size: 5_368_709_122,
            max_manifest_segments: 1000,
            max_manifest_size: 8 << 20,
            min_segment_size: 1,
            bulk_delete: None,
            slo: true,
        }
    }
}

impl Info {
    pub fn parse(body: &str) -> Option<Info> {
        let v: Value = serde_json::from_str(body).ok()?;
        let d = Info::default();
        let num = |x: &Value, dflt: u64| x.as_u64().unwrap_or(dflt);
        Some(Info {
            max_file_size: num(&v["swift"]["max_file_size"], d.max_file_size),
            max_manifest_segments: num(&v["slo"]["max_manifest_segments"], 1000) as usize,
            max_manifest_size: num(&v["slo"]["max_manifest_size"], d.max_manifest_size),
            min_segment_size: num(&v["slo"]["min_segment_size"], 1),
            bulk_delete: v.get("bulk_delete").map(|b| num(&b["max_deletes_per_request"], 1000) as usize),
            slo: v.get("slo").is_some(),
        })
    }
}

/// What a HEAD of an object says.
#[derive(Clone, Debug, Default)]
pub(crate) struct ObjectMeta {
    pub size: u64,
    /// Unquoted.
    pub etag: String,
    pub slo: bool,
    /// `X-Object-Manifest` of a DLO: `container/prefix`.
    pub dlo: Option<String>,
}

impl ObjectMeta {
    pub(crate) fn from_response(resp: &ureq::Response) -> ObjectMeta {
        ObjectMeta {
            size: resp.header("Content-Length").and_then(|v| v.trim().parse().ok()).unwrap_or(0),
            etag: unquote_etag(resp.header("Etag").unwrap_or("")),
            slo: resp.header("X-Static-Large-Object").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            dlo: resp.header("X-Object-Manifest").map(str::to_string),
        }
    }
}

pub(crate) struct SwiftClient {
    http: http::Client,
    auth: AuthConfig,
    /// The current session and a generation number, so that when several workers see the
    /// same expired token only the first re-authenticates.
    session: RwLock<Option<(u64, Session)>>,
    info: OnceLock<Info>,
}

impl std::fmt::Debug for SwiftClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwiftClient").field("auth", &self.auth).finish_non_exhaustive()
    }
}

impl SwiftClient {
    pub fn new(auth: AuthConfig, http_opts: HttpOptions, verbose: u8) -> Result<SwiftClient> {
        Ok(SwiftClient {
            http: http::Client::new(&http_opts, verbose)?,
            auth,
            session: RwLock::new(None),
            info: OnceLock::new(),
        })
    }

    pub(crate) fn verbose(&self) -> u8 {
        self.http.verbose()
    }

    /// The HTTP client, for callers that retry beyond `send` (a body cut short mid-read).
    pub fn http(&self) -> &http::Client {
        &self.http
    }

    fn current(&self) -> Option<(u64, Session)> {
        match self.session.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The session, authenticating on first use.
    pub(crate) fn session(&self) -> Result<(u64, Session)> {
        if let Some(s) = self.current() {
            return Ok(s);
        }
        self.renew(0)
    }

    /// Authenticates again unless another thread already replaced generation `seen`.
    fn renew(&self, seen: u64) -> Result<(u64, Session)> {
        let mut guard = match self.session.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some((gen, s)) = guard.as_ref() {
            if *gen != seen {
                return Ok((*gen, s.clone()));
            }
        }
        let s = auth::authenticate(&self.http, &self.auth)?;
        let gen = guard.as_ref().map(|(g, _)| g + 1).unwrap_or(1);
        *guard = Some((gen, s.clone()));
        Ok((gen, s))
    }

    pub fn storage_url(&self) -> Result<String> {
        Ok(self.session()?.1.storage_url)
    }

    /// The request's URL under the storage URL, encoded as python-swiftclient encodes it.
    pub(crate) fn url_for(storage_url: &str, req: &Request) -> String {
        let mut url = storage_url.to_string();
        if let Some(c) = req.bucket {
            url.push('/');
            url.push_str(&uri_encode(c, true));
            if let Some(o) = req.key {
                url.push('/');
                url.push_str(&uri_encode(o, false));
            }
        }
        if !req.query.is_empty() {
            let q: Vec<String> = req
                .query
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() && k != "marker" && k != "prefix" {
                        uri_encode(k, true)
                    } else {
                        format!("{}={}", uri_encode(k, true), uri_encode(v, true))
                    }
                })
                .collect();
            url.push('?');
            url.push_str(&q.join("&"));
        }
        url
    }

    /// Sends a request with the session token: renews an expired token (at most three times)
    /// and retries what is worth retrying.
    pub fn send(&self, req: &Request) -> Result<ureq::Response> {
        let what = describe(req);
        let renewals = Cell::new(0);
        self.http.send(&what, || {
            let (gen, session) = self.session()?;
            let url = Self::url_for(&session.storage_url, req);
            let token = [("X-Auth-Token".to_string(), session.token.expose().to_string())];
            match self.http.call(req, &url, &token) {
                Ok(resp) => Ok(resp),
                Err(ureq::Error::Transport(t)) => Err(self.http.transport_failure(&what, req, &t)),
                Err(ureq::Error::Status(401, resp)) if self.auth.can_renew() && renewals.get() < 3 => {
                    drain(resp);
                    renewals.set(renewals.get() + 1);
                    if self.verbose() >= 1 {
                        log::note(format!("{what}: the token was rejected (expired?); authenticating again"));
                    }
                    self.renew(gen)?;
                    Err(Failure::Again)
                }
                Err(ureq::Error::Status(status, resp)) => Err(classify(&what, status, resp, &self.auth)),
            }
        })
    }

    /// Sends and reads a small text body (listings, manifests, bulk answers).
    pub(crate) fn send_text(&self, req: &Request) -> Result<String> {
        http::read_text(self.send(req)?, &describe(req))
    }

    /// The cluster's limits, fetched once from `/info` at the root of the storage URL's host
    /// (authenticating first if needed); Swift's defaults when /info is disabled.
    pub fn info(&self) -> Result<Info> {
        if let Some(i) = self.info.get() {
            return Ok(i.clone());
        }
        let url = info_url(&self.storage_url()?);
        let req = Request::new("GET", None, None).deadline(Duration::from_secs(30));
        let got = self.http.call(&req, &url, &[]).ok().and_then(|r| r.into_string().ok());
        let info = match got.as_deref().and_then(Info::parse) {
            Some(i) => i,
            None => {
                if self.verbose() >= 1 {
                    log::note(format!("{url} unavailable: assuming Swift's default limits"));
                }
                Info::default()
            }
        };
        Ok(self.info.get_or_init(|| info).clone())
    }

    pub fn head_object(&self, container: &str, object: &str) -> Result<ObjectMeta> {
        let resp = self.send(&Request::new("HEAD", Some(container), Some(object)))?;
        Ok(ObjectMeta::from_response(&resp))
    }

    /// HEAD of a container: its storage policy, or NotFound.
    pub(crate) fn container_policy(&self, container: &str) -> Result<Option<String>> {
        let resp = self.send(&Request::new("HEAD", Some(container), None))?;
        Ok(resp.header("X-Storage-Policy").map(str::to_string))
    }

    pub(crate) fn put_container(&self, container: &str, policy: Option<&str>) -> Result<()> {
        let mut req = Request::new("PUT", Some(container), None);
        if let Some(p) = policy {
            req = req.header("X-Storage-Policy", p);
        }
        drain(self.send(&req)?);
        Ok(())
    }

    /// PUTs an object from memory with its MD5 as ETag (Swift refuses a mismatch with 422,
    /// which is retried); returns the server's ETag, checked against the MD5.
    pub fn put_object(
        &self,
        container: &str,
        object: &str,
        data: &[u8],
        md5_hex: &str,
        headers: &[(String, String)],
    ) -> Result<String> {
        let mut req = Request::new("PUT", Some(container), Some(object)).body(data).header("Etag", md5_hex);
        req.headers.extend(headers.iter().cloned());
        let resp = self.send(&req)?;
        let etag = unquote_etag(resp.header("Etag").unwrap_or(""));
        drain(resp);
        if !etag.eq_ignore_ascii_case(md5_hex) {
            return Err(Error::verify(format!(
                "{}: the server's ETag {etag:?} is not the MD5 of the data sent ({md5_hex})",
                describe(&req)
            )));
        }
        Ok(etag)
    }

    pub fn delete_object(
        &self,
        container: &str,
        object: &str,
        whole_slo: bool,
        deadline: Option<Duration>,
    ) -> Result<()> {
        let mut req = Request::new("DELETE", Some(container), Some(object));
        if whole_slo {
            req = req.query("multipart-manifest", "delete");
        }
        if let Some(d) = deadline {
            req = req.deadline(d);
        }
        drain(self.send(&req)?);
        Ok(())
    }

    /// Deletes `/container/object` paths, with bulk delete when the cluster has it. Missing
    /// objects count as deleted. Returns the paths that could not be deleted, with why.
    pub(crate) fn delete_paths(&self, paths: &[(String, String)], deadline: Duration) -> Vec<(String, String)> {
        let mut failed = Vec::new();
        if let Some(max) = self.info().ok().and_then(|i| i.bulk_delete) {
            for chunk in paths.chunks(max.clamp(1, 10_000)) {
                let body: String =
                    chunk.iter().map(|(c, o)| format!("/{}/{}\n", uri_encode(c, true), uri_encode(o, false))).collect();
                let req = Request::new("POST", None, None)
                    .query("bulk-delete", "")
                    .header("Content-Type", "text/plain")
                    .header("Accept", "application/json")
                    .body(body.as_bytes())
                    .deadline(deadline);
                match self.send_text(&req) {
                    Ok(text) => {
                        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        if let Some(errs) = v["Errors"].as_array() {
                            for e in errs {
                                let p = e[0].as_str().unwrap_or("?").to_string();
                                let why = e[1].as_str().unwrap_or("?");
                                if !why.starts_with("404") {
                                    failed.push((p, why.to_string()));
                                }
                            }
                        }
                    }
                    Err(e) => failed.extend(chunk.iter().map(|(c, o)| (format!("/{c}/{o}"), e.message().to_string()))),
                }
            }
            return failed;
        }
        for (c, o) in paths {
            match self.delete_object(c, o, false, Some(deadline)) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => failed.push((format!("/{c}/{o}"), e.message().to_string())),
            }
        }
        failed
    }

    /// One page of a listing (JSON): containers of the account, or objects of a container.
    pub(crate) fn list_page(
        &self,
        container: Option<&str>,
        prefix: Option<&str>,
        delimiter: Option<char>,
        marker: &str,
        limit: usize,
    ) -> Result<Vec<Value>> {
        let mut req = Request::new("GET", container, None).query("format", "json").query("limit", limit.to_string());
        if !marker.is_empty() {
            req = req.query("marker", marker);
        }
        if let Some(p) = prefix.filter(|p| !p.is_empty()) {
            req = req.query("prefix", p);
        }
        if let Some(d) = delimiter {
            req = req.query("delimiter", d.to_string());
        }
        let text = self.send_text(&req).map_err(|e| match container {
            Some(c) if e.kind() == ErrorKind::NotFound => {
                Error::new(ErrorKind::NotFound, format!("container \"{}\" does not exist", printable(c)))
            }
            _ => e,
        })?;
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(v)) => Ok(v),
            _ => Err(Error::server(format!("{}: the listing is not a JSON array", describe(&req)))),
        }
    }
}

/// `https://host/v1/AUTH_x` -> `https://host/info` (the proxy serves /info at its root).
pub(crate) fn info_url(storage_url: &str) -> String {
    let (scheme, rest) = storage_url.split_once("://").unwrap_or(("http", storage_url));
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let base = match path.find("v1/").or_else(|| path.find("v1")) {
        Some(i) if path[..i].is_empty() || path[..i].ends_with('/') => &path[..i],
        _ => "",
    };
    format!("{scheme}://{host}/{base}info")
}

/// Turns an error response into an `Error` of the right kind, and says whether to retry.
fn classify(what: &str, status: u16, resp: ureq::Response, auth: &AuthConfig) -> Failure {
    let trans = resp.header("X-Trans-Id").map(str::to_string);
    let text = strip_tags(&http::error_body(resp, 16 << 10));
    let mut detail = format!("HTTP {status}");
    if !text.is_empty() {
        detail = format!("{detail}: {}", text.chars().take(300).collect::<String>());
    }
    if let Some(t) = trans {
        detail = format!("{detail} [{t}]");
    }
    let (kind, retry, hint) = match status {
        401 if auth.can_renew() => {
            (ErrorKind::Config, false, "; the new token was rejected too: check the credentials")
        }
        401 => (ErrorKind::Config, false, "; OS_AUTH_TOKEN is expired or invalid: get a new one"),
        403 => (ErrorKind::Denied, false, ""),
        404 => (ErrorKind::NotFound, false, ""),
        413 => (ErrorKind::Data, false, ""),
        // 422: the body did not match the ETag we sent, i.e. damaged on the way: resend.
        408 | 422 | 429 => (ErrorKind::Server, true, ""),
        s if s >= 500 => (ErrorKind::Server, true, ""),
        _ => (ErrorKind::Server, false, ""),
    };
    Failure::new(Error::new(kind, format!("{what}: {detail}{hint}")).with_code(None, Some(status)), retry)
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_urls() {
        assert_eq!(info_url("https://storage.gra.cloud.ovh.net/v1/AUTH_abc"), "https://storage.gra.cloud.ovh.net/info");
        assert_eq!(info_url("http://127.0.0.1:8080/v1/AUTH_test"), "http://127.0.0.1:8080/info");
        assert_eq!(info_url("https://h/swift/v1/AUTH_x"), "https://h/swift/info");
    }

    #[test]
    fn parses_info() {
        let i = Info::parse(r#"{"swift":{"max_file_size":100},"slo":{"max_manifest_segments":10,"max_manifest_size":8388608,"min_segment_size":1},"bulk_delete":{"max_deletes_per_request":10000}}"#).unwrap();
        assert_eq!(i.max_manifest_segments, 10);
        assert_eq!(i.max_file_size, 100);
        assert_eq!(i.bulk_delete, Some(10000));
    }
}
