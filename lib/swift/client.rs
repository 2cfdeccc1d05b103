//! The Swift client: requests against the storage URL with the session token, renewing the
//! token on 401 (once per request: tokens expire during long uploads), retries with backoff,
//! error classification, and the cluster's limits from `/info`.

use super::auth::{self, AuthConfig, Session};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{self, HttpOptions, Retry};
use crate::log;
use serde_json::Value;
use std::io::Read;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

/// One request relative to the storage URL. `body` is in memory so a retry can resend it.
#[derive(Clone, Debug)]
pub struct Req<'a> {
    pub method: &'static str,
    pub container: Option<&'a str>,
    pub object: Option<&'a str>,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
    /// Whole-request deadline for requests that must not wait on a stalled peer (cleanup).
    pub deadline: Option<Duration>,
}

impl<'a> Req<'a> {
    pub fn new(method: &'static str, container: Option<&'a str>, object: Option<&'a str>) -> Req<'a> {
        Req { method, container, object, query: Vec::new(), headers: Vec::new(), body: &[], deadline: None }
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
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = Some(d);
        self
    }
    /// "PUT backups/full.tar", for messages.
    pub fn describe(&self) -> String {
        let mut s = format!("{} ", self.method);
        match (self.container, self.object) {
            (None, _) => s.push_str("(account)"),
            (Some(c), None) => s.push_str(&printable(c)),
            (Some(c), Some(o)) => s.push_str(&format!("{}/{}", printable(c), printable(o))),
        }
        if let Some((k, _)) = self.query.iter().find(|(k, _)| k == "multipart-manifest" || k == "bulk-delete") {
            let v = self.query.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.as_str()).unwrap_or("");
            s.push_str(&if v.is_empty() { format!("?{k}") } else { format!("?{k}={v}") });
        }
        s
    }
}

/// The cluster's limits and features (`GET /info`), with Swift's defaults when it is hidden.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
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
pub struct ObjectMeta {
    pub size: u64,
    /// Unquoted.
    pub etag: String,
    pub slo: bool,
    /// `X-Object-Manifest` of a DLO: `container/prefix`.
    pub dlo: Option<String>,
    pub content_type: Option<String>,
    pub last_modified: Option<String>,
}

impl ObjectMeta {
    pub fn from_response(resp: &ureq::Response) -> ObjectMeta {
        ObjectMeta {
            size: resp.header("Content-Length").and_then(|v| v.trim().parse().ok()).unwrap_or(0),
            etag: unquote(resp.header("Etag").unwrap_or("")),
            slo: resp.header("X-Static-Large-Object").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            dlo: resp.header("X-Object-Manifest").map(str::to_string),
            content_type: resp.header("Content-Type").map(str::to_string),
            last_modified: resp.header("Last-Modified").map(str::to_string),
        }
    }
}

pub fn unquote(s: &str) -> String {
    s.trim().trim_matches('"').to_string()
}

