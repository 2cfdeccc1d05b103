//! Flags shared by several binaries, defined once: connection (S3, Swift), timeouts and
//! retries, the uploaders' pipeline flags, and the value parsers they use.

use crate::config::{self, AddressingStyle, Endpoint, Overrides};
use crate::http::{HttpOptions, Retry};
use crate::rate::RateLimit;
use crate::s3::ops::{Retention, SseC};
use crate::s3::S3Client;
use crate::swift::{AuthConfig, SwiftClient};
use crate::transfer::{self, Destination, OnFail, Options, PartPlan, Summary, Uploader};
use crate::units::parse_size;
use crate::{log, metrics, run, Error, Result};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Logs and metrics: the same flags on every binary (`cli::main` applies them).
#[derive(Args, Clone, Debug, Default)]
pub(crate) struct ReportArgs {
    /// Format of the lines on stderr: text, or json (one object per line with time, tool, level, event and message; events started, progress, retry, completed, failed: see sluice(7))
    #[arg(long, value_name = "FORMAT", value_enum, ignore_case = true, default_value_t = log::Format::Text, env = "SLUICE_LOG_FORMAT",
          hide_env_values = true, hide_default_value = true, help_heading = "Reporting")]
    pub log_format: log::Format,
    /// At exit, write Prometheus metrics (last success, last attempt and last success times, duration, bytes) to FILE, atomically, for node_exporter's textfile collector
    #[arg(long, value_name = "FILE", env = "SLUICE_METRICS_FILE", hide_env_values = true, help_heading = "Reporting")]
    pub metrics_file: Option<PathBuf>,
    /// The job label of the metrics (default: the tool's name)
    #[arg(long, value_name = "NAME", env = "SLUICE_METRICS_JOB", hide_env_values = true, help_heading = "Reporting")]
    pub metrics_job: Option<String>,
}

impl ReportArgs {
    /// The same settings from the environment alone (when the command line is unusable).
    pub(crate) fn from_env() -> ReportArgs {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        ReportArgs {
            log_format: match std::env::var("SLUICE_LOG_FORMAT") {
                Ok(v) if v.eq_ignore_ascii_case("json") => log::Format::Json,
                _ => log::Format::Text,
            },
            metrics_file: var("SLUICE_METRICS_FILE").map(PathBuf::from),
            metrics_job: var("SLUICE_METRICS_JOB").map(|v| v.to_string_lossy().into_owned()),
        }
    }

    /// The settings of a command line clap refused: the environment's, overridden by whatever
    /// `--log-format`, `--metrics-file` and `--metrics-job` (`--flag V` or `--flag=V`) appear
    /// before a `--`, so that even a usage error is reported as asked.
    pub(crate) fn from_raw_args(argv: &[String]) -> ReportArgs {
        let mut r = ReportArgs::from_env();
        let mut it = argv.iter().take_while(|a| a.as_str() != "--");
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                _ => (arg.as_str(), None),
            };
            if !["--log-format", "--metrics-file", "--metrics-job"].contains(&flag) {
                continue;
            }
            let Some(value) = inline.or_else(|| it.next().cloned()) else { break };
            match flag {
                "--log-format" => {
                    if let Ok(f) = <log::Format as clap::ValueEnum>::from_str(&value, true) {
                        r.log_format = f;
                    }
                }
                "--metrics-file" => r.metrics_file = Some(PathBuf::from(value)),
                _ => r.metrics_job = Some(value),
            }
        }
        r
    }

    /// Where `tool`'s metrics go, if anywhere.
    pub(crate) fn metrics_config(&self, tool: &str) -> Result<Option<metrics::Config>> {
        let Some(path) = &self.metrics_file else { return Ok(None) };
        if path.file_name().is_none() {
            return Err(Error::usage(format!("--metrics-file {}: name a file, not a directory", path.display())));
        }
        let job = self.metrics_job.clone().unwrap_or_else(|| tool.to_string());
        if job.is_empty() {
            return Err(Error::usage("--metrics-job: the job name must not be empty"));
        }
        Ok(Some(metrics::Config { path: path.clone(), job, tool: tool.to_string() }))
    }
}

