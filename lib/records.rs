//! The record format the listing tools print and the deleting tools read back.
//!
//! By default a record is one line; a name may contain newlines and other control characters,
//! so inside a record they are escaped: `\n`, `\r`, `\t`, `\\` for a backslash, `\xHH` for the
//! other C0 characters and DEL, `\u{HHHH}` for C1 controls. With `-0` records end in NUL and
//! names are written raw. [`unescape`] reverses [`escape`] exactly, so
//! `s3ls ... | s3rm` works for any key; arguments on a command line are always taken literally.

use crate::error::{Error, Result};
use std::io::{BufRead, Write};

/// Escapes control characters and backslashes so `s` fits on one line, reversibly.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c == '\\' || c.is_control()) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Reverses [`escape`]. A backslash not followed by one of its escapes is an error: the line
/// did not come from a sluice listing, and guessing could delete the wrong object.
pub fn unescape(s: &str) -> std::result::Result<String, String> {
    if !s.contains('\\') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('x') => {
                let hex: String = it.by_ref().take(2).collect();
                let v = u8::from_str_radix(&hex, 16).ok().filter(|v| *v < 0x80 && hex.len() == 2);
                out.push(char::from(v.ok_or_else(|| format!("bad escape \\x{hex}: expected \\x00 to \\x7f"))?));
            }
            Some('u') => {
                let bad = || "bad escape \\u: expected \\u{HHHH}".to_string();
                if it.next() != Some('{') {
                    return Err(bad());
                }
                let mut hex = String::new();
                loop {
                    match it.next() {
                        Some('}') => break,
                        Some(c) if hex.len() < 6 => hex.push(c),
                        _ => return Err(bad()),
                    }
                }
                out.push(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).ok_or_else(bad)?);
            }
            Some(other) => return Err(format!("unknown escape \\{other} (a literal backslash is written \\\\)")),
            None => return Err("a lone backslash at the end (a literal backslash is written \\\\)".into()),
        }
    }
    Ok(out)
}

/// Writes records to stdout: escaped lines, or raw NUL-terminated records.
pub(crate) struct RecordWriter<W: Write> {
    out: W,
    nul: bool,
}

impl<W: Write> RecordWriter<W> {
    pub fn new(out: W, nul: bool) -> Self {
        RecordWriter { out, nul }
    }

    /// Writes one record and its terminator. The caller passes names through [`Self::name`]
    /// and builds the other fields without control characters.
    pub fn write(&mut self, record: &str) -> Result<()> {
        let res = if self.nul {
            self.out.write_all(record.as_bytes()).and_then(|_| self.out.write_all(b"\0"))
        } else {
            self.out.write_all(record.as_bytes()).and_then(|_| self.out.write_all(b"\n"))
        };
        res.map_err(Error::stdout)
    }

    /// A field holding a name: escaped for line records, raw for NUL records.
    pub fn name<'a>(&self, s: &'a str) -> std::borrow::Cow<'a, str> {
        if self.nul {
            std::borrow::Cow::Borrowed(s)
        } else {
            escape(s)
        }
    }

    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(Error::stdout)
    }
}

/// Reads records (lines, or NUL-terminated with `nul`) one at a time, unescaping lines.
/// Empty records (blank lines) are skipped; a trailing `\r` is kept, since `\r` in a key is
/// escaped by `escape` and a raw one can only come from a hand-edited file.
pub(crate) struct RecordReader<R: BufRead> {
    input: R,
    nul: bool,
    /// 1-based number of the record last returned, for messages.
    pub number: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> RecordReader<R> {
    pub fn new(input: R, nul: bool) -> Self {
        RecordReader { input, nul, number: 0, buf: Vec::new() }
    }

    pub(crate) fn nul(&self) -> bool {
        self.nul
    }

    /// The next non-empty record, or None at EOF.
    pub(crate) fn next_record(&mut self) -> Result<Option<String>> {
        loop {
            self.buf.clear();
            let n = self
                .input
                .read_until(if self.nul { 0 } else { b'\n' }, &mut self.buf)
                .map_err(|e| Error::io("reading standard input", e))?;
            if n == 0 {
                return Ok(None);
            }
            self.number += 1;
            if self.buf.last() == Some(&if self.nul { 0 } else { b'\n' }) {
                self.buf.pop();
            }
            if self.buf.is_empty() {
                continue;
            }
            let what = if self.nul { "record" } else { "line" };
            let text = std::str::from_utf8(&self.buf)
                .map_err(|_| Error::usage(format!("input {what} {} is not UTF-8 (S3 keys are UTF-8)", self.number)))?;
            if self.nul {
                return Ok(Some(text.to_string()));
            }
            return unescape(text).map(Some).map_err(|e| Error::usage(format!("input line {}: {e}", self.number)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for s in [
            "plain",
            "a b+c%20",
            "new\nline",
            "tab\there",
            "back\\slash\\n",
            "\u{1}\u{7f}\u{85}x",
            "ünï ✓",
            "\\x41",
            "",
        ] {
            let e = escape(s);
            assert!(!e.contains('\n') && !e.contains('\t') && !e.contains('\u{1}'), "{e}");
            assert_eq!(unescape(&e).unwrap(), s, "{e}");
        }
        assert_eq!(escape("a\nb\\"), "a\\nb\\\\");
        assert_eq!(escape("\u{1}\u{9b}"), "\\x01\\u{009b}");
    }

    #[test]
    fn bad_escapes() {
        for bad in ["a\\q", "a\\", "\\x", "\\xzz", "\\x80", "\\u{zz}", "\\u{d800}", "\\u0041"] {
            assert!(unescape(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reader() {
        let input = b"s3://b/a\\nb\n\ns3://b/c d\n".as_slice();
        let mut r = RecordReader::new(input, false);
        assert_eq!(r.next_record().unwrap().as_deref(), Some("s3://b/a\nb"));
        assert_eq!(r.next_record().unwrap().as_deref(), Some("s3://b/c d"));
        assert_eq!(r.next_record().unwrap(), None);
        let mut r = RecordReader::new(b"x\ny\\n\0z".as_slice(), true);
        assert_eq!(r.next_record().unwrap().as_deref(), Some("x\ny\\n"));
        assert_eq!(r.next_record().unwrap().as_deref(), Some("z"));
        assert_eq!(r.next_record().unwrap(), None);
        let mut r = RecordReader::new(b"ok\nbad\\q\n".as_slice(), false);
        r.next_record().unwrap();
        let e = r.next_record().unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Usage);
        assert!(e.message().contains("line 2"));
    }
}
