//! Container credentials: the ECS task role endpoint and EKS Pod Identity.
//!
//! ECS (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html>) sets
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, a path on `http://169.254.170.2`. EKS Pod Identity
//! and others set `AWS_CONTAINER_CREDENTIALS_FULL_URI` plus an `Authorization` value, in
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (re-read at each fetch: it is rotated) or
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`. `GET` answers JSON with `AccessKeyId`,
//! `SecretAccessKey`, `Token` and `Expiration`. A full URI over plain http is accepted only
//! for loopback and the link-local hosts AWS documents, so credentials are never sent in
//! clear text across a network.

use super::{as_config, Fetched, Provider};
use crate::config::Env;
use crate::error::{Error, Result};
use crate::http::{self, Failure, HttpOptions, Request, Retry};
use crate::secret::Secret;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The ECS agent's address for relative URIs.
pub const ECS_HOST: &str = "169.254.170.2";
/// The hosts plain http may name besides loopback (ECS, EKS Pod Identity over IPv4 and IPv6).
const ALLOWED_HTTP_HOSTS: &[&str] = &["169.254.170.2", "169.254.170.23", "fd00:ec2::23"];
/// botocore's: 2 s per attempt, 3 attempts, about 1 s apart.
const TIMEOUT: Duration = Duration::from_secs(2);
const RETRY: Retry = Retry { max_attempts: 3, base: Duration::from_millis(500), cap: Duration::from_secs(1) };

/// Where the `Authorization` header comes from.
enum Auth {
    None,
    File(PathBuf),
    Value(Secret),
}

pub struct Container {
    http: http::Client,
    url: String,
    /// Scheme and authority only: the path may be a capability, so messages leave it out.
    shown: String,
    auth: Auth,
    origin: &'static str,
}

impl Container {
    /// From the environment; None when neither URI variable is set.
    pub fn from_env(env: &dyn Env, verbose: u8) -> Result<Option<Container>> {
        let (url, origin) = if let Some(rel) = env.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            if !rel.starts_with('/') {
                return Err(Error::config(format!(
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with /, not {rel:?}"
                )));
            }
            (format!("http://{ECS_HOST}{rel}"), "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        } else if let Some(full) = env.var("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            check_full_uri(&full)?;
            (full, "AWS_CONTAINER_CREDENTIALS_FULL_URI")
        } else {
            return Ok(None);
        };
        let auth = if let Some(f) = env.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            Auth::File(PathBuf::from(f))
        } else if let Some(t) = env.var("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
            check_header_value(&t, "AWS_CONTAINER_AUTHORIZATION_TOKEN")?;
            Auth::Value(Secret::new(t))
        } else {
            Auth::None
        };
        let opts = HttpOptions {
            connect_timeout: TIMEOUT,
            idle_timeout: TIMEOUT,
            https: url.starts_with("https://"),
            ca_bundle: env.var("AWS_CA_BUNDLE").map(PathBuf::from),
            retry: RETRY,
            rate: None,
        };
        let shown = match url.find("://").map(|i| i + 3) {
            Some(start) => url[..start + url[start..].find('/').unwrap_or(url.len() - start)].to_string(),
            None => url.clone(),
        };
        Ok(Some(Container { http: http::Client::new(&opts, verbose)?, url, shown, auth, origin }))
    }

    fn authorization(&self) -> Result<Option<Secret>> {
        match &self.auth {
            Auth::None => Ok(None),
            Auth::Value(s) => Ok(Some(s.clone())),
            Auth::File(p) => {
                let raw = std::fs::read_to_string(p).map_err(|e| {
                    Error::config(format!("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {}: {e}", p.display()))
                })?;
                let v = raw.trim();
                check_header_value(v, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")?;
                Ok(Some(Secret::new(v)))
            }
        }
    }
}

/// https anywhere; plain http only to loopback or the documented link-local hosts.
fn check_full_uri(uri: &str) -> Result<()> {
    let bad = |why: &str| Error::config(format!("AWS_CONTAINER_CREDENTIALS_FULL_URI {uri:?} {why}"));
    if uri.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = uri.strip_prefix("http://") else { return Err(bad("is not an http:// or https:// URL")) };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    let ip = host.parse::<IpAddr>().ok();
    let loopback = host.eq_ignore_ascii_case("localhost") || ip.is_some_and(|ip| ip.is_loopback());
    let link_local = ip.is_some_and(|ip| ALLOWED_HTTP_HOSTS.iter().any(|h| h.parse::<IpAddr>().ok() == Some(ip)));
    if host.is_empty() || !(loopback || link_local) {
        return Err(bad(
            "must use https, or plain http only to a loopback address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23",
        ));
    }
    Ok(())
}

fn check_header_value(v: &str, name: &str) -> Result<()> {
    if v.contains(['\r', '\n']) {
        return Err(Error::config(format!("{name}: the authorization token must be one line")));
    }
    Ok(())
}

impl Provider for Container {
    fn describe(&self) -> String {
        format!("the container credentials endpoint {} ({})", self.shown, self.origin)
    }

    fn fetch(&self) -> Result<Fetched> {
        let what = self.describe();
        let req = Request::new("GET", None, None).header("accept", "application/json");
        let resp = self.http.send(&what, || {
            // Read at each attempt: the file is rotated.
            let auth: Vec<(String, String)> = self
                .authorization()?
                .map(|a| ("authorization".to_string(), a.expose().to_string()))
                .into_iter()
                .collect();
            match self.http.call(&req, &self.url, &auth) {
                Ok(resp) => Ok(resp),
                Err(ureq::Error::Status(s, resp)) => {
                    let e = container_error(s, &http::error_body(resp, 64 << 10), &what);
                    Err(Failure::new(e, http::status_is_retryable(s)))
                }
                Err(ureq::Error::Transport(t)) => Err(as_config(self.http.transport_failure(&what, &req, &t))),
            }
        })?;
        let text = http::read_text(resp, &what).map_err(|e| Error::config(e.message()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| Error::config(format!("{what}: the answer is not JSON")))?;
        super::parse_json_credentials(&v, "Token", &what)
    }
}

/// ECS and EKS answer errors as JSON with a code and a message; the code is named.
fn container_error(status: u16, body: &str, what: &str) -> Error {
    let v: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let get = |keys: &[&str]| {
        v.as_ref().and_then(|v| keys.iter().find_map(|k| v.get(*k).and_then(|x| x.as_str()))).map(str::to_string)
    };
    let code = get(&["code", "Code", "errorCode"]);
    let msg = get(&["message", "Message", "errorMessage"]).unwrap_or_default();
    let detail = match &code {
        Some(c) if msg.is_empty() => format!("{c} (HTTP {status})"),
        Some(c) => format!("{c} (HTTP {status}): {}", crate::log::printable(&msg)),
        None => format!("HTTP {status}"),
    };
    Error::config(format!("{what}: {detail}")).with_code(code, Some(status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn full_uri_rules() {
        for ok in [
            "http://127.0.0.1:8080/creds",
            "http://127.0.0.2/x",
            "http://localhost:1/x",
            "http://[::1]:9/x",
            "http://169.254.170.2/v2/credentials/abc",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
            "https://creds.example.com/x",
        ] {
            assert!(check_full_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1/x",
            "http://example.com/x",
            "http://169.254.169.254/x",
            "ftp://127.0.0.1/",
            "http:///x",
            "127.0.0.1",
        ] {
            assert!(check_full_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn relative_uri_goes_to_the_ecs_agent() {
        let c = Container::from_env(&env(&[("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/uuid")]), 0)
            .unwrap()
            .unwrap();
        assert_eq!(c.url, "http://169.254.170.2/v2/credentials/uuid");
        assert_eq!(
            c.describe(),
            "the container credentials endpoint http://169.254.170.2 (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)"
        );
        assert!(Container::from_env(&env(&[("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2")]), 0).is_err());
        assert!(Container::from_env(&env(&[]), 0).unwrap().is_none());
        let e = Container::from_env(
            &env(&[
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/"),
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "a\nb"),
            ]),
            0,
        );
        assert!(e.is_err());
    }

    #[test]
    fn errors_name_the_code() {
        let e = container_error(403, r#"{"code":"AccessDeniedException","message":"no"}"#, "endpoint");
        assert_eq!(e.message(), "endpoint: AccessDeniedException (HTTP 403): no");
        assert_eq!(container_error(500, "<html>", "x").message(), "x: HTTP 500");
    }
}
