//! Loopback stand-ins for the AWS credential endpoints that cannot run here: EC2 instance
//! metadata (IMDSv2), the ECS/EKS container credentials endpoint and STS. Each is a small
//! HTTP/1.1 server on 127.0.0.1 (ephemeral port) shaped from AWS's documented requests and
//! answers, hands out the REAL test Garage key with a fresh session token and a chosen
//! lifetime (Garage checks the signature and ignores a token it does not know, so every source
//! is proven by a round trip to the real Garage), records every request it gets (so a test
//! can assert that no other source was asked), and can be told to refuse renewals.
//!
//! - [`Imds`]: `PUT /latest/api/token` (requires `x-aws-ec2-metadata-token-ttl-seconds`),
//!   then `GET /latest/meta-data/iam/security-credentials/[ROLE]` with
//!   `x-aws-ec2-metadata-token`; anything without a valid session token gets 401 (IMDSv2
//!   only, like an instance with `HttpTokens=required`).
//! - [`ContainerEndpoint`]: `GET` on one path, checking the `Authorization` header.
//! - [`Sts`]: `POST /` form bodies. `AssumeRole` must be SigV4-signed (service `sts`, the
//!   expected region) by a caller key the test registered, or by a key this module issued
//!   with its session token; `AssumeRoleWithWebIdentity` must be unsigned and carry a token
//!   the test accepted. Errors are `<ErrorResponse>` documents.
//!
//! Session tokens look like `TEST-<source>-<n>-<random>` so a test can tell who issued the
//! credentials a request carried (see `FaultProxy::requests()` headers).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sluice::sigv4;

use super::S3Env;

