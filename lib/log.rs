//! Messages to stderr, prefixed with the program's name ("s3put: ..."), one line each.

use std::sync::OnceLock;

static PROG: OnceLock<String> = OnceLock::new();

/// The running binary's name, from argv[0].
pub(crate) fn prog() -> &'static str {
    PROG.get_or_init(|| {
        std::env::args_os()
            .next()
            .and_then(|a| std::path::Path::new(&a).file_name().map(|f| f.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "sluice".into())
    })
}

/// Prints one line to stderr. Newlines inside are flattened so logs stay greppable.
pub fn note(msg: impl std::fmt::Display) {
    let line = msg.to_string().replace(['\n', '\r'], " ");
    eprintln!("{}: {line}", prog());
}

/// Keys and names may hold newlines and control characters; messages are one line, so those
/// are shown escaped (`\n`, `\u{1}`).
pub(crate) fn printable(s: &str) -> String {
    s.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}
