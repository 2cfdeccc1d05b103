//! AWS STS over the query API: `AssumeRole` (signed with the source credentials by our SigV4
//! signer) and `AssumeRoleWithWebIdentity` (unsigned; the token is the proof), answers read
//! with our XML helper.
//!
//! Requests: <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html> and
//! `API_AssumeRoleWithWebIdentity.html`: `POST /` with a form body `Action=...&Version=2011-06-15`
//! and the parameters. Answers: `<AssumeRoleResponse><AssumeRoleResult><Credentials>` with
//! `AccessKeyId`, `SecretAccessKey`, `SessionToken`, `Expiration`; errors
//! `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`
//! (<https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html>).

use super::{as_config, CredentialCache, Fetched, Provider};
use crate::config::Endpoint;
use crate::error::{Error, Result};
use crate::http::{self, Failure, HttpOptions, Request};
use crate::sigv4::{self, Credentials, SignableRequest, Signer, SigningOptions};
use crate::xml;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const API_VERSION: &str = "2011-06-15";

/// STS answers these with a status that alone would not say "try again".
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "IDPCommunicationError",
    "ServiceUnavailable",
    "InternalFailure",
];

/// Where and how to reach STS.
#[derive(Clone)]
pub struct Sts {
    http: Arc<http::Client>,
    endpoint: Endpoint,
    region: String,
}

impl std::fmt::Debug for Sts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sts").field("endpoint", &self.url()).field("region", &self.region).finish()
    }
}

/// The parameters of one `AssumeRole` (a profile's `role_arn` and friends).
#[derive(Clone, Debug)]
pub struct RoleSpec {
    pub role_arn: String,
    pub session_name: Option<String>,
    /// Not a secret, but not ours to print either: it never appears in messages.
    pub external_id: Option<String>,
    pub duration_seconds: Option<u32>,
}

impl Sts {
    /// The regional endpoint `https://sts.REGION.amazonaws.com`, unless `endpoint_url` says
    /// otherwise. `opts` brings timeouts, retries and the CA bundle.
    pub fn new(endpoint_url: Option<&str>, region: &str, opts: &HttpOptions, verbose: u8) -> Result<Sts> {
        let endpoint = match endpoint_url {
            Some(url) => Endpoint::parse(url).map_err(|e| e.context("STS endpoint"))?,
            None => Endpoint {
                https: true,
                authority: format!("sts.{region}.amazonaws.com"),
                base_path: String::new(),
                is_aws_default: true,
            },
        };
        let opts = HttpOptions { https: endpoint.https, ..opts.clone() };
        Ok(Sts { http: Arc::new(http::Client::new(&opts, verbose)?), endpoint, region: region.to_string() })
    }

    /// `https://sts.eu-west-1.amazonaws.com`, for messages.
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.endpoint.scheme(), self.endpoint.authority, self.endpoint.base_path)
    }

    /// `AssumeRole`, signed with `source`.
    pub fn assume_role(&self, source: &Credentials, role: &RoleSpec) -> Result<Fetched> {
        let mut params = vec![
            ("RoleArn", role.role_arn.clone()),
            ("RoleSessionName", role.session_name.clone().unwrap_or_else(default_session_name)),
        ];
        if let Some(id) = &role.external_id {
            params.push(("ExternalId", id.clone()));
        }
        if let Some(d) = role.duration_seconds {
            params.push(("DurationSeconds", d.to_string()));
        }
        let what = format!("STS AssumeRole {} at {}", role.role_arn, self.url());
        self.call("AssumeRole", &params, Some(source), &what)
    }

    /// `AssumeRoleWithWebIdentity`: unsigned, the token proves who we are.
    pub fn assume_role_with_web_identity(
        &self,
        token: &str,
        role_arn: &str,
        session_name: Option<&str>,
    ) -> Result<Fetched> {
        let params = vec![
            ("RoleArn", role_arn.to_string()),
            ("RoleSessionName", session_name.map(str::to_string).unwrap_or_else(default_session_name)),
            ("WebIdentityToken", token.to_string()),
        ];
        let what = format!("STS AssumeRoleWithWebIdentity {role_arn} at {}", self.url());
        self.call("AssumeRoleWithWebIdentity", &params, None, &what)
    }

    /// POSTs the form through the shared retry loop: 5xx, throttling and connection failures
    /// are retried, signed afresh at each attempt when `signer` is given.
    fn call(
        &self,
        action: &str,
        params: &[(&str, String)],
        signer: Option<&Credentials>,
        what: &str,
    ) -> Result<Fetched> {
        let mut body = format!("Action={action}&Version={API_VERSION}");
        for (k, v) in params {
            body.push('&');
            body.push_str(k);
            body.push('=');
            body.push_str(&sigv4::uri_encode(v, true));
        }
        let path = format!("{}/", self.endpoint.base_path);
        let url = format!("{}://{}{path}", self.endpoint.scheme(), self.endpoint.authority);
        let req = Request::new("POST", None, None)
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(body.as_bytes());
        let resp = self.http.send(what, || {
            let auth = match signer {
                Some(creds) => {
                    let s = Signer::new(creds.clone(), &self.region, "sts", SigningOptions::generic());
                    let mut headers = req.headers.clone();
                    headers.push(("host".to_string(), self.endpoint.authority.clone()));
                    let payload_hash = sigv4::sha256_hex(req.body);
                    let signable = SignableRequest {
                        method: "POST",
                        path: &path,
                        query: &[],
                        headers: &headers,
                        payload_hash: &payload_hash,
                    };
                    s.sign(&signable, SystemTime::now())
                }
                None => Vec::new(),
            };
            match self.http.call(&req, &url, &auth) {
                Ok(resp) => Ok(resp),
                Err(ureq::Error::Transport(t)) => Err(as_config(self.http.transport_failure(what, &req, &t))),
                Err(ureq::Error::Status(status, resp)) => {
                    let (e, retry) = sts_error(status, &http::error_body(resp, 64 << 10), what);
                    Err(Failure::new(e, retry))
                }
            }
        })?;
        parse_credentials(&http::read_text(resp, what).map_err(|e| Error::config(e.message()))?, action, what)
    }
}

