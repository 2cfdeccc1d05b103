//! Command-line definitions: every binary's flags are defined here once, as clap derive
//! structs, so `--help`, the man pages and the shell completions come from one source.

pub mod args;
pub mod doc;
pub mod filter;
pub mod rdbcheck;
pub mod s3get;
pub mod s3ls;
pub mod s3put;
pub mod s3rm;
pub mod swift_common;
pub mod swift_get;
pub mod swift_ls;
pub mod swift_slo_put;

use crate::error::{Error, EXIT_CODES};

/// The EXIT STATUS text shared by every binary's help and man page.
pub fn exit_status_help() -> String {
    let mut s = String::from("Exit status:\n");
    for (code, what) in EXIT_CODES {
        let code = if *code == 128 { "128+N".to_string() } else { code.to_string() };
        s.push_str(&format!("  {code:>5}  {what}\n"));
    }
    s
}

/// Parses the command line like `clap::Parser::parse`, but a bad command line is reported on
/// ONE line ("s3ls: invalid value 'x' for '--page-size <N>': ... (see --help)") with exit
/// status 2, like every other error; --help and --version print as usual.
pub fn parse_args<T: clap::Parser>() -> T {
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
            crate::log::note(format!("{msg} (see --help)"));
            std::process::exit(crate::ErrorKind::Usage.exit_code());
        }
    }
}

/// Prints the error (one line, prefixed with the program name) and exits with its code.
pub fn exit_with(result: Result<(), Error>) -> ! {
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            // A closed stdout already ended the pipeline on purpose: exit like `cat` would.
            if e.kind() != crate::ErrorKind::Signal(libc::SIGPIPE) {
                crate::log::note(&e);
            }
            std::process::exit(e.exit_code())
        }
    }
}

/// Like `exit_with`, for stages that write a stream to stdout: a failure first tells the
/// process reading that pipe that the stream is bad (see `pipeline`), then exits.
pub fn exit_writer(result: Result<(), Error>) -> ! {
    if let Err(e) = &result {
        if e.kind() != crate::ErrorKind::Signal(libc::SIGPIPE) {
            crate::transfer::uploader::abort_downstream();
        }
    }
    exit_with(result)
}

/// Prints a one-line result (--json) on stdout, or on stderr when stdout carries data.
pub fn print_result(line: &str, to_stderr: bool) -> Result<(), Error> {
    use std::io::Write;
    if to_stderr {
        eprintln!("{line}");
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|_| out.flush()).map_err(|e| Error::io("writing standard output", e))
}
