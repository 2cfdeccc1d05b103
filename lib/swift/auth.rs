//! Swift authentication: v1 (tempauth/swauth style), Keystone v2.0 and v3 (password or
//! application credential), and pre-authenticated (storage URL + token), chosen from the
//! environment the way python-swiftclient chooses. Secrets come only from the environment and
//! never appear in messages or Debug output.

use crate::error::{Error, ErrorKind, Result};
use crate::http::{self, Failure, Request};
use crate::secret::Secret;
use serde_json::{json, Value};

/// Which endpoint of the catalog to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Interface {
    #[default]
    Public,
    Internal,
    Admin,
}

impl Interface {
    /// Accepts Keystone's names (`public`) and swiftclient's endpoint types (`publicURL`).
    pub fn parse(s: &str) -> Result<Interface> {
        match s.trim().to_ascii_lowercase().trim_end_matches("url") {
            "public" => Ok(Interface::Public),
            "internal" => Ok(Interface::Internal),
            "admin" => Ok(Interface::Admin),
            _ => Err(Error::config(format!(
                "endpoint type {s:?} is not public, internal or admin (check OS_INTERFACE / OS_ENDPOINT_TYPE)"
            ))),
        }
    }
    pub(crate) fn v3_name(self) -> &'static str {
        match self {
            Interface::Public => "public",
            Interface::Internal => "internal",
            Interface::Admin => "admin",
        }
    }
    fn v2_key(self) -> &'static str {
        match self {
            Interface::Public => "publicURL",
            Interface::Internal => "internalURL",
            Interface::Admin => "adminURL",
        }
    }
}

/// A Keystone entity named by id, or by name within a domain (itself by id or name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Named {
    pub id: Option<String>,
    pub name: Option<String>,
    pub domain_id: Option<String>,
    pub domain_name: Option<String>,
}

