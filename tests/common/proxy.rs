//! A fault-injecting HTTP/1.1 proxy in front of a real server.
//!
//! It parses just enough HTTP/1.1 to find request and response boundaries (Content-Length,
//! chunked, read-to-close, `Expect: 100-continue`, keep-alive on the client side), records
//! every request it sees and applies the first armed [`Rule`] matching a request. Bytes are
//! relayed untouched (the Host header included), so SigV4 signatures stay valid.
//!
//! ```ignore
//! let proxy = FaultProxy::for_s3(&env);
//! proxy.add(Rule::new(Fault::Status(503)).method("PUT").query_contains("partNumber=").nth(2));
//! let out = env.with_endpoint(&proxy.endpoint()).cmd("s3put")...;
//! assert_eq!(proxy.injected(), 1);
//! ```

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::S3Env;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// An idle client connection, or a server that stops answering, frees its thread after this.
const IO_TIMEOUT: Duration = Duration::from_secs(300);
const MAX_HEAD: usize = 64 * 1024;

/// What to do to a request a rule selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and an S3 error body (503 SlowDown, 500 InternalError,
    /// else a generic code) without forwarding; the request body is read first.
    Status(u16),
    /// Like `Status` with an explicit S3 error code (e.g. 400 "RequestTimeout").
    S3Error(u16, &'static str),
    /// Read about half of the request body, then close the connection.
    DropMidRequestBody,
    /// Forward the whole request (the server acts on it), then close without any response.
    CloseBeforeResponse,
    /// Forward, then send the response head and about half the body, then close.
    DropMidResponseBody,
    /// Forward, then send the response head and only this many body bytes, then close.
    TruncateResponseBody(usize),
    /// Forward the request, then wait this long before sending the response.
    Stall(Duration),
    /// Forward, send about half the response body, wait this long, then send the rest.
    StallMidResponseBody(Duration),
    /// Forward the whole response, with the byte in the middle of the body inverted: the
    /// length is right, the content is not (a bad disk, cache or middlebox).
    FlipByteMidResponseBody,
    /// Forward the request with the byte in the middle of its body inverted (same length):
    /// corruption in transit, which the body's hash must catch.
    FlipByteMidRequestBody,
    /// Forward, then relay the response with its ETag header replaced by this value.
    RewriteEtag(&'static str),
}

/// Selects requests by method and substrings of path and query, and arms a fault for the
/// `nth` matching request (1-based) and the `times - 1` matching requests after it; later
/// matching requests pass, so a client's retry can succeed.
#[derive(Clone, Debug)]
pub struct Rule {
    method: Option<String>,
    path_contains: Option<String>,
    query_contains: Option<String>,
    skip: usize,
    times: usize,
    fault: Fault,
    matched: usize,
}

impl Rule {
    /// Matches every request, faults the first one once.
    pub fn new(fault: Fault) -> Rule {
        Rule { method: None, path_contains: None, query_contains: None, skip: 0, times: 1, fault, matched: 0 }
    }
    pub fn method(mut self, m: &str) -> Rule {
        self.method = Some(m.to_ascii_uppercase());
        self
    }
    pub fn path_contains(mut self, s: &str) -> Rule {
        self.path_contains = Some(s.to_string());
        self
    }
    /// Substring of the raw query string, e.g. "partNumber=" or "uploads".
    pub fn query_contains(mut self, s: &str) -> Rule {
        self.query_contains = Some(s.to_string());
        self
    }
    /// The first faulted request is the nth matching one (1-based).
    pub fn nth(mut self, n: usize) -> Rule {
        assert!(n >= 1, "nth is 1-based");
        self.skip = n - 1;
        self
    }
    /// How many consecutive matching requests get the fault.
    pub fn times(mut self, n: usize) -> Rule {
        self.times = n;
        self
    }
    /// Fault every matching request from the nth on.
    pub fn always(mut self) -> Rule {
        self.times = usize::MAX;
        self
    }

    fn matches(&self, method: &str, path: &str, query: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self.path_contains.as_deref().is_none_or(|s| path.contains(s))
            && self.query_contains.as_deref().is_none_or(|s| query.contains(s))
    }
}

/// A request the proxy saw, and the fault it got, if any.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// The request target as sent: path plus `?query`.
    pub target: String,
    /// The request's headers, names as sent.
    pub headers: Vec<(String, String)>,
    pub fault: Option<Fault>,
}

