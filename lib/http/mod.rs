//! The HTTP layer shared by the S3 and Swift clients: one ureq agent with connect and idle-read
//! timeouts (nothing waits forever), TLS ([`tls`]), one request type ([`Request`]), one retry
//! loop with exponential backoff and full jitter ([`Client::send`], [`Retry`], [`Attempts`]),
//! the mapping of network failures to errors, and the encodings both protocols use.
//!
//! A protocol client (S3, Swift) owns a [`Client`] and sends through [`Client::send`], giving
//! it one closure that makes a single attempt: build the URL, add the authentication of the
//! moment (a fresh SigV4 signature, the current Swift token), [`Client::call`], and judge an
//! error answer as a [`Failure`]. The loop around it counts attempts, says what it retries
//! under `-v`, sleeps the backoff and gives up the same way for every protocol.

mod connection;
pub mod encoding;
mod request;
mod retry;
pub mod tls;

pub(crate) use encoding::unquote_etag;
pub use request::Request;
pub(crate) use retry::Attempts;
pub use retry::Retry;

use crate::error::{Error, Result};
use crate::log;
use crate::rate::{RateLimit, Throttled};
use std::io::{ErrorKind as IoKind, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Time allowed to establish a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest silence tolerated while reading or writing: an idle timeout, not a deadline, so a
    /// slow but moving 5 GiB part is fine while a stalled one fails.
    pub idle_timeout: Duration,
    /// Extra CA certificates (PEM) trusted besides the built-in roots.
    pub ca_bundle: Option<PathBuf>,
    /// Whether TLS will be used at all; skips loading CA files for http:// endpoints.
    pub https: bool,
    pub retry: Retry,
    /// `--limit-rate`: request and data bodies go through this shared token bucket.
    pub rate: Option<Arc<RateLimit>>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            ca_bundle: None,
            https: true,
            retry: Retry::default(),
            rate: None,
        }
    }
}

pub(crate) fn user_agent() -> String {
    format!("sluice/{}", env!("CARGO_PKG_VERSION"))
}

/// Why one attempt failed, and what to do about it.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Worth another attempt after the backoff, while attempts remain.
    Transient(Error),
    /// Final: retrying cannot help.
    Permanent(Error),
    /// Try again at once, without counting an attempt: the attempt fixed its own cause (a
    /// corrected region, a renewed token).
    Again,
}

impl Failure {
    pub fn new(err: Error, retryable: bool) -> Failure {
        if retryable {
            Failure::Transient(err)
        } else {
            Failure::Permanent(err)
        }
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        Failure::Permanent(err)
    }
}

/// The agents, the retry policy and the verbosity one protocol client sends with.
pub(crate) struct Client {
    /// For http:// URLs, which reach ureq as https ([`connection::wire_url`]) but get no TLS.
    plain: ureq::Agent,
    /// For https:// URLs.
    tls: ureq::Agent,
    idle_timeout: Duration,
    retry: Retry,
    verbose: u8,
    rate: Option<Arc<RateLimit>>,
}

impl Client {
    /// Builds the agent. Redirects are never followed: S3 answers a wrong region with a 301 we
    /// must read ourselves, and following a redirect would send a signature made for another host.
    /// Connections are kept alive between requests; every connection's stream comes from a
    /// [`connection::Connector`], which gives each request the idle timeouts.
    pub fn new(opts: &HttpOptions, verbose: u8) -> Result<Client> {
        let agent = |tls: Option<Arc<rustls::ClientConfig>>| {
            ureq::AgentBuilder::new()
                .timeout_connect(opts.connect_timeout)
                .timeout_read(opts.idle_timeout)
                .timeout_write(opts.idle_timeout)
                .redirects(0)
                .max_idle_connections_per_host(64)
                .user_agent(&user_agent())
                .tls_connector(Arc::new(connection::Connector { tls, idle: opts.idle_timeout }))
                .build()
        };
        // The CA bundle is read only when TLS will be used.
        let ca = if opts.https { opts.ca_bundle.as_deref() } else { None };
        Ok(Client {
            plain: agent(None),
            tls: agent(Some(Arc::new(tls::config(ca)?))),
            idle_timeout: opts.idle_timeout,
            retry: opts.retry,
            verbose,
            rate: opts.rate.clone(),
        })
    }

    /// The retry policy, for callers that retry beyond `send` (a body cut short mid-read).
    pub fn retry(&self) -> Retry {
        self.retry
    }

    pub(crate) fn verbose(&self) -> u8 {
        self.verbose
    }

