//! `rdbcheck`: flags, help text, and its run: validate while passing through, then warnings,
//! the summary and the JSON report, also on failure.

use super::args::ReportArgs;
use super::Tool;
use crate::error::{Error, Result};
use crate::log::{self, Event};
use crate::rdb::{Checksum, Options, Report, Validator};
use crate::run::{self, Failure, Target};
use clap::Parser;
use std::cell::OnceCell;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::PathBuf;

pub(crate) const ABOUT: &str = "Validate a Redis/Valkey RDB snapshot while passing it through";

const LONG_ABOUT: &str = "\
Validates a Redis or Valkey RDB snapshot in one streaming pass while copying it, byte for \
byte, to standard output, so it can sit in a backup pipeline:

    valkey-cli --rdb - | rdbcheck | s3put s3://backups/valkey/dump.rdb
    s3get s3://backups/valkey/latest.rdb | rdbcheck > /var/lib/valkey/dump.rdb
    rdbcheck -n dump.rdb && echo ok

The output never runs more than a few 256 KiB blocks behind validation, and rdbcheck exits 0 only \
if the whole stream is a valid RDB: the magic and version (REDIS0001-REDIS0014, VALKEY080/081; \
type and opcode bytes are interpreted by magic and version, since Redis and Valkey give the \
same bytes different meanings), every record, string encoding and LZF stream, the embedded \
listpacks, ziplists, intsets and zipmaps (as deeply as the servers' sanitize-dump-payload), \
quicklists, streams with their consumer groups, module values (by their self-describing \
opcode stream), function libraries, hash-field TTLs and the CRC-64 trailer. Beyond the servers' \
own check tools it refuses truncation anywhere, trailing bytes, empty input, an error reply \
instead of a snapshot, SELECTDB beyond --databases, key attributes (expire, LRU/LFU) not \
followed by a key, and truncated module values, without ever hanging.";

pub(crate) const AFTER_LONG_HELP: &str = "\
THE $EOF: MARKER
    With diskless replication (repl-diskless-sync yes, the default since Redis 7.0), \
`redis-cli --rdb -` and `valkey-cli --rdb -` append the 40-character end-of-transfer mark \
to the snapshot on standard output. rdbcheck recognises exactly 40 hexadecimal characters \
right after the checksum as that mark and accepts them, and PASSES THEM THROUGH unchanged: \
the output is always byte-identical to the input, so what was validated is exactly what is \
stored, and every server and check tool ignores bytes after the checksum when loading. Any \
other trailing data (garbage, a second RDB, AOF text) is an error.

EMPTY COLLECTIONS
    Empty lists, sets, sorted sets and hashes are skipped by servers when loading (the \
official check tools reject them). rdbcheck accepts them with a warning on standard error.

CHECKSUMS
    A stored checksum of 0 means the writer ran with `rdbchecksum no`; such files are accepted \
(servers load them) unless --require-checksum is given. Without a checksum, bit flips inside \
string data cannot be detected by anyone. RDB versions below 5 have no checksum at all.

MEMORY
    Without --check-duplicates, memory is bounded: a few 256 KiB blocks, plus the largest \
single embedded blob (listpack, ziplist, intset, zipmap, stream node), plus, while one value is \
checked, about 20 to 40 bytes per member of a hash-table-encoded set, hash or sorted set (the servers also \
reject duplicate members) and per stream PEL entry. Large plain strings are streamed, never held.

    --check-duplicates keeps a 128-bit fingerprint of every key (database and name) in a hash \
set for the whole run: about 20 to 40 bytes per key, e.g. roughly 300 MiB for 10 million keys. \
A server loading a snapshot with a duplicate key panics, but the official check tools do not \
notice it.

ERRORS
    Errors are one line on standard error: the byte offset, what was expected, and the record \
being read (database and key index; the key name only with -v, since key names may be \
sensitive). Bytes up to the point of failure have already been written to standard output.";

pub const EXAMPLES: &str = "\
Examples:
  valkey-cli --rdb - | rdbcheck | s3put s3://backups/valkey/$(date -u +%Y%m%dT%H%M%SZ).rdb
  s3get s3://backups/valkey/latest.rdb | rdbcheck > /var/lib/valkey/dump.rdb
  rdbcheck -n dump.rdb && echo ok
  rdbcheck -n -v --json - --top 10 dump.rdb    # summary and the largest keys, for monitoring";

#[derive(Parser, Debug, Clone)]
#[command(
    name = "rdbcheck",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = super::after_help(&[], EXAMPLES),
    after_long_help = super::after_help(&[AFTER_LONG_HELP], EXAMPLES)
)]
pub struct Args {
    /// RDB file to read; standard input if absent or "-"
    #[arg(value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,

    /// Only check: write nothing to standard output
    #[arg(short = 'n', long)]
    pub(crate) check_only: bool,

    /// Print a summary to standard error, and name keys in errors and reports
    #[arg(short, long)]
    pub(crate) verbose: bool,

    /// Do not print warnings (empty collections) on standard error
    #[arg(short, long)]
    pub(crate) quiet: bool,

