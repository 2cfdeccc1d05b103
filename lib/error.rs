//! One error type for the whole toolkit, carrying the exit code it maps to.
//!
//! Every binary documents the same exit codes (see `ExitCode` below, the man pages and the
//! README), so the mapping lives here, not in each `main`.

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

impl ErrorKind {
    /// The process exit status for this kind; documented in every man page under EXIT STATUS.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Data => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Config => 3,
            ErrorKind::Server => 4,
            ErrorKind::Verify => 5,
            ErrorKind::Io => 6,
            ErrorKind::NotFound => 7,
            ErrorKind::Denied => 8,
            ErrorKind::Partial => 9,
            ErrorKind::Signal(sig) => 128 + sig,
        }
    }
}

/// The exit statuses every binary shares, for help texts and man pages.
pub const EXIT_CODES: &[(i32, &str)] = &[
    (0, "success"),
    (1, "invalid or refused input data (corrupt RDB, empty input, upstream stage failed)"),
    (2, "usage error (bad flag, URL, regex or duration)"),
    (3, "configuration or credentials problem"),
    (4, "server or network error after retries"),
    (5, "verification failed (size or ETag mismatch); nothing was kept"),
    (6, "local I/O error (reading input, writing output, disk full)"),
    (7, "bucket, container or object not found"),
    (8, "access denied"),
    (9, "partial failure: some items of a batch failed"),
    (128, "+N: interrupted by signal N (130 for SIGINT, 143 for SIGTERM)"),
];

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
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.msg
    }
    pub fn exit_code(&self) -> i32 {
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
