//! Where S3 credentials come from, and keeping them valid through a long transfer.
//!
//! Each source is a [`Provider`]: the environment and the shared files (static keys),
//! `credential_process`, STS `AssumeRole` and `AssumeRoleWithWebIdentity` ([`sts`]), the
//! ECS/EKS container endpoint ([`container`]) and EC2 instance metadata ([`imds`]).
//! [`chain`] picks the first that applies, in botocore's order. The chosen provider sits
//! behind one [`CredentialCache`] shared by every worker of a transfer: each request asks it
//! for the current credentials, it renews them from the same source before they run out
//! (one renewal at a time, the other workers keep the still-valid ones), and it refuses to
//! hand out credentials that have expired.

pub mod chain;
pub mod container;
pub mod imds;
pub mod process;
pub mod sts;

use crate::error::{Error, ErrorKind, Result};
use crate::http::Failure;
use crate::sigv4::Credentials;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

/// Credentials as a source hands them out, with their expiration when they have one.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub credentials: Credentials,
    pub expires: Option<SystemTime>,
}

/// One credential source. `fetch` is called once at start and again for every renewal, so it
/// must re-read whatever may have changed (a rotated token file, a new role session).
pub trait Provider: Send + Sync {
    /// What `-v` and error messages call this source: "STS AssumeRole arn:...".
    fn describe(&self) -> String;
    fn fetch(&self) -> Result<Fetched>;
}

/// Renew when less than this is left (botocore's mandatory window)...
const RENEW_BEFORE: Duration = Duration::from_secs(10 * 60);
/// ...or half the lifetime, for credentials that live less than 20 minutes.
const RENEW_FRACTION: u32 = 2;
/// Stop handing out credentials this close to expiry (a tenth of the lifetime, at most a
/// minute), so a request signed now still reaches the server in time and the cleanup of a
/// failed transfer (aborting the multipart upload) can still be signed with valid ones.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// Pause between failed renewals: an eighth of the time left, within these bounds.
const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(60);

/// The credentials of one source, renewed before they expire. Shared (`Arc`) by every
/// worker; `Debug` shows the source and the key id only.
pub struct CredentialCache {
    source: String,
    provider: Option<Arc<dyn Provider>>,
    state: RwLock<State>,
    /// Held by the one thread renewing; the others keep using the current credentials.
    renewing: Mutex<()>,
    verbose: u8,
}

#[derive(Clone)]
struct State {
    credentials: Credentials,
    expires: Option<SystemTime>,
    /// When these credentials were obtained: with `expires`, their lifetime.
    obtained: SystemTime,
    /// No renewal attempt before this (set after a failure).
    retry_at: Option<SystemTime>,
    last_error: Option<String>,
    failures: u32,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.read();
        f.debug_struct("CredentialCache")
            .field("source", &self.source)
            .field("credentials", &state.credentials)
            .field("expires", &state.expires.map(crate::time::rfc3339))
            .finish_non_exhaustive()
    }
}

impl CredentialCache {
    /// Credentials that never change (keys from the environment or a file).
    pub fn fixed(credentials: Credentials, source: impl Into<String>) -> CredentialCache {
        CredentialCache {
            source: source.into(),
            provider: None,
            state: RwLock::new(State::new(credentials, None, SystemTime::now())),
            renewing: Mutex::new(()),
            verbose: 0,
        }
    }

    /// Fetches the first credentials from `provider`, which is asked again for renewals.
    pub fn from_provider(provider: Arc<dyn Provider>, verbose: u8) -> Result<CredentialCache> {
        Self::from_provider_at(provider, verbose, SystemTime::now())
    }

    fn from_provider_at(provider: Arc<dyn Provider>, verbose: u8, now: SystemTime) -> Result<CredentialCache> {
        let source = provider.describe();
        let first = provider.fetch()?;
        if let Some(exp) = first.expires {
            if exp <= now {
                return Err(Error::config(format!(
                    "{source} handed out credentials that expired at {}; check the local clock",
                    crate::time::rfc3339(exp)
                )));
            }
        }
        Ok(CredentialCache {
            source,
            provider: Some(provider),
            state: RwLock::new(State::new(first.credentials, first.expires, now)),
            renewing: Mutex::new(()),
            verbose,
        })
    }