fn default_session_name() -> String {
    let secs = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format!("sluice-{secs}")
}

/// An error answer: the server's code names what went wrong; 5xx and throttling are retried.
fn sts_error(status: u16, body: &str, what: &str) -> (Error, bool) {
    let parsed = xml::parse_s3_error(body);
    let code = parsed.as_ref().map(|e| e.code.clone()).filter(|c| !c.is_empty());
    let retryable = http::status_is_retryable(status) || code.as_deref().is_some_and(|c| RETRYABLE_CODES.contains(&c));
    let detail = match &parsed {
        Some(e) if !e.code.is_empty() => {
            let msg = e.message.split_whitespace().collect::<Vec<_>>().join(" ");
            if msg.is_empty() {
                format!("{} (HTTP {status})", e.code)
            } else {
                format!("{} (HTTP {status}): {}", e.code, crate::log::printable(&msg))
            }
        }
        _ => format!("HTTP {status}"),
    };
    (Error::config(format!("{what}: {detail}")).with_code(code, Some(status)), retryable)
}

/// Reads `<{action}Response><{action}Result><Credentials>`.
pub fn parse_credentials(body: &str, action: &str, what: &str) -> Result<Fetched> {
    let bad = |why: &str| Error::config(format!("{what}: unexpected answer ({why})"));
    let doc = xml::parse(body).map_err(|_| bad("not XML"))?;
    let root = doc.root_element();
    let result = format!("{action}Result");
    let creds = xml::path(root, &[result.as_str(), "Credentials"]).ok_or_else(|| bad("no Credentials"))?;
    let text = |name: &str| xml::child_text(creds, name).map(str::trim).filter(|s| !s.is_empty());
    let (Some(id), Some(secret), Some(token)) = (text("AccessKeyId"), text("SecretAccessKey"), text("SessionToken"))
    else {
        return Err(bad("Credentials without AccessKeyId, SecretAccessKey or SessionToken"));
    };
    let expires =
        text("Expiration").and_then(crate::time::parse_rfc3339).ok_or_else(|| bad("no readable Expiration"))?;
    Ok(Fetched { credentials: Credentials::new(id, secret, Some(token.to_string())), expires: Some(expires) })
}

/// A profile's role, assumed with the credentials of its source (another profile, the
/// environment, the container endpoint or instance metadata), which renew on their own.
pub struct AssumeRole {
    pub sts: Sts,
    pub role: RoleSpec,
    pub source: Arc<CredentialCache>,
    /// "profile backup", for messages.
    pub profile: String,
}

impl Provider for AssumeRole {
    fn describe(&self) -> String {
        format!("STS AssumeRole {} ({}, source: {})", self.role.role_arn, self.profile, self.source.source())
    }

    fn fetch(&self) -> Result<Fetched> {
        let source =
            self.source.current().map_err(|e| e.context(format!("the source credentials of {}", self.profile)))?;
        self.sts.assume_role(&source, &self.role)
    }
}

