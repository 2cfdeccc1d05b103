//! Signals that mean "abort": SIGINT, SIGTERM, SIGHUP (and the pipeline-abort signal).
//!
//! The handler only records the signal; the main thread notices it (a blocking read returns
//! EINTR because the handler is installed without SA_RESTART, and every wait in the engine polls)
//! and runs the cleanup with ordinary code. A second signal while cleanup runs exits at once.

use std::sync::atomic::{AtomicI32, Ordering};

static PENDING: AtomicI32 = AtomicI32::new(0);

pub const ABORT_SIGNALS: &[i32] = &[libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn on_signal(sig: libc::c_int) {
    if PENDING.swap(sig, Ordering::SeqCst) != 0 {
        // Second signal: the user insists. _exit is async-signal-safe.
        unsafe { libc::_exit(128 + sig) };
    }
}

/// Installs the recording handler for `sigs` (without SA_RESTART, so blocking reads return).
pub fn install(sigs: &[i32]) {
    for &sig in sigs {
        // SAFETY: a plain sigaction with a handler that only touches an atomic (and _exit).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The first abort signal received, if any.
pub fn pending() -> Option<i32> {
    match PENDING.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Records a signal as if it had been delivered (tests, and upstream-abort detection).
pub fn raise_pending(sig: i32) {
    let _ = PENDING.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
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

/// Runs `f` (typically spawning threads) with the abort signals blocked, so threads created
/// inside inherit a mask that routes every abort signal to the calling (main) thread, whose
/// blocking read is then the one interrupted.
pub fn with_signals_blocked<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: manipulating this thread's signal mask with valid sigset_t values.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in ABORT_SIGNALS.iter().chain(EXTRA.get().iter().copied()) {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        let out = f();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        out
    }
}

static EXTRA: std::sync::OnceLock<i32> = std::sync::OnceLock::new();

/// Registers one more abort signal (the pipeline-abort signal) with the same handling.
pub fn install_extra(sig: i32) {
    let _ = EXTRA.set(sig);
    install(&[sig]);
}
