//! What an upload reads: standard input, or in command mode the output of a command it runs.

use crate::error::{Error, Result};
use crate::signals;
use crate::sys::stdio;
use std::io::Read;
use std::process::{Child, ChildStdout, Command, Stdio};

/// The stream being uploaded: stdin, or a command's stdout in command mode.
pub(crate) trait Source: Read {
    /// Called at EOF, before anything is completed: command mode waits for the command and
    /// refuses a non-zero exit; the pipeline-abort check lives here too.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Standard input read with plain read(2), so a signal interrupts a blocked read (std's Stdin
/// would retry on EINTR and keep us waiting on a silent pipe).
impl Source for stdio::Stdin {}

/// Command mode (`s3put s3://b/k -- CMD ARGS...`): uploads CMD's stdout and completes only if
/// CMD exits 0, which closes the `set -o pipefail` hole for shells that lack it.
pub(crate) struct CommandSource {
    child: Child,
    stdout: ChildStdout,
    argv0: String,
}

impl CommandSource {
    pub fn spawn(argv: &[String]) -> Result<CommandSource> {
        let (prog, args) = argv.split_first().ok_or_else(|| Error::usage("no command after --"))?;
        // The child must not inherit our abort-signal handlers' mask quirks: spawn resets them.
        let mut child = Command::new(prog)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| Error::usage(format!("cannot run {prog:?}: {e}")))?;
        let stdout = child.stdout.take().ok_or_else(|| Error::usage(format!("cannot read the output of {prog:?}")))?;
        Ok(CommandSource { child, stdout, argv0: prog.clone() })
    }
}

impl Read for CommandSource {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stdout.read(buf)
    }
}

impl Source for CommandSource {
    fn finish(&mut self) -> Result<()> {
        let status = loop {
            match self.child.wait() {
                Ok(s) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    if signals::pending().is_some() {
                        return Err(Error::data("interrupted while waiting for the command"));
                    }
                }
                Err(e) => return Err(Error::io(format!("waiting for {}", self.argv0), e)),
            }
        };
        if status.success() {
            Ok(())
        } else {
            Err(Error::data(format!("the command {:?} failed ({status}): nothing was stored", self.argv0)))
        }
    }
}

impl Drop for CommandSource {
    /// An aborted upload must not leave the producer running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
