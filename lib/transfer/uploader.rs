//! Pipeline safety: telling the next stage that the stream is bad before it can see EOF.
//!
//! In `a | rdbcheck | s3put s3://b/k`, EOF is EOF: when rdbcheck finds corruption and exits,
//! s3put would see a normal end of input and complete a truncated object. So a failing sluice
//! stage whose stdout is a pipe first finds the processes holding the read end of that pipe
//! (by scanning /proc/*/fd for the pipe's inode and checking the descriptor's access mode in
//! /proc/*/fdinfo) and sends each the pipeline-abort signal, SIGUSR2. Only then does it close
//! stdout and exit. `kill(2)` makes the signal pending before it returns, so the reader has it
//! before its read can return EOF; sluice uploaders catch it and abort.
//!
//! Harmless elsewhere: nothing is sent when stdout is a file, a terminal or a socket, and a
//! reader that does not catch SIGUSR2 (per /proc/PID/status SigCgt) is left alone, since the
//! signal's default action would kill it. Opt out with SLUICE_PIPELINE_ABORT=0 or a binary's
//! `--no-abort-downstream`.

use std::fs;
use std::os::fd::AsRawFd;

/// The signal a failing stage sends to the reader of its stdout.
pub const ABORT_SIGNAL: i32 = libc::SIGUSR2;

static DISABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns abort propagation off for this process (`--no-abort-downstream`).
pub fn disable() {
    DISABLED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether abort propagation is enabled (default yes; SLUICE_PIPELINE_ABORT=0 turns it off).
pub fn enabled_by_env() -> bool {
    !DISABLED.load(std::sync::atomic::Ordering::SeqCst)
        && !matches!(std::env::var("SLUICE_PIPELINE_ABORT").as_deref(), Ok("0") | Ok("no") | Ok("off") | Ok("false"))
}

/// Signals every process reading our stdout pipe that catches the abort signal. Returns the
/// pids signalled. Call it before closing stdout or exiting.
pub fn abort_downstream() -> Vec<i32> {
    if !enabled_by_env() {
        return Vec::new();
    }
    let Some(inode) = pipe_inode(std::io::stdout().as_raw_fd()) else { return Vec::new() };
    let me = std::process::id() as i32;
    let mut signalled = Vec::new();
    for pid in pipe_readers(inode).into_iter().filter(|&p| p != me) {
        if catches(pid, ABORT_SIGNAL) {
            // SAFETY: kill(2) with a pid read from /proc; failure (it exited, EPERM) is harmless.
            if unsafe { libc::kill(pid, ABORT_SIGNAL) } == 0 {
                signalled.push(pid);
            }
        }
    }
    signalled
}

/// For stages that write a stream to stdout (rdbcheck, s3get, swift-get): SIGINT, SIGTERM,
/// SIGHUP and an upstream abort signal are taken by a dedicated thread (sigwait), which tells
/// the reader of stdout that the stream is incomplete and exits with 128 + the signal. A plain
/// death by signal would look like EOF to the next stage. Call before spawning any thread, so
/// every thread inherits the blocked mask.
pub fn abort_downstream_on_signals() {
    let sigs = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, ABORT_SIGNAL];
    // SAFETY: building a sigset and blocking it in this thread; the thread below waits on it.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in sigs {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: sigwait on a set blocked in every thread of the process.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            continue;
        }
        let told = !abort_downstream().is_empty();
        let why = if sig == ABORT_SIGNAL {
            "the upstream stage reported a failure".to_string()
        } else {
            format!("interrupted by {}", crate::sys::signal::name(sig))
        };
        crate::log::note(format!(
            "{why}{}",
            if told { "; told the reader of standard output that the stream is incomplete" } else { "" }
        ));
        // SAFETY: ending the process at once; nothing is left to clean up in a pass-through stage.
        unsafe { libc::_exit(128 + sig) };
    });
    if spawned.is_err() {
        // Without the thread, unblock so the signals at least keep their default action.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    }
}

