//! Pipe capacity: Linux lets a process enlarge a pipe's buffer (F_SETPIPE_SZ) up to
//! /proc/sys/fs/pipe-max-size (1 MiB by default) from the 64 KiB default, so that a stage in
//! the middle of a pipeline moves data in fewer, larger reads and writes and is woken less
//! often. Each function is safe: it takes a borrowed descriptor and reports failure as None.

use std::os::fd::{AsRawFd, BorrowedFd};

/// The kernel's limit for pipe sizes set without CAP_SYS_RESOURCE, if it can be read.
pub fn max_size() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/fs/pipe-max-size").ok()?.trim().parse().ok()
}

/// The capacity in bytes of the pipe `fd`, or None when `fd` is not a pipe.
pub fn capacity(fd: BorrowedFd<'_>) -> Option<usize> {
    // SAFETY: F_GETPIPE_SZ takes no argument and only reads the descriptor's state; `fd` is a
    // live descriptor for the duration of the call (BorrowedFd guarantees it). It fails with
    // EBADF for anything that is not a pipe.
    let n = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETPIPE_SZ) };
    usize::try_from(n).ok()
}

/// Enlarges the pipe `fd` to at least `want` bytes, capped at [`max_size`], and returns its
/// capacity afterwards; never shrinks it. None when `fd` is not a pipe. A refusal (EPERM once
/// the user's pipe-user-pages-soft quota is used up, EBUSY) leaves the pipe as it was, which
/// is only slower.
pub fn grow(fd: BorrowedFd<'_>, want: usize) -> Option<usize> {
    let now = capacity(fd)?;
    let target = want.min(max_size().unwrap_or(now));
    if target <= now {
        return Some(now);
    }
    let arg = libc::c_int::try_from(target).unwrap_or(libc::c_int::MAX);
    // SAFETY: F_SETPIPE_SZ takes an int and changes only the kernel's buffer for this pipe;
    // `fd` is live for the call. On failure the pipe keeps its old size.
    let n = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, arg) };
    Some(usize::try_from(n).unwrap_or(now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn grows_pipes_and_ignores_files() {
        let (r, w) = std::io::pipe().unwrap();
        let before = capacity(r.as_fd()).unwrap();
        assert!(before >= 4096);
        let max = max_size().unwrap();
        let after = grow(w.as_fd(), 1 << 20).unwrap();
        assert_eq!(after, (1usize << 20).min(max).max(before));
        assert_eq!(capacity(r.as_fd()), Some(after), "both ends see one buffer");
        assert_eq!(grow(w.as_fd(), 4096), Some(after), "never shrinks");
        let f = std::fs::File::open("/proc/self/status").unwrap();
        assert_eq!(capacity(f.as_fd()), None);
        assert_eq!(grow(f.as_fd(), 1 << 20), None);
    }
}