/// Timeouts and retries: the same flags on every binary that talks to a server (S3 and Swift).
#[derive(Args, Clone, Debug)]
pub(crate) struct NetArgs {
    /// Seconds to wait for a connection
    #[arg(long, value_name = "SECS", default_value_t = 10.0, help_heading = "Connection")]
    pub connect_timeout: f64,
    /// Seconds of silence tolerated while sending or receiving (an idle timeout, not a deadline)
    #[arg(long, value_name = "SECS", default_value_t = 60.0, help_heading = "Connection")]
    pub timeout: f64,
    /// Retries per request on 5xx, 429, timeouts and throttling (408, S3 SlowDown and RequestTimeout) and connection errors, with exponential backoff and jitter
    #[arg(long, value_name = "N", default_value_t = 4, help_heading = "Connection")]
    pub retries: u32,
    /// Say more on stderr: -v for the steps, -vv for every request
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl Default for NetArgs {
    fn default() -> Self {
        NetArgs { connect_timeout: 10.0, timeout: 60.0, retries: 4, verbose: 0 }
    }
}

impl NetArgs {
    /// Timeouts and retry policy; the caller adds its CA bundle.
    pub(crate) fn http_options(&self) -> HttpOptions {
        let secs = |s: f64| Duration::from_secs_f64(if s.is_finite() && s > 0.0 { s } else { 0.001 });
        HttpOptions {
            connect_timeout: secs(self.connect_timeout),
            idle_timeout: secs(self.timeout),
            retry: Retry { max_attempts: self.retries + 1, ..Retry::default() },
            ..HttpOptions::default()
        }
    }
}

/// Where and how to reach the S3 store. Secrets never come from flags: only from the
/// environment, the shared files and the credential sources of `credentials::chain`.
#[derive(Args, Clone, Debug, Default)]
pub(crate) struct S3Args {
    /// Profile in ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, then "default")
    #[arg(long, value_name = "NAME", help_heading = "Connection")]
    pub profile: Option<String>,
    /// S3 endpoint URL, e.g. http://127.0.0.1:3900 (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url, then AWS)
    #[arg(long, value_name = "URL", help_heading = "Connection")]
    pub endpoint: Option<String>,
    /// Region to sign for (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, then us-east-1; corrected automatically when the server names another)
    #[arg(long, value_name = "REGION", help_heading = "Connection")]
    pub region: Option<String>,
    /// path (https://host/bucket/key), virtual (https://bucket.host/key) or auto (default: path for custom endpoints, auto for AWS)
    #[arg(long, value_name = "STYLE", help_heading = "Connection")]
    pub addressing_style: Option<AddressingStyle>,
    /// PEM file of extra CA certificates to trust, e.g. a private Ceph CA (default: AWS_CA_BUNDLE, the profile's ca_bundle)
    #[arg(long, value_name = "FILE", help_heading = "Connection")]
    pub ca_bundle: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
}

impl S3Args {
    pub(crate) fn overrides(&self) -> Overrides {
        Overrides {
            profile: self.profile.clone(),
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            addressing_style: self.addressing_style,
            ca_bundle: self.ca_bundle.clone(),
        }
    }

    pub(crate) fn http_options(&self) -> HttpOptions {
        self.net.http_options()
    }

    /// Resolves configuration from flags, environment and profile files and builds the client.
    pub fn client(&self) -> Result<S3Client> {
        self.client_limited(None)
    }

