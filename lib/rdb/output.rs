//! Where validated bytes go: nowhere (`--check-only`), written from the parsing thread, or
//! handed block by block to a writer thread that writes while the parser reads on.

use super::input::new_block;
use super::Fail;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Blocks in flight between the parser and the writer thread (bounds memory and output lag).
const POOL: usize = 4;

/// The destination of the pass-through.
pub(crate) enum Output<'w> {
    /// Nothing is written (check-only).
    Discard,
    /// Written by the parsing thread itself.
    Direct(&'w mut (dyn Write + Send + 'w)),
    /// Handed to the writer thread.
    Thread(Writer),
}

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

/// The parser's end of the writer thread, and the pool of blocks they pass back and forth.
/// (The CRC stays on the parsing thread, where the block is still in cache.)
pub(crate) struct Writer {
    tx: SyncSender<Msg>,
    rx: Receiver<Reply>,
    /// Blocks allocated so far (at most `POOL`).
    allocated: usize,
    /// Blocks given back and not yet reused.
    spare: Vec<Box<[u8]>>,
}

fn ended() -> Fail {
    Fail::write(io::Error::other("the output thread ended"))
}

impl Writer {
    /// Starts the writer thread in `scope`; it ends when the `Writer` is dropped.
    pub(crate) fn spawn<'scope, 'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        out: &'scope mut (dyn Write + Send + 'env),
    ) -> Writer {
        let (tx, wrx) = sync_channel::<Msg>(POOL + 2);
        let (wtx, rx) = sync_channel::<Reply>(POOL + 2);
        scope.spawn(move || {
            let mut failed = false;
            while let Ok(msg) = wrx.recv() {
                let reply = match msg {
                    Msg::Data(buf, from, to) => {
                        if !failed {
                            if let Err(e) = out.write_all(&buf[from..to]) {
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
        Writer { tx, rx, allocated: 0, spare: Vec::new() }
    }

    /// The parser's first block, counted in the pool.
    pub(crate) fn first_block(&mut self) -> Box<[u8]> {
        self.allocated += 1;
        new_block()
    }

    /// A free block: a returned one, a new one while the pool allows, else the next one the
    /// writer gives back. A write error shows up here, at the latest one block after it.
    pub(crate) fn buffer(&mut self) -> Result<Box<[u8]>, Fail> {
        while let Ok(r) = self.rx.try_recv() {
            self.take(r)?;
        }
        if let Some(b) = self.spare.pop() {
            return Ok(b);
        }
        if self.allocated < POOL {
            self.allocated += 1;
            return Ok(new_block());
        }
        loop {
            let r = self.rx.recv().map_err(|_| ended())?;
            self.take(r)?;
            if let Some(b) = self.spare.pop() {
                return Ok(b);
            }
        }
    }

    /// Hands `buf[from..to]` to the writer thread; the block comes back once it is written.
    pub(crate) fn send(&mut self, buf: Box<[u8]>, from: usize, to: usize) -> Result<(), Fail> {
        self.tx.send(Msg::Data(buf, from, to)).map_err(|_| ended())
    }

    /// Waits until everything sent is written and flushed.
    pub(crate) fn finish(&mut self) -> Result<(), Fail> {
        self.tx.send(Msg::Finish).map_err(|_| ended())?;
        loop {
            match self.rx.recv().map_err(|_| ended())? {
                Reply::Done => return Ok(()),
                r => self.take(r)?,
            }
        }
    }

    /// Files a reply that is not `Done`: a returned block, or the write error.
    fn take(&mut self, r: Reply) -> Result<(), Fail> {
        match r {
            Reply::Buf(b) => {
                self.spare.push(b);
                Ok(())
            }
            Reply::Failed(e) => Err(Fail::write(e)),
            Reply::Done => Ok(()),
        }
    }
}
