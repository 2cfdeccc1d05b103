//! rdbcheck: validate an RDB snapshot while passing it through. See `rdbcheck --help`.

use clap::Parser;
use sluice::cli::rdbcheck::Args;
use sluice::rdb::{Report, Validator};
use sluice::{Error, ErrorKind};
use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::process::exit;

fn main() {
    let args = Args::parse();
    if args.no_abort_downstream {
        sluice::transfer::uploader::disable();
    }
    sluice::transfer::uploader::abort_downstream_on_signals();
    // The library reads and writes the descriptors directly (std's stdout is line-buffered).
    let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
    let file;
    let src = match args.input() {
        None => stdin.as_fd(),
        Some(path) => match File::open(path) {
            Ok(f) => {
                file = f;
                file.as_fd()
            }
            Err(e) => finish(&args, None, Err(Error::io(format!("opening {}", path.display()), e))),
        },
    };
    let out = (!args.check_only).then(|| stdout.as_fd());
    let mut v = Validator::new(args.options());
    let res = v.run_fds(src, out);
    let report = v.into_report();
    if let Err(e) = res {
        on_failure(&args, &report, e);
    }
    finish(&args, Some(&report), Ok(()))
}

/// The failure path, reached with standard output still open: everything that must happen
/// before the reader of our output sees end-of-file belongs here.
fn on_failure(args: &Args, report: &Report, err: Error) -> ! {
    if err.kind() != ErrorKind::Signal(libc::SIGPIPE) {
        sluice::transfer::uploader::abort_downstream();
    }
    finish(args, Some(report), Err(err))
}

/// Prints warnings, the summary and the JSON report, then exits with the status for `res`.
fn finish(args: &Args, report: Option<&Report>, res: Result<(), Error>) -> ! {
    if let Err(e) = &res {
        if e.kind() == ErrorKind::Signal(libc::SIGPIPE) {
            // the downstream reader closed the pipe: end quietly, as `cat` does
            exit(e.exit_code());
        }
    }
    let mut stderr = std::io::stderr().lock();
    if let Some(r) = report {
        if !args.quiet {
            for w in &r.warnings {
                let _ = writeln!(stderr, "rdbcheck: warning: {w}");
            }
            if r.warnings_total > r.warnings.len() as u64 {
                let _ = writeln!(
                    stderr,
                    "rdbcheck: warning: … and {} more warnings",
                    r.warnings_total - r.warnings.len() as u64
                );
            }
        }
        if args.verbose {
            for line in r.summary().lines() {
                let _ = writeln!(stderr, "rdbcheck: {line}");
            }
        }
    }
    let mut code = match &res {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(stderr, "rdbcheck: {e}");
            e.exit_code()
        }
    };
    if let (Some(path), Some(r)) = (&args.json, report) {
        let json = r.to_json(res.is_ok(), res.as_ref().err().map(|e| e.message()));
        let text = serde_json::to_string_pretty(&json).unwrap_or_default() + "\n";
        let written =
            if path.as_os_str() == "-" { stderr.write_all(text.as_bytes()) } else { std::fs::write(path, text) };
        if let Err(e) = written {
            let _ = writeln!(stderr, "rdbcheck: writing the JSON report to {}: {e}", path.display());
            if code == 0 {
                code = ErrorKind::Io.exit_code();
            }
        }
    }
    exit(code)
}