    /// [`S3Args::client`] whose data bodies go through `rate` (`--limit-rate`).
    pub fn client_limited(&self, rate: Option<Arc<RateLimit>>) -> Result<S3Client> {
        let cfg = config::resolve_s3(&self.overrides(), &config::ProcessEnv, &self.http_options(), self.net.verbose)?;
        if self.net.verbose >= 1 {
            crate::log::note(format!(
                "endpoint {}://{}, region {}{}, credentials from {}",
                cfg.endpoint.scheme(),
                cfg.endpoint.authority,
                cfg.region,
                if cfg.region_defaulted { " (default)" } else { "" },
                cfg.credentials.source()
            ));
        }
        S3Client::new(&cfg, HttpOptions { rate, ..self.http_options() }, self.net.verbose)
    }
}

/// The flags both uploaders (s3put, swift-slo-put) share: empty input, Content-Type, progress,
/// mirroring (`--tee`, `--onfail`), command mode and the abort-propagation opt-out.
#[derive(Args, Clone, Debug)]
pub(crate) struct UploadArgs {
    /// Store an empty object when the input is empty (refused by default: an empty backup is usually a failed one)
    #[arg(long, help_heading = "Upload")]
    pub allow_empty: bool,
    /// Content-Type of the object (printable ASCII)
    #[arg(long, value_name = "TYPE", help_heading = "Object")]
    pub content_type: Option<String>,
    /// Also copy the input to stdout while uploading, to mirror one stream to several stores
    #[arg(long, help_heading = "Pipeline")]
    pub tee: bool,
    /// With --tee: continue = keep passing data through if this upload fails (exit non-zero at the end) and keep uploading if the reader goes away; abort = abort this upload and the stages downstream on either failure
    #[arg(long, value_name = "MODE", value_enum, default_value_t = OnFail::Continue, requires = "tee", help_heading = "Pipeline")]
    pub onfail: OnFail,
    /// Do not signal the process reading stdout when the stream turns out bad (see PIPELINE SAFETY)
    #[arg(long, help_heading = "Pipeline")]
    pub no_abort_downstream: bool,
    /// Command mode: run CMD, upload its stdout, and complete only if it exits 0
    #[arg(last = true, value_name = "CMD", help_heading = "Pipeline")]
    pub command: Vec<String>,
    /// Show bytes and rate on stderr (default: only when stderr is a terminal)
    #[arg(long, help_heading = "Output")]
    pub progress: bool,
}

impl UploadArgs {
    /// What an uploader reads, for its `started` event: `input` (stdin or command; only the
    /// command's program name, its arguments may be anything).
    pub(crate) fn input(&self, target: run::Target) -> run::Target {
        match self.command.first() {
            None => target.field("input", "stdin"),
            Some(prog) => target.field("input", "command").field("command", prog.as_str()),
        }
    }

    /// Uploads the input (stdin, or the command's output) to `dest` with the engine, in parts
    /// of `plan`, `jobs` at a time; progress shows on a terminal even without --progress (in
    /// the text format). Writes the `started` event with the part plan first, and records the
    /// result (`etag`, `parts`, `verified`) for `completed`.
    /// (`--no-abort-downstream` is applied by `cli::main`, for every tool alike.)
    pub(crate) fn upload(
        &self,
        dest: Arc<dyn Destination>,
        jobs: u16,
        plan: PartPlan,
        verbose: u8,
        rate: Option<Arc<RateLimit>>,
    ) -> Result<Summary> {
        use std::io::IsTerminal;
        run::started(&[("plan", plan.describe(jobs))]);
        let progress = self.progress || (!log::is_json() && std::io::stderr().is_terminal());
        let engine =
            Options { jobs: jobs as usize, plan, allow_empty: self.allow_empty, progress, verbose, tee: None, rate };
        let up = Uploader { engine, tee: self.tee.then_some(self.onfail), command: self.command.clone() };
        let summary = transfer::run_upload(dest, up)?;
        run::set_bytes(summary.bytes);
        run::set("etag", summary.etag.clone());
        run::set("parts", summary.parts);
        // Every upload is verified before it counts as stored.
        run::set("verified", true);
        Ok(summary)
    }

    /// `--content-type`, checked as a header value.
    pub(crate) fn content_type(&self) -> Result<Option<String>> {
        self.content_type.as_deref().map(|t| header_value("--content-type", t)).transpose()
    }

