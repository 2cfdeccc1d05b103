//! Configuration in aws-cli's conventions: profiles (`~/.aws/credentials`, `~/.aws/config`),
//! endpoint, region, addressing style and CA bundle. Where the credentials come from is
//! [`crate::credentials`]' business: this module hands it the selected profile and the files.

use crate::credentials::{chain::Chain, CredentialCache};
use crate::http::HttpOptions;
use crate::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the user asked for on the command line (none of it secret).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub profile: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub addressing_style: Option<AddressingStyle>,
    pub ca_bundle: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressingStyle {
    Path,
    Virtual,
    /// Virtual-hosted when the bucket name is DNS-compatible, path-style otherwise.
    Auto,
}

impl std::str::FromStr for AddressingStyle {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "path" => Ok(AddressingStyle::Path),
            "virtual" => Ok(AddressingStyle::Virtual),
            "auto" => Ok(AddressingStyle::Auto),
            _ => Err(format!("addressing style must be path, virtual or auto, not {s:?}")),
        }
    }
}

/// A resolved S3 configuration. `Debug` shows no secrets (the credential cache redacts them).
#[derive(Clone, Debug)]
pub struct S3Config {
    /// The credentials of the first source that applies, renewed before they expire; its
    /// `source()` says where they come from, for `-v`.
    pub credentials: Arc<CredentialCache>,
    pub region: String,
    /// True when no region was configured anywhere and `us-east-1` was assumed.
    pub region_defaulted: bool,
    pub endpoint: Endpoint,
    pub addressing: AddressingStyle,
    pub ca_bundle: Option<PathBuf>,
    /// The profile's `s3 = payload_signing_enabled` (aws-cli's key), when set.
    pub payload_signing_enabled: Option<bool>,
}