    /// A data body being received (an object, a range, a segment), through `--limit-rate`.
    pub(crate) fn body_reader(&self, resp: ureq::Response) -> Box<dyn Read + Send> {
        match &self.rate {
            Some(rate) => Box::new(Throttled::new(resp.into_reader(), Arc::clone(rate))),
            None => Box::new(resp.into_reader()),
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the attempts are used up; `what`
    /// names the request in messages ("PUT s3://b/k?partNumber=3").
    pub fn send<T>(&self, what: &str, attempt: impl FnMut() -> std::result::Result<T, Failure>) -> Result<T> {
        self.send_counted(what, attempt).0
    }

    /// Like [`Client::send`], also saying how many attempts failed before the outcome. A failed
    /// attempt may have taken effect all the same (its answer lost, or too late): the caller of
    /// a request that is not idempotent may have to look.
    pub fn send_counted<T>(
        &self,
        what: &str,
        mut attempt: impl FnMut() -> std::result::Result<T, Failure>,
    ) -> (Result<T>, u32) {
        let mut attempts = Attempts::new(self.retry);
        loop {
            let err = match attempt() {
                Ok(v) => return (Ok(v), attempts.failures()),
                Err(Failure::Again) => continue,
                Err(Failure::Permanent(e)) => return (Err(e), attempts.failures()),
                Err(Failure::Transient(e)) => e,
            };
            let Some(pause) = attempts.failed() else { return (Err(attempts.gave_up(err)), attempts.failures()) };
            retry_event(what, &err, &attempts, pause, self.verbose >= 1);
            std::thread::sleep(pause);
        }
    }

    /// One exchange: `req`'s method, headers, body and deadline sent to `url`, plus `auth`
    /// headers (a signature, a token: added here so they never sit in the request).
    // ureq's own error, which the caller matches at once (transport failure or status).
    #[allow(clippy::result_large_err)]
    pub fn call(
        &self,
        req: &Request,
        url: &str,
        auth: &[(String, String)],
    ) -> std::result::Result<ureq::Response, ureq::Error> {
        // -vv: the request line as sent, real host included; credentials are in `auth`
        // headers, never in the URL.
        if self.verbose >= 2 {
            log::debug(format!("{} {url}", req.method));
        }
        let (wire, host) = connection::wire_url(url);
        let agent = if host.is_some() { &self.plain } else { &self.tls };
        let mut r = agent.request(req.method, &wire);
        if let Some(h) = &host {
            r = r.set("host", h);
        }
        for (k, v) in req.headers.iter().chain(auth) {
            r = r.set(k, v);
        }
        if let Some(d) = req.deadline {
            r = r.timeout(d);
        }
        match &self.rate {
            _ if req.bodiless() => r.call(),
            // Sized, so never chunked: the bytes go out at the limit, the framing is unchanged.
            Some(rate) if !req.body.is_empty() => {
                r.set("content-length", &req.body.len().to_string()).send(Throttled::new(req.body, Arc::clone(rate)))
            }
            _ => r.send_bytes(req.body),
        }
    }

    /// Maps a transport failure (no HTTP status) of `req` to an error, retryable or not.
    /// `what` names the request ("PUT s3://b/k?partNumber=3"). The message never holds the URL
    /// (its query may carry a signature) nor raw OS errors for timeouts.
    pub(crate) fn transport_failure(&self, what: &str, req: &Request, t: &ureq::Transport) -> Failure {
        use ureq::ErrorKind as K;
        let detail = t.message().unwrap_or("").to_string();
        let source = std::error::Error::source(t).map(|s| s.to_string()).unwrap_or_default();
        let text = one_line(&format!("{detail} {source}"));
        let text = if text.is_empty() { t.kind().to_string() } else { text };
        let timed_out = io_source(t).is_some_and(|e| matches!(e.kind(), IoKind::TimedOut | IoKind::WouldBlock));
        match t.kind() {
            K::Dns => Failure::Permanent(Error::config(format!("{what}: cannot resolve host: {text}; check the endpoint"))),
            // Never transient: the same header fails the same way. The value is left out of the
            // message, as it may be a credential (flag values are checked before any request).
            K::BadHeader => match detail.strip_prefix("invalid header '").and_then(|h| h.split_once(':')) {
                Some((name, _)) => Failure::Permanent(Error::config(format!(
                    "{what}: the header {name:?} cannot be sent: HTTP header values must be printable ASCII"
                ))),
                None => Failure::Permanent(Error::server(format!("{what}: bad header in the answer: {}", one_line(&detail)))),
            },
            K::InvalidUrl | K::UnknownScheme => Failure::Permanent(Error::config(format!(
                "{what}: invalid URL ({text}); use an http:// or https:// URL"
            ))),
            _ if text.contains("certificate") || text.contains("UnknownIssuer") || text.contains("NotValidForName") => {
                Failure::Permanent(Error::config(format!(
                    "{what}: TLS certificate not trusted ({}): pass the server's CA with --ca-bundle (or AWS_CA_BUNDLE for S3, OS_CACERT for Swift)",
                    source.trim().trim_start_matches("invalid peer certificate: ")
                )))
            }
            K::ConnectionFailed if timed_out || text.contains("timed out") => {
                Failure::Transient(Error::server(format!("{what}: connection timed out; is the endpoint reachable?")))
            }
            K::ConnectionFailed => Failure::Transient(Error::server(format!("{what}: cannot connect: {text}"))),
            _ if timed_out => Failure::Transient(Error::server(match req.deadline {
                Some(d) => format!(
                    "{what}: no answer from the server in time (idle timeout --timeout {}, {} for the whole request)",
                    seconds(self.idle_timeout),
                    seconds(d)
                ),
                None => format!(
                    "{what}: no data from the server within the idle timeout (--timeout {})",
                    seconds(self.idle_timeout)
                ),
            })),
            _ => Failure::Transient(Error::server(format!("{what}: {text}"))),
        }
    }
}

/// The I/O error at the root of a transport failure, if any.
fn io_source(t: &ureq::Transport) -> Option<&std::io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cur = e.source();
    }
    None
}