    /// Prints the `--json` result on stdout, or on stderr when `--tee` puts the data on stdout.
    pub(crate) fn print_result(&self, result: serde_json::Value) -> Result<()> {
        super::print_result(&result, self.tee)
    }
}

/// `--limit-rate`, for the four tools that move object data (s3put, s3get, swift-slo-put,
/// swift-get).
#[derive(Args, Clone, Debug, Default)]
pub(crate) struct RateArgs {
    /// Limit the data transfer to RATE bytes per second, all --jobs together, smoothly (like curl's --limit-rate; K, M, G suffixes as for sizes: 10M = 10 MiB/s)
    #[arg(long, value_name = "RATE", value_parser = parse_rate, help_heading = "Connection")]
    pub limit_rate: Option<u64>,
}

impl RateArgs {
    /// The token bucket every request of this run shares, if a limit was given.
    pub(crate) fn limit(&self) -> Option<Arc<RateLimit>> {
        self.limit_rate.map(|r| Arc::new(RateLimit::new(r)))
    }
}

fn parse_rate(s: &str) -> std::result::Result<u64, String> {
    let v = parse_size(s.trim().strip_suffix("/s").unwrap_or(s))?;
    if v < 1024 {
        return Err(format!("{s:?} is below the smallest limit, 1K (1024 bytes per second)"));
    }
    Ok(v)
}

/// SSE-C, for s3put (encrypt) and s3get (decrypt): the customer key comes from a file, never
/// from argv.
#[derive(Args, Clone, Debug, Default)]
pub(crate) struct SseCArgs {
    /// SSE-C: the store encrypts the object with this customer-provided key (AES-256), which every later read must give again: a file of 32 raw bytes or of 44 characters of base64 (e.g. `head -c 32 /dev/urandom > key`)
    #[arg(long, value_name = "FILE", env = "SLUICE_SSE_C_KEY_FILE", help_heading = "Encryption")]
    pub sse_c_key_file: Option<PathBuf>,
    /// Allow --sse-c-key-file with an http:// endpoint, where the key crosses the network in clear (refused by default)
    #[arg(long, help_heading = "Encryption")]
    pub allow_insecure_sse_c: bool,
}

impl SseCArgs {
    /// Reads the key, if one was given, and refuses to send it over plain http unless allowed.
    pub(crate) fn key(&self, endpoint: &Endpoint) -> Result<Option<SseC>> {
        let Some(path) = &self.sse_c_key_file else { return Ok(None) };
        let flag = format!("--sse-c-key-file {}", path.display());
        let bytes = std::fs::read(path).map_err(|e| Error::usage(format!("{flag}: cannot read it: {e}")))?;
        let key = SseC::from_file_bytes(&bytes).map_err(|why| Error::usage(format!("{flag}: {why}")))?;
        if !endpoint.https && !self.allow_insecure_sse_c {
            return Err(Error::usage(format!(
                "{flag}: the endpoint {} is plain http, so the key would cross the network in clear; use https, or pass --allow-insecure-sse-c on a trusted network",
                endpoint.authority
            )));
        }
        Ok(Some(key))
    }
}

/// s3put's backup-policy flags: tags and S3 Object Lock (retention, legal hold).
#[derive(Args, Clone, Debug, Default)]
pub(crate) struct PolicyArgs {
    /// Tag the object with KEY=VALUE (repeatable; at most 10 tags, keys up to 128 and values up to 256 characters), e.g. for lifecycle or replication rules
    #[arg(long = "tag", value_name = "KEY=VALUE", help_heading = "Policy")]
    pub tags: Vec<String>,
    /// Object Lock retention mode (needs --retain-until or --retain-for, and a bucket created with Object Lock enabled): GOVERNANCE (privileged users may lift it) or COMPLIANCE (nobody can delete the object before the date)
    #[arg(long, value_name = "MODE", value_parser = ["GOVERNANCE", "COMPLIANCE"], ignore_case = true, help_heading = "Policy")]
    pub object_lock_mode: Option<String>,
    /// Keep the object locked until DATE (RFC 3339, e.g. 2027-01-31T00:00:00Z); needs --object-lock-mode
    #[arg(long, value_name = "DATE", help_heading = "Policy")]
    pub retain_until: Option<String>,
    /// Keep the object locked for DURATION from now (30d, 12h, 1w2d, as for --older-than); needs --object-lock-mode
    #[arg(long, value_name = "DURATION", conflicts_with = "retain_until", help_heading = "Policy")]
    pub retain_for: Option<String>,
    /// Place an Object Lock legal hold on the object (no date: it stays until someone with s3:PutObjectLegalHold lifts it)
    #[arg(long, help_heading = "Policy")]
    pub legal_hold: bool,
}

impl PolicyArgs {
    /// The tags, checked against S3's limits.
    pub(crate) fn tags(&self) -> Result<Vec<(String, String)>> {
        tags(&self.tags)
    }