/// Scheme, authority and optional base path of the S3 endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    /// host[:port] exactly as it goes into the Host header.
    pub authority: String,
    /// A path prefix some gateways mount S3 under ("" or "/s3"), without trailing slash.
    pub base_path: String,
    /// True for the AWS default endpoint, which we derive from the region.
    pub is_aws_default: bool,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint> {
        let bad = |why: &str| Error::config(format!("endpoint {url:?} {why}; expected http(s)://host[:port]"));
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad("has no http:// or https:// scheme"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains(['@', '?', '#', ' ']) {
            return Err(bad("has no usable host"));
        }
        if path.contains(['?', '#']) {
            return Err(bad("must not carry a query or fragment"));
        }
        // Drop the port when it is the scheme's default: the signed Host header must match what
        // the HTTP client sends, and clients omit default ports.
        let authority = match (https, authority.rsplit_once(':')) {
            (true, Some((h, "443"))) | (false, Some((h, "80"))) => h,
            _ => authority,
        };
        Ok(Endpoint {
            https,
            authority: authority.to_ascii_lowercase(),
            base_path: path.trim_end_matches('/').to_string(),
            is_aws_default: false,
        })
    }

    /// The regional AWS endpoint (virtual-hosted addressing is layered on top by the client).
    pub fn aws(region: &str) -> Endpoint {
        let authority =
            if region == "us-east-1" { "s3.amazonaws.com".to_string() } else { format!("s3.{region}.amazonaws.com") };
        Endpoint { https: true, authority, base_path: String::new(), is_aws_default: true }
    }

    /// The host without the port (IPv6 literals keep their brackets).
    pub fn host(&self) -> &str {
        let a = self.authority.as_str();
        if a.starts_with('[') {
            return a.split_once(']').map_or(a, |(h, _)| &a[..h.len() + 1]);
        }
        a.rsplit_once(':').map_or(a, |(h, _)| h)
    }

    /// An IPv4/IPv6 literal or `localhost`: virtual-hosted addressing (`bucket.HOST`) cannot
    /// work there, so `auto` uses path style, as botocore does.
    pub fn host_is_ip_or_localhost(&self) -> bool {
        let h = self.host();
        h.eq_ignore_ascii_case("localhost")
            || h.parse::<std::net::Ipv4Addr>().is_ok()
            || h.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
    }

    pub fn scheme(&self) -> &'static str {
        if self.https {
            "https"
        } else {
            "http"
        }
    }

    /// Recognised providers whose behaviour differs (multipart ETags, uniform parts).
    pub fn provider(&self) -> Provider {
        let host = self.authority.as_str();
        if self.is_aws_default || host.ends_with(".amazonaws.com") {
            Provider::Aws
        } else if host.ends_with(".r2.cloudflarestorage.com") {
            Provider::CloudflareR2
        } else if host.ends_with(".myqcloud.com") {
            Provider::TencentCos
        } else if host.ends_with(".backblazeb2.com") {
            Provider::Backblaze
        } else {
            Provider::Other
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    Aws,
    CloudflareR2,
    TencentCos,
    Backblaze,
    Other,
}

impl Provider {
    /// Whether a completed multipart upload's ETag is `md5(concat(part md5s))-N`.
    pub(crate) fn multipart_etag_is_md5_of_md5s(self) -> bool {
        !matches!(self, Provider::CloudflareR2)
    }
    /// Whether every part but the last must have the same size (R2 rejects growing parts).
    pub(crate) fn needs_uniform_parts(self) -> bool {
        matches!(self, Provider::CloudflareR2)
    }
}

/// Read-only view of the process environment, injectable for tests.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

pub(crate) struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

/// Resolves everything an S3 binary needs. Errors are `ErrorKind::Config` and name the fix.
/// `net` (timeouts, retries) and `verbose` also apply to the credential sources that talk to a
/// service (STS, the container endpoint, instance metadata); they are asked last, once
/// everything else checked out.
pub fn resolve_s3(ov: &Overrides, env: &dyn Env, net: &HttpOptions, verbose: u8) -> Result<S3Config> {
    let profile_explicit = ov.profile.is_some();
    let profile = ov.profile.clone().or_else(|| env.var("AWS_PROFILE")).unwrap_or_else(|| "default".into());
    let files = ProfileFiles::load(env)?;
    if profile_explicit && profile != "default" && !files.has_profile(&profile) {
        return Err(Error::config(format!(
            "profile {profile:?} not found in {} or {}",
            files.credentials_path.display(),
            files.config_path.display()
        )));
    }
    let prof = files.profile(&profile);

    let region_cfg = ov
        .region
        .clone()
        .or_else(|| env.var("AWS_REGION"))
        .or_else(|| env.var("AWS_DEFAULT_REGION"))
        .or_else(|| prof.get("region"));
    let region_defaulted = region_cfg.is_none();
    let region = region_cfg.unwrap_or_else(|| "us-east-1".into());
    if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(Error::config(format!("region {region:?} is not a valid region name")));
    }

    let endpoint_url = ov
        .endpoint
        .clone()
        .or_else(|| env.var("AWS_ENDPOINT_URL_S3"))
        .or_else(|| env.var("AWS_ENDPOINT_URL"))
        .or_else(|| prof.get_nested("s3", "endpoint_url"))
        .or_else(|| prof.get("endpoint_url"));
    let endpoint = match &endpoint_url {
        Some(url) => Endpoint::parse(url)?,
        None => Endpoint::aws(&region),
    };

    let addressing = match ov.addressing_style {
        Some(a) => a,
        None => match prof.get_nested("s3", "addressing_style") {
            Some(s) => s.parse().map_err(|e: String| Error::config(format!("profile {profile}: {e}")))?,
            // Custom endpoints (MinIO, Garage, Ceph) rarely have wildcard DNS: path-style there.
            None if endpoint.is_aws_default => AddressingStyle::Auto,
            None => AddressingStyle::Path,
        },
    };

    if addressing == AddressingStyle::Virtual && endpoint.host_is_ip_or_localhost() {
        return Err(Error::usage(format!(
            "--addressing-style virtual needs a DNS name endpoint ({} is an IP address or localhost, \
             which no bucket name can be prefixed to): use --addressing-style path",
            endpoint.host()
        )));
    }

    let payload_signing_enabled = match prof.get_nested("s3", "payload_signing_enabled") {
        None => None,
        Some(v) => Some(match v.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => {
                return Err(Error::config(format!(
                    "profile {profile}: s3.payload_signing_enabled must be true or false, not {v:?}"
                )))
            }
        }),
    };

    let ca_bundle = ov
        .ca_bundle
        .clone()
        .or_else(|| env.var("AWS_CA_BUNDLE").map(PathBuf::from))
        .or_else(|| prof.get("ca_bundle").map(|p| expand_home(&p, env)));

    let http = HttpOptions { ca_bundle: ca_bundle.clone(), ..net.clone() };
    let credentials = Chain::new(env, &files, &profile, profile_explicit, &region, http, verbose).resolve()?;
    Ok(S3Config { credentials, region, region_defaulted, endpoint, addressing, ca_bundle, payload_signing_enabled })
}

