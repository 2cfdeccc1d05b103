//! Who reads a pipe, and whether a process catches a signal: the /proc scan behind
//! abort-downstream (see [`crate::signals`]).

use std::fs;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The inode of the pipe behind `fd`, or None when it is not a pipe.
pub(crate) fn pipe_inode(fd: BorrowedFd<'_>) -> Option<u64> {
    // SAFETY: `stat` is plain data, for which all zeroes is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes one `stat` struct we own, for a descriptor that BorrowedFd
    // guarantees is open for the duration of the call.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 || (st.st_mode & libc::S_IFMT) != libc::S_IFIFO {
        return None;
    }
    Some(st.st_ino)
}

/// Pids holding a read-only descriptor on the pipe with this inode.
pub(crate) fn pipe_readers(inode: u64) -> Vec<i32> {
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

/// Whether the process takes `sig` rather than dying of it: a handler is installed (SigCgt in
/// /proc/PID/status), or its main thread blocks it (SigBlk), as sluice's stream writers do to
/// take signals with sigwait on a thread of their own (`sys::signal::wait_on_thread`). A blocked
/// signal that nobody waits for only stays pending, which is harmless too.
pub fn catches(pid: i32, sig: i32) -> bool {
    let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else { return false };
    let mask = |field: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .is_some_and(|mask| mask & (1u64 << (sig - 1)) != 0)
    };
    mask("SigCgt:") || mask("SigBlk:")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};

    #[test]
    fn finds_the_reader_of_a_pipe() {
        let mut fds = [0i32; 2];
        // SAFETY: pipe(2) writes two ints into an array of two.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both descriptors are new and open, and each gets exactly one owner.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let inode = pipe_inode(w.as_fd()).expect("a pipe");
        assert_eq!(pipe_inode(r.as_fd()), Some(inode));
        // We hold both ends: we are a reader (fds[0]) of our own pipe.
        assert!(pipe_readers(inode).contains(&(std::process::id() as i32)));
    }

    #[test]
    fn files_are_not_pipes() {
        let f = fs::File::open("/proc/self/status").unwrap();
        assert!(pipe_inode(f.as_fd()).is_none());
    }
}