    /// Where the credentials come from, for `-v`: "environment", "STS AssumeRole arn:...".
    pub fn source(&self) -> &str {
        &self.source
    }

    /// When the current credentials expire (None for keys that do not).
    pub fn expires(&self) -> Option<SystemTime> {
        self.read().expires
    }

    /// The credentials to sign a request with now, renewed first when they are due. Fails
    /// (exit 3) only when they have expired and could not be renewed.
    pub fn current(&self) -> Result<Credentials> {
        self.current_at(SystemTime::now())
    }

    /// For the cleanup after a failure (aborting a multipart upload): renews when due like
    /// [`CredentialCache::current`], but falls back to the last credentials even when they
    /// have expired: the server decides, and a best-effort abort beats none.
    pub fn for_cleanup(&self) -> Credentials {
        let now = SystemTime::now();
        match self.current_at(now) {
            Ok(c) => c,
            Err(_) => self.read().credentials.clone(),
        }
    }

    fn read(&self) -> State {
        match self.state.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn current_at(&self, now: SystemTime) -> Result<Credentials> {
        let state = self.read();
        let Some(provider) = &self.provider else { return Ok(state.credentials) };
        let Some(phase) = state.phase(now) else { return Ok(state.credentials) };
        match phase {
            Phase::Fresh => Ok(state.credentials),
            Phase::Renew => {
                // Someone else renewing, or a failed attempt too recent: keep the valid ones.
                if state.retry_at.is_some_and(|t| now < t) {
                    return Ok(state.credentials);
                }
                let Ok(_guard) = self.renewing.try_lock() else { return Ok(state.credentials) };
                self.renew(provider.as_ref(), now)
            }
            Phase::Expired => {
                // Everyone waits for the one renewal; then they all see its outcome.
                let _guard = self.renewing.lock().unwrap_or_else(|e| e.into_inner());
                let state = self.read();
                if matches!(state.phase(now), Some(Phase::Fresh | Phase::Renew)) {
                    return Ok(state.credentials);
                }
                if state.retry_at.is_some_and(|t| now < t) {
                    return Err(self.expired_error(&state));
                }
                self.renew(provider.as_ref(), now)
            }
        }
    }

    /// Renews (the caller holds `renewing`); on failure keeps the old credentials while they
    /// are still usable and schedules the next attempt.
    fn renew(&self, provider: &dyn Provider, now: SystemTime) -> Result<Credentials> {
        let state = self.read();
        if state.retry_at.is_some_and(|t| now < t) || matches!(state.phase(now), Some(Phase::Fresh)) {
            // Another thread renewed (or failed) while we waited for the lock.
            return match state.phase(now) {
                Some(Phase::Expired) => Err(self.expired_error(&state)),
                _ => Ok(state.credentials),
            };
        }
        match provider.fetch() {
            Ok(f) if f.expires.is_none_or(|e| e > now) => {
                if self.verbose >= 1 {
                    let until =
                        f.expires.map(|e| format!(", valid until {}", crate::time::rfc3339(e))).unwrap_or_default();
                    crate::log::note(format!("renewed the credentials from {}{until}", self.source));
                }
                let fresh = State::new(f.credentials, f.expires, now);
                let out = fresh.credentials.clone();
                self.write(fresh);
                Ok(out)
            }
            result => {
                let why = match result {
                    Err(e) => e.message().to_string(),
                    Ok(_) => "the renewed credentials had already expired; check the local clock".to_string(),
                };
                let mut next = state.clone();
                next.failures += 1;
                let left = state.expires.and_then(|e| e.duration_since(now).ok()).unwrap_or_default();
                next.retry_at = Some(now + (left / 8).clamp(RETRY_MIN, RETRY_MAX));
                next.last_error = Some(why.clone());
                let expired = matches!(state.phase(now), Some(Phase::Expired));
                if !expired && (next.failures == 1 || self.verbose >= 1) {
                    crate::log::note(format!(
                        "renewing the credentials from {} failed: {why}; the current ones stay valid until {}, retrying",
                        self.source,
                        state.expires.map(crate::time::rfc3339).unwrap_or_default()
                    ));
                }
                self.write(next.clone());
                if expired {
                    Err(self.expired_error(&next))
                } else {
                    Ok(state.credentials)
                }
            }
        }
    }

    fn write(&self, s: State) {
        match self.state.write() {
            Ok(mut g) => *g = s,
            Err(poisoned) => *poisoned.into_inner() = s,
        }
    }

    fn expired_error(&self, state: &State) -> Error {
        Error::config(format!(
            "the credentials from {} expire{} at {} and could not be renewed: {}",
            self.source,
            if state.expires.is_some_and(|e| e <= SystemTime::now()) { "d" } else { "" },
            state.expires.map(crate::time::rfc3339).unwrap_or_default(),
            state.last_error.as_deref().unwrap_or("no renewal attempt succeeded")
        ))
    }
}

/// Where credentials stand in their lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Use them.
    Fresh,
    /// Use them, and renew (one thread; a failure is retried later).
    Renew,
    /// Too close to expiry (or past it) to sign with: renew or fail.
    Expired,
}

