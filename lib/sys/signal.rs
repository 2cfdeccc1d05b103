//! Signal primitives: a recording handler, the thread signal mask, a sigwait thread, `_exit`
//! and `kill`. What each signal means to sluice is decided in [`crate::signals`].
//!
//! The recording handler only stores the signal number in an atomic; the main thread notices
//! it (a blocking read returns EINTR because the handler is installed without SA_RESTART, and
//! every wait in the engine polls) and cleans up with ordinary code. A second signal while the
//! cleanup runs ends the process at once.

use std::sync::atomic::{AtomicI32, Ordering};

static RECORDED: AtomicI32 = AtomicI32::new(0);

extern "C" fn record_signal(sig: libc::c_int) {
    if RECORDED.swap(sig, Ordering::SeqCst) != 0 {
        // Second signal: the user insists.
        exit_now(128 + sig);
    }
}

/// Installs the recording handler for `sigs`, without SA_RESTART so that blocking reads
/// return EINTR. A second signal ends the process at once with status 128 + its number.
pub fn record(sigs: &[i32]) {
    for &sig in sigs {
        // SAFETY: `sa` is a zero-initialised sigaction (a valid value: empty mask, no flags)
        // whose handler only swaps an atomic and may call _exit, both async-signal-safe;
        // sigaction copies the struct before returning.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = record_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The first signal the recording handler received, if any.
pub(crate) fn recorded() -> Option<i32> {
    match RECORDED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// A signal set holding `sigs`.
fn sigset(sigs: &[i32]) -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it and sigaddset only sets bits
    // in the set we own (an invalid signal number is refused with EINVAL, not UB).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in sigs {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Runs `f` (typically spawning threads) with `sigs` blocked in the calling thread, then
/// restores the mask. Threads created inside inherit the blocked mask, so those signals are
/// delivered to the calling (main) thread, whose blocking read is the one interrupted.
pub(crate) fn with_blocked<T>(sigs: &[i32], f: impl FnOnce() -> T) -> T {
    let set = sigset(sigs);
    // SAFETY: sigset_t is plain data, for which all zeroes is a valid value.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: pthread_sigmask changes only this thread's mask, with a valid set, and writes
    // the previous mask into `old`, which we own.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old) };
    let out = f();
    // SAFETY: as above, restoring the mask saved before `f`.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    out
}

/// Blocks `sigs` in the calling thread (and so in every thread it spawns afterwards) and
/// takes them on a dedicated thread with sigwait(2), calling `on_signal` for each. Call it
/// before spawning any other thread. If the thread cannot be started, the signals are
/// unblocked again and keep their default action.
pub(crate) fn wait_on_thread(sigs: &[i32], on_signal: fn(i32)) {
    let set = sigset(sigs);
    // SAFETY: blocks a valid set in this thread only.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: sigwait reads our set and writes one int; the set is blocked in every
        // thread of the process, as sigwait requires.
        if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
            on_signal(sig);
        }
    });
    if spawned.is_err() {
        // SAFETY: unblocks the same valid set in this thread.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    }
}

/// Ends the process at once with `code`: no destructors, no flushing of std's buffers.
/// Async-signal-safe, so a signal handler may call it.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes any int and never returns; skipping destructors is the point.
    unsafe { libc::_exit(code) }
}

/// Sends `sig` to `pid`. False when it could not (the process is gone, or EPERM).
pub fn kill(pid: i32, sig: i32) -> bool {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    unsafe { libc::kill(pid, sig) == 0 }
}