impl Seen {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    rules: Mutex<Vec<Rule>>,
    seen: Mutex<Vec<Seen>>,
}

impl State {
    /// Counts the request against every matching rule; the first rule in its window fires.
    fn decide(&self, method: &str, target: &str, headers: &[(String, String)]) -> Option<Fault> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut fault = None;
        for rule in self.rules.lock().unwrap().iter_mut() {
            if !rule.matches(method, path, query) {
                continue;
            }
            rule.matched += 1;
            let fires = rule.matched > rule.skip && rule.matched - rule.skip <= rule.times;
            if fires && fault.is_none() {
                fault = Some(rule.fault.clone());
            }
        }
        self.seen.lock().unwrap().push(Seen {
            method: method.to_string(),
            target: target.to_string(),
            headers: headers.to_vec(),
            fault: fault.clone(),
        });
        fault
    }
}

pub struct FaultProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1:<free port> and forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let state = Arc::new(State::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                // Errors just end that connection: the client sees what a broken server does.
                thread::spawn(move || {
                    let _ = serve(conn, upstream, &st);
                });
            }
        });
        FaultProxy { addr, upstream, state, stop }
    }

    /// A proxy in front of the test Garage.
    pub fn for_s3(env: &S3Env) -> FaultProxy {
        FaultProxy::start(env.addr())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// `http://127.0.0.1:<port>`, to use as the client's endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add(&self, rule: Rule) {
        self.state.rules.lock().unwrap().push(rule);
    }

    pub fn clear_rules(&self) {
        self.state.rules.lock().unwrap().clear();
    }

    /// Forgets the requests seen so far (and so the faults counted by [`FaultProxy::injected`]).
    pub fn clear_requests(&self) {
        self.state.seen.lock().unwrap().clear();
    }

    /// Every request seen so far, in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// Requests with this method (any if "") whose target contains `needle`.
    pub fn count(&self, method: &str, needle: &str) -> usize {
        self.state
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| (method.is_empty() || s.method == method) && s.target.contains(needle))
            .count()
    }

    /// How many requests got a fault.
    pub fn injected(&self) -> usize {
        self.state.seen.lock().unwrap().iter().filter(|s| s.fault.is_some()).count()
    }

    /// Armed faults not yet delivered (0 once every finite rule has fired fully).
    pub fn pending(&self) -> usize {
        self.state
            .rules
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.times != usize::MAX)
            .map(|r| r.times - r.matched.saturating_sub(r.skip).min(r.times))
            .sum()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// A parsed message head; `raw` is relayed byte for byte.
