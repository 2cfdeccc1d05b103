//! Lengths, strings (plain, integer-encoded, LZF) and embedded blobs: what every record is made of.

use super::encoded::Dedup;
use super::{Parser, R};
use crate::rdb::blob::{self, BlobErr};
use crate::rdb::lzf::{self, Lzf, LzfError, Mode};
use crate::rdb::sink::{Discard, Sink};
use crate::rdb::Fail;

/// Largest blob (listpack, ziplist, intset, zipmap, stream node) accepted: servers cap
/// listpacks at 1 GiB (`lpSafeToAdd`) and RDB strings at 4 GiB.
const MAX_BLOB: u64 = 1 << 32;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Enc {
    Raw,
    Int,
    Lzf,
}

/// Where a blob came from, to place errors inside it.
struct BlobAt {
    /// Offset of the string's first byte.
    start: u64,
    /// Offset of the raw data (for uncompressed blobs).
    data: u64,
    enc: Enc,
}

enum Blob {
    /// Still in the input window (the range).
    Window(usize, usize),
    Owned(Vec<u8>),
}

/// A decoded length prefix (see `Parser::prefix`).
enum Prefix {
    Len(u64),
    Special(u8),
}

impl Parser<'_, '_> {
    /// The length prefix that lengths and strings share: 6-, 14-, 32- or 64-bit, or (top bits
    /// 11) a special string encoding, returned as the whole byte for the caller to interpret.
    #[inline(always)]
    fn prefix(&mut self, at: u64, what: &str) -> R<Prefix> {
        let b = self.inp.u8(what)?;
        if b < 0x40 {
            Ok(Prefix::Len(b as u64))
        } else if b >= 0xC0 {
            Ok(Prefix::Special(b))
        } else if b < 0x80 {
            let b2 = self.inp.u8(what)?;
            Ok(Prefix::Len(((b & 0x3f) as u64) << 8 | b2 as u64))
        } else {
            self.long_len(b, at, what).map(Prefix::Len)
        }
    }

    /// A plain length (`rdbLoadLen` without the encoded-string marker).
    #[inline(always)]
    pub(super) fn len(&mut self, what: &str) -> R<u64> {
        // most lengths are one byte
        match self.inp.peek().first() {
            Some(&b) if b < 0x40 => {
                self.inp.take(1);
                Ok(b as u64)
            }
            _ => self.len_slow(what),
        }
    }

    #[inline(never)]
    fn len_slow(&mut self, what: &str) -> R<u64> {
        let at = self.inp.offset();
        match self.prefix(at, what)? {
            Prefix::Len(n) => Ok(n),
            Prefix::Special(b) => {
                self.fail(at, format!("expected a length for {what}, found the encoded-string marker 0x{b:02x}"))
            }
        }
    }

    fn long_len(&mut self, b: u8, at: u64, what: &str) -> R<u64> {
        match b {
            0x80 => Ok(u32::from_be_bytes(self.inp.array::<4>(what)?) as u64),
            0x81 => Ok(u64::from_be_bytes(self.inp.array::<8>(what)?)),
            _ => self.fail(at, format!("invalid length encoding byte 0x{b:02x} for {what} (only 0x80 and 0x81 exist)")),
        }
    }

    pub(super) fn i64_le(&mut self, what: &str) -> R<i64> {
        Ok(i64::from_le_bytes(self.inp.array::<8>(what)?))
    }

    /// Reads one RDB string, handing its decoded bytes to `sink`. Returns the decoded length.
    #[inline(always)]
    pub(super) fn string<S: Sink + ?Sized>(&mut self, sink: &mut S, what: &str) -> R<u64> {
        // most strings are short, with a one-byte length, and already in the window
        if let Some(&b) = self.inp.peek().first() {
            let n = b as usize;
            if n < 0x40 && n < self.inp.available() {
                self.inp.take(1);
                sink.feed(self.inp.take(n));
                return Ok(n as u64);
            }
            if b == 0xC3 && !sink.wants_bytes() {
                if let Some(ulen) = self.short_lzf() {
                    return Ok(ulen);
                }
            }
        }
        self.string_slow(sink, what)
    }