    /// The retention asked for: mode and date, checked (together, date in the future).
    pub(crate) fn retention(&self, now: SystemTime) -> Result<Option<Retention>> {
        let until = match (&self.retain_until, &self.retain_for) {
            (Some(d), _) => Some(crate::time::parse_rfc3339(d).ok_or_else(|| {
                Error::usage(format!("--retain-until {d:?}: expected an RFC 3339 date, e.g. 2027-01-31T00:00:00Z"))
            })?),
            (None, Some(d)) => {
                let dur = crate::time::parse_duration(d).filter(|d| !d.is_zero()).ok_or_else(|| {
                    Error::usage(format!("--retain-for {d:?}: expected a duration such as 30d, 12h or 1w2d"))
                })?;
                Some(now + dur)
            }
            (None, None) => None,
        };
        match (&self.object_lock_mode, until) {
            (None, None) => Ok(None),
            (Some(m), None) => Err(Error::usage(format!(
                "--object-lock-mode {m} needs a date: add --retain-until DATE or --retain-for DURATION"
            ))),
            (None, Some(_)) => {
                Err(Error::usage("--retain-until/--retain-for need --object-lock-mode GOVERNANCE or COMPLIANCE"))
            }
            (Some(_), Some(t)) if t <= now => {
                Err(Error::usage(format!("--retain-until {}: the date is in the past", crate::time::rfc3339(t))))
            }
            (Some(m), Some(t)) => Ok(Some(Retention { mode: m.to_ascii_uppercase(), until: t })),
        }
    }
}

/// S3's tag limits (User Guide, "Categorizing your storage using tags"): at most 10 tags per
/// object, keys of 1 to 128 and values of up to 256 Unicode characters, distinct keys, no
/// `aws:` prefix; letters, digits, spaces and `+ - = . _ : / @`.
pub(crate) fn tags(tags: &[String]) -> Result<Vec<(String, String)>> {
    if tags.len() > 10 {
        return Err(Error::usage(format!("--tag: {} tags given, S3 allows at most 10 per object", tags.len())));
    }
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "+-=._:/@".contains(c);
    let mut seen = std::collections::HashSet::new();
    let mut pairs = Vec::new();
    for t in tags {
        let bad = |why: String| Error::usage(format!("--tag {t:?}: {why}"));
        let (k, v) = t.split_once('=').ok_or_else(|| bad("expected KEY=VALUE".into()))?;
        if k.is_empty() || k.chars().count() > 128 {
            return Err(bad(format!("the key must have 1 to 128 characters (it has {})", k.chars().count())));
        }
        if v.chars().count() > 256 {
            return Err(bad(format!("the value may have at most 256 characters (it has {})", v.chars().count())));
        }
        if let Some(c) = k.chars().chain(v.chars()).find(|&c| !allowed(c)) {
            return Err(bad(format!(
                "{c:?} is not allowed in a tag (letters, digits, spaces and + - = . _ : / @ are)"
            )));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(bad("keys starting with aws: are reserved".into()));
        }
        if !seen.insert(k) {
            return Err(bad(format!("the key {k:?} is given twice")));
        }
        pairs.push((k.to_string(), v.to_string()));
    }
    Ok(pairs)
}

/// S3's limit on user metadata (User Guide, "Working with object metadata"): the `x-amz-meta-`
/// keys and values together may hold at most 2 KB, counted in UTF-8 bytes without the prefix.
/// `reserved` is what sluice adds itself (the part plan), so a backup is refused here, before
/// any request (exit 2), instead of by AWS after the stream has started.
pub(crate) const S3_METADATA_LIMIT: usize = 2048;

pub(crate) fn check_s3_metadata_size(metadata: &[(String, String)], reserved: usize) -> Result<()> {
    let used: usize = metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
    if used + reserved > S3_METADATA_LIMIT {
        return Err(Error::usage(format!(
            "--metadata: {used} bytes of keys and values{}, S3 allows {S3_METADATA_LIMIT} per object",
            if reserved > 0 { format!(" plus {reserved} for sluice's part plan") } else { String::new() }
        )));
    }
    Ok(())
}

/// Parses `--metadata`/`--meta` values: KEY=VALUE with a KEY of letters, digits, `-` and `_`
/// and a VALUE a header can carry ([`header_value`]).
pub(crate) fn key_value(flag: &str, s: &str) -> Result<(String, String)> {
    let (k, v) = s
        .split_once('=')
        .filter(|(k, _)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .ok_or_else(|| {
            Error::usage(format!("{flag} {s:?}: expected KEY=VALUE with KEY made of letters, digits, - and _"))
        })?;
    header_value(flag, v).map_err(|_| header_value_error(flag, s))?;
    Ok((k.to_string(), v.to_string()))
}

/// Checks a flag value that is sent as an HTTP header (metadata, Content-Type, storage class,
/// KMS key id): only printable ASCII goes through every server and proxy unchanged, and a
/// CR or LF would end the header. Refused here, before any request (exit 2), rather than
/// encoded: botocore refuses non-ASCII metadata too.
pub(crate) fn header_value(flag: &str, value: &str) -> Result<String> {
    if value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        Ok(value.to_string())
    } else {
        Err(header_value_error(flag, value))
    }
}

fn header_value_error(flag: &str, value: &str) -> Error {
    Error::usage(format!(
        "{flag} {value:?}: only printable ASCII can be sent in an HTTP header (no accents, tabs or line breaks); \
         percent-encode the value or leave the character out"
    ))
}

pub(crate) const AUTH_HELP: &str = "\
Authentication (from the environment only, as python-swiftclient reads it):
  v1:        ST_AUTH, ST_USER, ST_KEY
  Keystone:  OS_AUTH_URL, OS_USERNAME (or OS_USER_ID), OS_PASSWORD, OS_PROJECT_NAME (or _ID),
             OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME (any domain variable selects v3),
             OS_REGION_NAME, OS_INTERFACE / OS_ENDPOINT_TYPE, OS_AUTH_VERSION
             or OS_APPLICATION_CREDENTIAL_ID and OS_APPLICATION_CREDENTIAL_SECRET (v3)
  token:     OS_STORAGE_URL and OS_AUTH_TOKEN (no authentication, no renewal)";

#[derive(Args, Clone, Debug, Default)]
pub(crate) struct SwiftArgs {
    /// Region of the object-store endpoint in the catalog (default: OS_REGION_NAME, else the first)
    #[arg(long, value_name = "REGION", help_heading = "Connection")]
    pub region: Option<String>,
    /// Catalog interface: public, internal or admin (default: OS_INTERFACE, OS_ENDPOINT_TYPE, then public)
    #[arg(long, value_name = "TYPE", help_heading = "Connection")]
    pub interface: Option<String>,
    /// PEM file of extra CA certificates to trust (default: OS_CACERT)
    #[arg(long, value_name = "FILE", help_heading = "Connection")]
    pub ca_bundle: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
}

impl SwiftArgs {
    pub(crate) fn http_options(&self) -> HttpOptions {
        let ca = self
            .ca_bundle
            .clone()
            .or_else(|| std::env::var_os("OS_CACERT").filter(|v| !v.is_empty()).map(PathBuf::from));
        // https: the storage URL comes from the auth answer, so it may be TLS even when auth is not.
        HttpOptions { ca_bundle: ca, https: true, ..self.net.http_options() }
    }

