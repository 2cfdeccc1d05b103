//! The pass-through window: reads the source in large blocks, hands the parser contiguous
//! slices, and writes every consumed byte to the sink (and into the CRC) when the window moves.
//!
//! Bytes are written only after the parser has consumed them, so the output never runs ahead
//! of validation by more than one block, and never lags it by more than one block either.

use super::crc64::Crc64;
use super::Fail;
use std::io::{self, Read, Write};

/// Size of one read (and of one write, in steady state).
pub const BLOCK: usize = 1 << 20;
/// The parser never asks for more than this many contiguous bytes at once.
pub const MAX_NEED: usize = 64;

pub struct Input<'a, 'b> {
    src: &'a mut (dyn Read + 'a),
    out: Option<&'b mut (dyn Write + 'b)>,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    /// Bytes before this index were already written and checksummed.
    flushed: usize,
    /// Absolute stream offset of `buf[0]`.
    base: u64,
    crc: Crc64,
    crc_on: bool,
    src_eof: bool,
}

/// Receives the bytes of a string as they are decoded (see `Parser::read_string`).
pub trait Sink {
    fn feed(&mut self, bytes: &[u8]);
}

/// A sink that keeps nothing.
pub struct Discard;
impl Sink for Discard {
    #[inline]
    fn feed(&mut self, _: &[u8]) {}
}

impl Sink for Vec<u8> {
    #[inline]
    fn feed(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl<'a, 'b> Input<'a, 'b> {
    pub fn new(src: &'a mut (dyn Read + 'a), out: Option<&'b mut (dyn Write + 'b)>) -> Self {
        Input {
            src,
            out,
            buf: vec![0u8; BLOCK + MAX_NEED].into_boxed_slice(),
            pos: 0,
            end: 0,
            flushed: 0,
            base: 0,
            crc: Crc64::new(),
            crc_on: true,
            src_eof: false,
        }
    }

    /// Absolute offset of the next unread byte.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    #[inline]
    pub fn available(&self) -> usize {
        self.end - self.pos
    }

    /// Writes (and checksums) everything consumed so far.
    pub fn flush(&mut self) -> Result<(), Fail> {
        if self.flushed < self.pos {
            let chunk = &self.buf[self.flushed..self.pos];
            if self.crc_on {
                self.crc.update(chunk);
            }
            if let Some(out) = self.out.as_mut() {
                out.write_all(chunk).map_err(|e| Fail::write(e))?;
            }
            self.flushed = self.pos;
        }
        Ok(())
    }

    /// Flushes the sink itself (at the end of the stream).
    pub fn finish(&mut self) -> Result<(), Fail> {
        self.flush()?;
        if let Some(out) = self.out.as_mut() {
            out.flush().map_err(|e| Fail::write(e))?;
        }
        Ok(())
    }

    /// CRC of every byte consumed so far; stops the CRC (the checksum trailer is not covered).
    pub fn take_crc(&mut self) -> Result<u64, Fail> {
        self.flush()?;
        self.crc_on = false;
        Ok(self.crc.value())
    }

    /// Moves the window and reads more. Returns false at end of input with nothing new.
    fn refill(&mut self) -> Result<bool, Fail> {
        if self.src_eof {
            return Ok(false);
        }
        self.flush()?;
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
            self.flushed = 0;
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.src_eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Fail::read(e)),
            }
        }
    }

    /// Makes at least `n` (≤ MAX_NEED) bytes available; false if the input ends first.
    #[inline]
    pub fn fill(&mut self, n: usize) -> Result<bool, Fail> {
        debug_assert!(n <= MAX_NEED);
        while self.end - self.pos < n {
            if !self.refill()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Like `fill`, but the input ending is an error.
    #[inline]
    pub fn need(&mut self, n: usize, what: &str) -> Result<(), Fail> {
        if self.end - self.pos >= n || self.fill(n)? {
            Ok(())
        } else {
            Err(self.truncated(n as u64 - self.available() as u64, what))
        }
    }

    pub fn truncated(&self, missing: u64, what: &str) -> Fail {
        Fail::at(
            self.base + self.end as u64,
            format!("unexpected end of input: {missing} more byte(s) needed for {what}"),
        )
        .truncation()
    }

    /// The next `n` bytes, which `need`/`fill` made available; consumes them.
    #[inline]
    pub fn take(&mut self, n: usize) -> &[u8] {
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        s
    }

    /// Peeks at available bytes without consuming them.
    #[inline]
    pub fn peek(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    #[inline]
    pub fn u8(&mut self, what: &str) -> Result<u8, Fail> {
        if self.pos < self.end {
            let b = self.buf[self.pos];
            self.pos += 1;
            return Ok(b);
        }
        self.need(1, what)?;
        Ok(self.take(1)[0])
    }

    pub fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Fail> {
        self.need(N, what)?;
        Ok(self.take(N).try_into().unwrap())
    }

    /// Consumes `n` bytes, handing them to `sink` in pieces, without holding them.
    pub fn stream<S: Sink + ?Sized>(&mut self, mut n: u64, sink: &mut S, what: &str) -> Result<(), Fail> {
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
    pub fn stream_with<F>(&mut self, mut n: u64, what: &str, mut f: F) -> Result<(), Fail>
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
