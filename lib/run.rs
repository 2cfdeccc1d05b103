//! The record of one run, for the audit trail and the metrics file: what it works on (the
//! target), the bytes it moved, the fields of its result, what it cleaned up, and how it ended.
//!
//! Every run writes exactly one `started` and then exactly one terminal event, `completed` or
//! `failed`, however it ends: `cli::main`'s normal and error paths, a usage error, a panic, and
//! the signal paths in [`crate::signals`] that end the process with `_exit`. Two threads may
//! race to end a run (the main thread and a signal thread): [`claim`] lets exactly one of
//! them [`conclude`] it; the other must not exit by itself.
//!
//! What the layers below contribute, from any thread:
//! - [`add_bytes`] / [`set_bytes`]: the bytes moved (`bytes`, `sluice_last_bytes`);
//! - [`set`]: a result field (`etag`, `parts`, `verified`, `keys`...), in both terminal events;
//! - [`cleanup`]: what a failure cleaned up (`upload_aborted`, `segments_deleted`,
//!   `object_deleted`...), the `cleanup` object of `failed`.

use crate::error::Error;
use crate::log::{self, Event};
use crate::metrics;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

type Fields = Vec<(&'static str, Value)>;

/// What a run works on: a short description for messages ("s3://b/k") and the fields that
/// name it in `started`, `completed` and `failed` (`url`, `container`, `input`...).
#[derive(Clone, Debug, Default)]
pub struct Target {
    describe: String,
    fields: Fields,
}

impl Target {
    pub fn new(describe: impl Into<String>) -> Target {
        Target { describe: describe.into(), fields: Vec::new() }
    }

    pub fn field(mut self, key: &'static str, value: impl Into<Value>) -> Target {
        put(&mut self.fields, key, value.into());
        self
    }
}

/// How a run failed, for the `failed` event.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    message: String,
    kind: &'static str,
    code: Option<String>,
    status: Option<u16>,
    signal: Option<i32>,
}

impl Failure {
    pub fn of(e: &Error) -> Failure {
        let signal = match e.kind() {
            crate::ErrorKind::Signal(s) => Some(s),
            _ => None,
        };
        Failure {
            message: e.to_string(),
            kind: e.kind().name(),
            code: e.code().map(str::to_string),
            status: e.status(),
            signal,
        }
    }

    pub fn signal(sig: i32, message: impl Into<String>) -> Failure {
        Failure { message: message.into(), kind: "signal", code: None, status: None, signal: Some(sig) }
    }

    /// A failure that is no [`Error`] (a panic).
    pub fn other(kind: &'static str, message: impl Into<String>) -> Failure {
        Failure { message: message.into(), kind, code: None, status: None, signal: None }
    }
}

#[derive(Default)]
struct State {
    begun: Option<(Instant, SystemTime)>,
    target: Target,
    started: bool,
    result: Fields,
    cleanup: Fields,
    bytes: Option<u64>,
    failure: Option<Failure>,
    metrics: Option<metrics::Config>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);
static BYTES: AtomicU64 = AtomicU64::new(0);
static CLAIMED: AtomicBool = AtomicBool::new(false);

/// The state, also after a panic elsewhere: reporting must still work then.
fn state() -> MutexGuard<'static, Option<State>> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

fn with<T>(f: impl FnOnce(&mut State) -> T) -> T {
    f(state().get_or_insert_with(State::default))
}

fn put(fields: &mut Fields, key: &'static str, value: Value) {
    match fields.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => fields.push((key, value)),
    }
}

/// Where the metrics of this run go (`--metrics-file`), if anywhere.
pub(crate) fn set_metrics(cfg: Option<metrics::Config>) {
    with(|s| s.metrics = cfg);
}

/// The run begins now, on `target`. `started` is written by [`started`].
pub(crate) fn begin(target: Target) {
    with(|s| {
        s.begun = Some((Instant::now(), SystemTime::now()));
        s.target = target;
    });
}

