//! The pass-through window: reads the source in large blocks, hands the parser contiguous
//! slices, and writes every consumed byte to the sink (and into the CRC) when the window moves.
//!
//! Bytes are written only after the parser has consumed them, so the output never runs ahead
//! of validation, and never lags it by more than a few blocks (the one being parsed and those
//! queued for the writer thread).

use super::crc64::Crc64;
use super::sink::Sink;
use super::Fail;
use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Size of one read (and of one write, in steady state).
pub const BLOCK: usize = 256 << 10;
/// The parser never asks for more than this many contiguous bytes at once.
pub const MAX_NEED: usize = 64;
/// Blocks in flight between the parser and the writer thread (bounds memory and output lag).
const POOL: usize = 4;

enum Msg {
    /// Write `buf[from..to]`, then give the buffer back.
    Data(Box<[u8]>, usize, usize),
    /// Flush the writer and reply `Done`.
    Finish,
}

enum Reply {
    Buf(Box<[u8]>),
    Done,
    Failed(io::Error),
}

/// The writer thread's end: writes validated blocks while the parser goes on. (The CRC stays
/// on the parsing thread, where the block is still in cache.)
pub struct Pipe {
    tx: SyncSender<Msg>,
    rx: Receiver<Reply>,
    /// Buffers handed out so far (at most `POOL`).
    allocated: usize,
}

impl Pipe {
    /// Starts the writer thread in `scope`; it ends when the `Pipe` is dropped.
    pub fn spawn<'scope, 'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        out: &'scope mut (dyn Write + Send + 'env),
    ) -> Pipe {
        let (tx, wrx) = sync_channel::<Msg>(POOL + 2);
        let (wtx, rx) = sync_channel::<Reply>(POOL + 2);
        scope.spawn(move || {
            let mut failed = false;
            while let Ok(msg) = wrx.recv() {
                let reply = match msg {
                    Msg::Data(buf, from, to) => {
                        let chunk = &buf[from..to];
                        if !failed {
                            if let Err(e) = out.write_all(chunk) {
                                failed = true;
                                let _ = wtx.send(Reply::Failed(e));
                            }
                        }
                        Reply::Buf(buf)
                    }
                    Msg::Finish => match out.flush() {
                        Err(e) if !failed => Reply::Failed(e),
                        _ => Reply::Done,
                    },
                };
                if wtx.send(reply).is_err() {
                    break;
                }
            }
        });
        Pipe {
            tx,
            rx,
            allocated: 0,
        }
    }

    fn send(&mut self, msg: Msg) -> Result<(), Fail> {
        self.tx
            .send(msg)
            .map_err(|_| Fail::write(io::Error::other("the output thread ended")))
    }

    /// The next reply that is not a returned buffer (buffers go to `spare`).
    fn reply(&mut self, spare: &mut Vec<Box<[u8]>>) -> Result<Reply, Fail> {
        loop {
            match self.rx.recv() {
                Ok(Reply::Buf(b)) => spare.push(b),
                Ok(Reply::Failed(e)) => return Err(Fail::write(e)),
                Ok(r) => return Ok(r),
                Err(_) => return Err(Fail::write(io::Error::other("the output thread ended"))),
            }
        }
    }

    /// A free buffer: a returned one, a new one while the pool allows, else wait for one.
    fn buffer(&mut self, spare: &mut Vec<Box<[u8]>>) -> Result<Box<[u8]>, Fail> {
        // collect what came back, and notice write errors early
        while let Ok(r) = self.rx.try_recv() {
            match r {
                Reply::Buf(b) => spare.push(b),
                Reply::Failed(e) => return Err(Fail::write(e)),
                _ => {}
            }
        }
        if let Some(b) = spare.pop() {
            return Ok(b);
        }
        if self.allocated < POOL {
            self.allocated += 1;
            return Ok(new_block());
        }
        loop {
            match self.rx.recv() {
                Ok(Reply::Buf(b)) => return Ok(b),
                Ok(Reply::Failed(e)) => return Err(Fail::write(e)),
                Ok(_) => {}
                Err(_) => return Err(Fail::write(io::Error::other("the output thread ended"))),
            }
        }
    }
}