impl State {
    fn new(credentials: Credentials, expires: Option<SystemTime>, obtained: SystemTime) -> State {
        State { credentials, expires, obtained, retry_at: None, last_error: None, failures: 0 }
    }

    /// None for credentials that never expire.
    fn phase(&self, now: SystemTime) -> Option<Phase> {
        let expires = self.expires?;
        let lifetime = expires.duration_since(self.obtained).unwrap_or_default();
        let left = expires.duration_since(now).unwrap_or_default();
        let margin = (lifetime / 10).min(EXPIRY_MARGIN);
        let window = (lifetime / RENEW_FRACTION).min(RENEW_BEFORE);
        Some(if left <= margin {
            Phase::Expired
        } else if left <= window {
            Phase::Renew
        } else {
            Phase::Fresh
        })
    }
}

/// A credential source that fails is a credentials problem (exit 3), whatever failed
/// underneath (a refused connection, a 5xx after retries); the message names the source.
pub(crate) fn as_config(f: Failure) -> Failure {
    let rekind = |e: Error| {
        let (code, status) = (e.code().map(str::to_string), e.status());
        Error::new(ErrorKind::Config, e.message()).with_code(code, status)
    };
    match f {
        Failure::Transient(e) => Failure::Transient(rekind(e)),
        Failure::Permanent(e) => Failure::Permanent(rekind(e)),
        again => again,
    }
}

