//! The credential chain: the first source that applies wins, in botocore's order
//! (`create_credential_resolver`):
//!
//! 1. `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, unless `--profile`;
//! 2. an assume-role profile (`role_arn` with `source_profile` or `credential_source`);
//! 3. web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, or the profile's keys);
//! 4. the profile's keys in the shared credentials file, its `credential_process`, its keys in
//!    the config file;
//! 5. the container endpoint (`AWS_CONTAINER_CREDENTIALS_*`);
//! 6. EC2 instance metadata, only on EC2 or with an endpoint configured (see [`super::imds`]).
//!
//! Nothing here touches the network unless its source was selected; when none applies the
//! error says what was tried.

use super::container::Container;
use super::imds::{Imds, InstanceMetadata};
use super::process::CredentialProcess;
use super::sts::{self, AssumeRole, RoleSpec, Sts, WebIdentity};
use super::{CredentialCache, Provider};
use crate::config::{config_section_name, Env, ProfileFiles};
use crate::error::{Error, Result};
use crate::http::HttpOptions;
use crate::sigv4::Credentials;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// What the chain needs to know.
pub(crate) struct Chain<'a> {
    env: &'a dyn Env,
    files: &'a ProfileFiles,
    /// The selected profile (`--profile`, `AWS_PROFILE`, else "default").
    profile: &'a str,
    /// `--profile` was given: the environment's keys (and web identity variables) are skipped.
    profile_explicit: bool,
    /// The region STS is asked in.
    region: &'a str,
    /// Timeouts, retries and CA bundle for STS.
    http: HttpOptions,
    verbose: u8,
    /// Built on first use: only assume-role and web identity need STS.
    sts: OnceLock<Sts>,
}

/// The valid `credential_source` values.
const CREDENTIAL_SOURCES: &str = "Environment, EcsContainer or Ec2InstanceMetadata";