    pub fn auth(&self) -> Result<AuthConfig> {
        AuthConfig::from_env(&|k| std::env::var(k).ok(), self.region.as_deref(), self.interface.as_deref())
    }

    pub fn client(&self) -> Result<SwiftClient> {
        self.client_limited(None)
    }

    /// [`SwiftArgs::client`] whose data bodies go through `rate` (`--limit-rate`).
    pub fn client_limited(&self, rate: Option<Arc<RateLimit>>) -> Result<SwiftClient> {
        SwiftClient::new(self.auth()?, HttpOptions { rate, ..self.http_options() }, self.net.verbose)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_metadata_is_limited_to_2_kb_with_the_part_plan() {
        let m = |n: usize| vec![("k".to_string(), "v".repeat(n))];
        assert!(check_s3_metadata_size(&m(2047), 0).is_ok());
        assert!(check_s3_metadata_size(&m(2048), 0).is_err());
        assert!(check_s3_metadata_size(&m(1900), 100).is_ok());
        let e = check_s3_metadata_size(&m(2000), 100).unwrap_err();
        assert!(e.message().contains("2001 bytes") && e.message().contains("part plan"), "{}", e.message());
    }

    #[test]
    fn report_flags_are_found_in_a_refused_command_line() {
        let argv: Vec<String> =
            ["--page-size", "0", "--log-format=json", "--metrics-file", "m.prom", "--", "--metrics-job", "x"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let r = ReportArgs::from_raw_args(&argv);
        assert_eq!(r.log_format, log::Format::Json);
        assert_eq!(r.metrics_file, Some(PathBuf::from("m.prom")));
        assert_eq!(r.metrics_job, None);
    }
}
