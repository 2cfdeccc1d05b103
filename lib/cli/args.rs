//! Flags shared by the S3 binaries, and value parsers (sizes, durations).

use crate::config::{self, AddressingStyle, Overrides};
use crate::http::{HttpOptions, Retry};
use crate::s3::S3Client;
use crate::transfer::uploader::{OnFail, Uploader};
use crate::transfer::{Options, PartPlan};
use crate::Result;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Timeouts and retries: the same flags on every binary that talks to a server (S3 and Swift).
#[derive(Args, Clone, Debug)]
pub struct NetArgs {
    /// Seconds to wait for a connection
    #[arg(long, value_name = "SECS", default_value_t = 10.0, help_heading = "Connection")]
    pub connect_timeout: f64,
    /// Seconds of silence tolerated while sending or receiving (an idle timeout, not a deadline)
    #[arg(long, value_name = "SECS", default_value_t = 60.0, help_heading = "Connection")]
    pub timeout: f64,
    /// Retries per request on 5xx, 429, timeouts and throttling (408, S3 SlowDown and RequestTimeout) and connection errors, with exponential backoff and jitter
    #[arg(long, value_name = "N", default_value_t = 4, help_heading = "Connection")]
    pub retries: u32,
}

impl Default for NetArgs {
    fn default() -> Self {
        NetArgs { connect_timeout: 10.0, timeout: 60.0, retries: 4 }
    }
}

impl NetArgs {
    /// Timeouts and retry policy; the caller adds its CA bundle.
    pub fn http_options(&self) -> HttpOptions {
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
/// environment, the shared files or credential_process.
#[derive(Args, Clone, Debug, Default)]
pub struct S3Args {
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
    /// Say more on stderr: -v for progress of the steps, -vv for every request
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl S3Args {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            profile: self.profile.clone(),
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            addressing_style: self.addressing_style,
            ca_bundle: self.ca_bundle.clone(),
        }
    }

    pub fn http_options(&self) -> HttpOptions {
        self.net.http_options()
    }

    /// Resolves configuration from flags, environment and profile files and builds the client.
    pub fn client(&self) -> Result<S3Client> {
        let cfg = config::resolve_s3(&self.overrides(), &config::ProcessEnv)?;
        if self.verbose >= 1 {
            crate::log::note(format!(
                "endpoint {}://{}, region {}{}, credentials from {}",
                cfg.endpoint.scheme(),
                cfg.endpoint.authority,
                cfg.region,
                if cfg.region_defaulted { " (default)" } else { "" },
                cfg.credentials_source
            ));
        }
        S3Client::new(&cfg, self.http_options(), self.verbose)
    }
}

/// The transfer engine's options from the uploaders' shared flags; progress shows on a terminal
/// even without --progress.
pub fn engine_options(jobs: u16, plan: PartPlan, allow_empty: bool, progress: bool, verbose: u8) -> Options<'static> {
    use std::io::IsTerminal;
    Options {
        jobs: jobs as usize,
        plan,
        allow_empty,
        progress: progress || std::io::stderr().is_terminal(),
        verbose,
        tee: None,
    }
}

/// The uploaders' pipeline flags (s3put, swift-slo-put): mirroring, command mode, and the
/// abort-propagation opt-out.
#[derive(Args, Clone, Debug)]
pub struct PipelineArgs {
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
}

impl PipelineArgs {
    /// Applies the opt-out and wraps the engine options into the uploader's plan.
    pub fn uploader<'a>(&self, engine: Options<'a>) -> Uploader<'a> {
        if self.no_abort_downstream {
            crate::transfer::uploader::disable();
        }
        Uploader { engine, tee: self.tee.then_some(self.onfail), command: self.command.clone() }
    }
}

/// Parses sizes like `16M`, `16MiB`, `1G`, `512k`, `5368709120` (binary units: M = MiB).
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{s:?} is not a size (examples: 16M, 1G, 5368709120)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("{s:?} has an unknown unit (use K, M, G or T; binary multiples)")),
    };
    let v = n * mult as f64;
    if !(0.0..1.8e19).contains(&v) {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16M").unwrap(), 16 << 20);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert_eq!(parse_size("42").unwrap(), 42);
        assert!(parse_size("12q").is_err());
        assert!(parse_size("").is_err());
    }
}
