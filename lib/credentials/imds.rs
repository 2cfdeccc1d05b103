//! EC2 instance metadata (IMDSv2 only) and whether this machine is an EC2 instance at all.
//!
//! IMDSv2 (<https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html>):
//! `PUT /latest/api/token` with `x-aws-ec2-metadata-token-ttl-seconds` gives a session token;
//! `GET /latest/meta-data/iam/security-credentials/` with `x-aws-ec2-metadata-token` names the
//! instance profile's role, and `GET .../<role>` answers JSON with `Code`, `AccessKeyId`,
//! `SecretAccessKey`, `Token` and `Expiration`. Every wait is bounded by 1 s as in aws-cli.
//!
//! aws-cli asks the link-local address whenever nothing else matched, which off EC2 means a
//! hang until its timeout, or an answer from whatever listens there. We ask only when the
//! machine says it is EC2 through the files cloud-init's ds-identify reads, when
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT` names a service, or when a profile asks for
//! `credential_source = Ec2InstanceMetadata`.

use super::{as_config, Fetched, Provider};
use crate::config::Env;
use crate::error::{Error, Result};
use crate::http::{self, Failure, HttpOptions, Request, Retry};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
pub const DEFAULT_ENDPOINT_IPV6: &str = "http://[fd00:ec2::254]";
const TOKEN_TTL_SECONDS: &str = "21600";
const ROLE_PATH: &str = "latest/meta-data/iam/security-credentials/";
/// aws-cli's AWS_METADATA_SERVICE_TIMEOUT default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// TEST ONLY: a directory read instead of `/sys` to decide whether this is an EC2 instance,
/// so the tests can pretend either way without touching the machine.
pub const SYSFS_ROOT_VAR: &str = "SLUICE_TEST_SYSFS_ROOT";

/// Why this machine counts as an EC2 instance, from the DMI and Xen files cloud-init reads:
/// `sys_vendor` "Amazon EC2" (Nitro), a `board_asset_tag` that is an instance id (Nitro), a
/// Xen `hypervisor/uuid` starting with "ec2", or a DMI `product_uuid` starting with "ec2" in
/// either byte order (readable by root only). None when nothing says EC2.
pub fn ec2_evidence(sys_root: &Path) -> Option<String> {
    let read = |rel: &str| std::fs::read_to_string(sys_root.join(rel)).ok().map(|s| s.trim().to_string());
    if read("class/dmi/id/sys_vendor").is_some_and(|v| v == "Amazon EC2") {
        return Some("DMI sys_vendor is Amazon EC2".into());
    }
    if let Some(tag) = read("class/dmi/id/board_asset_tag") {
        if is_instance_id(&tag) {
            return Some(format!("DMI board_asset_tag is the instance id {tag}"));
        }
    }
    if read("hypervisor/uuid").is_some_and(|u| u.to_ascii_lowercase().starts_with("ec2")) {
        return Some("the Xen hypervisor uuid starts with ec2".into());
    }
    if let Some(uuid) = read("class/dmi/id/product_uuid") {
        let head = uuid.split('-').next().unwrap_or("").to_ascii_lowercase();
        // The first group byte-swapped (little-endian firmware): EC2E1916 reads 16 19 2E EC.
        if head.starts_with("ec2") || (head.len() == 8 && head.ends_with("ec") && head[4..6].starts_with('2')) {
            return Some("the DMI product uuid starts with ec2".into());
        }
    }
    None
}

/// `i-` and 8 or 17 hex digits.
fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-").is_some_and(|h| (h.len() == 8 || h.len() == 17) && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `/sys` to read (the test-only override, else `/sys`).
pub fn sys_root(env: &dyn Env) -> PathBuf {
    env.var(SYSFS_ROOT_VAR).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/sys"))
}

/// Whether and where instance metadata may be asked, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Imds {
    /// `AWS_EC2_METADATA_DISABLED=true`.
    Disabled,
    /// Not EC2 and no endpoint configured.
    NotEc2,
    /// Ask `endpoint`; `why` says what allowed it, for `-v`.
    Enabled { endpoint: String, why: String },
}

impl Imds {
    /// Decides from the environment, the profile's `ec2_metadata_service_endpoint` and the
    /// machine. `forced` is true when a profile names `credential_source = Ec2InstanceMetadata`.
    pub fn decide(env: &dyn Env, profile_endpoint: Option<String>, forced: bool) -> Imds {
        if env.var("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Imds::Disabled;
        }
        if let Some(ep) = env.var("AWS_EC2_METADATA_SERVICE_ENDPOINT") {
            return Imds::Enabled { endpoint: ep, why: "AWS_EC2_METADATA_SERVICE_ENDPOINT".into() };
        }
        if let Some(ep) = profile_endpoint {
            return Imds::Enabled { endpoint: ep, why: "the profile's ec2_metadata_service_endpoint".into() };
        }
        let default =
            if env.var("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE").is_some_and(|m| m.eq_ignore_ascii_case("ipv6")) {
                DEFAULT_ENDPOINT_IPV6
            } else {
                DEFAULT_ENDPOINT
            };
        if let Some(why) = ec2_evidence(&sys_root(env)) {
            return Imds::Enabled { endpoint: default.into(), why };
        }
        if forced {
            return Imds::Enabled { endpoint: default.into(), why: "credential_source = Ec2InstanceMetadata".into() };
        }
        Imds::NotEc2
    }
}

/// The instance profile's credentials from IMDSv2.
pub struct InstanceMetadata {
    http: http::Client,
    /// Without trailing slash: `http://169.254.169.254`.
    base: String,
}