/// The inode of the pipe behind `fd`, or None when it is not a pipe.
pub fn pipe_inode(fd: i32) -> Option<u64> {
    // SAFETY: fstat into a zeroed struct on a descriptor we own.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 || (st.st_mode & libc::S_IFMT) != libc::S_IFIFO {
        return None;
    }
    Some(st.st_ino)
}

/// Pids holding a read-only descriptor on the pipe with this inode.
pub fn pipe_readers(inode: u64) -> Vec<i32> {
    let target = format!("pipe:[{inode}]");
    let mut pids = Vec::new();
    let Ok(procs) = fs::read_dir("/proc") else { return pids };
    for entry in procs.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            let is_pipe = fs::read_link(fd.path()).map(|l| l.as_os_str() == target.as_str()).unwrap_or(false);
            if is_pipe && is_read_only(pid, &fd.file_name().to_string_lossy()) {
                pids.push(pid);
                break;
            }
        }
    }
    pids
}

fn is_read_only(pid: i32, fd: &str) -> bool {
    let Ok(info) = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")) else { return false };
    info.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .is_some_and(|flags| flags & libc::O_ACCMODE as u32 == libc::O_RDONLY as u32)
}

/// Whether the process has a handler installed for `sig` (SigCgt in /proc/PID/status).
pub fn catches(pid: i32, sig: i32) -> bool {
    let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else { return false };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| mask & (1u64 << (sig - 1)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_reader_of_a_pipe() {
        let mut fds = [0i32; 2];
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let inode = pipe_inode(fds[1]).expect("a pipe");
        assert_eq!(pipe_inode(fds[0]), Some(inode));
        // We hold both ends: we are a reader (fds[0]) of our own pipe.
        assert!(pipe_readers(inode).contains(&(std::process::id() as i32)));
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        assert!(pipe_inode(0).is_none() || pipe_inode(0).is_some());
    }

    #[test]
    fn files_are_not_pipes() {
        let f = fs::File::open("/proc/self/status").unwrap();
        assert!(pipe_inode(f.as_raw_fd()).is_none());
    }
}

// ---------------------------------------------------------------------------------------------
// Uploader plumbing shared by s3put and swift-slo-put: command mode, --tee, --onfail.

use crate::error::{Error, ErrorKind, Result};
use crate::transfer::{self, Destination, Options, Source, Summary, Tee};
use std::io::{Read, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;

/// What a `--tee` stage does when something fails (duplicity's multibackend `onfail`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OnFail {
    /// Keep passing data through when this upload fails (exit non-zero at the end), and keep
    /// uploading when the downstream reader goes away.
    Continue,
    /// Abort this upload and propagate the abort downstream on either failure.
    Abort,
}

/// Command mode (`s3put s3://b/k -- CMD ARGS...`): uploads CMD's stdout and completes only if
/// CMD exits 0, which closes the `set -o pipefail` hole for shells that lack it.
pub struct CommandSource {
    child: Child,
    stdout: ChildStdout,
    argv0: String,
}

impl CommandSource {
    pub fn spawn(argv: &[String]) -> Result<CommandSource> {
        let (prog, args) = argv.split_first().ok_or_else(|| Error::usage("no command after --"))?;
        // The child must not inherit our abort-signal handlers' mask quirks: spawn resets them.
        let mut child = Command::new(prog)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| Error::usage(format!("cannot run {prog:?}: {e}")))?;
        let stdout = child.stdout.take().ok_or_else(|| Error::usage(format!("cannot read the output of {prog:?}")))?;
        Ok(CommandSource { child, stdout, argv0: prog.clone() })
    }
}

impl Read for CommandSource {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stdout.read(buf)
    }
}

impl Source for CommandSource {
    fn finish(&mut self) -> Result<()> {
        let status = loop {
            match self.child.wait() {
                Ok(s) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    if crate::sys::signal::pending().is_some() {
                        return Err(Error::data("interrupted while waiting for the command"));
                    }
                }
                Err(e) => return Err(Error::io(format!("waiting for {}", self.argv0), e)),
            }
        };
        if status.success() {
            Ok(())
        } else {
            Err(Error::data(format!("the command {:?} failed ({status}): nothing was stored", self.argv0)))
        }
    }
}

