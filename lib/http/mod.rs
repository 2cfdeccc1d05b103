//! The HTTP layer shared by the S3 and Swift clients: one ureq agent with connect and idle-read
//! timeouts (nothing waits forever), rustls with the webpki roots plus an optional private CA,
//! and a retry policy with exponential backoff and full jitter.

use crate::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Time allowed to establish a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest silence tolerated while reading or writing: an idle timeout, not a deadline, so a
    /// slow but moving 5 GiB part is fine while a stalled one fails.
    pub idle_timeout: Duration,
    /// Extra CA certificates (PEM) trusted besides the built-in roots.
    pub ca_bundle: Option<PathBuf>,
    /// Whether TLS will be used at all; skips loading CA files for http:// endpoints.
    pub https: bool,
    pub retry: Retry,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            ca_bundle: None,
            https: true,
            retry: Retry::default(),
        }
    }
}

pub fn user_agent() -> String {
    format!("sluice/{}", env!("CARGO_PKG_VERSION"))
}

/// Builds the agent. Redirects are never followed: S3 answers a wrong region with a 301 we must
/// read ourselves, and following a redirect would send a signature made for another host.
pub fn build_agent(opts: &HttpOptions) -> Result<ureq::Agent> {
    let mut builder = ureq::AgentBuilder::new()
        .timeout_connect(opts.connect_timeout)
        .timeout_read(opts.idle_timeout)
        .timeout_write(opts.idle_timeout)
        .redirects(0)
        .max_idle_connections_per_host(64)
        .user_agent(&user_agent());
    if opts.https {
        builder = builder.tls_config(Arc::new(tls_config(opts.ca_bundle.as_deref())?));
    }
    Ok(builder.build())
}

fn tls_config(ca_bundle: Option<&Path>) -> Result<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_bundle {
        let bad = |why: String| Error::config(format!("CA bundle {}: {why}", path.display()));
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(pem_error(e)))? {
            let cert = cert.map_err(|e| bad(pem_error(e)))?;
            // A bundle may carry certificates rustls can't use as anchors; skip those, as
            // OpenSSL-based tools do, but insist on at least one usable one.
            if roots.add(cert).is_ok() {
                added += 1;
            }
        }
        if added == 0 {
            return Err(bad("contains no usable PEM certificate".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(cfg)
}

fn pem_error(e: rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::Io(io) => io.to_string(),
        other => format!("not a PEM file ({other:?})"),
    }
}

/// Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
/// Jitter"): sleep a random time in [0, min(cap, base * 2^attempt)).
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Total attempts including the first.
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { max_attempts: 5, base: Duration::from_millis(200), cap: Duration::from_secs(10) }
    }
}

impl Retry {
    /// The pause before retry number `attempt` (1 for the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempt.min(16));
        let ceiling = exp.min(self.cap).as_nanos() as u64;
        Duration::from_nanos(if ceiling == 0 { 0 } else { jitter() % ceiling })
    }
}

/// A cheap random number for jitter (splitmix64 over time and a counter); not for secrets.
fn jitter() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let mut z = nanos ^ COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Whether an HTTP status is worth retrying as such (S3 error codes refine this).
pub fn status_is_retryable(status: u16) -> bool {
    status == 429 || status >= 500
}

/// Maps a transport failure (no HTTP status) to an error and whether to retry it.
/// `what` names the request ("PUT s3://b/k part 3").
pub fn transport_error(what: &str, t: &ureq::Transport) -> (Error, bool) {
    use ureq::ErrorKind as K;
    let detail = t.message().map(str::to_string).unwrap_or_else(|| t.to_string());
    let source = std::error::Error::source(t).map(|s| s.to_string()).unwrap_or_default();
    let text = format!("{detail} {source}");
    match t.kind() {
        K::Dns => (Error::new(ErrorKind::Config, format!("{what}: cannot resolve host: {detail}; check the endpoint")), false),
        K::InvalidUrl | K::UnknownScheme => (Error::config(format!("{what}: invalid URL ({detail}); use an http:// or https:// URL")), false),
        _ if text.contains("certificate") || text.contains("UnknownIssuer") || text.contains("NotValidForName") => (
            Error::config(format!(
                "{what}: TLS certificate not trusted ({}): pass the server's CA with --ca-bundle (or AWS_CA_BUNDLE for S3, OS_CACERT for Swift)",
                source.trim().trim_start_matches("invalid peer certificate: ")
            )),
            false,
        ),
        K::ConnectionFailed if text.contains("timed out") || text.contains("TimedOut") => {
            (Error::server(format!("{what}: connection timed out; is the endpoint reachable?")), true)
        }
        K::ConnectionFailed => (Error::server(format!("{what}: cannot connect: {}", one_line(&text))), true),
        K::Io if text.contains("timed out") || text.contains("WouldBlock") => {
            (Error::server(format!("{what}: no data from the server within the idle timeout")), true)
        }
        _ => (Error::server(format!("{what}: {}", one_line(&text))), true),
    }
}

/// Maps a local or network I/O error while streaming a body.
pub fn io_error_retryable(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::TimedOut
            | K::WouldBlock
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::BrokenPipe
            | K::UnexpectedEof
            | K::Interrupted
    )
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Standard base64 (RFC 4648) for Content-MD5 and checksum headers.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn backoff_is_bounded() {
        let r = Retry { max_attempts: 5, base: Duration::from_millis(100), cap: Duration::from_secs(1) };
        for a in 1..20 {
            assert!(r.delay(a) < Duration::from_secs(1));
        }
    }
}
