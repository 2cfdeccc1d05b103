//! What signals mean in a pipeline, and how a failing stage warns the next one.
//!
//! Two kinds of stage take signals differently (the primitives are in [`crate::sys::signal`]):
//! - Uploaders (s3put, swift-slo-put) call [`catch_aborts`] first thing: SIGINT, SIGTERM,
//!   SIGHUP and the upstream stage's [`DOWNSTREAM_ABORT`] are recorded. Before the upload
//!   engine starts there is nothing to clean up, so a signal ends the run at once. Once the
//!   engine has taken the signals ([`engine_takes_signals`]) it polls [`pending`] and aborts
//!   the upload with ordinary code, so nothing is left behind; a second signal during that
//!   cleanup ends the run at once.
//! - Every other tool calls [`exit_on_signals`]: a dedicated thread takes the same signals and
//!   exits with 128 + the signal. Stages that write a stream to stdout (rdbcheck, s3get,
//!   swift-get) first tell the reader of stdout that the stream is incomplete: a plain death by
//!   signal would look like EOF to the next stage.
//!
//! Either way the run's `failed` event and metrics are written before the process exits
//! ([`crate::run`]).
//!
//! Pipeline safety. In `a | rdbcheck | s3put s3://b/k`, EOF is EOF: when rdbcheck finds
//! corruption and exits, s3put would see a normal end of input and complete a truncated
//! object. So a failing sluice stage whose stdout is a pipe first finds the processes holding
//! the read end of that pipe (by scanning /proc, [`crate::sys::procfs`]) and sends each
//! [`DOWNSTREAM_ABORT`] (SIGUSR2). Only then does it close stdout and exit. `kill(2)` makes the
//! signal pending before it returns, so the reader has it before its read can return EOF;
//! sluice uploaders catch it and abort; sluice's stream writers (rdbcheck, s3get, swift-get)
//! take it on their signal thread, tell their own reader and exit.
//!
//! Harmless elsewhere: nothing is sent when stdout is a file, a terminal or a socket, and a
//! reader that neither catches nor blocks SIGUSR2 (per /proc/PID/status SigCgt, SigBlk) is left
//! alone, since the signal's default action would kill it. Opt out with SLUICE_PIPELINE_ABORT=0 or a binary's
//! `--no-abort-downstream`.

use crate::run::{self, Failure};
use crate::sys::{procfs, signal};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// The signal a failing stage sends to the reader of its stdout, and that an uploader takes
/// as "the stream you are reading is bad".
pub(crate) const DOWNSTREAM_ABORT: i32 = libc::SIGUSR2;

/// Every signal that stops a stage: the user's (INT, TERM, HUP) and the upstream stage's.
const STOP: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, DOWNSTREAM_ABORT];

/// Who acts on an uploader's first abort signal: the signal watcher while nothing needs
/// cleaning up, the engine from [`engine_takes_signals`] on.
static PHASE: AtomicU8 = AtomicU8::new(PREPARING);
const PREPARING: u8 = 0;
const ENGINE: u8 = 1;
const ENDED: u8 = 2;

/// Uploaders: record the stopping signals for [`pending`] instead of dying of them. Call it
/// first thing (before any other thread exists), so a signal at any moment ends the run with
/// its `failed` event.
pub(crate) fn catch_aborts() {
    signal::record(&STOP, on_abort_signal);
}

/// The signal watcher of an uploader (ordinary code, on its own thread).
fn on_abort_signal(sig: i32, nth: u32) {
    let first_before_engine =
        nth == 1 && PHASE.compare_exchange(PREPARING, ENDED, Ordering::SeqCst, Ordering::SeqCst).is_ok();
    if !first_before_engine && nth < 2 {
        return; // The engine saw it too and is cleaning up.
    }
    if !run::claim() {
        return; // The run is already ending on another thread.
    }
    let why = if first_before_engine {
        reason(sig)
    } else {
        format!("{} again during the cleanup: stopped at once, the cleanup may be incomplete", reason(sig))
    };
    // Text: a signal used to end these runs silently; the cleanup (if any) said what it did.
    run::conclude(128 + sig, Some(Failure::signal(sig, why)), false);
    signal::exit_now(128 + sig);
}