impl InstanceMetadata {
    /// `timeout` bounds the connection and every read (aws-cli's AWS_METADATA_SERVICE_TIMEOUT,
    /// 1 s); `attempts` is AWS_METADATA_SERVICE_NUM_ATTEMPTS (1).
    pub fn new(endpoint: &str, env: &dyn Env, verbose: u8) -> Result<InstanceMetadata> {
        let bad =
            || Error::config(format!("instance metadata endpoint {endpoint:?} is not an http:// or https:// URL"));
        let rest = endpoint.strip_prefix("http://").or_else(|| endpoint.strip_prefix("https://")).ok_or_else(bad)?;
        if rest.trim_matches('/').is_empty() {
            return Err(bad());
        }
        let num = |name: &str| {
            env.var(name)
                .map(|v| {
                    v.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite() && *n > 0.0)
                        .ok_or_else(|| Error::config(format!("{name} must be a positive number, not {v:?}")))
                })
                .transpose()
        };
        let timeout = num("AWS_METADATA_SERVICE_TIMEOUT")?.map(Duration::from_secs_f64).unwrap_or(DEFAULT_TIMEOUT);
        let attempts = num("AWS_METADATA_SERVICE_NUM_ATTEMPTS")?.map(|n| n as u32).unwrap_or(1).clamp(1, 10);
        let opts = HttpOptions {
            connect_timeout: timeout,
            idle_timeout: timeout,
            https: endpoint.starts_with("https://"),
            ca_bundle: env.var("AWS_CA_BUNDLE").map(PathBuf::from),
            retry: Retry { max_attempts: attempts, base: Duration::from_millis(100), cap: Duration::from_secs(1) },
            rate: None,
        };
        Ok(InstanceMetadata {
            http: http::Client::new(&opts, verbose)?,
            base: endpoint.trim_end_matches('/').to_string(),
        })
    }

    fn what(&self) -> String {
        format!("instance metadata at {}", self.base)
    }

    /// One request, retried on transport errors and 5xx (AWS_METADATA_SERVICE_NUM_ATTEMPTS);
    /// returns the status and body of the answer. `header` travels as authentication, never
    /// in the request.
    fn request(&self, method: &'static str, path: &str, header: (&str, &str)) -> Result<(u16, String)> {
        let url = format!("{}/{path}", self.base);
        let what = format!("{} ({method} /{path})", self.what());
        let req = Request::new(method, None, None);
        let auth = [(header.0.to_string(), header.1.to_string())];
        self.http.send(&what, || match self.http.call(&req, &url, &auth) {
            Ok(resp) => Ok((resp.status(), http::error_body(resp, 1 << 20))),
            Err(ureq::Error::Status(s, _)) if http::status_is_retryable(s) => {
                Err(Failure::Transient(Error::config(format!("{what}: HTTP {s}"))))
            }
            Err(ureq::Error::Status(s, resp)) => Ok((s, http::error_body(resp, 1 << 20))),
            Err(ureq::Error::Transport(t)) => Err(as_config(self.http.transport_failure(&what, &req, &t))),
        })
    }
}

impl Provider for InstanceMetadata {
    fn describe(&self) -> String {
        self.what()
    }