    /// An LZF string whose bytes nobody needs, with 6- or 14-bit lengths, whole in the window
    /// and valid: consumed, with its decoded length. Anything else (longer lengths, a string
    /// reaching past the window, any error) is left unread for `string_slow`, which says what
    /// is wrong.
    #[inline]
    fn short_lzf(&mut self) -> Option<u64> {
        fn short_len(w: &[u8], at: usize) -> Option<(usize, usize)> {
            let b = *w.get(at)? as usize;
            match b >> 6 {
                0 => Some((b, at + 1)),
                1 => Some(((b & 0x3f) << 8 | *w.get(at + 1)? as usize, at + 2)),
                _ => None,
            }
        }
        let w = self.inp.peek();
        let (clen, at) = short_len(w, 1)?;
        let (ulen, at) = short_len(w, at)?;
        if ulen == 0 {
            return None;
        }
        lzf::check(w.get(at..at + clen)?, ulen as u64).ok()?;
        self.inp.take(at + clen);
        Some(ulen as u64)
    }

    #[inline(never)]
    fn string_slow<S: Sink + ?Sized>(&mut self, sink: &mut S, what: &str) -> R<u64> {
        let at = self.inp.offset();
        let n = match self.prefix(at, what)? {
            Prefix::Len(n) => n,
            Prefix::Special(b) => return self.special_string(b & 0x3f, at, sink, what),
        };
        self.inp.stream(n, sink, what)?;
        Ok(n)
    }

    /// The body of an LZF string (after its 0xC3 byte): decodes `clen` compressed bytes as they
    /// pass, in `mode`, using `buf` (which holds the whole output in `KeepAll` mode, else is
    /// left empty for reuse). Returns the decoded length.
    fn lzf<S: Sink + ?Sized>(
        &mut self,
        start: u64,
        what: &str,
        mode: Mode,
        buf: &mut Vec<u8>,
        max: u64,
        sink: &mut S,
    ) -> R<u64> {
        let clen = self.len("the compressed length of an LZF string")?;
        let ulen = self.len("the uncompressed length of an LZF string")?;
        let data = self.inp.offset();
        if ulen == 0 || ulen > max {
            return self.fail(start, format!("LZF string for {what} declares an uncompressed length of {ulen}"));
        }
        let bad = |e: LzfError| {
            // errors found when the data ended are placed at the string's start
            let at = e.at.map_or(start, |a| data + a);
            Fail::at(at, format!("{} (in {what})", e.msg))
        };
        if mode == Mode::Count && clen <= self.inp.available() as u64 {
            // the common case: the whole string is in the window, and nobody needs its bytes
            let (a, b) = self.inp.take_range(clen as usize);
            lzf::check(self.inp.window(a, b), ulen).map_err(bad)?;
            return Ok(ulen);
        }
        let mut d = Lzf::with_buffer(ulen, mode, std::mem::take(buf));
        if clen <= self.inp.available() as u64 {
            let (a, b) = self.inp.take_range(clen as usize);
            d.feed(self.inp.window(a, b), sink).map_err(bad)?;
        } else {
            let mut lzf_err = None;
            let streamed = self.inp.stream_with(clen, what, |piece| {
                d.feed(piece, sink).map_err(|e| {
                    lzf_err = Some(e);
                    Fail::at(0, String::new())
                })
            });
            if let Err(f) = streamed {
                return Err(lzf_err.map_or(f, bad));
            }
        }
        *buf = d.finish(sink).map_err(bad)?;
        Ok(ulen)
    }

