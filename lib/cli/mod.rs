//! Command-line definitions: every binary's flags are defined here once, as clap derive
//! structs, so `--help`, the man pages and the shell completions come from one source.

pub mod common;
pub mod doc;
pub mod s3put;

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