/// One request a stand-in received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path plus `?query`, as sent.
    pub target: String,
    /// Names as sent; use [`Recorded::header`] to look one up.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The status the stand-in answered.
    pub status: u16,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The decoded `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> HashMap<String, String> {
        self.body
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect()
    }
}

fn decode(s: &str) -> String {
    sigv4::percent_decode(s, true).unwrap_or_else(|_| s.to_string())
}

/// A stand-in's answer.
struct Answer {
    status: u16,
    content_type: &'static str,
    body: String,
}

impl Answer {
    fn new(status: u16, content_type: &'static str, body: impl Into<String>) -> Answer {
        Answer { status, content_type, body: body.into() }
    }
}

type Handler = Box<dyn Fn(&Recorded) -> Answer + Send + Sync>;

/// A tiny HTTP/1.1 server: one thread per connection, one request per connection
/// (`Connection: close`), every request recorded.
struct Server {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start(handler: Handler) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind stand-in");
        let addr = listener.local_addr().expect("stand-in addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let (lg, sp) = (log.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (lg, h) = (lg.clone(), handler.clone());
                thread::spawn(move || {
                    let _ = serve(conn, &*h, &lg);
                });
            }
        });
        Server { addr, log, stop }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

fn serve(
    conn: TcpStream,
    handler: &(dyn Fn(&Recorded) -> Answer + Send + Sync),
    log: &Mutex<Vec<Recorded>>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut r = BufReader::new(conn.try_clone()?);
    let mut first = String::new();
    if r.read_line(&mut first)? == 0 {
        return Ok(());
    }
    let mut parts = first.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    let mut rec = Recorded { method, target, headers, body: String::from_utf8_lossy(&body).into_owned(), status: 0 };
    let answer = handler(&rec);
    rec.status = answer.status;
    log.lock().unwrap().push(rec);
    let mut w = conn;
    write!(
        w,
        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        answer.status,
        answer.content_type,
        answer.body.len(),
        answer.body
    )?;
    w.flush()
}

/// Every session token any stand-in issued: STS accepts these (with the test key) as the
/// source credentials of a chained AssumeRole.
fn issued_tokens() -> &'static Mutex<HashSet<String>> {
    static T: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    T.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Credentials one issue hands out.
#[derive(Clone, Debug)]
pub struct Issued {
    pub key_id: String,
    pub secret: String,
    pub token: String,
    pub expiration: String,
}

/// Hands out the test key with numbered session tokens; can refuse.
struct Issuer {
    name: &'static str,
    key_id: String,
    secret: String,
    lifetime: Mutex<Duration>,
    /// Successful issues so far.
    issued: AtomicUsize,
    /// Issues beyond this count are refused (None: never).
    limit: Mutex<Option<usize>>,
    /// Attempts so far, and the (1-based) attempts to refuse.
    attempts: AtomicUsize,
    refused: Mutex<HashSet<usize>>,
    tokens: Mutex<Vec<String>>,
}

impl Issuer {
    fn new(name: &'static str, env: &S3Env) -> Issuer {
        Issuer {
            name,
            key_id: env.key_id.clone(),
            secret: env.secret.clone(),
            lifetime: Mutex::new(Duration::from_secs(3600)),
            issued: AtomicUsize::new(0),
            limit: Mutex::new(None),
            attempts: AtomicUsize::new(0),
            refused: Mutex::new(HashSet::new()),
            tokens: Mutex::new(Vec::new()),
        }
    }

    /// None when told to refuse.
    fn issue(&self) -> Option<Issued> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        if self.refused.lock().unwrap().contains(&attempt) {
            return None;
        }
        if let Some(limit) = *self.limit.lock().unwrap() {
            if self.issued.load(Ordering::SeqCst) >= limit {
                return None;
            }
        }
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        // Long and full of the characters real tokens have, to exercise header handling.
        let token = format!("TEST-{}-{n}-{nanos:08x}/+=IQoJb3JpZ2luX2VjEOz//////////wEaCXVzLWVhc3QtMSJH", self.name);
        issued_tokens().lock().unwrap().insert(token.clone());
        self.tokens.lock().unwrap().push(token.clone());
        let expires = SystemTime::now() + *self.lifetime.lock().unwrap();
        Some(Issued {
            key_id: self.key_id.clone(),
            secret: self.secret.clone(),
            token,
            expiration: sluice::time::rfc3339(expires),
        })
    }
}

/// The controls every stand-in shares.
macro_rules! issuer_controls {
    () => {
        /// Credentials handed out from now on expire this long after they are issued
        /// (whole seconds on the wire, as AWS writes them).
        pub fn set_lifetime(&self, d: Duration) {
            *self.issuer.lifetime.lock().unwrap() = d;
        }
        /// Refuse every issue after the first `n` successful ones.
        pub fn refuse_after(&self, n: usize) {
            *self.issuer.limit.lock().unwrap() = Some(n);
        }
        /// Refuse the `n`th request for credentials (1-based), whatever comes before or after
        /// (a transient failure).
        pub fn refuse_attempt(&self, n: usize) {
            self.issuer.refused.lock().unwrap().insert(n);
        }
        /// How many credentials were handed out.
        pub fn issued(&self) -> usize {
            self.issuer.issued.load(Ordering::SeqCst)
        }
        /// The session tokens handed out, in order.
        pub fn tokens(&self) -> Vec<String> {
            self.issuer.tokens.lock().unwrap().clone()
        }
        /// Every request received.
        pub fn requests(&self) -> Vec<Recorded> {
            self.server.requests()
        }
    };
}

/// The JSON document IMDS and the container endpoint answer.
fn credentials_json(c: &Issued, with_code: bool) -> String {
    let code = if with_code {
        "\"Code\": \"Success\",\n  \"LastUpdated\": \"2026-01-01T00:00:00Z\",\n  \"Type\": \"AWS-HMAC\",\n  "
    } else {
        ""
    };
    format!(
        "{{\n  {code}\"AccessKeyId\": \"{}\",\n  \"SecretAccessKey\": \"{}\",\n  \"Token\": \"{}\",\n  \"Expiration\": \"{}\"\n}}",
        c.key_id, c.secret, c.token, c.expiration
    )
}

// ---- IMDS ------------------------------------------------------------------------------------

struct ImdsState {
    issuer: Arc<Issuer>,
    role: String,
    session_tokens: Mutex<HashSet<String>>,
}

/// An IMDSv2-only instance metadata service with one instance profile role.
pub struct Imds {
    server: Server,
    state: Arc<ImdsState>,
    issuer: Arc<Issuer>,
}

impl Imds {
    /// Role `sluice-test-role`.
    pub fn start(env: &S3Env) -> Imds {
        let issuer = Arc::new(Issuer::new("imds", env));
        let state = Arc::new(ImdsState {
            issuer: issuer.clone(),
            role: "sluice-test-role".into(),
            session_tokens: Mutex::new(HashSet::new()),
        });
        let st = state.clone();
        let server = Server::start(Box::new(move |req| imds_answer(&st, req)));
        Imds { server, state, issuer }
    }

    /// For AWS_EC2_METADATA_SERVICE_ENDPOINT.
    pub fn endpoint(&self) -> String {
        self.server.url()
    }

    pub fn role(&self) -> &str {
        &self.state.role
    }

    issuer_controls!();
}

fn imds_answer(st: &ImdsState, req: &Recorded) -> Answer {
    const CREDS: &str = "/latest/meta-data/iam/security-credentials/";
    let text = |s: u16, b: &str| Answer::new(s, "text/plain", b);
    if req.header("x-forwarded-for").is_some() {
        return text(403, "Forbidden");
    }
    if req.path() == "/latest/api/token" {
        if req.method != "PUT" {
            return text(405, "Method Not Allowed");
        }
        return match req.header("x-aws-ec2-metadata-token-ttl-seconds").and_then(|v| v.parse::<u32>().ok()) {
            Some(ttl) if (1..=21600).contains(&ttl) => {
                let n = st.session_tokens.lock().unwrap().len() + 1;
                let token = format!("IMDS-SESSION-{n}-AQAEAPvGV3x8dtKDb9RN5GqxrWyT2hqb==");
                st.session_tokens.lock().unwrap().insert(token.clone());
                text(200, &token)
            }
            _ => text(400, "Bad Request"),
        };
    }
    // IMDSv2 only: every other request needs a valid session token.
    let valid = req.header("x-aws-ec2-metadata-token").is_some_and(|t| st.session_tokens.lock().unwrap().contains(t));
    if !valid {
        return text(401, "Unauthorized");
    }
    if req.method != "GET" {
        return text(405, "Method Not Allowed");
    }
    match req.path() {
        CREDS => text(200, &st.role),
        p if p.strip_prefix(CREDS) == Some(st.role.as_str()) => match st.issuer.issue() {
            Some(c) => Answer::new(200, "text/plain", credentials_json(&c, true)),
            None => Answer::new(
                200,
                "text/plain",
                "{\n  \"Code\" : \"AssumeRoleUnauthorizedAccess\",\n  \"Message\" : \"EC2 cannot assume the role sluice-test-role (refused by the test)\",\n  \"LastUpdated\" : \"2026-01-01T00:00:00Z\"\n}",
            ),
        },
        _ => text(404, "Not Found"),
    }
}

// ---- container endpoint ------------------------------------------------------------------------

struct ContainerState {
    issuer: Arc<Issuer>,
    path: String,
    authorization: Mutex<Option<String>>,
}

/// The ECS task role / EKS Pod Identity endpoint: `GET /v1/credentials`.
pub struct ContainerEndpoint {
    server: Server,
    state: Arc<ContainerState>,
    issuer: Arc<Issuer>,
}

impl ContainerEndpoint {
    pub fn start(env: &S3Env) -> ContainerEndpoint {
        let issuer = Arc::new(Issuer::new("container", env));
        let state = Arc::new(ContainerState {
            issuer: issuer.clone(),
            path: "/v1/credentials".into(),
            authorization: Mutex::new(None),
        });
        let st = state.clone();
        let server = Server::start(Box::new(move |req| container_answer(&st, req)));
        ContainerEndpoint { server, state, issuer }
    }

    /// For AWS_CONTAINER_CREDENTIALS_FULL_URI.
    pub fn full_uri(&self) -> String {
        format!("{}{}", self.server.url(), self.state.path)
    }

    /// Require this exact `Authorization` value (None: require none).
    pub fn require_authorization(&self, value: Option<&str>) {
        *self.state.authorization.lock().unwrap() = value.map(str::to_string);
    }

    issuer_controls!();
}

fn container_answer(st: &ContainerState, req: &Recorded) -> Answer {
    let json = |s: u16, code: &str, msg: &str| {
        Answer::new(s, "application/json", format!("{{\"code\":\"{code}\",\"message\":\"{msg}\"}}"))
    };
    if req.method != "GET" || req.path() != st.path {
        return json(404, "NotFound", "no such path");
    }
    if let Some(want) = &*st.authorization.lock().unwrap() {
        if req.header("authorization") != Some(want.as_str()) {
            return json(401, "AccessDeniedException", "invalid authorization token");
        }
    }
    match st.issuer.issue() {
        Some(c) => Answer::new(200, "application/json", credentials_json(&c, false)),
        None => json(403, "AccessDeniedException", "refused by the test"),
    }
}

// ---- STS -----------------------------------------------------------------------------------------

/// One STS call as the stand-in understood it.
#[derive(Clone, Debug)]
pub struct StsCall {
    pub action: String,
    pub role_arn: String,
    pub session_name: String,
    pub external_id: Option<String>,
    pub duration_seconds: Option<String>,
    /// The access key the request was signed with (AssumeRole).
    pub caller_key: Option<String>,
    /// The session token the signed request carried.
    pub caller_token: Option<String>,
    /// AssumeRoleWithWebIdentity's token.
    pub web_identity_token: Option<String>,
    /// The error code answered, None on success.
    pub error: Option<String>,
}

struct StsState {
    issuer: Arc<Issuer>,
    region: String,
    /// Static source keys the test registered: id -> secret.
    callers: Mutex<HashMap<String, String>>,
    web_tokens: Mutex<HashSet<String>>,
    calls: Mutex<Vec<StsCall>>,
}

/// STS's query API for AssumeRole and AssumeRoleWithWebIdentity.
pub struct Sts {
    server: Server,
    state: Arc<StsState>,
    issuer: Arc<Issuer>,
}

impl Sts {
    /// Expects requests signed for `env.region`.
    pub fn start(env: &S3Env) -> Sts {
        let issuer = Arc::new(Issuer::new("sts", env));
        let state = Arc::new(StsState {
            issuer: issuer.clone(),
            region: env.region.clone(),
            callers: Mutex::new(HashMap::new()),
            web_tokens: Mutex::new(HashSet::new()),
            calls: Mutex::new(Vec::new()),
        });
        let st = state.clone();
        let server = Server::start(Box::new(move |req| sts_answer(&st, req)));
        Sts { server, state, issuer }
    }

    /// For AWS_ENDPOINT_URL_STS.
    pub fn endpoint(&self) -> String {
        self.server.url()
    }

    /// Accept AssumeRole signed by this (static) key.
    pub fn accept_caller(&self, key_id: &str, secret: &str) {
        self.state.callers.lock().unwrap().insert(key_id.into(), secret.into());
    }

    /// Accept this web identity token (and keep accepting the earlier ones unless revoked).
    pub fn accept_web_token(&self, token: &str) {
        self.state.web_tokens.lock().unwrap().insert(token.into());
    }

    pub fn revoke_web_token(&self, token: &str) {
        self.state.web_tokens.lock().unwrap().remove(token);
    }

    /// Every call, in order.
    pub fn calls(&self) -> Vec<StsCall> {
        self.state.calls.lock().unwrap().clone()
    }

    issuer_controls!();
}

fn sts_error(status: u16, code: &str, msg: &str) -> Answer {
    Answer::new(
        status,
        "text/xml",
        format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{code}</Code>\n    <Message>{msg}</Message>\n  </Error>\n  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n</ErrorResponse>\n"
        ),
    )
}

fn sts_answer(st: &StsState, req: &Recorded) -> Answer {
    if req.method != "POST" || req.path() != "/" {
        return sts_error(400, "InvalidAction", "POST / only");
    }
    let ct = req.header("content-type").unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return sts_error(400, "InvalidParameterValue", "form body expected");
    }
    let form = req.form();
    let get = |k: &str| form.get(k).cloned();
    let mut call = StsCall {
        action: get("Action").unwrap_or_default(),
        role_arn: get("RoleArn").unwrap_or_default(),
        session_name: get("RoleSessionName").unwrap_or_default(),
        external_id: get("ExternalId"),
        duration_seconds: get("DurationSeconds"),
        caller_key: None,
        caller_token: None,
        web_identity_token: get("WebIdentityToken"),
        error: None,
    };
    let answer = sts_dispatch(st, req, &form, &mut call);
    if answer.status != 200 {
        call.error =
            Some(answer.body.split("<Code>").nth(1).and_then(|s| s.split("</Code>").next()).unwrap_or("?").to_string());
    }
    st.calls.lock().unwrap().push(call);
    answer
}

fn sts_dispatch(st: &StsState, req: &Recorded, form: &HashMap<String, String>, call: &mut StsCall) -> Answer {
    if form.get("Version").map(String::as_str) != Some("2011-06-15") {
        return sts_error(400, "InvalidParameterValue", "Version must be 2011-06-15");
    }
    if call.role_arn.is_empty() || call.session_name.is_empty() {
        return sts_error(400, "MissingParameter", "RoleArn and RoleSessionName are required");
    }
    match call.action.as_str() {
        "AssumeRole" => {
            match verify_sigv4(st, req) {
                Ok((key, token)) => {
                    call.caller_key = Some(key);
                    call.caller_token = token;
                }
                Err((code, msg)) => return sts_error(403, code, &msg),
            }
            issue_xml(st, "AssumeRole", call)
        }
        "AssumeRoleWithWebIdentity" => {
            if req.header("authorization").is_some() {
                return sts_error(400, "InvalidParameterValue", "AssumeRoleWithWebIdentity is not signed");
            }
            let token = call.web_identity_token.clone().unwrap_or_default();
            if !st.web_tokens.lock().unwrap().contains(&token) {
                return sts_error(
                    400,
                    "InvalidIdentityToken",
                    "The web identity token is not valid (rotated or unknown)",
                );
            }
            issue_xml(st, "AssumeRoleWithWebIdentity", call)
        }
        _ => sts_error(400, "InvalidAction", "unsupported action"),
    }
}

fn issue_xml(st: &StsState, action: &str, call: &StsCall) -> Answer {
    let Some(c) = st.issuer.issue() else {
        return sts_error(403, "AccessDenied", "refused by the test");
    };
    let extra = if action == "AssumeRoleWithWebIdentity" {
        "    <SubjectFromWebIdentityToken>system:serviceaccount:backup:sluice</SubjectFromWebIdentityToken>\n    <Audience>sts.amazonaws.com</Audience>\n    <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.example</Provider>\n"
    } else {
        "    <PackedPolicySize>6</PackedPolicySize>\n"
    };
    Answer::new(
        200,
        "text/xml",
        format!(
            "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <{action}Result>\n{extra}    <AssumedRoleUser>\n      <Arn>{}/{}</Arn>\n      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:{}</AssumedRoleId>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      <SessionToken>{}</SessionToken>\n      <Expiration>{}</Expiration>\n    </Credentials>\n  </{action}Result>\n  <ResponseMetadata>\n    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>\n  </ResponseMetadata>\n</{action}Response>\n",
            call.role_arn.replace(":role/", ":assumed-role/"),
            call.session_name,
            call.session_name,
            c.key_id,
            c.secret,
            xml_escape(&c.token),
            c.expiration
        ),
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Checks a header-signed SigV4 request the way STS would (generic algorithm: the path
/// normalised and encoded twice, every SignedHeaders header present, the body hashed), for
/// service `sts` and the expected region, by a registered key or by an issued key with its
/// token. The SigV4 steps are the library's, which tests/sigv4.rs checks against AWS's
/// vectors. Returns the caller's key and token.
fn verify_sigv4(st: &StsState, req: &Recorded) -> Result<(String, Option<String>), (&'static str, String)> {
    let missing = |what: &str| ("MissingAuthenticationToken", format!("Request is missing {what}"));
    let auth = req.header("authorization").ok_or_else(|| missing("Authentication Token"))?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| ("IncompleteSignature", "not AWS4-HMAC-SHA256".to_string()))?;
    let mut fields = HashMap::new();
    for part in rest.split(',') {
        if let Some((k, v)) = part.trim().split_once('=') {
            fields.insert(k.to_string(), v.to_string());
        }
    }
    let (Some(cred), Some(signed), Some(sig)) =
        (fields.get("Credential"), fields.get("SignedHeaders"), fields.get("Signature"))
    else {
        return Err(("IncompleteSignature", "Credential, SignedHeaders and Signature are required".into()));
    };
    let scope: Vec<&str> = cred.split('/').collect();
    if scope.len() != 5 || scope[4] != "aws4_request" {
        return Err(("IncompleteSignature", format!("bad credential scope {cred}")));
    }
    let (key, date, region, service) = (scope[0], scope[1], scope[2], scope[3]);
    if service != "sts" {
        return Err(("SignatureDoesNotMatch", format!("signed for service {service}, not sts")));
    }
    if region != st.region {
        return Err(("SignatureDoesNotMatch", format!("signed for region {region}, not {}", st.region)));
    }
    let amz_date = req.header("x-amz-date").ok_or_else(|| missing("X-Amz-Date"))?;
    if !amz_date.starts_with(date) {
        return Err(("SignatureDoesNotMatch", "X-Amz-Date and the credential scope disagree".into()));
    }
    let token = req.header("x-amz-security-token").map(str::to_string);
    let secret = if key == st.issuer.key_id {
        // Chained: the key this module hands out, only with a token some stand-in issued.
        match &token {
            Some(t) if issued_tokens().lock().unwrap().contains(t) => st.issuer.secret.clone(),
            _ => return Err(("InvalidClientTokenId", "The security token included in the request is invalid".into())),
        }
    } else {
        match st.callers.lock().unwrap().get(key) {
            Some(s) => s.clone(),
            None => {
                return Err((
                    "InvalidClientTokenId",
                    format!("The security token included in the request is invalid (unknown key {key})"),
                ))
            }
        }
    };
    let names: Vec<&str> = signed.split(';').collect();
    for must in ["host", "x-amz-date"] {
        if !names.contains(&must) {
            return Err(("SignatureDoesNotMatch", format!("{must} is not signed")));
        }
    }
    if token.is_some() && !names.contains(&"x-amz-security-token") {
        return Err(("SignatureDoesNotMatch", "x-amz-security-token is not signed".into()));
    }
    let mut headers = Vec::new();
    for n in &names {
        let v = req.header(n).ok_or_else(|| ("SignatureDoesNotMatch", format!("signed header {n} is missing")))?;
        headers.push((n.to_string(), v.to_string()));
    }
    // POST / with the parameters in the body: the canonical URI is "/", the query empty.
    let (creq, _) = sigv4::canonical_request(&req.method, "/", "", &headers, &sigv4::sha256_hex(req.body.as_bytes()));
    let sts = sigv4::string_to_sign(amz_date, &sigv4::credential_scope(date, region, service), &creq);
    let want = sigv4::signature(&sigv4::signing_key(&secret, date, region, service), &sts);
    if &want != sig {
        return Err((
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided".into(),
        ));
    }
    Ok((key.to_string(), token))
}