/// IRSA and other OIDC federations: a token file (re-read at every renewal: Kubernetes
/// rotates it) exchanged for a role's credentials.
pub struct WebIdentity {
    pub sts: Sts,
    pub token_file: PathBuf,
    pub role_arn: String,
    pub session_name: Option<String>,
    /// "AWS_WEB_IDENTITY_TOKEN_FILE" or "profile web", for messages.
    pub origin: String,
}

impl Provider for WebIdentity {
    fn describe(&self) -> String {
        format!(
            "STS AssumeRoleWithWebIdentity {} (token file {} from {})",
            self.role_arn,
            self.token_file.display(),
            self.origin
        )
    }

    fn fetch(&self) -> Result<Fetched> {
        let raw = std::fs::read_to_string(&self.token_file).map_err(|e| {
            Error::config(format!("web identity token file {} ({}): {e}", self.token_file.display(), self.origin))
        })?;
        let token = raw.trim();
        if token.is_empty() {
            return Err(Error::config(format!(
                "web identity token file {} ({}) is empty",
                self.token_file.display(),
                self.origin
            )));
        }
        self.sts.assume_role_with_web_identity(token, &self.role_arn, self.session_name.as_deref())
    }
}

/// `duration_seconds` of a profile: STS takes 900 to 43200.
pub fn parse_duration_seconds(v: &str, profile: &str) -> Result<u32> {
    match v.trim().parse::<u32>() {
        Ok(n) if (900..=43_200).contains(&n) => Ok(n),
        _ => Err(Error::config(format!(
            "{profile}: duration_seconds must be a number of seconds from 900 to 43200, not {v:?}"
        ))),
    }
}

/// How long to wait for STS: the tool's own network settings, bounded so a renewal in the
/// middle of a transfer cannot stall it for minutes.
pub fn http_options(base: &HttpOptions) -> HttpOptions {
    HttpOptions {
        connect_timeout: base.connect_timeout.min(Duration::from_secs(10)),
        idle_timeout: base.idle_timeout.min(Duration::from_secs(30)),
        ..base.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/demo/John</Arn><AssumedRoleId>ARO123EXAMPLE123:John</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>IQoJb3JpZ2luX2VjEOz////////////////////wEXAMPLE</SessionToken>
      <Expiration>2019-11-09T13:34:41Z</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#;

    #[test]
    fn reads_the_documented_answer() {
        let f = parse_credentials(OK, "AssumeRole", "STS").unwrap();
        assert_eq!(f.credentials.access_key_id, "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(f.credentials.secret_access_key().expose(), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
        assert!(f.credentials.session_token().unwrap().expose().starts_with("IQoJ"));
        assert_eq!(f.expires.map(crate::time::rfc3339).as_deref(), Some("2019-11-09T13:34:41Z"));
        let e = parse_credentials(OK, "AssumeRoleWithWebIdentity", "STS x").unwrap_err();
        assert!(e.message().contains("no Credentials"));
    }

    #[test]
    fn errors_name_the_code_and_never_the_secret() {
        let body = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::1:user/x is not authorized
 to perform: sts:AssumeRole</Message></Error>
  <RequestId>4e1c0f4a</RequestId></ErrorResponse>"#;
        let (e, retry) = sts_error(403, body, "STS AssumeRole arn:r");
        assert!(!retry);
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert_eq!(e.code(), Some("AccessDenied"));
        assert_eq!(e.message(), "STS AssumeRole arn:r: AccessDenied (HTTP 403): User: arn:aws:iam::1:user/x is not authorized to perform: sts:AssumeRole");
        let (_, retry) =
            sts_error(400, "<ErrorResponse><Error><Code>IDPCommunicationError</Code></Error></ErrorResponse>", "x");
        assert!(retry);
        let (e, retry) = sts_error(503, "oops", "x");
        assert!(retry && e.message() == "x: HTTP 503");
    }

    #[test]
    fn regional_endpoint_by_default() {
        let s = Sts::new(None, "eu-west-3", &HttpOptions::default(), 0).unwrap();
        assert_eq!(s.url(), "https://sts.eu-west-3.amazonaws.com");
        let s = Sts::new(Some("http://127.0.0.1:8080/"), "x", &HttpOptions::default(), 0).unwrap();
        assert_eq!(s.url(), "http://127.0.0.1:8080");
        assert!(Sts::new(Some("sts.example"), "x", &HttpOptions::default(), 0).is_err());
    }

    #[test]
    fn duration_bounds() {
        assert_eq!(parse_duration_seconds("3600", "p").unwrap(), 3600);
        assert!(parse_duration_seconds("60", "p").is_err());
        assert!(parse_duration_seconds("1h", "p").is_err());
    }
}
