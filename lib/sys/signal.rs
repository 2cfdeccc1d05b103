//! Signal primitives: a recording handler with a watcher thread, the thread signal mask, a
//! sigwait thread, `_exit`, `kill` and signal names. What each signal means to sluice is
//! decided in [`crate::signals`].
//!
//! The recording handler stores the first signal number in an atomic; the main thread notices
//! it (a blocking read returns EINTR because the handler is installed without SA_RESTART, and
//! every wait in the engine polls) and cleans up with ordinary code. The handler also writes
//! the signal and its count into a pipe, so a watcher thread can act with ordinary code too
//! (end a run that has nothing to clean up yet; end it at once on a second signal). Without
//! the watcher, or from a third signal on, the handler ends the process at once itself.

use std::io::Read;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};

static RECORDED: AtomicI32 = AtomicI32::new(0);
static COUNT: AtomicU32 = AtomicU32::new(0);
/// The write end of the watcher's pipe, or -1.
static WAKE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn record_signal(sig: libc::c_int) {
    let _ = RECORDED.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    let fd = WAKE.load(Ordering::SeqCst);
    if fd >= 0 && n <= 2 {
        let msg = [sig as u8, n as u8];
        // SAFETY: write(2) is async-signal-safe; `msg` is a live 2-byte buffer and `fd` the
        // non-blocking write end of a pipe that is never closed. A full pipe drops the note.
        unsafe { libc::write(fd, msg.as_ptr().cast(), msg.len()) };
    } else if n >= 2 {
        // The user insists (and nobody is listening, or not fast enough).
        exit_now(128 + sig);
    }
}

/// Installs the recording handler for `sigs`, without SA_RESTART so that blocking reads
/// return EINTR, and starts a watcher thread (with `sigs` blocked, so the signals still
/// interrupt the calling thread) that calls `on_signal(sig, n)` for the first and second
/// signal, n being 1 or 2. If the watcher cannot be started, a second signal ends the process
/// at once with status 128 + its number.
pub(crate) fn record(sigs: &[i32], on_signal: fn(i32, u32)) {
    if let Ok((mut rx, tx)) = std::io::pipe() {
        // SAFETY: fcntl on a descriptor we own, with plain integer arguments.
        let nonblocking = unsafe {
            let flags = libc::fcntl(tx.as_raw_fd(), libc::F_GETFL);
            flags >= 0 && libc::fcntl(tx.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) == 0
        };
        let watcher = nonblocking.then(|| {
            with_blocked(sigs, || {
                std::thread::Builder::new().name("signal-watcher".into()).spawn(move || {
                    let mut msg = [0u8; 2];
                    // Each note is one atomic 2-byte write; read_exact retries EINTR.
                    while rx.read_exact(&mut msg).is_ok() {
                        on_signal(i32::from(msg[0]), u32::from(msg[1]));
                    }
                })
            })
        });
        if let Some(Ok(_)) = watcher {
            // The write end lives as long as the process: the handler may use it any time.
            WAKE.store(tx.into_raw_fd(), Ordering::SeqCst);
        }
    }
    for &sig in sigs {
        // SAFETY: `sa` is a zero-initialised sigaction (a valid value: empty mask, no flags)
        // whose handler only uses atomics, write(2) and _exit, all async-signal-safe;
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
            TAKEN.store(true, Ordering::SeqCst);
            on_signal(sig);
        }
    });
    if spawned.is_err() {
        // SAFETY: unblocks the same valid set in this thread.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    }
}

/// Set by the thread of [`wait_on_thread`] as soon as sigwait returns a signal.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Whether one of `sigs` is pending for the process, or the thread of [`wait_on_thread`] has
/// taken one (it then ends the process).
pub(crate) fn arriving(sigs: &[i32]) -> bool {
    if TAKEN.load(Ordering::SeqCst) {
        return true;
    }
    // SAFETY: sigset_t is plain data, for which all zeroes is a valid value.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: sigpending writes the pending set into `set`, which we own; sigismember only
    // reads it.
    unsafe {
        if libc::sigpending(&mut set) != 0 {
            return false;
        }
        sigs.iter().any(|&s| libc::sigismember(&set, s) == 1)
    }
}

/// Ends the process at once with `code`: no destructors, no flushing of std's buffers.
/// Async-signal-safe, so a signal handler may call it.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes any int and never returns; skipping destructors is the point.
    unsafe { libc::_exit(code) }
}

/// A signal's name for messages: `SIGTERM`, or `signal N`.
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

/// Sends `sig` to `pid`. False when it could not (the process is gone, or EPERM).
pub fn kill(pid: i32, sig: i32) -> bool {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    unsafe { libc::kill(pid, sig) == 0 }
}
