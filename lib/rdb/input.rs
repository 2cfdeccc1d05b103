//! The pass-through window: reads the source in large blocks, hands the parser contiguous
//! slices, and hands every consumed byte on to the output (and into the CRC) block by block.
//!
//! Bytes are handed on only after the parser has consumed them, so the output never runs
//! ahead of validation, and never lags it by more than a few blocks (the one being parsed and
//! those queued for the writer thread). A block is handed on once it is full, however small
//! the reads that filled it (a pipe delivers what its writer wrote, often 4 KiB at a time):
//! one hand-off and one write per 256 KiB keeps a stage in the middle of a pipeline close to
//! the speed of `cat`.

use super::crc64::Crc64;
use super::output::Output;
use super::sink::Sink;
use super::Fail;
use std::io::{self, Read};

/// Size of one block: what the output receives per write in steady state.
pub(crate) const BLOCK: usize = 256 << 10;
/// The parser never asks for more than this many contiguous bytes at once.
pub(crate) const MAX_NEED: usize = 64;
/// Reads go into the current block while this much of it is free; then it is handed on.
const MIN_READ: usize = 16 << 10;
/// What pipes on either side are enlarged to (as far as /proc/sys/fs/pipe-max-size allows):
/// four blocks, so the writer thread's whole pool fits in the pipe and a full block is
/// written in one go. (Linux's default pipe holds 64 KiB.)
pub(crate) const PIPE_BUFFER: usize = 4 * BLOCK;

pub(crate) fn new_block() -> Box<[u8]> {
    vec![0u8; BLOCK + MAX_NEED].into_boxed_slice()
}

pub(crate) struct Input<'a, 'w> {
    src: &'a mut (dyn Read + 'a),
    out: Output<'w>,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// Bytes before this index were already handed on (written and checksummed).
    flushed: usize,
    /// Absolute stream offset of `buf[0]`.
    base: u64,
    crc: Crc64,
    crc_on: bool,
    src_eof: bool,
}