    fn fetch(&self) -> Result<Fetched> {
        let what = self.what();
        // A fresh session token per fetch: renewals are rare and a token lives 6 hours at most.
        let (status, token) =
            self.request("PUT", "latest/api/token", ("x-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL_SECONDS))?;
        match status {
            200 if !token.trim().is_empty() => {}
            200 => return Err(Error::config(format!("{what}: empty session token"))),
            403 => {
                return Err(Error::config(format!(
                "{what}: HTTP 403 for a session token: the instance metadata service is turned off for this instance"
            )))
            }
            s => {
                return Err(Error::config(format!(
                    "{what}: HTTP {s} for a session token (IMDSv2 is required; IMDSv1 is never used)"
                )))
            }
        }
        let auth = ("x-aws-ec2-metadata-token", token.trim());
        let (status, roles) = self.request("GET", ROLE_PATH, auth)?;
        let role = match status {
            200 => roles.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string),
            404 => None,
            s => return Err(Error::config(format!("{what}: HTTP {s} listing the instance's role"))),
        };
        let Some(role) = role else {
            return Err(Error::config(format!(
                "{what}: no IAM role is attached to this instance (no instance profile)"
            )));
        };
        if role.contains(['/', '?', '#', '%']) {
            return Err(Error::config(format!("{what}: unexpected role name {:?}", crate::log::printable(&role))));
        }
        let (status, doc) = self.request("GET", &format!("{ROLE_PATH}{role}"), auth)?;
        let what = format!("{what} (role {role})");
        if status != 200 {
            return Err(Error::config(format!("{what}: HTTP {status}")));
        }
        let v: serde_json::Value =
            serde_json::from_str(&doc).map_err(|_| Error::config(format!("{what}: the credentials are not JSON")))?;
        let code = v.get("Code").and_then(|c| c.as_str()).unwrap_or("Success");
        if code != "Success" {
            let msg = v.get("Message").and_then(|m| m.as_str()).unwrap_or("");
            return Err(Error::config(format!(
                "{what}: {code}{}{}",
                if msg.is_empty() { "" } else { ": " },
                crate::log::printable(msg)
            ))
            .with_code(Some(code.to_string()), None));
        }
        let f = super::parse_json_credentials(&v, "Token", &what)?;
        if f.credentials.session_token().is_none() || f.expires.is_none() {
            return Err(Error::config(format!("{what}: answered without Token or Expiration")));
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn sys(files: &[(&str, &str)]) -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sluice-sys-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for (rel, text) in files {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn recognises_ec2_like_cloud_init() {
        assert!(ec2_evidence(&sys(&[("class/dmi/id/sys_vendor", "Amazon EC2\n")])).is_some());
        assert!(ec2_evidence(&sys(&[("class/dmi/id/board_asset_tag", "i-0123456789abcdef0\n")])).is_some());
        assert!(ec2_evidence(&sys(&[("hypervisor/uuid", "ec2e1916-9099-7caf-fd21-012345abcdef\n")])).is_some());
        assert!(ec2_evidence(&sys(&[("class/dmi/id/product_uuid", "EC2E1916-9099-7CAF-FD21-012345ABCDEF")])).is_some());
        assert!(ec2_evidence(&sys(&[("class/dmi/id/product_uuid", "45E12AEC-DCD1-B213-94ED-012345ABCDEF")])).is_some());
        for not in [
            ("class/dmi/id/sys_vendor", "QEMU"),
            ("class/dmi/id/board_asset_tag", "Not Specified"),
            ("hypervisor/uuid", "0b2b8d4e-xen"),
            ("class/dmi/id/product_uuid", "4C4C4544-0042-3510-8052-B4C04F4E3732"),
        ] {
            assert!(ec2_evidence(&sys(&[not])).is_none(), "{not:?}");
        }
        assert!(ec2_evidence(Path::new("/nonexistent")).is_none());
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn decides_when_to_ask() {
        let off_ec2 = sys(&[]);
        let root = off_ec2.to_str().unwrap();
        assert_eq!(Imds::decide(&env(&[(SYSFS_ROOT_VAR, root)]), None, false), Imds::NotEc2);
        let forced = Imds::decide(&env(&[(SYSFS_ROOT_VAR, root)]), None, true);
        assert!(matches!(forced, Imds::Enabled { ref endpoint, .. } if endpoint == DEFAULT_ENDPOINT));
        let ep = Imds::decide(
            &env(&[(SYSFS_ROOT_VAR, root), ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")]),
            None,
            false,
        );
        assert!(matches!(ep, Imds::Enabled { ref endpoint, .. } if endpoint == "http://127.0.0.1:9"));
        let disabled =
            env(&[("AWS_EC2_METADATA_DISABLED", "TRUE"), ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")]);
        assert_eq!(Imds::decide(&disabled, None, true), Imds::Disabled);
        let ec2 = sys(&[("class/dmi/id/sys_vendor", "Amazon EC2")]);
        let v6 = env(&[(SYSFS_ROOT_VAR, ec2.to_str().unwrap()), ("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6")]);
        assert!(
            matches!(Imds::decide(&v6, None, false), Imds::Enabled { ref endpoint, .. } if endpoint == DEFAULT_ENDPOINT_IPV6)
        );
    }

    #[test]
    fn endpoint_and_settings_are_checked() {
        assert!(InstanceMetadata::new("169.254.169.254", &env(&[]), 0).is_err());
        assert!(InstanceMetadata::new("http://", &env(&[]), 0).is_err());
        let e = InstanceMetadata::new("http://127.0.0.1:9", &env(&[("AWS_METADATA_SERVICE_TIMEOUT", "soon")]), 0)
            .err()
            .unwrap();
        assert!(e.message().contains("AWS_METADATA_SERVICE_TIMEOUT"));
        let m = InstanceMetadata::new("http://127.0.0.1:9/", &env(&[("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "3")]), 0)
            .unwrap();
        assert_eq!((m.base.as_str(), m.http.retry().max_attempts), ("http://127.0.0.1:9", 3));
    }
}