/// Reads a JSON credentials document of the shape IMDS, the container endpoint and
/// credential_process share: `AccessKeyId`, `SecretAccessKey`, a token under `token_field`
/// and an optional RFC 3339 `Expiration`. `what` names the source for errors.
pub(crate) fn parse_json_credentials(v: &serde_json::Value, token_field: &str, what: &str) -> Result<Fetched> {
    let field = |k: &str| v.get(k).and_then(|x| x.as_str()).filter(|s| !s.is_empty()).map(str::to_string);
    let (Some(id), Some(secret)) = (field("AccessKeyId"), field("SecretAccessKey")) else {
        return Err(Error::config(format!("{what} answered without AccessKeyId and SecretAccessKey")));
    };
    let expires = match field("Expiration") {
        None => None,
        Some(s) => Some(
            crate::time::parse_rfc3339(&s)
                .ok_or_else(|| Error::config(format!("{what} answered an unreadable Expiration {s:?}")))?,
        ),
    };
    Ok(Fetched { credentials: Credentials::new(id, secret, field(token_field)), expires })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Hands out numbered credentials valid for `life` from `base` + the call's offset, and
    /// fails the calls listed in `fail`.
    struct Fake {
        calls: AtomicUsize,
        life: Duration,
        now: Mutex<SystemTime>,
        fail: Vec<usize>,
    }

    impl Provider for Fake {
        fn describe(&self) -> String {
            "the fake source".into()
        }
        fn fetch(&self) -> Result<Fetched> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if self.fail.contains(&n) {
                return Err(Error::config(format!("refused (call {n})")));
            }
            let now = *self.now.lock().unwrap();
            Ok(Fetched {
                credentials: Credentials::new(format!("KEY{n}"), "SECRETVALUE", Some(format!("TOKENVALUE{n}"))),
                expires: Some(now + self.life),
            })
        }
    }

    fn cache(life: Duration, fail: &[usize], t0: SystemTime) -> (Arc<Fake>, CredentialCache) {
        let fake = Arc::new(Fake { calls: AtomicUsize::new(0), life, now: Mutex::new(t0), fail: fail.to_vec() });
        let c = CredentialCache::from_provider_at(fake.clone(), 0, t0).unwrap();
        (fake, c)
    }

    fn at(fake: &Fake, c: &CredentialCache, t: SystemTime) -> Result<String> {
        *fake.now.lock().unwrap() = t;
        c.current_at(t).map(|c| c.access_key_id)
    }

    #[test]
    fn an_hour_is_renewed_ten_minutes_before_expiry() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let (fake, c) = cache(Duration::from_secs(3600), &[], t0);
        assert_eq!(at(&fake, &c, t0 + Duration::from_secs(49 * 60)).unwrap(), "KEY1");
        assert_eq!(at(&fake, &c, t0 + Duration::from_secs(51 * 60)).unwrap(), "KEY2");
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
        let debug = format!("{c:?}");
        assert!(debug.contains("KEY2") && !debug.contains("SECRETVALUE") && !debug.contains("TOKENVALUE"), "{debug}");
    }

    #[test]
    fn short_lived_ones_are_renewed_at_half_life() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let (fake, c) = cache(Duration::from_secs(10), &[], t0);
        assert_eq!(at(&fake, &c, t0 + Duration::from_secs(4)).unwrap(), "KEY1");
        assert_eq!(at(&fake, &c, t0 + Duration::from_secs(6)).unwrap(), "KEY2");
    }

    #[test]
    fn a_failed_renewal_keeps_the_valid_ones_and_retries_later() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let (fake, c) = cache(Duration::from_secs(3600), &[2], t0);
        let t = t0 + Duration::from_secs(55 * 60);
        assert_eq!(at(&fake, &c, t).unwrap(), "KEY1", "renewal failed: keep using the old ones");
        assert_eq!(at(&fake, &c, t + Duration::from_secs(1)).unwrap(), "KEY1", "no new attempt at once");
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
        assert_eq!(at(&fake, &c, t + Duration::from_secs(61)).unwrap(), "KEY3", "retried after the pause");
    }

    #[test]
    fn expired_and_not_renewable_is_a_config_error() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let (fake, c) = cache(Duration::from_secs(10), &[2, 3, 4, 5], t0);
        assert_eq!(at(&fake, &c, t0 + Duration::from_secs(6)).unwrap(), "KEY1");
        let e = at(&fake, &c, t0 + Duration::from_millis(9_500)).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert!(e.message().contains("the fake source") && e.message().contains("refused"), "{}", e.message());
        assert!(!e.message().contains("SECRETVALUE") && !e.message().contains("TOKENVALUE"), "{}", e.message());
        // The cleanup still gets the last credentials.
        assert_eq!(c.for_cleanup().access_key_id, "KEY1");
    }

    #[test]
    fn fixed_credentials_never_renew() {
        let c = CredentialCache::fixed(Credentials::new("AK", "SK", None), "environment");
        assert_eq!(c.current().unwrap().access_key_id, "AK");
        assert_eq!(c.source(), "environment");
        assert!(c.expires().is_none());
    }

    #[test]
    fn parallel_workers_share_one_renewal() {
        struct Slow(AtomicUsize);
        impl Provider for Slow {
            fn describe(&self) -> String {
                "slow".into()
            }
            fn fetch(&self) -> Result<Fetched> {
                let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
                if n > 1 {
                    std::thread::sleep(Duration::from_millis(300));
                }
                Ok(Fetched {
                    credentials: Credentials::new(format!("KEY{n}"), "s", None),
                    expires: Some(SystemTime::now() + Duration::from_millis(if n == 1 { 1000 } else { 60_000 })),
                })
            }
        }
        let p = Arc::new(Slow(AtomicUsize::new(0)));
        let c = Arc::new(CredentialCache::from_provider(p.clone(), 0).unwrap());
        std::thread::sleep(Duration::from_millis(600)); // into the renewal window
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || c.current().unwrap().access_key_id)
            })
            .collect();
        let keys: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(p.0.load(Ordering::SeqCst), 2, "one renewal for all workers");
        // Those that did not renew went on with the still-valid key.
        assert!(keys.iter().all(|k| k == "KEY1" || k == "KEY2"), "{keys:?}");
        assert_eq!(c.current().unwrap().access_key_id, "KEY2");
    }
}