struct Head {
    raw: Vec<u8>,
    first: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .any(|(_, v)| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }
    fn status(&self) -> u16 {
        self.first.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
    }
    fn framing(&self) -> io::Result<Framing> {
        if self.has_token("transfer-encoding", "chunked") {
            Ok(Framing::Chunked)
        } else if let Some(v) = self.header("content-length") {
            v.trim().parse().map(Framing::Length).map_err(|_| bad("bad Content-Length"))
        } else {
            Ok(Framing::Close)
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Framing {
    Length(u64),
    Chunked,
    /// Response body runs to connection close (a request without length has no body).
    Close,
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// Reads a message head; None on a clean EOF before any byte.
fn read_head(r: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut raw = Vec::new();
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line)? == 0 {
            return if raw.is_empty() { Ok(None) } else { Err(bad("EOF inside message head")) };
        }
        let text = String::from_utf8_lossy(&line).trim_end_matches(['\r', '\n']).to_string();
        if text.is_empty() && lines.is_empty() {
            continue; // stray CRLF between messages
        }
        raw.extend_from_slice(&line);
        if raw.len() > MAX_HEAD {
            return Err(bad("message head too large"));
        }
        if text.is_empty() {
            break;
        }
        lines.push(text);
    }
    let first = lines.remove(0);
    let headers = lines
        .iter()
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect();
    Ok(Some(Head { raw, first, headers }))
}

/// Where relayed body bytes go, with an optional cut-off and an optional pause.
struct Sink<'a> {
    w: &'a mut dyn Write,
    written: u64,
    cut_at: Option<u64>,
    stall_at: Option<(u64, Duration)>,
    flip_at: Option<u64>,
}

impl<'a> Sink<'a> {
    fn new(w: &'a mut dyn Write) -> Sink<'a> {
        Sink { w, written: 0, cut_at: None, stall_at: None, flip_at: None }
    }

    /// Writes what the budget allows; false once the cut-off is reached.
    fn put(&mut self, mut data: &[u8]) -> io::Result<bool> {
        while !data.is_empty() {
            let mut n = data.len() as u64;
            if let Some(cut) = self.cut_at {
                if self.written >= cut {
                    return Ok(false);
                }
                n = n.min(cut - self.written);
            }
            if let Some((at, pause)) = self.stall_at {
                if self.written == at {
                    self.w.flush()?;
                    thread::sleep(pause);
                    self.stall_at = None;
                    continue;
                }
                if self.written < at {
                    n = n.min(at - self.written);
                }
            }
            let n = n as usize;
            match self.flip_at {
                Some(at) if (self.written..self.written + n as u64).contains(&at) => {
                    let mut piece = data[..n].to_vec();
                    piece[(at - self.written) as usize] ^= 0xff;
                    self.w.write_all(&piece)?;
                }
                _ => self.w.write_all(&data[..n])?,
            }
            self.written += n as u64;
            data = &data[n..];
        }
        Ok(self.cut_at.is_none_or(|c| self.written < c))
    }
}

/// Relays one body; Ok(false) if the sink's cut-off ended it early.
fn copy_body(r: &mut impl BufRead, sink: &mut Sink, framing: Framing) -> io::Result<bool> {
    match framing {
        Framing::Length(n) => copy_exact(r, sink, n),
        Framing::Close => loop {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                return Ok(true);
            }
            let n = buf.len();
            if !sink.put(buf)? {
                return Ok(false);
            }
            r.consume(n);
        },
        Framing::Chunked => loop {
            let line = read_line(r)?;
            if !sink.put(&line)? {
                return Ok(false);
            }
            let text = String::from_utf8_lossy(&line);
            let size_hex = text.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_hex, 16).map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                // Trailers up to the empty line end the body.
                loop {
                    let t = read_line(r)?;
                    if !sink.put(&t)? {
                        return Ok(false);
                    }
                    if t == b"\r\n" || t == b"\n" {
                        return Ok(true);
                    }
                }
            }
            // Chunk data plus its CRLF.
            if !copy_exact(r, sink, size + 2)? {
                return Ok(false);
            }
        },
    }
}

fn read_line(r: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    r.by_ref().take(4096).read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\n") {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "EOF inside chunked body"));
    }
    Ok(line)
}

fn copy_exact(r: &mut impl BufRead, sink: &mut Sink, mut n: u64) -> io::Result<bool> {
    while n > 0 {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "EOF inside body"));
        }
        let take = (buf.len() as u64).min(n) as usize;
        if !sink.put(&buf[..take])? {
            return Ok(false);
        }
        r.consume(take);
        n -= take as u64;
    }
    Ok(true)
}

