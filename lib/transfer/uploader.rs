//! How an uploader binary (s3put, swift-slo-put) runs the engine: its source (stdin or
//! command mode), `--tee` with `--onfail`, the abort signals, and abort-downstream when the
//! stream turns out bad.

use super::{engine, CommandSource, Destination, OnFail, Options, Source, StdoutTee, Summary, Tee};
use crate::error::{Error, ErrorKind, Result};
use crate::signals;
use crate::sys::stdio;
use std::sync::Arc;

/// How an uploader binary runs: the engine plus command mode, tee and abort propagation.
pub(crate) struct Uploader<'a> {
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

/// Uploads the input to `dest`. On any failure or abort signal nothing is left behind; with
/// `--tee`, a bad stream is also reported to the reader of stdout (abort-downstream).
pub(crate) fn run_upload(dest: Arc<dyn Destination>, up: Uploader) -> Result<Summary> {
    // From here on an abort signal is the engine's to clean up (cli::main caught them).
    if !signals::engine_takes_signals() {
        let sig = signals::pending().unwrap_or(libc::SIGTERM);
        return Err(Error::new(ErrorKind::Signal(sig), signals::reason(sig)));
    }
    let mut source: Box<dyn Source> =
        if up.command.is_empty() { Box::new(stdio::stdin()) } else { Box::new(CommandSource::spawn(&up.command)?) };
    let mut tee = up.tee.map(StdoutTee::new);
    let e = up.engine;
    let engine = Options {
        jobs: e.jobs,
        plan: e.plan,
        allow_empty: e.allow_empty,
        progress: e.progress,
        verbose: e.verbose,
        tee: tee.as_mut().map(|t| t as &mut dyn Tee),
        rate: e.rate,
    };
    let result = engine::upload(source.as_mut(), dest, engine);
    let Some(tee) = tee else { return result };
    match result {
        Ok(summary) => Ok(summary),
        Err(e) if tee.mode() == OnFail::Continue && !stream_is_bad(&e) => {
            // This store failed; the others downstream still get the whole stream.
            crate::log::warn(format!("{e}; passing the rest of the stream through (--onfail continue)"));
            match pass_through(source.as_mut(), tee) {
                Ok(()) => Err(e),
                Err(bad) => {
                    signals::abort_downstream();
                    Err(bad)
                }
            }
        }
        Err(e) => {
            signals::abort_downstream();
            Err(e)
        }
    }
}

/// Copies the rest of the input to stdout after this stage's own upload failed.
fn pass_through(src: &mut dyn Source, mut tee: StdoutTee) -> Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if let Some(sig) = signals::pending() {
            return Err(Error::new(ErrorKind::Signal(sig), signals::reason(sig)));
        }
        match src.read(&mut buf) {
            Ok(0) => return src.finish(),
            Ok(n) => tee.write_chunk(&buf[..n])?,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("reading the input", e)),
        }
    }
}
