//! `--tee`: the input copied to stdout as it is read, to mirror one stream to several stores.

use crate::error::{Error, Result};
use std::io::Write;

/// The `--tee` output: gets every chunk read, in order.
pub(crate) trait Tee {
    fn write_chunk(&mut self, data: &[u8]) -> Result<()>;
}

/// What a `--tee` stage does when something fails (duplicity's multibackend `onfail`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OnFail {
    /// Keep passing data through when this upload fails (exit non-zero at the end), and keep
    /// uploading when the downstream reader goes away.
    Continue,
    /// Abort this upload and propagate the abort downstream on either failure.
    Abort,
}

/// `--tee`: copies the input to stdout as it is read.
pub(crate) struct StdoutTee {
    mode: OnFail,
    out: std::io::Stdout,
    /// The downstream reader closed the pipe (in continue mode we keep uploading).
    pub reader_gone: bool,
}

impl StdoutTee {
    pub fn new(mode: OnFail) -> StdoutTee {
        StdoutTee { mode, out: std::io::stdout(), reader_gone: false }
    }

    pub fn mode(&self) -> OnFail {
        self.mode
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
                crate::log::warn("the downstream reader closed the pipe; continuing the upload (--onfail continue)");
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