impl<'a, 'w> Input<'a, 'w> {
    pub(crate) fn new(src: &'a mut (dyn Read + 'a), mut out: Output<'w>) -> Self {
        let buf = match &mut out {
            Output::Thread(w) => w.first_block(),
            _ => new_block(),
        };
        Input { src, out, buf, pos: 0, end: 0, flushed: 0, base: 0, crc: Crc64::new(), crc_on: true, src_eof: false }
    }

    /// Absolute offset of the next unread byte.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    #[inline]
    pub(crate) fn available(&self) -> usize {
        self.end - self.pos
    }

    /// Hands on (checksums and writes) everything consumed so far. With a writer thread the
    /// block itself goes to the writer, and the parser goes on in a fresh one.
    pub(crate) fn flush(&mut self) -> Result<(), Fail> {
        if self.flushed == self.pos {
            return Ok(());
        }
        if self.crc_on {
            self.crc.update(&self.buf[self.flushed..self.pos]);
        }
        match &mut self.out {
            Output::Discard => {}
            Output::Direct(w) => w.write_all(&self.buf[self.flushed..self.pos]).map_err(Fail::write)?,
            Output::Thread(w) => {
                let mut next = w.buffer()?;
                let tail = self.end - self.pos;
                next[..tail].copy_from_slice(&self.buf[self.pos..self.end]);
                let done = std::mem::replace(&mut self.buf, next);
                w.send(done, self.flushed, self.pos)?;
                self.flushed = self.pos;
                self.rebase();
                return Ok(());
            }
        }
        self.flushed = self.pos;
        Ok(())
    }

    /// Makes `buf[pos..end]` (all handed on before it) the start of the window.
    fn rebase(&mut self) {
        debug_assert_eq!(self.flushed, self.pos);
        self.base += self.pos as u64;
        self.end -= self.pos;
        self.pos = 0;
        self.flushed = 0;
    }

    /// Writes out everything consumed and waits until the output has it.
    pub(crate) fn finish(&mut self) -> Result<(), Fail> {
        self.flush()?;
        match &mut self.out {
            Output::Discard => Ok(()),
            Output::Direct(w) => w.flush().map_err(Fail::write),
            Output::Thread(w) => w.finish(),
        }
    }

    /// CRC of every byte consumed so far; stops the CRC (the checksum trailer is not covered).
    pub(crate) fn take_crc(&mut self) -> Result<u64, Fail> {
        self.flush()?;
        self.crc_on = false;
        Ok(self.crc.value())
    }

    /// Reads more into the block; once it is nearly full, hands it on first and continues
    /// with the unconsumed rest (under `MAX_NEED` bytes) at the start of a block. Returns false
    /// at the end of the input.
    fn refill(&mut self) -> Result<bool, Fail> {
        if self.src_eof {
            return Ok(false);
        }
        if self.buf.len() - self.end < MIN_READ {
            self.flush()?;
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.end, 0);
                self.rebase();
            }
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.src_eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    // The run's running byte count (a signal may end it before the report).
                    crate::run::add_bytes(n as u64);
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Fail::read(e)),
            }
        }
    }

    /// Makes at least `n` (≤ MAX_NEED) bytes available; false if the input ends first.
    #[inline(always)]
    pub(crate) fn fill(&mut self, n: usize) -> Result<bool, Fail> {
        if self.end - self.pos >= n {
            return Ok(true);
        }
        self.fill_slow(n)
    }

    #[inline(never)]
    fn fill_slow(&mut self, n: usize) -> Result<bool, Fail> {
        debug_assert!(n <= MAX_NEED);
        while self.end - self.pos < n {
            if !self.refill()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Like `fill`, but the input ending is an error.
    #[inline(always)]
    pub(crate) fn need(&mut self, n: usize, what: &str) -> Result<(), Fail> {
        if self.end - self.pos >= n {
            return Ok(());
        }
        self.need_slow(n, what)
    }

    #[inline(never)]
    fn need_slow(&mut self, n: usize, what: &str) -> Result<(), Fail> {
        if self.fill_slow(n)? {
            Ok(())
        } else {
            Err(self.truncated(n as u64 - self.available() as u64, what))
        }
    }

    pub(crate) fn truncated(&self, missing: u64, what: &str) -> Fail {
        Fail::at(
            self.base + self.end as u64,
            format!("unexpected end of input: {missing} more byte(s) needed for {what}"),
        )
        .truncation()
    }

    /// The next `n` bytes, which `need`/`fill` made available; consumes them.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> &[u8] {
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        s
    }

    /// Consumes `n` available bytes, returning their range in the window (valid until the
    /// next read from the input).
    #[inline]
    pub(crate) fn take_range(&mut self, n: usize) -> (usize, usize) {
        let a = self.pos;
        self.pos += n;
        (a, self.pos)
    }

    #[inline]
    pub(crate) fn window(&self, a: usize, b: usize) -> &[u8] {
        &self.buf[a..b]
    }

    /// Peeks at available bytes without consuming them.
    #[inline]
    pub(crate) fn peek(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    #[inline(always)]
    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, Fail> {
        if self.pos < self.end {
            let b = self.buf[self.pos];
            self.pos += 1;
            return Ok(b);
        }
        self.need_slow(1, what)?;
        Ok(self.take(1)[0])
    }

    #[inline]
    pub(crate) fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Fail> {
        self.need(N, what)?;
        Ok(self.take(N).try_into().unwrap())
    }

    /// Consumes `n` bytes, handing them to `sink` in pieces, without holding them.
    #[inline]
    pub(crate) fn stream<S: Sink + ?Sized>(&mut self, n: u64, sink: &mut S, what: &str) -> Result<(), Fail> {
        if n <= self.available() as u64 {
            let start = self.pos;
            self.pos += n as usize;
            sink.feed(&self.buf[start..self.pos]);
            return Ok(());
        }
        self.stream_across(n, sink, what)
    }

    #[inline(never)]
    fn stream_across<S: Sink + ?Sized>(&mut self, mut n: u64, sink: &mut S, what: &str) -> Result<(), Fail> {
        loop {
            let take = (self.available() as u64).min(n) as usize;
            if take > 0 {
                sink.feed(&self.buf[self.pos..self.pos + take]);
                self.pos += take;
                n -= take as u64;
            }
            if n == 0 {
                return Ok(());
            }
            if !self.refill()? {
                return Err(self.truncated(n, what));
            }
        }
    }

    /// Consumes `n` bytes, calling `f` on each contiguous piece (used by the LZF decoder).
    pub(crate) fn stream_with<F>(&mut self, mut n: u64, what: &str, mut f: F) -> Result<(), Fail>
    where
        F: FnMut(&[u8]) -> Result<(), Fail>,
    {
        loop {
            let take = (self.available() as u64).min(n) as usize;
            if take > 0 {
                let start = self.pos;
                self.pos += take;
                n -= take as u64;
                f(&self.buf[start..start + take])?;
            }
            if n == 0 {
                return Ok(());
            }
            if !self.refill()? {
                return Err(self.truncated(n, what));
            }
        }
    }
}