/// The upload engine takes over the abort signals: from now on the first one is left to it,
/// to clean up. False when a signal already ended the run: start nothing then.
pub(crate) fn engine_takes_signals() -> bool {
    match PHASE.compare_exchange(PREPARING, ENGINE, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => true,
        Err(phase) => phase == ENGINE,
    }
}

/// The first stopping signal received since [`catch_aborts`], if any.
pub fn pending() -> Option<i32> {
    signal::recorded()
}

/// Runs `f` (spawning worker threads) with the stopping signals blocked, so the workers inherit
/// a mask that routes them to the calling thread, whose blocking read is then interrupted.
pub(crate) fn with_aborts_blocked<T>(f: impl FnOnce() -> T) -> T {
    signal::with_blocked(&STOP, f)
}

/// Whether the signal thread tells the reader of stdout (stream writers).
static TELL_READER: AtomicBool = AtomicBool::new(false);

/// Every tool but the uploaders: on a stopping signal, end the run (`failed`, metrics) and
/// exit with 128 + the signal; with `writes_stream`, first tell the reader of stdout that the
/// stream is incomplete. Call before spawning any thread, so every thread inherits the mask.
pub(crate) fn exit_on_signals(writes_stream: bool) {
    TELL_READER.store(writes_stream, Ordering::SeqCst);
    signal::wait_on_thread(&STOP, |sig| {
        if !run::claim() {
            return; // The main thread is ending the run with its own status.
        }
        let writes_stream = TELL_READER.load(Ordering::SeqCst);
        let told = writes_stream && !abort_downstream().is_empty();
        let why = format!(
            "{}{}",
            reason(sig),
            if told { "; told the reader of standard output that the stream is incomplete" } else { "" }
        );
        // Nothing is left to clean up in a pass-through stage or a listing. Text: the stream
        // writers say why they stopped, the others end silently as a plain death would.
        run::conclude(128 + sig, Some(Failure::signal(sig, why)), writes_stream);
        signal::exit_now(128 + sig);
    });
}

/// For a stage about to report its own failure (every tool but the uploaders): whether a
/// stopping signal is on its way to the signal thread, which will end the run instead. An
/// upstream stage that failed signalled us before closing the pipe, so when our read saw the
/// early EOF the signal was already pending or taken: its reason ("the upstream stage reported
/// a failure") is the true one. Looks again for up to 20 ms, to cover the moment between
/// the signal thread taking the signal and saying so.
pub(crate) fn stop_signal_arriving() -> bool {
    for _ in 0..20 {
        if signal::arriving(&STOP) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    false
}

pub fn name(sig: i32) -> String {
    signal::name(sig)
}

/// Why a stage stopped on `sig`, for messages.
pub fn reason(sig: i32) -> String {
    if sig == DOWNSTREAM_ABORT {
        format!("the upstream stage reported a failure ({})", name(sig))
    } else {
        format!("interrupted by {}", name(sig))
    }
}

static DISABLED: AtomicBool = AtomicBool::new(false);

/// Turns abort-downstream off for this process (`--no-abort-downstream`).
pub(crate) fn disable_abort_downstream() {
    DISABLED.store(true, Ordering::SeqCst);
}

/// Whether abort-downstream is on (default yes; SLUICE_PIPELINE_ABORT=0 turns it off).
pub(crate) fn abort_downstream_enabled() -> bool {
    !DISABLED.load(Ordering::SeqCst)
        && !matches!(std::env::var("SLUICE_PIPELINE_ABORT").as_deref(), Ok("0") | Ok("no") | Ok("off") | Ok("false"))
}

/// Signals every process reading our stdout pipe that catches [`DOWNSTREAM_ABORT`]. Returns
/// the pids signalled. Call it before closing stdout or exiting.
pub(crate) fn abort_downstream() -> Vec<i32> {
    if !abort_downstream_enabled() {
        return Vec::new();
    }
    let Some(inode) = procfs::pipe_inode(std::io::stdout().as_fd()) else { return Vec::new() };
    let me = std::process::id() as i32;
    let told: Vec<i32> = procfs::pipe_readers(inode)
        .into_iter()
        .filter(|&pid| pid != me && procfs::catches(pid, DOWNSTREAM_ABORT) && signal::kill(pid, DOWNSTREAM_ABORT))
        .collect();
    if !told.is_empty() {
        run::cleanup("downstream_signalled", told.len());
    }
    told
}
