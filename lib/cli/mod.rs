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
use crate::run::{self, Failure, Target};
use crate::{log, signals};
use args::ReportArgs;
use clap::FromArgMatches;

/// One binary: its flags (the clap struct implementing this) and what it does once they are
/// parsed. Its name, description and man page parts are in [`registry`]. The struct flattens
/// [`ReportArgs`] (`--log-format`, `--metrics-file`), which [`main`] applies.
pub trait Tool: clap::Parser {
    /// Whether standard output carries a stream the next stage must not trust after a failure
    /// (s3get, swift-get, rdbcheck). Such a tool tells the reader of its stdout when it fails,
    /// and on SIGINT, SIGTERM, SIGHUP or an upstream SIGUSR2 it does that and exits at once.
    const WRITES_STREAM: bool = false;

    /// Whether the tool cleans up after an abort signal (the uploaders: the engine aborts the
    /// upload first; see [`signals`]). Every other tool exits at once on those signals.
    const CLEANS_UP_ON_SIGNALS: bool = false;

    /// Whether `run` writes the `started` event itself, once it knows more than its flags say
    /// (the uploaders' part plan); otherwise [`main`] writes it before `run`.
    const ANNOUNCES_START: bool = false;

    /// Whether `--no-abort-downstream` was given.
    fn no_abort_downstream(&self) -> bool {
        false
    }

    /// What the run works on, for the `started`, `completed` and `failed` events.
    fn target(&self) -> Target {
        Target::default()
    }

    /// Does the work.
    fn run(&self) -> Result<()>;

    /// Says on stderr how the run ended and returns the exit status. By default: nothing on
    /// success, one line for an error in the text format (the `failed` event carries it in
    /// JSON), and nothing when the reader of stdout went away (as `cat`).
    fn finish(&self, result: Result<()>) -> i32 {
        report(result)
    }
}

/// The `main` of every binary: parse, run, report, exit. Every run writes one `started` and
/// one `completed` or `failed` event, and the metrics file when asked ([`run`]).
pub fn main<T: Tool>() -> ! {
    let tool: T = parse_args();
    if tool.no_abort_downstream() {
        signals::disable_abort_downstream();
    }
    // Before any thread exists, so every thread inherits the signal mask.
    if T::CLEANS_UP_ON_SIGNALS {
        signals::catch_aborts();
    } else {
        signals::exit_on_signals(T::WRITES_STREAM);
    }
    run::begin(tool.target());
    if !T::ANNOUNCES_START {
        run::started(&[]);
    }
    let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tool.run())) {
        Ok(r) => r,
        Err(_) => panicked::<T>(),
    };
    // A failure caused by an upstream stage's abort (its early EOF) is reported as that abort,
    // by the signal thread: it won the race only when this check finds the signal in flight.
    if result.is_err() && !T::CLEANS_UP_ON_SIGNALS && signals::stop_signal_arriving() {
        park_forever();
    }
    if !run::claim() {
        // A signal thread is ending the run (and the process) with its own status.
        park_forever();
    }
    if T::WRITES_STREAM {
        if let Err(e) = &result {
            if !e.is_closed_stdout() {
                // Before stdout is closed: the reader must have the signal before it sees EOF.
                signals::abort_downstream();
            }
        }
    }
    let failure = result.as_ref().err().map(Failure::of);
    let code = tool.finish(result);
    run::conclude(code, failure, false);
    std::process::exit(code)
}

/// A panic in `run` (the hook already printed it): a stream writer still tells its reader,
/// and the run ends as failed with Rust's panic status, 101.
fn panicked<T: Tool>() -> ! {
    if !run::claim() {
        park_forever();
    }
    if T::WRITES_STREAM {
        signals::abort_downstream();
    }
    run::conclude(PANIC_STATUS, Some(Failure::other("panic", "internal error (a bug in sluice; see above)")), false);
    std::process::exit(PANIC_STATUS)
}

const PANIC_STATUS: i32 = 101;

/// For a thread that lost [`run::claim`]: the winner exits the process.
fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}

/// Prints the error (one line, prefixed with the program name) in the text format and returns
/// its exit status; in JSON the `failed` event says it.
pub fn report(result: Result<()>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            // A closed stdout already ended the pipeline on purpose: exit like `cat` would.
            if !e.is_closed_stdout() {
                log::Event::error("failed", &e).text_only().emit();
            }
            e.exit_code()
        }
    }
}

/// Applies `--log-format`, names the tool, notes `--metrics-file`, and in JSON turns panic
/// messages into events.
fn apply_report_args(name: &str, r: &ReportArgs) -> Result<()> {
    log::set_tool(name);
    log::set_format(r.log_format);
    if r.log_format == log::Format::Json {
        std::panic::set_hook(Box::new(|info| {
            let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            let what = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
            log::Event::error("panic", format!("thread '{thread}' panicked{at}: {what}")).emit();
        }));
    }
    run::set_metrics(r.metrics_config(name)?);
    Ok(())
}

/// Parses the command line like `clap::Parser::parse`, but a bad command line is reported on
/// ONE line ("s3ls: invalid value 'x' for '--page-size <N>': ... (see --help)") with exit
/// status 2, like every other error, as a `failed` event in JSON and in the metrics file;
/// --help and --version print as usual (they are not runs).
pub(crate) fn parse_args<T: clap::Parser>() -> T {
    let name = T::command().get_name().to_string();
    let parsed = T::command().try_get_matches().and_then(|mut m| {
        let report = ReportArgs::from_arg_matches(&m)?;
        let tool = T::from_arg_matches_mut(&mut m)?;
        Ok((tool, report))
    });
    let e = match parsed {
        Ok((tool, report)) => match apply_report_args(&name, &report) {
            Ok(()) => return tool,
            Err(e) => {
                usage_failure(&e.to_string());
            }
        },
        Err(e) => e.format(&mut T::command()),
    };
    use clap::error::ErrorKind as K;
    if matches!(e.kind(), K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand) {
        e.exit();
    }
    // Whatever of --log-format and --metrics-file the bad command line still gives (clap
    // stops at the first error, so they are looked for in the raw arguments).
    let argv: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let _ = apply_report_args(&name, &ReportArgs::from_raw_args(&argv));
    let text = e.render().to_string();
    // clap spreads one error over several lines (missing arguments on the next one,
    // then a tip and the usage): keep everything before the usage, on one line.
    let msg: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let msg = msg.join(" ");
    let msg = msg.strip_prefix("error:").unwrap_or(&msg).trim();
    usage_failure(&format!("{msg} (see --help)"))
}

/// Ends a run whose command line was refused: `failed` (exit status 2), metrics, exit.
fn usage_failure(msg: &str) -> ! {
    let code = ErrorKind::Usage.exit_code();
    run::begin(Target::default());
    if run::claim() {
        run::conclude(code, Some(Failure::of(&Error::usage(msg))), true);
    }
    std::process::exit(code)
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

/// Prints a one-line result (--json) on stdout, or on stderr when stdout carries data (there,
/// in JSON, as a `result` event holding it).
pub(crate) fn print_result(result: &serde_json::Value, to_stderr: bool) -> Result<()> {
    use std::io::Write;
    let line = result.to_string();
    if to_stderr {
        log::Event::info("result", "result").field("result", result.clone()).raw_text(line).emit();
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