    fn special_string<S: Sink + ?Sized>(&mut self, enc: u8, at: u64, sink: &mut S, what: &str) -> R<u64> {
        let mut buf = [0u8; 24];
        let v = match enc {
            0 => self.inp.u8(what)? as i8 as i64,
            1 => i16::from_le_bytes(self.inp.array::<2>(what)?) as i64,
            2 => i32::from_le_bytes(self.inp.array::<4>(what)?) as i64,
            3 => {
                let mode = if sink.wants_bytes() { Mode::Stream } else { Mode::Count };
                let mut buf = std::mem::take(&mut self.lzf_buf);
                let ulen = self.lzf(at, what, mode, &mut buf, u64::MAX, sink);
                self.lzf_buf = buf;
                return ulen;
            }
            _ => {
                return self.fail(
                    at,
                    format!("unknown string encoding {enc} (byte 0x{:02x}) for {what}; only 0-3 exist", 0xC0 | enc),
                )
            }
        };
        let n = blob::fmt_i64(v, &mut buf);
        sink.feed(&buf[..n]);
        Ok(n as u64)
    }

    /// Reads an RDB string holding an embedded blob and runs `check` on its bytes, which are
    /// either still in the input window or in a buffer (LZF, or spanning window moves).
    pub(super) fn with_blob<T>(
        &mut self,
        what: &str,
        check: impl FnOnce(&[u8], &mut Dedup) -> Result<T, BlobErr>,
    ) -> R<T> {
        let (blob, loc) = self.blob(what)?;
        let bytes = match &blob {
            Blob::Window(a, b) => self.inp.window(*a, *b),
            Blob::Owned(v) => &v[..],
        };
        let res = check(bytes, &mut self.dedup);
        if let Blob::Owned(v) = blob {
            self.put_blob(v);
        }
        res.or_else(|e| self.blob_fail(&loc, what, e))
    }

    /// Reads an RDB string holding an embedded blob.
    fn blob(&mut self, what: &str) -> R<(Blob, BlobAt)> {
        let mut buf = std::mem::take(&mut self.blob_buf);
        buf.clear();
        let start = self.inp.offset();
        let n = match self.prefix(start, what)? {
            Prefix::Len(n) => n,
            Prefix::Special(b) => {
                let enc = b & 0x3f;
                if enc == 3 {
                    self.lzf(start, what, Mode::KeepAll, &mut buf, MAX_BLOB, &mut Discard)?;
                    return Ok((Blob::Owned(buf), BlobAt { start, data: start, enc: Enc::Lzf }));
                }
                self.special_string(enc, start, &mut buf, what)?;
                return Ok((Blob::Owned(buf), BlobAt { start, data: start + 1, enc: Enc::Int }));
            }
        };
        if n > MAX_BLOB {
            return self.fail(start, format!("{what} declares {n} bytes, more than the 4 GiB an RDB string can hold"));
        }
        let data = self.inp.offset();
        let at = BlobAt { start, data, enc: Enc::Raw };
        if (n as usize) <= self.inp.available() {
            self.blob_buf = buf;
            let (a, b) = self.inp.take_range(n as usize);
            return Ok((Blob::Window(a, b), at));
        }
        buf.reserve(n.min(64 << 20) as usize);
        self.inp.stream(n, &mut buf, what)?;
        Ok((Blob::Owned(buf), at))
    }

    fn put_blob(&mut self, buf: Vec<u8>) {
        // keep the allocation for the next blob, unless it is large
        if buf.capacity() <= 8 << 20 {
            self.blob_buf = buf;
        }
    }

    fn blob_fail<T>(&self, at: &BlobAt, what: &str, e: BlobErr) -> R<T> {
        match at.enc {
            Enc::Raw => self.fail(at.data + e.at as u64, format!("{what}: {}", e.msg)),
            _ => self.fail(
                at.start,
                format!("{what} (LZF-compressed string): {} at byte {} of the decompressed blob", e.msg, e.at),
            ),
        }
    }
}
