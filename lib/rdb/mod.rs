//! Streaming validation of Redis and Valkey RDB snapshots.
//!
//! [`validate`] (or a [`Validator`], which keeps its [`Report`] after a failure) reads an RDB
//! stream, passes every byte through to a writer as it is validated, and checks the whole
//! format: magic and version, every opcode and value type by (magic, version), lengths and
//! string encodings, LZF streams, listpack/ziplist/intset/zipmap blobs, quicklists, streams,
//! module values, function libraries, hash-field TTLs, the CRC-64 trailer, and what may follow
//! it. Memory stays bounded by one read block plus the largest embedded blob, except for the
//! opt-in duplicate-key check and per-collection duplicate sets (see [`Options`]).
//!
//! Errors are [`crate::Error`]s of kind `Data` (invalid RDB; the message starts with the byte
//! offset), `Io` (reading failed, or writing failed for a reason other than a closed pipe) or
//! `Signal(SIGPIPE)` (the reader of the output went away).

mod blob;
pub mod crc64;
mod format;
mod input;
mod lzf;
mod output;
mod parse;
mod report;
mod sink;

pub use report::{Checksum, DbStats, Report, TopKey};

use crate::{Error, ErrorKind, Result};
use output::{Output, Writer};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};

/// What to check beyond the format itself.
#[derive(Clone, Debug)]
pub struct Options {
    /// SELECTDB ids must be below this (the server's `databases`, default 16).
    pub databases: u64,
    /// Refuse a checksum of 0 ("checksum disabled").
    pub require_checksum: bool,
    /// Detect duplicate keys within a database (memory grows with the key count).
    pub check_duplicates: bool,
    /// Name keys in errors and reports (they may be sensitive).
    pub key_names: bool,
    /// How many of the largest keys the report keeps.
    pub top: usize,
    /// How many warnings the report keeps verbatim (the rest are only counted).
    pub max_warnings: usize,
    /// Write the output on a second thread while parsing goes on (the default);
    /// false does everything on the calling thread.
    pub writer_thread: bool,
    /// Record the start offset of every record in the report (for tests; memory grows).
    #[doc(hidden)]
    pub record_offsets: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            databases: 16,
            require_checksum: false,
            check_duplicates: false,
            key_names: false,
            top: 10,
            max_warnings: 100,
            writer_thread: true,
            record_offsets: false,
        }
    }
}

/// A failure inside the parser, before it becomes a user-facing [`Error`]. Boxed: every
/// parsing step returns a `Result<_, Fail>`, which then fits in registers.
#[derive(Debug)]
pub(crate) struct Fail(Box<Failure>);

#[derive(Debug)]
struct Failure {
    off: u64,
    msg: String,
    kind: FailKind,
}

#[derive(Debug, PartialEq, Eq)]
enum FailKind {
    Data,
    Truncated,
    Read,
    Write,
    BrokenPipe,
}

impl Fail {
    #[cold]
    fn new(off: u64, msg: String, kind: FailKind) -> Self {
        Fail(Box::new(Failure { off, msg, kind }))
    }
    #[cold]
    pub(crate) fn at(off: u64, msg: impl Into<String>) -> Self {
        Fail::new(off, msg.into(), FailKind::Data)
    }
    fn truncation(mut self) -> Self {
        self.0.kind = FailKind::Truncated;
        self
    }
    #[cold]
    fn read(e: std::io::Error) -> Self {
        Fail::new(0, format!("reading input: {e}"), FailKind::Read)
    }
    #[cold]
    fn write(e: std::io::Error) -> Self {
        let kind = if e.kind() == std::io::ErrorKind::BrokenPipe { FailKind::BrokenPipe } else { FailKind::Write };
        Fail::new(0, format!("writing output: {e}"), kind)
    }
    fn is_data(&self) -> bool {
        matches!(self.0.kind, FailKind::Data | FailKind::Truncated)
    }
}

/// The validator: holds the options and, after [`Validator::run`], the report (also when the
/// run failed, for the records read before the failure).
pub struct Validator {
    opts: Options,
    report: Report,
}

impl Validator {
    pub fn new(opts: Options) -> Self {
        Validator { opts, report: Report::default() }
    }

    /// Validates `src`, writing every byte read to `out` (if any) once it has been checked. On
    /// success `out` has received the whole input; on failure a prefix of it that never reaches
    /// past the byte where the failure was found.
    ///
    /// With an output, a second thread writes the validated blocks while the
    /// parser reads on; it has finished (and written everything handed to it) when this returns.
    pub fn run(&mut self, src: &mut dyn Read, out: Option<&mut (dyn Write + Send)>) -> Result<()> {
        let opts = self.opts.clone();
        let threaded = self.opts.writer_thread;
        let (res, ctx, report) = std::thread::scope(|scope| {
            let out = match out {
                None => Output::Discard,
                Some(w) if threaded => Output::Thread(Writer::spawn(scope, w)),
                Some(w) => Output::Direct(w),
            };
            let mut p = parse::Parser::new(opts, src, out);
            let res = p.run();
            let ctx = p.context();
            (res, ctx, p.into_report())
        });
        self.report = report;
        res.map_err(|f| {
            if f.is_data() {
                Error::new(ErrorKind::Data, format!("offset {}: {}{}", f.0.off, f.0.msg, ctx))
            } else if f.0.kind == FailKind::BrokenPipe {
                Error::new(ErrorKind::Signal(libc::SIGPIPE), f.0.msg)
            } else {
                Error::new(ErrorKind::Io, f.0.msg)
            }
        })
    }

    /// Like [`Validator::run`], for file descriptors (standard input and output, a file):
    /// reads and writes them directly, in whole blocks, without std's buffering. A descriptor
    /// that is a pipe is first enlarged to 1 MiB where the kernel allows
    /// (/proc/sys/fs/pipe-max-size), so that in `a | rdbcheck | b` each stage moves a
    /// 256 KiB block per read and write and wakes the others less often. The descriptors
    /// stay open; what goes through them is exactly what `run` would pass.
    pub fn run_fds(&mut self, src: BorrowedFd<'_>, out: Option<BorrowedFd<'_>>) -> Result<()> {
        let mut src = File::from(src.try_clone_to_owned().map_err(|e| Error::io("reading input", e))?);
        let mut out = match out {
            Some(fd) => Some(File::from(fd.try_clone_to_owned().map_err(|e| Error::io("writing output", e))?)),
            None => None,
        };
        crate::sys::pipe::grow(src.as_fd(), input::PIPE_BUFFER);
        if let Some(o) = &out {
            crate::sys::pipe::grow(o.as_fd(), input::PIPE_BUFFER);
        }
        self.run(&mut src, out.as_mut().map(|o| o as &mut (dyn Write + Send)))
    }

    pub fn report(&self) -> &Report {
        &self.report
    }

    pub fn into_report(self) -> Report {
        self.report
    }
}

/// Validates `src`, passing its bytes through to `out`; returns the report of a valid stream.
pub fn validate(src: &mut dyn Read, out: Option<&mut (dyn Write + Send)>, opts: &Options) -> Result<Report> {
    let mut v = Validator::new(opts.clone());
    v.run(src, out)?;
    Ok(v.into_report())
}