    /// Write the report as JSON to FILE ("-" for standard error), also on failure
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,

    /// Number of largest keys (by encoded size) in the report
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) top: usize,

    /// Refuse SELECTDB ids at or above N (the server's `databases` setting)
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) databases: u64,

    /// Refuse a disabled checksum (stored as 0) and RDB versions before 5, which have none
    #[arg(long)]
    pub(crate) require_checksum: bool,

    /// Detect duplicate keys within a database (memory grows with the key count; see below)
    #[arg(long)]
    pub(crate) check_duplicates: bool,

    /// Do everything on one thread (by default a second thread writes the output)
    #[arg(long, hide = true)]
    pub(crate) single_thread: bool,

    /// Do not signal the process reading stdout when the stream turns out bad (see PIPELINE SAFETY)
    #[arg(long)]
    pub(crate) no_abort_downstream: bool,

    #[command(flatten)]
    pub(crate) report_args: ReportArgs,

    /// The validation report, kept for `finish` (also after a failure).
    #[arg(skip)]
    report: OnceCell<Report>,
}

impl Tool for Args {
    const WRITES_STREAM: bool = true;

    fn no_abort_downstream(&self) -> bool {
        self.no_abort_downstream
    }

    fn target(&self) -> Target {
        let t = match self.input() {
            Some(p) => Target::new(p.display().to_string()).field("input", p.display().to_string()),
            None => Target::new("standard input").field("input", "stdin"),
        };
        t.field("check_only", self.check_only)
    }

    fn run(&self) -> Result<()> {
        // The validator reads and writes the descriptors directly (std's stdout is
        // line-buffered), and enlarges the pipes it is given.
        let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
        let file;
        let src = match self.input() {
            None => stdin.as_fd(),
            Some(path) => {
                file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
                file.as_fd()
            }
        };
        let out = (!self.check_only).then(|| stdout.as_fd());
        let mut v = Validator::new(self.options());
        let res = v.run_fds(src, out);
        let _ = self.report.set(v.into_report());
        res
    }

    /// Warnings, the summary, the error and the JSON report, in that order; nothing at all when
    /// the reader of stdout went away (as `cat`). In JSON the error is the `failed` event's.
    fn finish(&self, res: Result<()>) -> i32 {
        if res.as_ref().is_err_and(Error::is_closed_stdout) {
            return super::report(res);
        }
        let report = self.report.get();
        if let Some(r) = report {
            record(r, res.is_ok());
            if !self.quiet {
                for w in &r.warnings {
                    Event::warn("message", w).text(format!("warning: {w}")).emit();
                }
                if r.warnings_total > r.warnings.len() as u64 {
                    let more = r.warnings_total - r.warnings.len() as u64;
                    let msg = format!("… and {more} more warnings");
                    Event::warn("message", &msg).text(format!("warning: {msg}")).emit();
                }
            }
            if self.verbose {
                for line in r.summary().lines() {
                    log::note(line);
                }
            }
        }
        let mut code = match &res {
            Ok(()) => 0,
            Err(e) => {
                Event::error("failed", e).text_only().emit();
                e.exit_code()
            }
        };
        if let (Some(path), Some(r)) = (&self.json, report) {
            let json = r.to_json(res.is_ok(), res.as_ref().err().map(|e| e.message()));
            let text = serde_json::to_string_pretty(&json).unwrap_or_default();
            let written = if path.as_os_str() == "-" {
                Event::info("report", "report").field("report", json).raw_text(text).emit();
                Ok(())
            } else {
                std::fs::write(path, text + "\n")
            };
            if let Err(e) = written {
                let err = Error::io(format!("writing the JSON report to {}", path.display()), e);
                if code == 0 {
                    code = err.exit_code();
                    run::set_failure(Failure::of(&err));
                    Event::error("failed", &err).text_only().emit();
                } else {
                    log::Event::error("message", &err).emit();
                }
            }
        }
        code
    }
}

/// What the run found, for `completed` and `failed`: the bytes, the RDB version, the keys and
/// the state of the checksum. After a failure the report has no total, so the bytes are the
/// running count of what was read.
fn record(r: &Report, ok: bool) {
    if ok {
        run::set_bytes(r.total_bytes);
    }
    run::set("magic", r.magic.as_str());
    run::set("rdb_version", r.version);
    run::set("keys", r.keys);
    let checksum = match r.checksum {
        Checksum::Unknown => "not-reached",
        Checksum::Absent => "absent",
        Checksum::Disabled => "disabled",
        Checksum::Verified(_) => "ok",
    };
    run::set("checksum", checksum);
    run::set("warnings", r.warnings_total);
}

impl Args {
    pub fn options(&self) -> Options {
        Options {
            databases: self.databases,
            require_checksum: self.require_checksum,
            check_duplicates: self.check_duplicates,
            key_names: self.verbose,
            top: self.top,
            writer_thread: !self.single_thread,
            ..Options::default()
        }
    }

    /// The input path, or None for standard input.
    pub fn input(&self) -> Option<&std::path::Path> {
        self.file.as_deref().filter(|p| p.as_os_str() != "-")
    }
}