impl Drop for CommandSource {
    /// An aborted upload must not leave the producer running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `--tee`: copies the input to stdout as it is read.
pub struct StdoutTee {
    mode: OnFail,
    out: std::io::Stdout,
    /// The downstream reader closed the pipe (in continue mode we keep uploading).
    pub reader_gone: bool,
}

impl StdoutTee {
    pub fn new(mode: OnFail) -> StdoutTee {
        StdoutTee { mode, out: std::io::stdout(), reader_gone: false }
    }
}

impl Tee for StdoutTee {
    fn write_chunk(&mut self, data: &[u8]) -> Result<()> {
        if self.reader_gone {
            return Ok(());
        }
        match self.out.write_all(data).and_then(|_| self.out.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe && self.mode == OnFail::Continue => {
                crate::log::note("the downstream reader closed the pipe; continuing the upload (--onfail continue)");
                self.reader_gone = true;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Error::data(
                "the downstream reader closed the pipe (--onfail abort): upload aborted, nothing stored",
            )),
            Err(e) => Err(Error::io("writing standard output", e)),
        }
    }
}

/// How an uploader binary runs: the engine plus command mode, tee and abort propagation.
pub struct Uploader<'a> {
    pub engine: Options<'a>,
    /// `--tee` with its `--onfail` mode.
    pub tee: Option<OnFail>,
    /// Command mode argv (empty: read stdin).
    pub command: Vec<String>,
}

/// Whether an error means the stream itself is bad (signal, failed producer, unreadable input),
/// as opposed to this stage's upload failing; a bad stream is always propagated downstream.
fn stream_is_bad(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Signal(_) | ErrorKind::Data | ErrorKind::Io)
}

pub fn run_upload(dest: Arc<dyn Destination>, up: Uploader) -> Result<Summary> {
    crate::sys::signal::install(crate::sys::signal::ABORT_SIGNALS);
    crate::sys::signal::install_extra(ABORT_SIGNAL);
    let mut source: Box<dyn Source> = if up.command.is_empty() {
        Box::new(transfer::Stdin::new())
    } else {
        Box::new(CommandSource::spawn(&up.command)?)
    };
    let mut tee = up.tee.map(StdoutTee::new);
    let e = up.engine;
    let engine = Options {
        jobs: e.jobs,
        plan: e.plan,
        allow_empty: e.allow_empty,
        progress: e.progress,
        verbose: e.verbose,
        tee: tee.as_mut().map(|t| t as &mut dyn Tee),
    };
    let result = transfer::upload(source.as_mut(), dest, engine);
    let Some(tee) = tee else { return result };
    match result {
        Ok(summary) => Ok(summary),
        Err(e) if tee.mode == OnFail::Continue && !stream_is_bad(&e) => {
            // This store failed; the others downstream still get the whole stream.
            crate::log::note(format!("{e}; passing the rest of the stream through (--onfail continue)"));
            match pass_through(source.as_mut(), tee) {
                Ok(()) => Err(e),
                Err(bad) => {
                    abort_downstream();
                    Err(bad)
                }
            }
        }
        Err(e) => {
            abort_downstream();
            Err(e)
        }
    }
}

/// Copies the rest of the input to stdout after this stage's own upload failed.
fn pass_through(src: &mut dyn Source, mut tee: StdoutTee) -> Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if let Some(sig) = crate::sys::signal::pending() {
            return Err(Error::new(
                ErrorKind::Signal(sig),
                format!("interrupted by {}", crate::sys::signal::name(sig)),
            ));
        }
        match src.read(&mut buf) {
            Ok(0) => return src.finish(),
            Ok(n) => tee.write_chunk(&buf[..n])?,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("reading the input", e)),
        }
    }
}
