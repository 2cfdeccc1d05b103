//! Standard input and output as plain files on descriptors 0 and 1.
//!
//! std's `Stdout` is line-buffered, which gets in the way of large writes, and its `Stdin`
//! retries a read interrupted by a signal (EINTR), so a blocked read on a silent pipe would not
//! notice Ctrl-C. These read(2) and write(2) the descriptors directly and never close them.

use std::fs::File;
use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd};

fn raw(fd: i32) -> ManuallyDrop<File> {
    // SAFETY: descriptors 0 and 1 are opened by the parent and stay open for the life of the
    // process (nothing in sluice closes them); ManuallyDrop never closes this File, so the
    // descriptor is neither closed twice nor closed under std's own Stdin/Stdout.
    ManuallyDrop::new(unsafe { File::from_raw_fd(fd) })
}

/// Standard input read with plain read(2): a signal interrupts a blocked read.
pub(crate) struct Stdin(ManuallyDrop<File>);

/// Standard output written with plain write(2): no buffering, no line buffering.
pub(crate) struct Stdout(ManuallyDrop<File>);

pub(crate) fn stdin() -> Stdin {
    Stdin(raw(0))
}

pub(crate) fn stdout() -> Stdout {
    Stdout(raw(1))
}

impl Read for Stdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsFd for Stdin {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsFd for Stdout {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}