/// `3 s`, `0.5 s`.
fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// The `retry` event: what failed, how, which attempt, and the pause before the next. JSON
/// always has it; the text format shows it under -v (`text`).
pub(crate) fn retry_event(what: &str, err: &Error, attempts: &Attempts, pause: Duration, text: bool) {
    let message = format!("{}; retry {} in {:.1}s", err.message(), attempts.failures(), pause.as_secs_f64());
    let mut e = retry(message, what, err.message(), attempts, pause).text_if(text);
    if let Some(code) = err.code() {
        e = e.field("error_code", code);
    }
    if let Some(status) = err.status() {
        e = e.field("http_status", status);
    }
    e.emit();
}

/// The `retry` event of a download that resumes after its body was cut short (`cut` says how,
/// `at` where); `message` is the text format's line, shown under -v (`text`).
pub(crate) fn resume_event(
    message: String,
    what: &str,
    cut: &str,
    attempts: &Attempts,
    pause: Duration,
    at: Option<u64>,
    text: bool,
) {
    retry(message, what, cut, attempts, pause).field("resume_at", at).text_if(text).emit();
}

fn retry(message: String, what: &str, error: &str, attempts: &Attempts, pause: Duration) -> log::Event {
    log::Event::warn("retry", message)
        .field("what", what)
        .field("error", error)
        .field("attempt", attempts.failures())
        .field("max_attempts", attempts.max())
        .field("delay_seconds", log::round_ms(pause.as_secs_f64()))
}

/// Whether an HTTP status is worth retrying as such (S3 error codes refine this).
pub(crate) fn status_is_retryable(status: u16) -> bool {
    status == 429 || status >= 500
}

/// Whether an I/O error while streaming a body is worth resuming after.
pub(crate) fn io_error_retryable(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::TimedOut
            | K::WouldBlock
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::BrokenPipe
            | K::UnexpectedEof
            | K::Interrupted
    )
}

/// Reads a small response body (XML or JSON answers), bounded so a misbehaving server cannot
/// exhaust memory.
pub(crate) fn read_text(resp: ureq::Response, what: &str) -> Result<String> {
    let mut s = String::new();
    resp.into_reader()
        .take(64 << 20)
        .read_to_string(&mut s)
        .map_err(|e| Error::server(format!("{what}: reading the response: {e}")))?;
    Ok(s)
}

/// The first `limit` bytes of an error answer's body, as text (empty when unreadable).
pub(crate) fn error_body(resp: ureq::Response, limit: u64) -> String {
    let mut s = String::new();
    let _ = resp.into_reader().take(limit).read_to_string(&mut s);
    s
}

/// Reads and discards a small body so the connection goes back to the pool.
pub fn drain(resp: ureq::Response) {
    let _ = std::io::copy(&mut resp.into_reader().take(1 << 20), &mut std::io::sink());
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
