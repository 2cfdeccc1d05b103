//! The command line: every binary's flags, defined once as clap derive structs (so `--help`,
//! the man pages and the shell completions come from one source), the [`Tool`] trait each
//! binary's flags implement, and [`main`], the one `main` all eight binaries share.
//!
//! A binary is `fn main() { sluice::cli::main::<sluice::cli::NAME::Args>() }`: [`main`]
//! parses the command line (a bad one is a one-line usage error, exit 2), sets up the signal
//! handling the tool's kind needs, runs it, tells the next stage of the pipeline when a stream
//! went bad, says how the run ended, and exits with the documented status.

pub mod args;
pub mod doc;
pub mod filter;
pub mod registry;

pub mod rdbcheck;
pub mod s3get;
pub mod s3ls;
pub mod s3put;
pub mod s3rm;
pub mod swift_get;
pub mod swift_ls;
pub mod swift_slo_put;

use crate::error::{Error, ErrorKind, Result, EXIT_CODES};
use crate::{log, signals};

/// One binary: its flags (the clap struct implementing this) and what it does once they are
/// parsed. Its name, description and man page parts are in [`registry`].
pub trait Tool: clap::Parser {
    /// Whether standard output carries a stream the next stage must not trust after a failure
    /// (s3get, swift-get, rdbcheck). Such a tool tells the reader of its stdout when it fails,
    /// and on SIGINT, SIGTERM, SIGHUP or an upstream SIGUSR2 it does that and exits at once.
    /// (The uploaders handle their signals inside the engine, to abort the upload first.)
    const WRITES_STREAM: bool = false;

    /// Whether `--no-abort-downstream` was given.
    fn no_abort_downstream(&self) -> bool {
        false
    }

    /// Does the work.
    fn run(&self) -> Result<()>;

    /// Says on stderr how the run ended and returns the exit status. By default: nothing on
    /// success, one line for an error, and nothing when the reader of stdout went away (as `cat`).
    fn finish(&self, result: Result<()>) -> i32 {
        report(result)
    }
}

/// The `main` of every binary: parse, run, report, exit.
pub fn main<T: Tool>() -> ! {
    let tool: T = parse_args();
    if tool.no_abort_downstream() {
        signals::disable_abort_downstream();
    }
    if T::WRITES_STREAM {
        // Before any thread exists, so every thread inherits the blocked signals.
        signals::exit_on_signals();
    }
    let result = tool.run();
    if T::WRITES_STREAM {
        if let Err(e) = &result {
            if !e.is_closed_stdout() {
                // Before stdout is closed: the reader must have the signal before it sees EOF.
                signals::abort_downstream();
            }
        }
    }
    std::process::exit(tool.finish(result))
}

/// Prints the error (one line, prefixed with the program name) and returns its exit status.
pub fn report(result: Result<()>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            // A closed stdout already ended the pipeline on purpose: exit like `cat` would.
            if !e.is_closed_stdout() {
                log::note(&e);
            }
            e.exit_code()
        }
    }
}

/// Parses the command line like `clap::Parser::parse`, but a bad command line is reported on
/// ONE line ("s3ls: invalid value 'x' for '--page-size <N>': ... (see --help)") with exit
/// status 2, like every other error; --help and --version print as usual.
pub(crate) fn parse_args<T: clap::Parser>() -> T {
    match T::try_parse() {
        Ok(args) => args,
        Err(e) => {
            use clap::error::ErrorKind as K;
            if matches!(e.kind(), K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand) {
                e.exit();
            }
            let text = e.render().to_string();
            // clap spreads one error over several lines (missing arguments on the next one,
            // then a tip and the usage): keep everything before the usage, on one line.
            let msg: Vec<&str> = text
                .lines()
                .take_while(|l| !l.starts_with("Usage:"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let msg = msg.join(" ");
            let msg = msg.strip_prefix("error:").unwrap_or(&msg).trim();
            log::note(format!("{msg} (see --help)"));
            std::process::exit(ErrorKind::Usage.exit_code());
        }
    }
}

/// The EXIT STATUS text shared by every binary's help (the man pages render [`EXIT_CODES`]).
pub(crate) fn exit_status_help() -> String {
    let mut s = String::from("Exit status:\n");
    for status in EXIT_CODES {
        s.push_str(&format!("  {:>5}  {}\n", status.label(), status.meaning));
    }
    s
}

/// The text after the options in `--help`: `preface` paragraphs, the exit statuses, examples.
pub(crate) fn after_help(preface: &[&str], examples: &str) -> String {
    let mut s = String::new();
    for p in preface {
        s.push_str(p);
        s.push_str("\n\n");
    }
    s.push_str(&exit_status_help());
    s.push('\n');
    s.push_str(examples);
    s
}

/// Prints a one-line result (--json) on stdout, or on stderr when stdout carries data.
pub(crate) fn print_result(line: &str, to_stderr: bool) -> Result<()> {
    use std::io::Write;
    if to_stderr {
        eprintln!("{line}");
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|_| out.flush()).map_err(|e| Error::io("writing standard output", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_help_shows_each_status_once() {
        let help = exit_status_help();
        assert!(help.contains("  128+N  interrupted by signal N"), "{help}");
        assert!(!help.contains("+N:"), "{help}");
        assert!(help.contains("      2  usage error"), "{help}");
    }

    #[test]
    fn every_error_kind_has_its_own_status() {
        use ErrorKind::*;
        let kinds = [Data, Usage, Config, Server, Verify, Io, NotFound, Denied, Partial];
        let mut codes: Vec<i32> = kinds.iter().map(|k| k.exit_code()).collect();
        codes.dedup();
        assert_eq!(codes, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(Signal(15).exit_code(), 143);
    }
}