pub(crate) fn expand_home(p: &str, env: &dyn Env) -> PathBuf {
    match (p.strip_prefix("~/"), env.var("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(p),
    }
}

pub(crate) fn config_section_name(profile: &str) -> String {
    if profile == "default" {
        "default".into()
    } else {
        format!("profile {profile}")
    }
}

/// An INI section: flat keys plus aws-cli's nested blocks (`s3 =` followed by indented lines).
/// `Debug` redacts the values of the secret keys.
#[derive(Clone, Default)]
pub(crate) struct Section {
    values: HashMap<String, String>,
    nested: HashMap<String, HashMap<String, String>>,
}

/// Profile keys whose values are secrets.
const SECRET_KEYS: &[&str] = &["aws_secret_access_key", "aws_session_token"];

impl std::fmt::Debug for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |k: &String, v: &String| {
            if SECRET_KEYS.contains(&k.as_str()) {
                "<redacted>".to_string()
            } else {
                v.clone()
            }
        };
        let values: std::collections::BTreeMap<_, _> = self.values.iter().map(|(k, v)| (k, shown(k, v))).collect();
        f.debug_struct("Section").field("values", &values).field("nested", &self.nested).finish()
    }
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&String> {
        self.values.get(key)
    }
}

/// Parses the shared credentials/config INI dialect. Keys are case-sensitive as in aws-cli;
/// section names are trimmed.
pub(crate) fn parse_ini(text: &str) -> HashMap<String, Section> {
    let mut sections: HashMap<String, Section> = HashMap::new();
    let mut current: Option<String> = None;
    let mut nested_key: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if trimmed.starts_with('[') {
            if let Some(end) = trimmed.find(']') {
                let name = trimmed[1..end].trim().to_string();
                sections.entry(name.clone()).or_default();
                current = Some(name);
                nested_key = None;
            }
            continue;
        }
        let Some(sec_name) = &current else { continue };
        let Some((k, v)) = trimmed.split_once('=') else { continue };
        let (k, v) = (k.trim().to_string(), v.trim().to_string());
        let indented = line.len() != trimmed.len();
        let sec = sections.entry(sec_name.clone()).or_default();
        match (&nested_key, indented) {
            (Some(parent), true) => {
                sec.nested.entry(parent.clone()).or_default().insert(k, v);
            }
            _ if v.is_empty() => {
                // `s3 =` opens a nested block for the indented lines that follow.
                nested_key = Some(k.clone());
                sec.nested.entry(k).or_default();
            }
            _ => {
                nested_key = None;
                sec.values.insert(k, v);
            }
        }
    }
    sections
}

/// The two shared files, parsed.
pub(crate) struct ProfileFiles {
    pub(crate) credentials_path: PathBuf,
    pub(crate) config_path: PathBuf,
    pub(crate) credentials: HashMap<String, Section>,
    pub(crate) config: HashMap<String, Section>,
}

impl ProfileFiles {
    pub(crate) fn load(env: &dyn Env) -> Result<ProfileFiles> {
        let home = env.var("HOME").unwrap_or_default();
        let credentials_path = env
            .var("AWS_SHARED_CREDENTIALS_FILE")
            .map(|p| expand_home(&p, env))
            .unwrap_or_else(|| Path::new(&home).join(".aws/credentials"));
        let config_path = env
            .var("AWS_CONFIG_FILE")
            .map(|p| expand_home(&p, env))
            .unwrap_or_else(|| Path::new(&home).join(".aws/config"));
        Ok(ProfileFiles {
            credentials: read_ini(&credentials_path)?,
            config: read_ini(&config_path)?,
            credentials_path,
            config_path,
        })
    }

