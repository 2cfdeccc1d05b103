//! One error type for the whole toolkit, carrying the exit code it maps to.
//!
//! Every binary documents the same exit codes ([`EXIT_CODES`], shown by `--help`, the man pages
//! and the README), so the mapping lives here, not in each `main`.

use std::fmt;

/// What went wrong, as far as the exit status is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input data is not acceptable (invalid RDB, empty stream refused, upstream failed).
    Data,
    /// Bad command line: URL, regex, duration, conflicting flags.
    Usage,
    /// Configuration or credentials: missing keys, bad profile, unusable endpoint, rejected key.
    Config,
    /// The server or the network failed after retries (5xx, timeouts, refused connections).
    Server,
    /// Verification after the transfer failed (size or ETag mismatch).
    Verify,
    /// Local I/O: reading stdin, writing stdout or a file, disk full.
    Io,
    /// The bucket, container or object does not exist.
    NotFound,
    /// The credentials are valid but not allowed to do this.
    Denied,
    /// Some items of a batch failed (s3rm per-key errors), the rest succeeded.
    Partial,
    /// Interrupted by a signal: the exit status is 128 + the signal number.
    Signal(i32),
}

/// Every exit status with its meaning: the one table behind [`ErrorKind::exit_code`], every
/// `--help`, every man page's EXIT STATUS and the README's table (tests/docs.rs checks it).
/// `kind` is None for success and for signals, whose status is 128 + the signal number.
pub(crate) const EXIT_CODES: &[ExitStatus] = &[
    row(0, None, "success"),
    row(1, Some(K::Data), "invalid or refused input data (corrupt RDB, empty input, upstream stage failed)"),
    row(2, Some(K::Usage), "usage error (bad flag, URL, regex or duration, or a flag value the server refused)"),
    row(3, Some(K::Config), "configuration or credentials problem"),
    row(4, Some(K::Server), "server or network error after retries"),
    row(
        5,
        Some(K::Verify),
        "verification failed (size or ETag mismatch, or the encryption asked for not applied); nothing was kept",
    ),
    row(6, Some(K::Io), "local I/O error (reading input, writing output, disk full)"),
    row(7, Some(K::NotFound), "bucket, container or object not found"),
    row(8, Some(K::Denied), "access denied"),
    row(9, Some(K::Partial), "partial failure: some items of a batch failed"),
    row(SIGNAL_BASE, None, "interrupted by signal N (130 for SIGINT, 143 for SIGTERM, 141 when the reader went away)"),
];

use ErrorKind as K;

const fn row(code: i32, kind: Option<ErrorKind>, meaning: &'static str) -> ExitStatus {
    ExitStatus { code, kind, meaning }
}

/// Exit statuses from this up are 128 + a signal number.
const SIGNAL_BASE: i32 = 128;

/// One row of [`EXIT_CODES`].
#[derive(Clone, Copy, Debug)]
pub struct ExitStatus {
    pub code: i32,
    /// The errors that exit with this status.
    pub kind: Option<ErrorKind>,
    pub meaning: &'static str,
}

impl ExitStatus {
    /// The status as documented: `2`, or `128+N` for signals.
    pub fn label(&self) -> String {
        if self.code == SIGNAL_BASE {
            "128+N".to_string()
        } else {
            self.code.to_string()
        }
    }
}

impl ErrorKind {
    /// The kind as the `error_kind` of a `failed` event: `data`, `usage`, `config`, `server`,
    /// `verify`, `io`, `not_found`, `denied`, `partial` or `signal`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Data => "data",
            ErrorKind::Usage => "usage",
            ErrorKind::Config => "config",
            ErrorKind::Server => "server",
            ErrorKind::Verify => "verify",
            ErrorKind::Io => "io",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Denied => "denied",
            ErrorKind::Partial => "partial",
            ErrorKind::Signal(_) => "signal",
        }
    }

    /// The process exit status for this kind, from [`EXIT_CODES`].
    pub(crate) fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Signal(sig) => SIGNAL_BASE + sig,
            kind => EXIT_CODES.iter().find(|s| s.kind == Some(kind)).map_or(1, |s| s.code),
        }
    }
}

/// An error with a one-line, user-facing message that names what to fix.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    msg: String,
    /// The service's error code (S3 `<Code>`, e.g. NoSuchKey), when the server sent one.
    code: Option<String>,
    /// The HTTP status, when the error came from a response.
    status: Option<u16>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, msg: impl Into<String>) -> Self {
        Error { kind, msg: msg.into(), code: None, status: None }
    }
    /// Attaches the service's error code and HTTP status, so callers can act on them
    /// (BucketAlreadyOwnedByYou is success for --create-bucket, NoSuchKey is fine for s3rm).
    pub fn with_code(mut self, code: Option<String>, status: Option<u16>) -> Self {
        self.code = code;
        self.status = status;
        self
    }
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
    pub fn status(&self) -> Option<u16> {
        self.status
    }
    pub fn data(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, msg)
    }
    pub fn usage(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, msg)
    }
    pub fn config(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, msg)
    }
    pub fn server(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Server, msg)
    }
    pub fn verify(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Verify, msg)
    }
    pub fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, format!("{context}: {err}"))
    }
    /// An error writing standard output. EPIPE means the reader went away on purpose
    /// (`| head`): the tool then ends quietly with 128 + SIGPIPE, as a program killed by
    /// SIGPIPE would. Anything else is an I/O error.
    pub fn stdout(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            Self::new(ErrorKind::Signal(libc::SIGPIPE), "standard output closed")
        } else {
            Self::io("writing standard output", err)
        }
    }
    /// Whether the reader of standard output went away (see [`Error::stdout`]): nothing to say.
    pub(crate) fn is_closed_stdout(&self) -> bool {
        self.kind == ErrorKind::Signal(libc::SIGPIPE)
    }
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.msg
    }
    pub(crate) fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
    /// Prefixes the message with what was being done, keeping the kind.
    pub fn context(self, what: impl fmt::Display) -> Self {
        Error { msg: format!("{what}: {}", self.msg), ..self }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, always: a message spanning lines would break log greps and cron mails.
        f.write_str(&self.msg.replace(['\n', '\r'], " "))
    }
}

impl std::error::Error for Error {}