pub struct SwiftClient {
    agent: ureq::Agent,
    auth: AuthConfig,
    /// The current session and a generation number, so that when several workers see the
    /// same expired token only the first re-authenticates.
    session: RwLock<Option<(u64, Session)>>,
    retry: Retry,
    verbose: u8,
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
            agent: http::build_agent(&http_opts)?,
            auth,
            session: RwLock::new(None),
            retry: http_opts.retry,
            verbose,
            info: OnceLock::new(),
        })
    }

    pub fn verbose(&self) -> u8 {
        self.verbose
    }

    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    fn current(&self) -> Option<(u64, Session)> {
        match self.session.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The session, authenticating on first use.
    pub fn session(&self) -> Result<(u64, Session)> {
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
        let s = auth::authenticate(&self.agent, &self.auth, &self.retry, self.verbose)?;
        let gen = guard.as_ref().map(|(g, _)| g + 1).unwrap_or(1);
        *guard = Some((gen, s.clone()));
        Ok((gen, s))
    }

    pub fn storage_url(&self) -> Result<String> {
        Ok(self.session()?.1.storage_url)
    }

    pub fn url_for(storage_url: &str, req: &Req) -> String {
        let mut url = storage_url.to_string();
        if let Some(c) = req.container {
            url.push('/');
            url.push_str(&quote(c, false));
            if let Some(o) = req.object {
                url.push('/');
                url.push_str(&quote(o, true));
            }
        }
        if !req.query.is_empty() {
            let q: Vec<String> = req
                .query
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() && k != "marker" && k != "prefix" {
                        quote(k, false)
                    } else {
                        format!("{}={}", quote(k, false), quote(v, false))
                    }
                })
                .collect();
            url.push('?');
            url.push_str(&q.join("&"));
        }
        url
    }

    /// Sends a request: renews an expired token and retries what is worth retrying.
    pub fn send(&self, req: &Req) -> Result<ureq::Response> {
        let what = req.describe();
        let mut attempt = 0;
        let mut renewals = 0;
        loop {
            attempt += 1;
            let (gen, session) = self.session()?;
            let url = Self::url_for(&session.storage_url, req);
            let mut r = self.agent.request(req.method, &url).set("X-Auth-Token", session.token.expose());
            for (k, v) in &req.headers {
                r = r.set(k, v);
            }
            if let Some(d) = req.deadline {
                r = r.timeout(d);
            }
            if self.verbose >= 2 {
                log::note(format!("{what} (attempt {attempt})"));
            }
            let result = if req.body.is_empty() && matches!(req.method, "GET" | "HEAD" | "DELETE") {
                r.call()
            } else {
                r.send_bytes(req.body)
            };
            let (err, retryable) = match result {
                Ok(resp) => return Ok(resp),
                Err(ureq::Error::Transport(t)) => http::transport_error(&what, &t),
                Err(ureq::Error::Status(401, resp)) if self.auth.can_renew() && renewals < 3 => {
                    drain(resp);
                    renewals += 1;
                    attempt -= 1;
                    if self.verbose >= 1 {
                        log::note(format!("{what}: the token was rejected (expired?); authenticating again"));
                    }
                    self.renew(gen)?;
                    continue;
                }
                Err(ureq::Error::Status(status, resp)) => classify(&what, status, resp, &self.auth),
            };
            if retryable && attempt < self.retry.max_attempts {
                let pause = self.retry.delay(attempt);
                if self.verbose >= 1 {
                    log::note(format!("{}; retry {attempt} in {:.1}s", err.message(), pause.as_secs_f64()));
                }
                std::thread::sleep(pause);
                continue;
            }
            return Err(if retryable && attempt > 1 {
                let status = err.status();
                Error::new(err.kind(), format!("{} (gave up after {attempt} attempts)", err.message()))
                    .with_code(None, status)
            } else {
                err
            });
        }
    }

    /// Sends and reads a small text body (listings, manifests, bulk answers).
    pub fn send_text(&self, req: &Req) -> Result<String> {
        let resp = self.send(req)?;
        let mut s = String::new();
        resp.into_reader()
            .take(64 << 20)
            .read_to_string(&mut s)
            .map_err(|e| Error::server(format!("{}: reading the answer: {e}", req.describe())))?;
        Ok(s)
    }

    /// The cluster's limits, fetched once from `/info` at the root of the storage URL's host
    /// (authenticating first if needed); Swift's defaults when /info is disabled.
    pub fn info(&self) -> Result<Info> {
        if let Some(i) = self.info.get() {
            return Ok(i.clone());
        }
        let url = info_url(&self.storage_url()?);
        let got = self.agent.get(&url).timeout(Duration::from_secs(30)).call().ok().and_then(|r| r.into_string().ok());
        let info = match got.as_deref().and_then(Info::parse) {
            Some(i) => i,
            None => {
                if self.verbose >= 1 {
                    log::note(format!("{url} unavailable: assuming Swift's default limits"));
                }
                Info::default()
            }
        };
        Ok(self.info.get_or_init(|| info).clone())
    }

    pub fn head_object(&self, container: &str, object: &str) -> Result<ObjectMeta> {
        let resp = self.send(&Req::new("HEAD", Some(container), Some(object)))?;
        Ok(ObjectMeta::from_response(&resp))
    }

    /// HEAD of a container: its storage policy, or NotFound.
    pub fn container_policy(&self, container: &str) -> Result<Option<String>> {
        let resp = self.send(&Req::new("HEAD", Some(container), None))?;
        Ok(resp.header("X-Storage-Policy").map(str::to_string))
    }

    pub fn put_container(&self, container: &str, policy: Option<&str>) -> Result<()> {
        let mut req = Req::new("PUT", Some(container), None);
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
        let mut req = Req::new("PUT", Some(container), Some(object)).body(data).header("Etag", md5_hex);
        req.headers.extend(headers.iter().cloned());
        let resp = self.send(&req)?;
        let etag = unquote(resp.header("Etag").unwrap_or(""));
        drain(resp);
        if !etag.eq_ignore_ascii_case(md5_hex) {
            return Err(Error::verify(format!(
                "{}: the server's ETag {etag:?} is not the MD5 of the data sent ({md5_hex})",
                req.describe()
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
        let mut req = Req::new("DELETE", Some(container), Some(object));
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
    pub fn delete_paths(&self, paths: &[(String, String)], deadline: Duration) -> Vec<(String, String)> {
        let mut failed = Vec::new();
        if let Some(max) = self.info().ok().and_then(|i| i.bulk_delete) {
            for chunk in paths.chunks(max.clamp(1, 10_000)) {
                let body: String =
                    chunk.iter().map(|(c, o)| format!("/{}/{}\n", quote(c, false), quote(o, true))).collect();
                let req = Req::new("POST", None, None)
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
    pub fn list_page(
        &self,
        container: Option<&str>,
        prefix: Option<&str>,
        delimiter: Option<char>,
        marker: &str,
        limit: usize,
    ) -> Result<Vec<Value>> {
        let mut req = Req::new("GET", container, None).query("format", "json").query("limit", limit.to_string());
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
            _ => Err(Error::server(format!("{}: the listing is not a JSON array", req.describe()))),
        }
    }
}

/// `https://host/v1/AUTH_x` -> `https://host/info` (the proxy serves /info at its root).
pub fn info_url(storage_url: &str) -> String {
    let (scheme, rest) = storage_url.split_once("://").unwrap_or(("http", storage_url));
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let base = match path.find("v1/").or_else(|| path.find("v1")) {
        Some(i) if path[..i].is_empty() || path[..i].ends_with('/') => &path[..i],
        _ => "",
    };
    format!("{scheme}://{host}/{base}info")
}

/// Reads and discards a small body so the connection goes back to the pool.
pub fn drain(resp: ureq::Response) {
    let _ = std::io::copy(&mut resp.into_reader().take(1 << 20), &mut std::io::sink());
}

/// Percent-encodes like Python's `quote(s, safe='/')` (or no safe characters).
pub fn quote(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub use crate::log::printable;

/// Turns an error response into an `Error` of the right kind, and says whether to retry.
fn classify(what: &str, status: u16, resp: ureq::Response, auth: &AuthConfig) -> (Error, bool) {
    let trans = resp.header("X-Trans-Id").map(str::to_string);
    let mut body = String::new();
    let _ = resp.into_reader().take(16 << 10).read_to_string(&mut body);
    let text = strip_tags(&body);
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
    (Error::new(kind, format!("{what}: {detail}{hint}")).with_code(None, Some(status)), retry)
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
    fn quoting() {
        assert_eq!(quote("a b/c%d", true), "a%20b/c%25d");
        assert_eq!(quote("a/b", false), "a%2Fb");
        assert_eq!(quote("é", true), "%C3%A9");
    }

    #[test]
    fn parses_info() {
        let i = Info::parse(r#"{"swift":{"max_file_size":100},"slo":{"max_manifest_segments":10,"max_manifest_size":8388608,"min_segment_size":1},"bulk_delete":{"max_deletes_per_request":10000}}"#).unwrap();
        assert_eq!(i.max_manifest_segments, 10);
        assert_eq!(i.max_file_size, 100);
        assert_eq!(i.bulk_delete, Some(10000));
    }
}