impl Named {
    fn to_json(&self) -> Value {
        if let Some(id) = &self.id {
            return json!({ "id": id });
        }
        let mut v = json!({ "name": self.name.clone().unwrap_or_default() });
        if let Some(d) = &self.domain_id {
            v["domain"] = json!({ "id": d });
        } else {
            v["domain"] = json!({ "name": self.domain_name.clone().unwrap_or_else(|| "Default".into()) });
        }
        v
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum V3Identity {
    Password { user: Named, password: Secret },
    ApplicationCredential { id: String, secret: Secret },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AuthMethod {
    V1 { url: String, user: String, key: Secret },
    V2 { url: String, username: String, password: Secret, tenant_name: Option<String>, tenant_id: Option<String> },
    V3 { url: String, identity: V3Identity, project: Option<Named> },
    PreAuth { storage_url: String, token: Secret },
}

/// Everything needed to obtain a storage URL and token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AuthConfig {
    pub method: AuthMethod,
    pub region: Option<String>,
    pub interface: Interface,
    /// OS_STORAGE_URL given along with credentials: replaces the catalog's URL.
    pub storage_url_override: Option<String>,
}

/// The result of authenticating.
#[derive(Clone, Debug)]
pub struct Session {
    pub storage_url: String,
    pub token: Secret,
}

impl AuthConfig {
    /// Reads swiftclient's variables through `get` (the process environment in the binaries).
    /// `region` and `interface` from flags win over OS_REGION_NAME and OS_INTERFACE.
    pub(crate) fn from_env(
        get: &dyn Fn(&str) -> Option<String>,
        region: Option<&str>,
        interface: Option<&str>,
    ) -> Result<AuthConfig> {
        let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let first = |ks: &[&str]| ks.iter().find_map(|k| var(k));
        let region = region.map(str::to_string).or_else(|| var("OS_REGION_NAME"));
        let interface = match interface.map(str::to_string).or_else(|| first(&["OS_INTERFACE", "OS_ENDPOINT_TYPE"])) {
            Some(i) => Interface::parse(&i)?,
            None => Interface::Public,
        };
        let storage_url = var("OS_STORAGE_URL");
        let done = |method| {
            Ok(AuthConfig { method, region: region.clone(), interface, storage_url_override: storage_url.clone() })
        };

        if let (Some(url), Some(token)) = (storage_url.clone(), var("OS_AUTH_TOKEN")) {
            return done(AuthMethod::PreAuth { storage_url: url, token: Secret::new(token) });
        }
        let version = first(&["ST_AUTH_VERSION", "OS_AUTH_VERSION", "OS_IDENTITY_API_VERSION"]);
        let version = version.as_deref().map(|v| v.trim().trim_start_matches(['v', 'V']).to_string());
        if let Some(v) = &version {
            if !matches!(v.as_str(), "1" | "1.0" | "2" | "2.0" | "3") {
                return Err(Error::config(format!(
                    "auth version {v:?} is not 1.0, 2.0 or 3 (check ST_AUTH_VERSION / OS_AUTH_VERSION)"
                )));
            }
        }
        let want = |n: &str| version.as_deref().map(|v| v.starts_with(n));

        if var("ST_AUTH").is_some() && want("1") != Some(false) {
            let url = var("ST_AUTH").unwrap_or_default();
            let user = var("ST_USER")
                .ok_or_else(|| Error::config("ST_AUTH is set but ST_USER is not (v1 auth needs ST_USER and ST_KEY)"))?;
            let key = var("ST_KEY")
                .ok_or_else(|| Error::config("ST_AUTH is set but ST_KEY is not (v1 auth needs ST_USER and ST_KEY)"))?;
            return done(AuthMethod::V1 { url, user, key: Secret::new(key) });
        }
        let Some(url) = var("OS_AUTH_URL") else {
            return Err(Error::config(
                "no Swift credentials: set ST_AUTH, ST_USER and ST_KEY (v1), OS_AUTH_URL with OS_USERNAME, OS_PASSWORD and OS_PROJECT_NAME (Keystone), or OS_STORAGE_URL and OS_AUTH_TOKEN",
            ));
        };
        if want("1") == Some(true) {
            let user = first(&["OS_USERNAME", "ST_USER"])
                .ok_or_else(|| Error::config("v1 auth needs OS_USERNAME (or ST_USER)"))?;
            let key = first(&["OS_PASSWORD", "ST_KEY"])
                .ok_or_else(|| Error::config("v1 auth needs OS_PASSWORD (or ST_KEY)"))?;
            return done(AuthMethod::V1 { url, user, key: Secret::new(key) });
        }
        let app_id = var("OS_APPLICATION_CREDENTIAL_ID");
        let domain_set = [
            "OS_USER_DOMAIN_NAME",
            "OS_USER_DOMAIN_ID",
            "OS_PROJECT_DOMAIN_NAME",
            "OS_PROJECT_DOMAIN_ID",
            "OS_DOMAIN_NAME",
            "OS_DOMAIN_ID",
        ]
        .iter()
        .any(|k| var(k).is_some());
        let v3 = match want("3") {
            Some(b) => b,
            None => domain_set || app_id.is_some() || url.trim_end_matches('/').ends_with("/v3"),
        };
        if v3 {
            let identity = if let Some(id) = app_id {
                let secret = var("OS_APPLICATION_CREDENTIAL_SECRET").ok_or_else(|| {
                    Error::config("OS_APPLICATION_CREDENTIAL_ID is set but OS_APPLICATION_CREDENTIAL_SECRET is not")
                })?;
                V3Identity::ApplicationCredential { id, secret: Secret::new(secret) }
            } else {
                let user = Named {
                    id: var("OS_USER_ID"),
                    name: var("OS_USERNAME"),
                    domain_id: var("OS_USER_DOMAIN_ID"),
                    domain_name: var("OS_USER_DOMAIN_NAME"),
                };
                if user.id.is_none() && user.name.is_none() {
                    return Err(Error::config("Keystone v3 auth needs OS_USERNAME or OS_USER_ID"));
                }
                let password = var("OS_PASSWORD").ok_or_else(|| Error::config("Keystone v3 auth needs OS_PASSWORD"))?;
                V3Identity::Password { user, password: Secret::new(password) }
            };
            let project = Named {
                id: first(&["OS_PROJECT_ID", "OS_TENANT_ID"]),
                name: first(&["OS_PROJECT_NAME", "OS_TENANT_NAME"]),
                domain_id: var("OS_PROJECT_DOMAIN_ID"),
                domain_name: var("OS_PROJECT_DOMAIN_NAME"),
            };
            let project = (project.id.is_some() || project.name.is_some()).then_some(project);
            if project.is_none() && matches!(identity, V3Identity::Password { .. }) {
                return Err(Error::config(
                    "Keystone v3 auth needs OS_PROJECT_NAME or OS_PROJECT_ID (an unscoped token has no catalog)",
                ));
            }
            return done(AuthMethod::V3 { url, identity, project });
        }
        let username = var("OS_USERNAME").ok_or_else(|| Error::config("Keystone v2.0 auth needs OS_USERNAME"))?;
        let password = var("OS_PASSWORD").ok_or_else(|| Error::config("Keystone v2.0 auth needs OS_PASSWORD"))?;
        let tenant_name = first(&["OS_TENANT_NAME", "OS_PROJECT_NAME"]);
        let tenant_id = first(&["OS_TENANT_ID", "OS_PROJECT_ID"]);
        done(AuthMethod::V2 { url, username, password: Secret::new(password), tenant_name, tenant_id })
    }

    /// "v1", "Keystone v3", ... for -v output.
    pub(crate) fn describe(&self) -> String {
        match &self.method {
            AuthMethod::V1 { url, user, .. } => format!("v1 auth at {url} as {user}"),
            AuthMethod::V2 { url, username, .. } => format!("Keystone v2.0 at {url} as {username}"),
            AuthMethod::V3 { url, identity: V3Identity::ApplicationCredential { id, .. }, .. } => {
                format!("Keystone v3 at {url} with application credential {id}")
            }
            AuthMethod::V3 { url, identity: V3Identity::Password { user, .. }, .. } => {
                format!("Keystone v3 at {url} as {}", user.name.as_deref().or(user.id.as_deref()).unwrap_or(""))
            }
            AuthMethod::PreAuth { storage_url, .. } => format!("pre-authenticated storage URL {storage_url}"),
        }
    }

    pub(crate) fn can_renew(&self) -> bool {
        !matches!(self.method, AuthMethod::PreAuth { .. })
    }
}

/// Authenticates, retrying transport failures and 5xx with the client's retry policy.
pub(crate) fn authenticate(http: &http::Client, cfg: &AuthConfig) -> Result<Session> {
    let mut s = match &cfg.method {
        AuthMethod::PreAuth { storage_url, token } => {
            Session { storage_url: storage_url.clone(), token: token.clone() }
        }
        AuthMethod::V1 { url, user, key } => v1(http, url, user, key)?,
        AuthMethod::V2 { url, username, password, tenant_name, tenant_id } => {
            let mut auth = json!({ "passwordCredentials": { "username": username, "password": password.expose() } });
            if let Some(t) = tenant_id {
                auth["tenantId"] = json!(t);
            } else if let Some(t) = tenant_name {
                auth["tenantName"] = json!(t);
            }
            let endpoint = join_path(url, "tokens");
            let what = format!("Keystone v2.0 auth at {endpoint}");
            let body = Secret::new(json!({ "auth": auth }).to_string());
            http.send(&what, || {
                let resp = post_json(http, &endpoint, &body, &what, "OS_USERNAME, OS_PASSWORD and OS_TENANT_NAME")?;
                let text = read_body(resp, &what)?;
                Ok(parse_v2_response(&text, cfg.region.as_deref(), cfg.interface).map_err(|e| e.context(&what))?)
            })?
        }
        AuthMethod::V3 { url, identity, project } => {
            let endpoint = v3_tokens_url(url);
            let what = format!("Keystone v3 auth at {endpoint}");
            let body = Secret::new(v3_request_body(identity, project.as_ref()).to_string());
            let hint = match identity {
                V3Identity::Password { .. } => "OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME and the domains",
                V3Identity::ApplicationCredential { .. } => {
                    "OS_APPLICATION_CREDENTIAL_ID and OS_APPLICATION_CREDENTIAL_SECRET"
                }
            };
            http.send(&what, || {
                let resp = post_json(http, &endpoint, &body, &what, hint)?;
                let token = resp.header("X-Subject-Token").map(str::to_string).ok_or_else(|| {
                    Error::config(format!("{what}: no X-Subject-Token in the answer; is this a Keystone v3 URL?"))
                })?;
                let text = read_body(resp, &what)?;
                let storage_url = parse_v3_catalog(&text, cfg.region.as_deref(), cfg.interface)
                    .or_else(|e| cfg.storage_url_override.clone().ok_or(e))
                    .map_err(|e| e.context(&what))?;
                Ok(Session { storage_url, token: Secret::new(token) })
            })?
        }
    };
    if let Some(url) = &cfg.storage_url_override {
        s.storage_url = url.clone();
    }
    s.storage_url = s.storage_url.trim_end_matches('/').to_string();
    if http.verbose() >= 1 {
        crate::log::note(format!("authenticated ({}); storage URL {}", cfg.describe(), s.storage_url));
    }
    Ok(s)
}

/// v1 (tempauth, swauth): user and key in headers, storage URL and token in the answer's.
fn v1(http: &http::Client, url: &str, user: &str, key: &Secret) -> Result<Session> {
    let what = format!("v1 auth at {url}");
    let req = Request::new("GET", None, None).header("X-Auth-User", user);
    let secret = [("X-Auth-Key".to_string(), key.expose().to_string())];
    http.send(&what, || {
        let resp = exchange(http, &req, url, &secret, &what, "ST_USER and ST_KEY")?;
        let storage = resp.header("X-Storage-Url").map(str::to_string);
        let token = resp.header("X-Auth-Token").or_else(|| resp.header("X-Storage-Token")).map(str::to_string);
        http::drain(resp);
        match (storage, token) {
            (Some(s), Some(t)) => Ok(Session { storage_url: s, token: Secret::new(t) }),
            _ => Err(Failure::Permanent(Error::config(format!(
                "{what}: the answer has no X-Storage-Url or X-Auth-Token; is this a v1 auth URL?"
            )))),
        }
    })
}

/// POSTs a Keystone JSON request (the body holds the password or secret).
fn post_json(
    http: &http::Client,
    url: &str,
    body: &Secret,
    what: &str,
    check: &str,
) -> std::result::Result<ureq::Response, Failure> {
    let req = Request::new("POST", None, None)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .body(body.expose().as_bytes());
    exchange(http, &req, url, &[], what, check)
}

/// Appends a path segment unless the URL already ends with it.
fn join_path(url: &str, seg: &str) -> String {
    let u = url.trim_end_matches('/');
    if u.ends_with(&format!("/{seg}")) {
        u.to_string()
    } else {
        format!("{u}/{seg}")
    }
}

/// `https://auth.example/v3` and `https://auth.example` both become `.../v3/auth/tokens`.
pub fn v3_tokens_url(url: &str) -> String {
    let u = url.trim_end_matches('/');
    if u.ends_with("/auth/tokens") {
        u.to_string()
    } else if u.ends_with("/v3") {
        format!("{u}/auth/tokens")
    } else {
        format!("{u}/v3/auth/tokens")
    }
}

pub(crate) fn v3_request_body(identity: &V3Identity, project: Option<&Named>) -> Value {
    let id = match identity {
        V3Identity::Password { user, password } => {
            let mut u = user.to_json();
            u["password"] = json!(password.expose());
            json!({ "methods": ["password"], "password": { "user": u } })
        }
        V3Identity::ApplicationCredential { id, secret } => {
            json!({ "methods": ["application_credential"], "application_credential": { "id": id, "secret": secret.expose() } })
        }
    };
    let mut auth = json!({ "identity": id });
    // An application credential carries its own scope; asking for another is an error.
    if let (Some(p), V3Identity::Password { .. }) = (project, identity) {
        auth["scope"] = json!({ "project": p.to_json() });
    }
    json!({ "auth": auth })
}

/// One auth exchange; an error answer names what to check (`check`).
fn exchange(
    http: &http::Client,
    req: &Request,
    url: &str,
    secret: &[(String, String)],
    what: &str,
    check: &str,
) -> std::result::Result<ureq::Response, Failure> {
    match http.call(req, url, secret) {
        Ok(resp) => Ok(resp),
        Err(ureq::Error::Transport(t)) => Err(http.transport_failure(what, req, &t)),
        Err(ureq::Error::Status(status, resp)) => {
            let detail = error_detail(&http::error_body(resp, 4096));
            Err(match status {
                401 | 403 => Failure::Permanent(Error::config(format!(
                    "{what}: credentials rejected (HTTP {status}{detail}); check {check}"
                ))),
                404 => Failure::Permanent(Error::config(format!(
                    "{what}: HTTP 404{detail}; check the auth URL and version"
                ))),
                s if http::status_is_retryable(s) => {
                    Failure::Transient(Error::server(format!("{what}: HTTP {s}{detail}")))
                }
                s => Failure::Permanent(Error::config(format!("{what}: HTTP {s}{detail}"))),
            })
        }
    }
}

/// Keystone's JSON error message, or the first line of a text body.
fn error_detail(body: &str) -> String {
    let msg = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| {
            body.lines().find(|l| !l.trim().is_empty() && !l.contains('<')).unwrap_or("").trim().to_string()
        });
    if msg.is_empty() {
        String::new()
    } else {
        format!(": {}", msg.chars().take(200).collect::<String>())
    }
}

fn read_body(resp: ureq::Response, what: &str) -> std::result::Result<String, Failure> {
    use std::io::Read;
    let mut s = String::new();
    resp.into_reader().take(32 << 20).read_to_string(&mut s).map_err(|e| {
        Failure::new(Error::server(format!("{what}: reading the answer: {e}")), http::io_error_retryable(&e))
    })?;
    Ok(s)
}

fn bad_json(e: serde_json::Error) -> Error {
    Error::new(ErrorKind::Server, format!("the answer is not JSON ({e})"))
}

/// One object-store endpoint from a catalog.
struct Endpoint {
    region: String,
    url: String,
}

/// Picks the endpoint for `region` (any when None); a missing region lists those that exist.
fn choose(endpoints: Vec<Endpoint>, region: Option<&str>, interface: Interface) -> Result<String> {
    if endpoints.is_empty() {
        return Err(Error::config(format!(
            "the catalog has no {} endpoint for object-store (check OS_INTERFACE / OS_ENDPOINT_TYPE)",
            interface.v3_name()
        )));
    }
    match region {
        None => Ok(endpoints[0].url.clone()),
        Some(r) => match endpoints.iter().find(|e| e.region == r) {
            Some(e) => Ok(e.url.clone()),
            None => {
                let mut regions: Vec<&str> = endpoints.iter().map(|e| e.region.as_str()).collect();
                regions.sort_unstable();
                regions.dedup();
                Err(Error::config(format!(
                    "region {r:?} has no object-store endpoint; the catalog has: {} (set OS_REGION_NAME or --region)",
                    regions.join(", ")
                )))
            }
        },
    }
}

/// The object-store endpoints of a catalog, as `endpoint` reads each entry; None when the
/// catalog has no object-store service at all.
fn object_store(catalog: &Value, endpoint: impl Fn(&Value) -> Option<Endpoint>) -> Option<Vec<Endpoint>> {
    let services: Vec<&Value> =
        catalog.as_array().into_iter().flatten().filter(|s| s["type"] == "object-store").collect();
    if services.is_empty() {
        return None;
    }
    Some(services.iter().flat_map(|s| s["endpoints"].as_array().into_iter().flatten()).filter_map(endpoint).collect())
}

/// Parses a Keystone v2.0 `POST /v2.0/tokens` answer: the token id and the object-store URL.
pub fn parse_v2_response(body: &str, region: Option<&str>, interface: Interface) -> Result<Session> {
    let v: Value = serde_json::from_str(body).map_err(bad_json)?;
    let token =
        v["access"]["token"]["id"].as_str().ok_or_else(|| Error::server("the answer has no access.token.id"))?;
    let eps = object_store(&v["access"]["serviceCatalog"], |ep| {
        let url = ep[interface.v2_key()].as_str()?;
        Some(Endpoint { region: ep["region"].as_str().unwrap_or("").to_string(), url: url.to_string() })
    })
    .ok_or_else(|| Error::config("the service catalog has no object-store (Swift) service for this tenant"))?;
    Ok(Session { storage_url: choose(eps, region, interface)?, token: Secret::new(token) })
}

/// Parses a Keystone v3 token body's catalog: the object-store URL.
pub(crate) fn parse_v3_catalog(body: &str, region: Option<&str>, interface: Interface) -> Result<String> {
    let v: Value = serde_json::from_str(body).map_err(bad_json)?;
    let eps = object_store(&v["token"]["catalog"], |ep| {
        if ep["interface"] != interface.v3_name() {
            return None;
        }
        let region = ep["region_id"].as_str().or_else(|| ep["region"].as_str()).unwrap_or("");
        Some(Endpoint { region: region.to_string(), url: ep["url"].as_str()?.to_string() })
    })
    .ok_or_else(|| Error::config("the token's catalog has no object-store (Swift) service for this project"))?;
    choose(eps, region, interface)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    /// The configuration from these variables, with no flags.
    fn from(pairs: &[(&str, &str)]) -> AuthConfig {
        AuthConfig::from_env(&env(pairs), None, None).unwrap()
    }

    #[test]
    fn chooses_like_swiftclient() {
        let c = from(&[("ST_AUTH", "http://a/auth/v1.0"), ("ST_USER", "u"), ("ST_KEY", "k")]);
        assert!(matches!(c.method, AuthMethod::V1 { .. }));
        let v2 =
            [("OS_AUTH_URL", "http://k/v2.0"), ("OS_USERNAME", "u"), ("OS_PASSWORD", "p"), ("OS_TENANT_NAME", "t")];
        let c = from(&v2);
        assert!(matches!(c.method, AuthMethod::V2 { .. }));
        let v3 = [("OS_AUTH_URL", "http://k/"), ("OS_USERNAME", "u"), ("OS_PASSWORD", "p"), ("OS_PROJECT_NAME", "t")];
        let v3 = [&v3[..], &[("OS_USER_DOMAIN_NAME", "Default")]].concat();
        let c = AuthConfig::from_env(&env(&v3), None, Some("internalURL")).unwrap();
        assert!(matches!(c.method, AuthMethod::V3 { .. }));
        assert_eq!(c.interface, Interface::Internal);
        let c = from(&[("OS_STORAGE_URL", "http://s/v1/AUTH_x"), ("OS_AUTH_TOKEN", "t")]);
        assert!(matches!(c.method, AuthMethod::PreAuth { .. }));
        assert!(AuthConfig::from_env(&env(&[]), None, None).is_err());
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let c = from(&[("ST_AUTH", "http://a/auth/v1.0"), ("ST_USER", "u"), ("ST_KEY", "hunter2")]);
        assert!(!format!("{c:?}").contains("hunter2"));
        let c = from(&[("OS_STORAGE_URL", "http://s/v1/AUTH_x"), ("OS_AUTH_TOKEN", "gAAAAtoken")]);
        assert!(!format!("{c:?}").contains("gAAAAtoken"));
    }

    #[test]
    fn tokens_url() {
        assert_eq!(v3_tokens_url("https://auth.cloud.ovh.net/v3/"), "https://auth.cloud.ovh.net/v3/auth/tokens");
        assert_eq!(v3_tokens_url("http://k:5000"), "http://k:5000/v3/auth/tokens");
    }
}