    pub(crate) fn has_profile(&self, profile: &str) -> bool {
        self.credentials.contains_key(profile) || self.config.contains_key(&config_section_name(profile))
    }

    /// Settings (region, endpoint_url, ca_bundle, s3 block, credential_process) live in the
    /// config file; aws-cli also honours them in the credentials file, which we do second.
    pub(crate) fn profile(&self, profile: &str) -> ProfileView<'_> {
        ProfileView { sections: [self.config.get(&config_section_name(profile)), self.credentials.get(profile)] }
    }
}

/// One profile's settings across both files (the config file first).
pub(crate) struct ProfileView<'a> {
    sections: [Option<&'a Section>; 2],
}

impl ProfileView<'_> {
    pub(crate) fn get(&self, key: &str) -> Option<String> {
        self.sections.iter().flatten().find_map(|s| s.values.get(key)).filter(|v| !v.is_empty()).cloned()
    }
    pub(crate) fn get_nested(&self, block: &str, key: &str) -> Option<String> {
        self.sections
            .iter()
            .flatten()
            .find_map(|s| s.nested.get(block).and_then(|b| b.get(key)))
            .filter(|v| !v.is_empty())
            .cloned()
    }
}

fn read_ini(path: &Path) -> Result<HashMap<String, Section>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse_ini(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashMap::new()),
        Err(e) => Err(Error::config(format!("cannot read {}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn ini_nested_blocks_and_comments() {
        let s = parse_ini(
            "[default]\nregion = eu-west-1\n# c\n[profile ceph]\nendpoint_url = https://rgw:7480\ns3 =\n  addressing_style = virtual\n  endpoint_url = https://x\nregion=r1\n",
        );
        assert_eq!(s["default"].get("region").unwrap(), "eu-west-1");
        let ceph = &s["profile ceph"];
        assert_eq!(ceph.nested["s3"]["addressing_style"], "virtual");
        assert_eq!(ceph.get("region").unwrap(), "r1");
    }

    #[test]
    fn endpoint_parsing() {
        let e = Endpoint::parse("http://127.0.0.1:3900").unwrap();
        assert_eq!((e.https, e.authority.as_str(), e.base_path.as_str()), (false, "127.0.0.1:3900", ""));
        let e = Endpoint::parse("https://S3.Example.com:443/base/").unwrap();
        assert_eq!((e.authority.as_str(), e.base_path.as_str()), ("s3.example.com", "/base"));
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("127.0.0.1:3900").is_err());
        assert!(Endpoint::parse("http://").is_err());
    }

    #[test]
    fn profile_secrets_are_redacted_in_debug() {
        let s =
            parse_ini("[p]\naws_access_key_id = AKID\naws_secret_access_key = hunter2\naws_session_token = tok3n\n");
        let d = format!("{:?}", s["p"]);
        assert!(d.contains("AKID") && !d.contains("hunter2") && !d.contains("tok3n"), "{d}");
    }

    #[test]
    fn resolved_config_debug_shows_no_secret() {
        let env = env(&[
            ("HOME", "/nonexistent"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secretvalue123"),
            ("AWS_SESSION_TOKEN", "sessiontoken456"),
        ]);
        let c = resolve_s3(&Overrides::default(), &env, &HttpOptions::default(), 0).unwrap();
        for d in [format!("{c:?}"), format!("{c:#?}")] {
            assert!(
                d.contains("AKIDEXAMPLE") && !d.contains("secretvalue123") && !d.contains("sessiontoken456"),
                "{d}"
            );
        }
    }

    #[test]
    fn missing_credentials_name_the_fix() {
        let env = env(&[("HOME", "/nonexistent"), ("AWS_EC2_METADATA_DISABLED", "true")]);
        let e = resolve_s3(&Overrides::default(), &env, &HttpOptions::default(), 0).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert!(e.message().starts_with("no credentials: not in the environment"), "{}", e.message());
    }
}