/// Writes the `started` event (once per run) with the target's fields and `extra` (the
/// uploaders' part plan). Later calls do nothing.
pub fn started(extra: &[(&'static str, Value)]) {
    with(|s| emit_started(s, extra));
}

fn emit_started(s: &mut State, extra: &[(&'static str, Value)]) {
    if s.started {
        return;
    }
    s.started = true;
    let what = if s.target.describe.is_empty() { String::new() } else { format!(": {}", s.target.describe) };
    Event::info("started", format!("started{what}")).fields(&s.target.fields).fields(extra).json_only().emit();
}

/// Counts bytes moved (read and stored, written, validated).
pub fn add_bytes(n: u64) {
    BYTES.fetch_add(n, Ordering::Relaxed);
}

/// The exact byte count of the run, when the tool knows it better than the running count.
pub fn set_bytes(n: u64) {
    with(|s| s.bytes = Some(n));
}

/// A field of the run's result, in `completed` (and in `failed`, as far as it got).
pub fn set(key: &'static str, value: impl Into<Value>) {
    let v = value.into();
    with(|s| put(&mut s.result, key, v));
}

/// Something a failure cleaned up, or failed to: `upload_aborted`, `segments_deleted`,
/// `object_deleted`... (the `cleanup` object of `failed`).
pub fn cleanup(key: &'static str, value: impl Into<Value>) {
    let v = value.into();
    with(|s| put(&mut s.cleanup, key, v));
}

/// Records why the run failed when the exit status is not an error's (a report that could
/// not be written after a valid stream).
pub(crate) fn set_failure(f: Failure) {
    with(|s| s.failure = Some(f));
}

/// Takes the right to end the run. Exactly one caller gets true; a caller that gets false must
/// not end the process itself (the winner is doing it).
pub(crate) fn claim() -> bool {
    !CLAIMED.swap(true, Ordering::SeqCst)
}

/// Ends the run's record, after [`claim`]: writes the metrics file (a failure to write it is a
/// warning, not a change of status), then `completed` (status 0) or `failed`. `text`: whether
/// the text format prints the failure's message (false when the caller already said it).
pub(crate) fn conclude(code: i32, failure: Option<Failure>, text: bool) {
    let mut guard = state();
    let s = guard.get_or_insert_with(State::default);
    emit_started(s, &[]);
    let (since, _) = *s.begun.get_or_insert((Instant::now(), SystemTime::now()));
    let seconds = since.elapsed();
    let bytes = s.bytes.unwrap_or_else(|| BYTES.load(Ordering::Relaxed));
    let success = code == 0;
    if let Some(cfg) = &s.metrics {
        let sample = metrics::Sample { success, ended: SystemTime::now(), duration: seconds, bytes };
        if let Err(e) = metrics::write(cfg, &sample) {
            log::warn(e);
        }
    }
    let secs = log::round_ms(seconds.as_secs_f64());
    let what = if s.target.describe.is_empty() { String::new() } else { format!(" {}", s.target.describe) };
    let failure = (!success).then(|| {
        failure.or_else(|| s.failure.take()).unwrap_or_else(|| Failure::other("unknown", format!("exit status {code}")))
    });
    let event = match &failure {
        None => Event::info("completed", format!("completed{what}: {bytes} bytes in {secs:.3}s")).json_only(),
        Some(f) => Event::error("failed", &f.message).text_if(text),
    };
    let mut event = event.fields(&s.target.fields).field("bytes", bytes).field("seconds", secs).fields(&s.result);
    if let Some(f) = failure {
        event = event.field("error", f.message).field("error_kind", f.kind).field("exit_code", code);
        if let Some(c) = f.code {
            event = event.field("error_code", c);
        }
        if let Some(st) = f.status {
            event = event.field("http_status", st);
        }
        if let Some(sig) = f.signal {
            event = event.field("signal", crate::sys::signal::name(sig));
        }
        let cleanup: Map<String, Value> = s.cleanup.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        event = event.field("cleanup", Value::Object(cleanup));
    }
    event.emit();
}

/// A writer that counts what it writes into the run's bytes (the downloads' stdout).
pub struct Counting<W>(pub W);

impl<W: std::io::Write> std::io::Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.0.write(buf)?;
        add_bytes(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