impl<'a> Chain<'a> {
    pub(crate) fn new(
        env: &'a dyn Env,
        files: &'a ProfileFiles,
        profile: &'a str,
        profile_explicit: bool,
        region: &'a str,
        http: HttpOptions,
        verbose: u8,
    ) -> Chain<'a> {
        Chain { env, files, profile, profile_explicit, region, http, verbose, sts: OnceLock::new() }
    }

    /// Resolves the selected profile's credentials.
    pub(crate) fn resolve(&self) -> Result<Arc<CredentialCache>> {
        let mut tried = Vec::new();
        if !self.profile_explicit {
            if let Some(creds) = self.env_keys()? {
                return Ok(Arc::new(CredentialCache::fixed(creds, "environment")));
            }
            tried.push("not in the environment".to_string());
        }
        if self.is_assume_role_profile(self.profile) {
            return self.assume_role(self.profile, &mut vec![self.profile.to_string()]);
        }
        if let Some(cache) = self.profile_sources(self.profile, !self.profile_explicit)? {
            return Ok(cache);
        }
        tried.push(if self.files.has_profile(self.profile) {
            format!(
                "profile {:?} in {} or {} has no credentials",
                self.profile,
                self.shown(&self.files.credentials_path),
                self.shown(&self.files.config_path)
            )
        } else {
            format!(
                "no profile {:?} in {} or {}",
                self.profile,
                self.shown(&self.files.credentials_path),
                self.shown(&self.files.config_path)
            )
        });
        if let Some(c) = Container::from_env(self.env, self.verbose)? {
            return self.cache(Arc::new(c));
        }
        match Imds::decide(self.env, self.files.profile(self.profile).get("ec2_metadata_service_endpoint"), false) {
            Imds::Enabled { endpoint, why } => {
                if self.verbose >= 1 {
                    crate::log::note(format!("asking instance metadata at {endpoint}: {why}"));
                }
                self.cache(Arc::new(InstanceMetadata::new(&endpoint, self.env, self.verbose)?))
            }
            Imds::Disabled => {
                tried.push("instance metadata disabled (AWS_EC2_METADATA_DISABLED)".into());
                Err(Error::config(format!("no credentials: {}", tried.join(", "))))
            }
            Imds::NotEc2 => {
                tried.push(
                    "not on EC2 (set AWS_EC2_METADATA_SERVICE_ENDPOINT to use an instance metadata service)".into(),
                );
                Err(Error::config(format!("no credentials: {}", tried.join(", "))))
            }
        }
    }

    /// `~/.aws/credentials` rather than the full path, as users wrote it.
    fn shown(&self, p: &Path) -> String {
        match self.env.var("HOME").and_then(|h| p.strip_prefix(&h).ok().map(|r| r.to_path_buf())) {
            Some(rel) => format!("~/{}", rel.display()),
            None => p.display().to_string(),
        }
    }

    fn cache(&self, p: Arc<dyn Provider>) -> Result<Arc<CredentialCache>> {
        Ok(Arc::new(CredentialCache::from_provider(p, self.verbose)?))
    }

    fn env_keys(&self) -> Result<Option<Credentials>> {
        match (self.env.var("AWS_ACCESS_KEY_ID"), self.env.var("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => Ok(Some(Credentials::new(id, secret, self.env.var("AWS_SESSION_TOKEN")))),
            (Some(_), None) => Err(Error::config("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")),
            (None, Some(_)) => Err(Error::config("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")),
            (None, None) => Ok(None),
        }
    }

    /// botocore's test: `role_arn` without `web_identity_token_file` (that one is web identity).
    fn is_assume_role_profile(&self, name: &str) -> bool {
        let p = self.files.profile(name);
        p.get("role_arn").is_some() && p.get("web_identity_token_file").is_none()
    }

    /// Static keys in the credentials file (first) or the config file, as written.
    fn static_keys(&self, name: &str) -> Result<Option<(Credentials, String)>> {
        let sections = [
            (self.files.credentials.get(name), &self.files.credentials_path),
            (self.files.config.get(&config_section_name(name)), &self.files.config_path),
        ];
        for (section, path) in sections {
            let Some(sec) = section else { continue };
            let get = |k: &str| sec.get(k).filter(|v| !v.is_empty()).cloned();
            match (get("aws_access_key_id"), get("aws_secret_access_key")) {
                (Some(id), Some(secret)) => {
                    let source = format!("profile {name} in {}", self.shown(path));
                    return Ok(Some((Credentials::new(id, secret, get("aws_session_token")), source)));
                }
                (Some(_), None) | (None, Some(_)) => {
                    return Err(Error::config(format!(
                        "profile {name} in {} needs both aws_access_key_id and aws_secret_access_key",
                        self.shown(path)
                    )))
                }
                (None, None) => {}
            }
        }
        Ok(None)
    }

    /// The profile-based sources in botocore's order: web identity, the credentials file,
    /// credential_process, the config file. `env_allowed`: the web identity variables count.
    fn profile_sources(&self, name: &str, env_allowed: bool) -> Result<Option<Arc<CredentialCache>>> {
        if let Some(w) = self.web_identity(name, env_allowed)? {
            return self.cache(Arc::new(w)).map(Some);
        }
        let keys = self.static_keys(name)?;
        let in_credentials_file =
            self.files.credentials.get(name).is_some_and(|s| s.get("aws_access_key_id").is_some());
        if let (Some((creds, source)), true) = (&keys, in_credentials_file) {
            return Ok(Some(Arc::new(CredentialCache::fixed(creds.clone(), source.clone()))));
        }
        if let Some(cmd) = self.files.profile(name).get("credential_process") {
            let home = self.env.var("HOME");
            let p = CredentialProcess::parse(&cmd, &format!("profile {name}"), home.as_deref())?;
            return self.cache(Arc::new(p)).map(Some);
        }
        Ok(keys.map(|(creds, source)| Arc::new(CredentialCache::fixed(creds, source))))
    }

    /// Web identity from the environment (unless `--profile`) or the profile; each key
    /// separately, the environment first, as botocore reads them.
    fn web_identity(&self, name: &str, env_allowed: bool) -> Result<Option<WebIdentity>> {
        let prof = self.files.profile(name);
        let pick = |var: &str, key: &str| -> Option<(String, String)> {
            env_allowed
                .then(|| self.env.var(var).map(|v| (v, var.to_string())))
                .flatten()
                .or_else(|| prof.get(key).map(|v| (v, format!("profile {name}"))))
        };
        let Some((token_file, origin)) = pick("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file") else {
            return Ok(None);
        };
        let Some((role_arn, _)) = pick("AWS_ROLE_ARN", "role_arn") else {
            return Err(Error::config(format!(
                "web identity token file given by {origin} but no role: set AWS_ROLE_ARN or the profile's role_arn"
            )));
        };
        Ok(Some(WebIdentity {
            sts: self.sts()?.clone(),
            token_file: crate::config::expand_home(&token_file, self.env),
            role_arn,
            session_name: pick("AWS_ROLE_SESSION_NAME", "role_session_name").map(|(v, _)| v),
            origin,
        }))
    }

    /// STS for this profile: `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, the profile's `sts`
    /// block `endpoint_url`, its `endpoint_url`, else the regional AWS endpoint.
    fn sts(&self) -> Result<&Sts> {
        if let Some(s) = self.sts.get() {
            return Ok(s);
        }
        let prof = self.files.profile(self.profile);
        let url = self
            .env
            .var("AWS_ENDPOINT_URL_STS")
            .or_else(|| self.env.var("AWS_ENDPOINT_URL"))
            .or_else(|| prof.get_nested("sts", "endpoint_url"))
            .or_else(|| prof.get("endpoint_url"));
        let s = Sts::new(url.as_deref(), self.region, &sts::http_options(&self.http), self.verbose)?;
        Ok(self.sts.get_or_init(|| s))
    }

    /// An assume-role profile: its source first (recursively for chains), then the role.
    fn assume_role(&self, name: &str, visited: &mut Vec<String>) -> Result<Arc<CredentialCache>> {
        let prof = self.files.profile(name);
        let label = format!("profile {name}");
        let role_arn = prof.get("role_arn").unwrap_or_default();
        if prof.get("mfa_serial").is_some() {
            return Err(Error::config(format!(
                "{label}: mfa_serial needs a code typed at a prompt, which a pipeline cannot do; use a role without MFA or a credential_process"
            )));
        }
        let source = match (prof.get("source_profile"), prof.get("credential_source")) {
            (Some(_), Some(_)) => {
                return Err(Error::config(format!("{label} has both source_profile and credential_source; keep one")))
            }
            (None, None) => {
                return Err(Error::config(format!(
                    "{label} has role_arn but neither source_profile nor credential_source"
                )))
            }
            (None, Some(cs)) => self.credential_source(&cs, &label)?,
            (Some(src), None) => self.source_profile(name, &src, visited)?,
        };
        let role = RoleSpec {
            role_arn,
            session_name: prof.get("role_session_name"),
            external_id: prof.get("external_id"),
            duration_seconds: prof
                .get("duration_seconds")
                .map(|d| sts::parse_duration_seconds(&d, &label))
                .transpose()?,
        };
        let provider = AssumeRole { sts: self.sts()?.clone(), role, source, profile: label };
        self.cache(Arc::new(provider))
    }

    fn source_profile(&self, parent: &str, src: &str, visited: &mut Vec<String>) -> Result<Arc<CredentialCache>> {
        if !self.files.has_profile(src) {
            return Err(Error::config(format!("profile {parent}: its source_profile {src:?} does not exist")));
        }
        let has_keys = self.static_keys(src)?.is_some();
        if visited.iter().any(|v| v == src) && !(src == parent && has_keys) {
            // A profile may name itself to use its own keys; anything else is a loop.
            visited.push(src.to_string());
            return Err(Error::config(format!("source_profile loop: {}", visited.join(" -> "))));
        }
        visited.push(src.to_string());
        if has_keys || !self.is_assume_role_profile(src) {
            return self.profile_sources(src, false)?.ok_or_else(|| {
                Error::config(format!("profile {parent}: its source_profile {src:?} has no credentials"))
            });
        }
        self.assume_role(src, visited)
    }

    fn credential_source(&self, name: &str, label: &str) -> Result<Arc<CredentialCache>> {
        match name {
            "Environment" => match self.env_keys()? {
                Some(c) => Ok(Arc::new(CredentialCache::fixed(c, "environment"))),
                None => Err(Error::config(format!(
                    "{label}: credential_source Environment but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"
                ))),
            },
            "EcsContainer" => match Container::from_env(self.env, self.verbose)? {
                Some(c) => self.cache(Arc::new(c)),
                None => Err(Error::config(format!(
                    "{label}: credential_source EcsContainer but neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set"
                ))),
            },
            "Ec2InstanceMetadata" => {
                match Imds::decide(self.env, self.files.profile(self.profile).get("ec2_metadata_service_endpoint"), true) {
                    Imds::Enabled { endpoint, why } => {
                        if self.verbose >= 1 {
                            crate::log::note(format!("asking instance metadata at {endpoint}: {why}"));
                        }
                        self.cache(Arc::new(InstanceMetadata::new(&endpoint, self.env, self.verbose)?))
                    }
                    _ => Err(Error::config(format!(
                        "{label}: credential_source Ec2InstanceMetadata but instance metadata is disabled (AWS_EC2_METADATA_DISABLED)"
                    ))),
                }
            }
            other => Err(Error::config(format!("{label}: credential_source {other:?} is not one of {CREDENTIAL_SOURCES}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::PathBuf;

    struct Fixture {
        dir: PathBuf,
        env: HashMap<String, String>,
    }

    impl Fixture {
        fn new(credentials: &str, config: &str) -> Fixture {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "sluice-chain-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(dir.join(".aws")).unwrap();
            std::fs::create_dir_all(dir.join("sys")).unwrap();
            std::fs::write(dir.join(".aws/credentials"), credentials).unwrap();
            std::fs::write(dir.join(".aws/config"), config).unwrap();
            let mut env = HashMap::new();
            env.insert("HOME".to_string(), dir.display().to_string());
            env.insert(super::super::imds::SYSFS_ROOT_VAR.to_string(), dir.join("sys").display().to_string());
            Fixture { dir, env }
        }

        fn set(mut self, k: &str, v: &str) -> Fixture {
            self.env.insert(k.into(), v.into());
            self
        }

        fn resolve(&self, profile: Option<&str>) -> Result<Arc<CredentialCache>> {
            let files = ProfileFiles::load(&self.env)?;
            let chain = Chain::new(
                &self.env,
                &files,
                profile.unwrap_or("default"),
                profile.is_some(),
                "us-east-1",
                HttpOptions::default(),
                0,
            );
            chain.resolve()
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn nothing_configured_names_what_was_tried() {
        let f = Fixture::new("", "");
        let e = f.resolve(None).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert_eq!(
            e.message(),
            "no credentials: not in the environment, no profile \"default\" in ~/.aws/credentials or ~/.aws/config, not on EC2 (set AWS_EC2_METADATA_SERVICE_ENDPOINT to use an instance metadata service)"
        );
        let f = f.set("AWS_EC2_METADATA_DISABLED", "true");
        assert!(f
            .resolve(None)
            .unwrap_err()
            .message()
            .ends_with("instance metadata disabled (AWS_EC2_METADATA_DISABLED)"));
    }

    #[test]
    fn environment_first_unless_a_profile_is_named() {
        let f = Fixture::new("[default]\naws_access_key_id = FILE\naws_secret_access_key = s\n[p]\naws_access_key_id = P\naws_secret_access_key = s\n", "")
            .set("AWS_ACCESS_KEY_ID", "ENV")
            .set("AWS_SECRET_ACCESS_KEY", "s");
        let c = f.resolve(None).unwrap();
        assert_eq!((c.source(), c.current().unwrap().access_key_id.as_str()), ("environment", "ENV"));
        let c = f.resolve(Some("p")).unwrap();
        assert_eq!(c.current().unwrap().access_key_id, "P");
        assert_eq!(c.source(), "profile p in ~/.aws/credentials");
    }

    #[test]
    fn credential_process_comes_before_the_config_files_keys() {
        let f = Fixture::new(
            "",
            "[default]\naws_access_key_id = CONFIG\naws_secret_access_key = s\ncredential_process = /bin/sh -c 'echo {\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"PROC\\\", \\\"SecretAccessKey\\\": \\\"x\\\"}'\n",
        );
        let c = f.resolve(None).unwrap();
        assert_eq!(c.current().unwrap().access_key_id, "PROC");
        assert_eq!(c.source(), "credential_process of profile default");
    }

    #[test]
    fn assume_role_configuration_is_checked_before_any_request() {
        let cases = [
            ("[profile a]\nrole_arn = arn:r\n", "neither source_profile nor credential_source"),
            ("[profile a]\nrole_arn = arn:r\nsource_profile = b\ncredential_source = Environment\n", "both source_profile and credential_source"),
            ("[profile a]\nrole_arn = arn:r\nsource_profile = nope\n", "source_profile \"nope\" does not exist"),
            ("[profile a]\nrole_arn = arn:r\nsource_profile = b\n[profile b]\nrole_arn = arn:s\nsource_profile = a\n", "source_profile loop: a -> b -> a"),
            ("[profile a]\nrole_arn = arn:r\nsource_profile = a\n", "source_profile loop: a -> a"),
            ("[profile a]\nrole_arn = arn:r\ncredential_source = Elsewhere\n", "is not one of"),
            ("[profile a]\nrole_arn = arn:r\ncredential_source = Environment\n", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"),
            ("[profile a]\nrole_arn = arn:r\ncredential_source = EcsContainer\n", "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
            ("[profile a]\nrole_arn = arn:r\nsource_profile = b\n[profile b]\nregion = x\n", "source_profile \"b\" has no credentials"),
            ("[profile a]\nrole_arn = arn:r\nmfa_serial = arn:mfa\nsource_profile = a\n", "mfa_serial"),
            ("[profile a]\nrole_arn = arn:r\nsource_profile = a\naws_access_key_id = k\naws_secret_access_key = s\nduration_seconds = 5\n", "duration_seconds"),
        ];
        for (config, want) in cases {
            let f = Fixture::new("", config).set("AWS_EC2_METADATA_DISABLED", "true");
            let e = f.resolve(Some("a")).unwrap_err();
            assert!(e.message().contains(want), "{config:?}: {}", e.message());
            assert_eq!(e.kind(), crate::ErrorKind::Config);
        }
        let f = Fixture::new("", "[profile a]\nrole_arn = arn:r\ncredential_source = Ec2InstanceMetadata\n")
            .set("AWS_EC2_METADATA_DISABLED", "true");
        assert!(f.resolve(Some("a")).unwrap_err().message().contains("instance metadata is disabled"));
    }

    #[test]
    fn web_identity_needs_a_role() {
        let f = Fixture::new("", "").set("AWS_WEB_IDENTITY_TOKEN_FILE", "/tmp/token");
        let e = f.resolve(None).unwrap_err();
        assert!(e.message().contains("AWS_ROLE_ARN"), "{}", e.message());
        // With --profile the web identity variables do not count (botocore).
        let f = Fixture::new("", "[profile p]\nregion = x\n")
            .set("AWS_WEB_IDENTITY_TOKEN_FILE", "/tmp/token")
            .set("AWS_EC2_METADATA_DISABLED", "true");
        assert!(f.resolve(Some("p")).unwrap_err().message().starts_with("no credentials: profile \"p\""));
    }
}