fn s3_error_body(status: u16, code: &str) -> Vec<u8> {
    let msg = match code {
        "SlowDown" => "Please reduce your request rate.",
        "InternalError" => "We encountered an internal error. Please try again.",
        _ => "Injected by the test fault proxy.",
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{msg}</Message>\
         <RequestId>faultproxy{status}</RequestId></Error>"
    )
    .into_bytes()
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

fn send_error(w: &mut impl Write, status: u16, code: &str, close: bool, head_only: bool) -> io::Result<()> {
    let body = s3_error_body(status, code);
    let conn = if close { "Connection: close\r\n" } else { "" };
    write!(
        w,
        "HTTP/1.1 {status} {}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
         x-amz-request-id: faultproxy\r\n{conn}\r\n",
        reason(status),
        body.len()
    )?;
    if !head_only {
        w.write_all(&body)?;
    }
    w.flush()
}

/// Serves one client connection: request after request until either side closes.
fn serve(client: TcpStream, upstream: SocketAddr, state: &State) -> io::Result<()> {
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    client.set_write_timeout(Some(IO_TIMEOUT))?;
    client.set_nodelay(true)?;
    let mut cr = BufReader::with_capacity(64 * 1024, client.try_clone()?);
    let mut cw = client;
    loop {
        let Some(req) = read_head(&mut cr)? else { return Ok(()) };
        let mut parts = req.first.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let req_framing = match req.framing()? {
            Framing::Close => Framing::Length(0),
            f => f,
        };
        let expect_continue = req.has_token("expect", "100-continue");
        let fault = state.decide(&method, &target, &req.headers);
        let keep_alive = match fault {
            Some(Fault::Status(s)) => {
                let code = match s {
                    503 => "SlowDown",
                    500 => "InternalError",
                    _ => "InjectedFault",
                };
                reject(&mut cr, &mut cw, &method, req_framing, expect_continue, s, code)?
            }
            Some(Fault::S3Error(s, code)) => reject(&mut cr, &mut cw, &method, req_framing, expect_continue, s, code)?,
            Some(Fault::DropMidRequestBody) => {
                let half = match req_framing {
                    Framing::Length(n) => n / 2,
                    _ => 1024,
                };
                let mut discard = io::sink();
                let mut sink = Sink::new(&mut discard);
                sink.cut_at = Some(half);
                if !expect_continue {
                    let _ = copy_body(&mut cr, &mut sink, req_framing);
                }
                false
            }
            _ => forward(&mut cr, &mut cw, upstream, &req, &method, req_framing, expect_continue, fault)?,
        };
        if !keep_alive || req.has_token("connection", "close") {
            let _ = cw.flush();
            let _ = cw.shutdown(Shutdown::Both);
            return Ok(());
        }
    }
}

/// Answers with an injected error; returns whether the connection can stay open.
#[allow(clippy::too_many_arguments)]
fn reject(
    cr: &mut BufReader<TcpStream>,
    cw: &mut TcpStream,
    method: &str,
    framing: Framing,
    expect_continue: bool,
    status: u16,
    code: &str,
) -> io::Result<bool> {
    let head_only = method == "HEAD";
    if expect_continue {
        // The client waits for 100 before the body: refuse it outright, as S3 may.
        send_error(cw, status, code, true, head_only)?;
        return Ok(false);
    }
    copy_body(cr, &mut Sink::new(&mut io::sink()), framing)?;
    send_error(cw, status, code, false, head_only)?;
    Ok(true)
}

/// Forwards one exchange over a fresh server connection, applying a response-side fault.
/// Returns whether the client connection can stay open.
#[allow(clippy::too_many_arguments)]
fn forward(
    cr: &mut BufReader<TcpStream>,
    cw: &mut TcpStream,
    upstream: SocketAddr,
    req: &Head,
    method: &str,
    req_framing: Framing,
    expect_continue: bool,
    fault: Option<Fault>,
) -> io::Result<bool> {
    let up = match TcpStream::connect_timeout(&upstream, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(_) => {
            send_error(cw, 502, "BadGateway", true, method == "HEAD")?;
            return Ok(false);
        }
    };
    up.set_read_timeout(Some(IO_TIMEOUT))?;
    up.set_write_timeout(Some(IO_TIMEOUT))?;
    up.set_nodelay(true)?;
    let mut ur = BufReader::with_capacity(64 * 1024, up.try_clone()?);
    let mut uw = up;
    uw.write_all(&req.raw)?;

    if expect_continue {
        let Some(interim) = read_head(&mut ur)? else { return Ok(false) };
        if interim.status() != 100 {
            // A final answer before the body: relay it and close, since the client may
            // or may not send the body now.
            cw.write_all(&interim.raw)?;
            copy_body(&mut ur, &mut Sink::new(cw), response_framing(method, &interim)?)?;
            return Ok(false);
        }
        cw.write_all(&interim.raw)?;
        cw.flush()?;
    }
    // A server may answer before reading the whole body (an early 403) and close: keep reading
    // the client's body so its connection stays in step, and relay the early answer.
    let mut lenient = Lenient(&mut uw);
    let mut req_sink = Sink::new(&mut lenient);
    if let (Some(Fault::FlipByteMidRequestBody), Framing::Length(n)) = (&fault, req_framing) {
        req_sink.flip_at = Some(n / 2);
    }
    copy_body(cr, &mut req_sink, req_framing)?;
    let _ = uw.flush();

    // Skip any further interim responses the server sends.
    let resp = loop {
        let Some(h) = read_head(&mut ur)? else {
            return Ok(false);
        };
        if h.status() / 100 != 1 || h.status() == 101 {
            break h;
        }
        cw.write_all(&h.raw)?;
    };
    let framing = response_framing(method, &resp)?;
    let body_len = match framing {
        Framing::Length(n) => n,
        _ => 2048,
    };

    match fault {
        Some(Fault::CloseBeforeResponse) => {
            let _ = copy_body(&mut ur, &mut Sink::new(&mut io::sink()), framing);
            return Ok(false);
        }
        Some(Fault::Stall(d)) => thread::sleep(d),
        _ => {}
    }
    match &fault {
        Some(Fault::RewriteEtag(etag)) => cw.write_all(&with_etag(&resp.raw, etag))?,
        _ => cw.write_all(&resp.raw)?,
    }
    let mut sink = Sink::new(cw);
    match fault {
        Some(Fault::DropMidResponseBody) => sink.cut_at = Some(body_len / 2),
        Some(Fault::TruncateResponseBody(n)) => sink.cut_at = Some(n as u64),
        Some(Fault::StallMidResponseBody(d)) => sink.stall_at = Some((body_len / 2, d)),
        Some(Fault::FlipByteMidResponseBody) => sink.flip_at = Some(body_len / 2),
        _ => {}
    }
    let complete = copy_body(&mut ur, &mut sink, framing)?;
    let cut = sink.cut_at.is_some();
    cw.flush()?;
    if cut {
        // A cut-off always ends the connection, even when the body was shorter than the cut.
        return Ok(false);
    }
    Ok(complete && !matches!(framing, Framing::Close) && !resp.has_token("connection", "close"))
}

/// A response head with its ETag header (if any) replaced by `etag`, quoted.
fn with_etag(raw: &[u8], etag: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::new();
    for line in text.split_inclusive("\r\n") {
        if line.to_ascii_lowercase().starts_with("etag:") {
            out.push_str(&format!("ETag: \"{etag}\"\r\n"));
        } else {
            out.push_str(line);
        }
    }
    out.into_bytes()
}

fn response_framing(method: &str, resp: &Head) -> io::Result<Framing> {
    let s = resp.status();
    if method == "HEAD" || s / 100 == 1 || s == 204 || s == 304 {
        Ok(Framing::Length(0))
    } else {
        resp.framing()
    }
}

/// A writer that swallows write errors (the peer stopped reading) and reports success, so a
/// request body can still be drained from the client.
struct Lenient<'a>(&'a mut TcpStream);

impl Write for Lenient<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = self.0.write_all(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}
