//! What signals mean in a pipeline, and how a failing stage warns the next one.
//!
//! Two kinds of stage take signals differently (the primitives are in [`crate::sys::signal`]):
//! - Uploaders (s3put, swift-slo-put) call [`catch_aborts`]: SIGINT, SIGTERM, SIGHUP and the
//!   upstream stage's [`DOWNSTREAM_ABORT`] are only recorded; the engine polls [`pending`]
//!   and aborts the upload with ordinary code, so nothing is left behind.
//! - Stages that write a stream to stdout (rdbcheck, s3get, swift-get) call
//!   [`exit_on_signals`]: a dedicated thread takes the same signals, tells the reader of stdout
//!   that the stream is incomplete and exits with 128 + the signal. A plain death by signal
//!   would look like EOF to the next stage.
//!
//! Pipeline safety. In `a | rdbcheck | s3put s3://b/k`, EOF is EOF: when rdbcheck finds
//! corruption and exits, s3put would see a normal end of input and complete a truncated
//! object. So a failing sluice stage whose stdout is a pipe first finds the processes holding
//! the read end of that pipe (by scanning /proc, [`crate::sys::procfs`]) and sends each
//! [`DOWNSTREAM_ABORT`] (SIGUSR2). Only then does it close stdout and exit. `kill(2)` makes the
//! signal pending before it returns, so the reader has it before its read can return EOF;
//! sluice uploaders catch it and abort.
//!
//! Harmless elsewhere: nothing is sent when stdout is a file, a terminal or a socket, and a
//! reader that does not catch SIGUSR2 (per /proc/PID/status SigCgt) is left alone, since the
//! signal's default action would kill it. Opt out with SLUICE_PIPELINE_ABORT=0 or a binary's
//! `--no-abort-downstream`.

use crate::sys::{procfs, signal};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};

/// The signal a failing stage sends to the reader of its stdout, and that an uploader takes
/// as "the stream you are reading is bad".
pub(crate) const DOWNSTREAM_ABORT: i32 = libc::SIGUSR2;

/// Every signal that stops a stage: the user's (INT, TERM, HUP) and the upstream stage's.
const STOP: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, DOWNSTREAM_ABORT];

/// Uploaders: record the stopping signals for [`pending`] instead of dying of them.
pub(crate) fn catch_aborts() {
    signal::record(&STOP);
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

/// Stages writing a stream to stdout: on a stopping signal, tell the reader of stdout and exit
/// with 128 + the signal. Call before spawning any thread, so every thread inherits the mask.
pub(crate) fn exit_on_signals() {
    signal::wait_on_thread(&STOP, |sig| {
        let told = !abort_downstream().is_empty();
        crate::log::note(format!(
            "{}{}",
            reason(sig),
            if told { "; told the reader of standard output that the stream is incomplete" } else { "" }
        ));
        // Nothing is left to clean up in a pass-through stage.
        signal::exit_now(128 + sig);
    });
}

pub fn name(sig: i32) -> String {
    match sig {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGPIPE => "SIGPIPE".into(),
        libc::SIGUSR1 => "SIGUSR1".into(),
        libc::SIGUSR2 => "SIGUSR2".into(),
        s => format!("signal {s}"),
    }
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
    procfs::pipe_readers(inode)
        .into_iter()
        .filter(|&pid| pid != me && procfs::catches(pid, DOWNSTREAM_ABORT) && signal::kill(pid, DOWNSTREAM_ABORT))
        .collect()
}