fn new_block() -> Box<[u8]> {
    vec![0u8; BLOCK + MAX_NEED].into_boxed_slice()
}

pub struct Input<'a, 'b> {
    src: &'a mut (dyn Read + 'a),
    out: Option<Pipe>,
    /// Output written from this thread (check-only mode and single-threaded use).
    direct: Option<&'b mut (dyn Write + Send + 'b)>,
    spare: Vec<Box<[u8]>>,
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

impl<'a, 'b> Input<'a, 'b> {
    pub fn new(
        src: &'a mut (dyn Read + 'a),
        out: Option<Pipe>,
        direct: Option<&'b mut (dyn Write + Send + 'b)>,
    ) -> Self {
        let mut out = out;
        let buf = match out.as_mut() {
            Some(p) => {
                p.allocated += 1;
                new_block()
            }
            None => new_block(),
        };
        Input {
            src,
            out,
            direct,
            spare: Vec::new(),
            buf,
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

    /// Hands on (writes and checksums) everything consumed so far, copying it out of the
    /// current block when there is a writer thread.
    pub fn flush(&mut self) -> Result<(), Fail> {
        if self.flushed < self.pos {
            if self.crc_on {
                self.crc.update(&self.buf[self.flushed..self.pos]);
            }
            match self.out.as_mut() {
                None => {
                    if let Some(w) = self.direct.as_mut() {
                        w.write_all(&self.buf[self.flushed..self.pos])
                            .map_err(Fail::write)?;
                    }
                }
                Some(pipe) => {
                    let mut b = pipe.buffer(&mut self.spare)?;
                    let n = self.pos - self.flushed;
                    b[..n].copy_from_slice(&self.buf[self.flushed..self.pos]);
                    pipe.send(Msg::Data(b, 0, n))?;
                }
            }
            self.flushed = self.pos;
        }
        Ok(())
    }

    /// Writes out everything consumed and waits until the output has it.
    pub fn finish(&mut self) -> Result<(), Fail> {
        self.flush()?;
        if let Some(pipe) = self.out.as_mut() {
            pipe.send(Msg::Finish)?;
            pipe.reply(&mut self.spare)?;
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
        match self.out.as_mut() {
            None => {
                self.flush()?;
                if self.pos > 0 {
                    self.buf.copy_within(self.pos..self.end, 0);
                }
            }
            Some(pipe) => {
                // hand the whole block to the writer and continue in a fresh one
                let mut next = pipe.buffer(&mut self.spare)?;
                let tail = self.end - self.pos;
                next[..tail].copy_from_slice(&self.buf[self.pos..self.end]);
                let old = std::mem::replace(&mut self.buf, next);
                if self.flushed < self.pos {
                    if self.crc_on {
                        self.crc.update(&old[self.flushed..self.pos]);
                    }
                    pipe.send(Msg::Data(old, self.flushed, self.pos))?;
                } else {
                    self.spare.push(old);
                }
                self.flushed = self.pos;
            }
        }
        self.base += self.pos as u64;
        self.end -= self.pos;
        self.flushed -= self.pos;
        self.pos = 0;
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

    /// Consumes `n` available bytes, returning their range in the window (valid until the
    /// next read from the input).
    #[inline]
    pub fn take_range(&mut self, n: usize) -> (usize, usize) {
        let a = self.pos;
        self.pos += n;
        (a, self.pos)
    }

    #[inline]
    pub fn window(&self, a: usize, b: usize) -> &[u8] {
        &self.buf[a..b]
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
    pub fn stream<S: Sink + ?Sized>(
        &mut self,
        mut n: u64,
        sink: &mut S,
        what: &str,
    ) -> Result<(), Fail> {
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
