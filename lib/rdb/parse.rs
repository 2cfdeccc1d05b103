//! The record parser: one pass over the stream, pulling bytes from the pass-through window.

use super::blob::{self, BlobErr, Entry};
use super::format::{self, classify, Magic, Op, Rec, Ty};
use super::input::{Discard, Input, Pipe, Sink};
use super::lzf::{Lzf, Mode};
use super::report::{printable, Checksum, Report, TopKey};
use super::{Fail, Options};
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::io::Read;

/// Hash-field and stream expiry times must fit in 48 bits (`EB_EXPIRE_TIME_MAX`).
const EXPIRE_TIME_MAX: u64 = (1 << 48) - 1;
/// Bytes of a key name kept for messages and reports.
const NAME_KEEP: usize = 200;
/// Largest blob (listpack, ziplist, intset, zipmap, stream node) accepted: servers cap
/// listpacks at 1 GiB (`lpSafeToAdd`) and RDB strings at 4 GiB.
const MAX_BLOB: u64 = 1 << 32;

/// Fingerprints are already uniformly distributed: hash sets use them as they are.
#[derive(Default)]
pub struct IdHasher(u64);
impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().take(8) {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64 ^ (v >> 64) as u64;
    }
}
type FpSet = HashSet<u128, BuildHasherDefault<IdHasher>>;

/// 128-bit fingerprints from two independently keyed SipHash instances (keys random per
/// process, so crafted collisions cannot be planned).
struct Fingerprinter {
    a: RandomState,
    b: RandomState,
}

struct Fp {
    a: std::collections::hash_map::DefaultHasher,
    b: std::collections::hash_map::DefaultHasher,
    len: u64,
}

impl Fingerprinter {
    fn start(&self) -> Fp {
        Fp {
            a: self.a.build_hasher(),
            b: self.b.build_hasher(),
            len: 0,
        }
    }
    #[cfg(test)]
    fn of(&self, bytes: &[u8]) -> u128 {
        let mut f = self.start();
        f.feed(bytes);
        f.finish()
    }
}

impl Fp {
    fn finish(mut self) -> u128 {
        self.a.write_u64(self.len);
        self.b.write_u64(self.len);
        (self.a.finish() as u128) << 64 | self.b.finish() as u128
    }
}

impl Sink for Fp {
    fn feed(&mut self, bytes: &[u8]) {
        self.a.write(bytes);
        self.b.write(bytes);
        self.len += bytes.len() as u64;
    }
}

/// Keeps the first bytes of a string (key names, AUX fields, function headers).
struct Keep {
    max: usize,
    buf: Vec<u8>,
}
impl Sink for Keep {
    fn feed(&mut self, bytes: &[u8]) {
        let room = self.max - self.buf.len();
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

/// A key: optional fingerprint, optional name prefix.
struct KeySink<'a> {
    fp: Option<Fp>,
    name: Option<&'a mut Vec<u8>>,
}
impl Sink for KeySink<'_> {
    fn feed(&mut self, bytes: &[u8]) {
        if let Some(fp) = self.fp.as_mut() {
            fp.feed(bytes);
        }
        if let Some(name) = self.name.as_mut() {
            let room = NAME_KEEP.saturating_sub(name.len());
            name.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }
}

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

/// What is being read, for error messages.
#[derive(Clone)]
enum Record {
    Header,
    /// Between records (an unknown record type byte).
    Between,
    Op(&'static str),
    Key {
        ty: &'static str,
    },
    Trailer,
}

/// Key prefix opcodes seen since the last key.
#[derive(Default)]
struct Pending {
    first_at: Option<u64>,
    expire: Option<&'static str>,
    idle: bool,
    freq: bool,
    keymeta: bool,
}

/// Per-database counters, kept flat in the hot path and turned into the report at the end.
struct DbCount {
    db: u64,
    keys: u64,
    expires: u64,
    empty: u64,
    bytes: u64,
    by_ty: [u64; Ty::ALL.len()],
    resize_hint: Option<(u64, u64)>,
}

pub struct Parser<'a, 'b> {
    inp: Input<'a, 'b>,
    opts: Options,
    magic: Magic,
    ver: u32,
    report: Report,
    record: Record,
    db: u64,
    db_seen: bool,
    /// 1-based index of the current key within its database.
    key_index: u64,
    key_name: Vec<u8>,
    pending: Pending,
    fpr: Fingerprinter,
    keys_seen: Option<FpSet>,
    members: FpSet,
    blob_buf: Vec<u8>,
    lzf_buf: Vec<u8>,
    dedup: Dedup,
    dbs: Vec<DbCount>,
    /// Index in `dbs` of the current database (`usize::MAX`: not created yet).
    cur: usize,
}

type R<T> = Result<T, Fail>;

/// A decoded length prefix (see `Parser::prefix`).
enum Prefix {
    Len(u64),
    Special(u8),
}

impl<'a, 'b> Parser<'a, 'b> {
    pub fn new(
        opts: Options,
        src: &'a mut (dyn Read + 'a),
        out: Option<Pipe>,
        direct: Option<&'b mut (dyn std::io::Write + Send + 'b)>,
    ) -> Self {
        Parser {
            inp: Input::new(src, out, direct),
            magic: Magic::Redis,
            ver: 0,
            report: Report {
                record_offsets: opts.record_offsets.then(Vec::new),
                ..Report::default()
            },
            record: Record::Header,
            db: 0,
            db_seen: false,
            key_index: 0,
            key_name: Vec::new(),
            pending: Pending::default(),
            fpr: Fingerprinter {
                a: RandomState::new(),
                b: RandomState::new(),
            },
            keys_seen: if opts.check_duplicates {
                Some(FpSet::default())
            } else {
                None
            },
            opts,
            members: FpSet::default(),
            blob_buf: Vec::new(),
            lzf_buf: Vec::new(),
            dedup: Dedup::new(RandomState::new().hash_one(0u64)),
            dbs: Vec::new(),
            cur: usize::MAX,
        }
    }

    pub fn into_report(mut self) -> Report {
        for d in &self.dbs {
            let st = self.report.dbs.entry(d.db).or_default();
            st.keys += d.keys;
            st.expires += d.expires;
            st.empty += d.empty;
            st.bytes += d.bytes;
            if d.resize_hint.is_some() {
                st.resize_hint = d.resize_hint;
            }
            for (i, &n) in d.by_ty.iter().enumerate() {
                if n > 0 {
                    let ty = Ty::ALL[i];
                    *st.by_type.entry(ty.name()).or_default() += n;
                    *st.by_kind.entry(ty.kind()).or_default() += n;
                }
            }
            self.report.keys += d.keys;
            self.report.expires += d.expires;
            self.report.empty_keys += d.empty;
        }
        self.report
    }

    /// The counters of the current database.
    fn db_count(&mut self) -> &mut DbCount {
        if self.cur == usize::MAX {
            self.select(self.db);
        }
        &mut self.dbs[self.cur]
    }

    fn select(&mut self, db: u64) {
        self.cur = match self.dbs.iter().position(|d| d.db == db) {
            Some(i) => i,
            None => {
                self.dbs.push(DbCount {
                    db,
                    keys: 0,
                    expires: 0,
                    empty: 0,
                    bytes: 0,
                    by_ty: [0; Ty::ALL.len()],
                    resize_hint: None,
                });
                self.dbs.len() - 1
            }
        };
    }

    /// The record being read, as a suffix for error messages.
    pub fn context(&self) -> String {
        match &self.record {
            Record::Header => " (in the header)".into(),
            Record::Trailer => " (after the EOF opcode)".into(),
            Record::Between => {
                if !self.db_seen {
                    " (before the first SELECTDB)".into()
                } else if self.key_index == 0 {
                    format!(" (in db {}, before its first key)", self.db)
                } else {
                    format!(" (after key #{} of db {})", self.key_index, self.db)
                }
            }
            Record::Op(name) => {
                if self.db_seen {
                    format!(" (in the {name} record, db {})", self.db)
                } else {
                    format!(" (in the {name} record)")
                }
            }
            Record::Key { ty } => {
                let name = if self.opts.key_names && !self.key_name.is_empty() {
                    format!(", key \"{}\"", printable(&self.key_name, 100))
                } else {
                    String::new()
                };
                format!(
                    " (db {}, key #{} of the db, type {ty}{name})",
                    self.db, self.key_index
                )
            }
        }
    }

    fn fail<T>(&self, off: u64, msg: impl Into<String>) -> R<T> {
        Err(Fail::at(off, msg))
    }

    fn warn(&mut self, msg: String) {
        self.report.warnings_total += 1;
        if self.report.warnings.len() < self.opts.max_warnings {
            self.report.warnings.push(msg);
        }
    }

    // ---------------------------------------------------------------------------- primitives

    /// A plain length (`rdbLoadLen` without the encoded-string marker).
    /// The length prefix that lengths and strings share: 6-, 14-, 32- or 64-bit, or (top bits
    /// 11) a special string encoding, returned as the whole byte for the caller to interpret.
    #[inline]
    fn prefix(&mut self, at: u64, what: &str) -> R<Prefix> {
        let b = self.inp.u8(what)?;
        match b >> 6 {
            0 => Ok(Prefix::Len((b & 0x3f) as u64)),
            1 => {
                let b2 = self.inp.u8(what)?;
                Ok(Prefix::Len(((b & 0x3f) as u64) << 8 | b2 as u64))
            }
            2 => self.long_len(b, at, what).map(Prefix::Len),
            _ => Ok(Prefix::Special(b)),
        }
    }

    fn len(&mut self, what: &str) -> R<u64> {
        let at = self.inp.offset();
        match self.prefix(at, what)? {
            Prefix::Len(n) => Ok(n),
            Prefix::Special(b) => self.fail(
                at,
                format!("expected a length for {what}, found the encoded-string marker 0x{b:02x}"),
            ),
        }
    }

    fn long_len(&mut self, b: u8, at: u64, what: &str) -> R<u64> {
        match b {
            0x80 => Ok(u32::from_be_bytes(self.inp.array::<4>(what)?) as u64),
            0x81 => Ok(u64::from_be_bytes(self.inp.array::<8>(what)?)),
            _ => self.fail(
                at,
                format!(
                    "invalid length encoding byte 0x{b:02x} for {what} (only 0x80 and 0x81 exist)"
                ),
            ),
        }
    }

    fn i64_le(&mut self, what: &str) -> R<i64> {
        Ok(i64::from_le_bytes(self.inp.array::<8>(what)?))
    }

    /// Reads one RDB string, handing its decoded bytes to `sink`. Returns (decoded length, encoding).
    fn string<S: Sink + ?Sized>(&mut self, sink: &mut S, what: &str) -> R<(u64, Enc)> {
        let at = self.inp.offset();
        let n = match self.prefix(at, what)? {
            Prefix::Len(n) => n,
            Prefix::Special(b) => return self.special_string(b & 0x3f, at, sink, what),
        };
        self.inp.stream(n, sink, what)?;
        Ok((n, Enc::Raw))
    }

    /// The body of an LZF string (after its 0xC3 byte): decodes `clen` compressed bytes as they
    /// pass, in `mode`. Returns the decoded length, the offset of the compressed data and the
    /// buffer (the whole output in `KeepAll` mode, else empty for reuse).
    fn lzf<S: Sink + ?Sized>(
        &mut self,
        start: u64,
        what: &str,
        mode: Mode,
        buf: Vec<u8>,
        max: u64,
        sink: &mut S,
    ) -> R<(u64, u64, Vec<u8>)> {
        let clen = self.len("the compressed length of an LZF string")?;
        let ulen = self.len("the uncompressed length of an LZF string")?;
        let data = self.inp.offset();
        if ulen == 0 || ulen > max {
            return self.fail(
                start,
                format!("LZF string for {what} declares an uncompressed length of {ulen}"),
            );
        }
        let mut d = Lzf::with_buffer(ulen, mode, buf);
        let mut lzf_err = None;
        let streamed = self.inp.stream_with(clen, what, |piece| {
            d.feed(piece, sink).map_err(|e| {
                lzf_err = Some(e);
                Fail::at(0, String::new())
            })
        });
        if let Err(f) = streamed {
            return Err(match lzf_err {
                Some(e) => Fail::at(data + e.at, format!("{} (in {what})", e.msg)),
                None => f,
            });
        }
        let out = d
            .finish(sink)
            .map_err(|e| Fail::at(start, format!("{} (in {what})", e.msg)))?;
        Ok((ulen, data, out))
    }

    fn special_string<S: Sink + ?Sized>(
        &mut self,
        enc: u8,
        at: u64,
        sink: &mut S,
        what: &str,
    ) -> R<(u64, Enc)> {
        let mut buf = [0u8; 24];
        let v = match enc {
            0 => self.inp.u8(what)? as i8 as i64,
            1 => i16::from_le_bytes(self.inp.array::<2>(what)?) as i64,
            2 => i32::from_le_bytes(self.inp.array::<4>(what)?) as i64,
            3 => {
                let mode = if sink.wants_bytes() {
                    Mode::Stream
                } else {
                    Mode::Count
                };
                let buf = std::mem::take(&mut self.lzf_buf);
                let (ulen, _, buf) = self.lzf(at, what, mode, buf, u64::MAX, sink)?;
                self.lzf_buf = buf;
                return Ok((ulen, Enc::Lzf));
            }
            _ => {
                return self.fail(
                    at,
                    format!(
                        "unknown string encoding {enc} (byte 0x{:02x}) for {what}; only 0-3 exist",
                        0xC0 | enc
                    ),
                )
            }
        };
        let n = blob::fmt_i64(v, &mut buf);
        sink.feed(&buf[..n]);
        Ok((n as u64, Enc::Int))
    }

    /// Reads an RDB string holding an embedded blob and runs `check` on its bytes, which are
    /// either still in the input window or in a buffer (LZF, or spanning window moves).
    fn with_blob<T>(
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
                    let (_, data, out) =
                        self.lzf(start, what, Mode::KeepAll, buf, MAX_BLOB, &mut Discard)?;
                    return Ok((
                        Blob::Owned(out),
                        BlobAt {
                            start,
                            data,
                            enc: Enc::Lzf,
                        },
                    ));
                }
                self.special_string(enc, start, &mut buf, what)?;
                return Ok((
                    Blob::Owned(buf),
                    BlobAt {
                        start,
                        data: start + 1,
                        enc: Enc::Int,
                    },
                ));
            }
        };
        if n > MAX_BLOB {
            return self.fail(
                start,
                format!("{what} declares {n} bytes, more than the 4 GiB an RDB string can hold"),
            );
        }
        let data = self.inp.offset();
        let at = BlobAt {
            start,
            data,
            enc: Enc::Raw,
        };
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
                format!(
                    "{what} (LZF-compressed string): {} at byte {} of the decompressed blob",
                    e.msg, e.at
                ),
            ),
        }
    }

    // ------------------------------------------------------------------------------ top level

    pub fn run(&mut self) -> R<()> {
        self.header()?;
        loop {
            let at = self.inp.offset();
            self.record = Record::Between;
            if let Some(offs) = self.report.record_offsets.as_mut() {
                offs.push(at);
            }
            if self.inp.available() == 0 && !self.inp.fill(1)? {
                let what = if self.pending.first_at.is_some() {
                    "the key that the preceding EXPIRETIME/IDLE/FREQ/KEY_META opcodes announce"
                } else {
                    "the next record (the EOF opcode 0xFF is missing)"
                };
                return Err(self.inp.truncated(1, what));
            }
            let b = self.inp.u8("a record type")?;
            let rec = match classify(self.magic, self.ver, b) {
                Ok(r) => r,
                Err(msg) => {
                    return self.fail(
                        at,
                        format!("{msg} ({}{} file)", self.magic.as_str(), self.ver_str()),
                    );
                }
            };
            match rec {
                Rec::Key(ty) => self.key(ty, at)?,
                Rec::Op(op) => {
                    let prefix = matches!(
                        op,
                        Op::ExpireTime | Op::ExpireTimeMs | Op::Idle | Op::Freq | Op::KeyMeta
                    );
                    if !prefix {
                        if let Some(first) = self.pending.first_at {
                            return self.fail(
                                first,
                                format!("key attributes (EXPIRETIME/IDLE/FREQ/KEY_META) are followed by a {} opcode instead of a key", op.name()),
                            );
                        }
                    }
                    self.record = Record::Op(op.name());
                    if op == Op::Eof {
                        return self.eof();
                    }
                    self.opcode(op, at)?;
                }
            }
        }
    }

    fn ver_str(&self) -> String {
        match self.magic {
            Magic::Redis => format!("{:04}", self.ver),
            Magic::Valkey => format!("{:03}", self.ver),
        }
    }

    fn header(&mut self) -> R<()> {
        self.record = Record::Header;
        let have = if self.inp.fill(9)? {
            9
        } else {
            self.inp.available()
        };
        let head = self.inp.peek()[..have].to_vec();
        if have == 0 {
            return self.fail(0, "empty input: expected an RDB file, got no bytes at all");
        }
        let shown = printable(&head[..have.min(9)], 9);
        if head[0] == b'-' || head[0] == b'+' {
            // a RESP error/status reply instead of a payload (e.g. `-ERR`, `-NOAUTH`)
            let mut line = Vec::new();
            while self.inp.fill(1)? {
                let c = self.inp.take(1)[0];
                if c == b'\r' || c == b'\n' || line.len() >= 200 {
                    break;
                }
                line.push(c);
            }
            return self.fail(
                0,
                format!(
                    "input is a server reply, not an RDB: {}",
                    printable(&line, 200)
                ),
            );
        }
        if head[0] == b'$' {
            return self.fail(0, "input starts with a RESP bulk header ('$…'), not an RDB magic: the replication framing was not stripped");
        }
        if head.starts_with(&[0x1f, 0x8b]) {
            return self.fail(
                0,
                "input is gzip-compressed, not a plain RDB (decompress it first)",
            );
        }
        if head.starts_with(b"VKCS") {
            return self.fail(0, "input is a Valkey compressed-stream envelope (VKCS, rdbcompression lz4), which rdbcheck does not support");
        }
        let (magic, plen) = if head.starts_with(b"REDIS")
            || (have < 5 && b"REDIS".starts_with(&head))
        {
            (Magic::Redis, 5)
        } else if head.starts_with(b"VALKEY") || (have < 6 && b"VALKEY".starts_with(&head)) {
            (Magic::Valkey, 6)
        } else {
            return self.fail(
                0,
                format!(
                    "not an RDB file: bad magic \"{shown}\" (expected REDIS0001-REDIS{:04} or VALKEY080/081)",
                    format::REDIS_MAX
                ),
            );
        };
        if have < 9 {
            return Err(self.inp.truncated(9 - have as u64, "the 9-byte RDB magic"));
        }
        let digits = &head[plen..9];
        if !digits.iter().all(u8::is_ascii_digit) {
            return self.fail(
                plen as u64,
                format!(
                    "bad RDB magic \"{shown}\": the version is not {} decimal digits",
                    9 - plen
                ),
            );
        }
        let ver: u32 = std::str::from_utf8(digits).unwrap().parse().unwrap();
        self.magic = magic;
        self.ver = ver;
        let known = format!(
            "rdbcheck knows REDIS0001-REDIS{:04} and VALKEY{}-VALKEY{}",
            format::REDIS_MAX,
            format::VALKEY_MIN,
            format::VALKEY_MAX
        );
        let refused = match magic {
            Magic::Redis if ver == 0 => Some("RDB version 0 does not exist (REDIS0001 is the first)".to_string()),
            Magic::Redis if ver >= format::VALKEY_MIN => Some(format!(
                "REDIS magic with version {ver}: versions 80 and above are written only with the VALKEY magic"
            )),
            Magic::Redis if ver > format::REDIS_MAX => Some(format!("unsupported RDB version {ver}: {known}")),
            Magic::Valkey if ver < format::VALKEY_MIN => Some(format!(
                "VALKEY magic with version {ver}: the VALKEY magic is used only for versions 80 and above"
            )),
            Magic::Valkey if ver > format::VALKEY_MAX => {
                Some(format!("unsupported RDB version VALKEY{ver:03}: {known}"))
            }
            _ => None,
        };
        if let Some(msg) = refused {
            return self.fail(plen as u64, msg);
        }
        self.inp.take(9);
        self.report.magic = self.magic.as_str().to_string();
        self.report.version = self.ver;
        Ok(())
    }

    fn eof(&mut self) -> R<()> {
        let crc = self.inp.take_crc()?;
        self.record = Record::Trailer;
        if self.ver >= 5 {
            let at = self.inp.offset();
            let stored = u64::from_le_bytes(
                self.inp
                    .array::<8>("the CRC-64 checksum after the EOF opcode")?,
            );
            if stored == 0 {
                if self.opts.require_checksum {
                    return self.fail(
                        at,
                        "the checksum is 0 (written with rdbchecksum no) and --require-checksum is set",
                    );
                }
                self.report.checksum = Checksum::Disabled;
            } else if stored != crc {
                return self.fail(
                    at,
                    format!(
                        "CRC-64 mismatch: the file says {stored:016x}, the data gives {crc:016x}"
                    ),
                );
            } else {
                self.report.checksum = Checksum::Verified(crc);
            }
        } else {
            if self.opts.require_checksum {
                return self.fail(
                    self.inp.offset(),
                    format!("RDB version {} has no checksum trailer (only version 5 and later do) and --require-checksum is set", self.ver),
                );
            }
            self.report.checksum = Checksum::Absent;
        }
        let end = self.inp.offset();
        self.report.rdb_bytes = end;
        // What may follow: nothing, or the 40-byte `$EOF:` marker of a diskless sync.
        let mut tail = Vec::new();
        while tail.len() <= 40 && self.inp.fill(1)? {
            let n = self.inp.available().min(41 - tail.len());
            tail.extend_from_slice(self.inp.take(n));
        }
        if !tail.is_empty() {
            let is_mark = tail.len() == 40 && tail.iter().all(|c| c.is_ascii_hexdigit());
            if !is_mark {
                let count = if tail.len() > 40 {
                    "more than 40 bytes".to_string()
                } else {
                    format!("{} byte(s)", tail.len())
                };
                let what = if tail.starts_with(b"REDIS") || tail.starts_with(b"VALKEY") {
                    " (a second RDB is concatenated)"
                } else if tail.starts_with(b"*") {
                    " (AOF commands: an AOF file with an RDB preamble?)"
                } else {
                    ""
                };
                return self.fail(
                    end,
                    format!(
                        "{count} after the end of the RDB{what}, starting \"{}\": only the 40-character $EOF marker of a diskless sync may follow the checksum",
                        printable(&tail[..tail.len().min(16)], 16)
                    ),
                );
            }
            self.report.eof_marker = true;
        }
        self.report.total_bytes = self.inp.offset();
        self.inp.finish()
    }

    // -------------------------------------------------------------------------------- opcodes

    fn opcode(&mut self, op: Op, at: u64) -> R<()> {
        match op {
            Op::ExpireTime | Op::ExpireTimeMs => {
                if let Some(prev) = self.pending.expire {
                    return self.fail(
                        at,
                        format!(
                            "a second expiry ({}) for the same key, after {prev}",
                            op.name()
                        ),
                    );
                }
                if op == Op::ExpireTime {
                    self.inp.array::<4>("the EXPIRETIME seconds")?;
                } else {
                    self.i64_le("the EXPIRETIME_MS milliseconds")?;
                }
                self.pending.expire = Some(op.name());
                self.pending.first_at.get_or_insert(at);
            }
            Op::Idle => {
                if self.pending.idle {
                    return self.fail(at, "a second IDLE opcode for the same key");
                }
                self.len("the IDLE seconds")?;
                self.pending.idle = true;
                self.pending.first_at.get_or_insert(at);
            }
            Op::Freq => {
                if self.pending.freq {
                    return self.fail(at, "a second FREQ opcode for the same key");
                }
                self.inp.u8("the FREQ counter")?;
                self.pending.freq = true;
                self.pending.first_at.get_or_insert(at);
            }
            Op::KeyMeta => {
                if self.pending.keymeta {
                    return self.fail(at, "a second KEY_META opcode for the same key");
                }
                let n = self.len("the KEY_META class count")?;
                for _ in 0..n {
                    self.inp.array::<4>("a KEY_META class id")?;
                    self.module_stream("KEY_META class data")?;
                }
                self.pending.keymeta = true;
                self.pending.first_at.get_or_insert(at);
            }
            Op::SelectDb => {
                let db = self.len("the SELECTDB database id")?;
                if db >= self.opts.databases {
                    return self.fail(
                        at,
                        format!(
                            "SELECTDB {db}: the database id is not below {} (a server with `databases {}` refuses to load it; see --databases)",
                            self.opts.databases, self.opts.databases
                        ),
                    );
                }
                self.db = db;
                self.db_seen = true;
                self.select(db);
                let d = &self.dbs[self.cur];
                self.key_index = d.keys + d.empty;
            }
            Op::ResizeDb => {
                let k = self.len("the RESIZEDB key count")?;
                let e = self.len("the RESIZEDB expires count")?;
                self.db_count().resize_hint = Some((k, e));
            }
            Op::Aux => {
                let mut k = Keep {
                    max: 200,
                    buf: Vec::new(),
                };
                self.string(&mut k, "an AUX field name")?;
                let mut v = Keep {
                    max: 200,
                    buf: Vec::new(),
                };
                let vat = self.inp.offset();
                self.string(&mut v, "an AUX field value")?;
                if k.buf == b"slot-info" {
                    // Valkey 8+: "slot,keys,expires[,volatile]"; Valkey loaders refuse fewer fields.
                    let ok = v.buf.split(|&c| c == b',').count() >= 3
                        && v.buf
                            .split(|&c| c == b',')
                            .all(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit));
                    if !ok {
                        return self.fail(
                            vat,
                            format!(
                                "AUX slot-info value \"{}\" is not \"slot,keys,expires[,…]\"",
                                printable(&v.buf, 60)
                            ),
                        );
                    }
                }
                self.report
                    .aux
                    .push((printable(&k.buf, 100), printable(&v.buf, 200)));
            }
            Op::ModuleAux => {
                let id = self.len("the MODULE_AUX module id")?;
                let wat = self.inp.offset();
                let when_op = self.len("the MODULE_AUX when-opcode")?;
                if when_op != 2 {
                    return self.fail(
                        wat,
                        format!("MODULE_AUX when-opcode is {when_op}, expected 2 (UINT)"),
                    );
                }
                let wat = self.inp.offset();
                let when = self.len("the MODULE_AUX when value")?;
                if when != 1 && when != 2 {
                    return self.fail(
                        wat,
                        format!("MODULE_AUX when value is {when}, expected 1 (before keys) or 2 (after keys)"),
                    );
                }
                let name = format::module_name(id);
                self.module_stream(&format!("MODULE_AUX data of module {name}"))?;
                self.report.module_aux += 1;
            }
            Op::Function2 => {
                let mut k = Keep {
                    max: 4096,
                    buf: Vec::new(),
                };
                let sat = self.inp.offset();
                self.string(&mut k, "a function library")?;
                let first = k.buf.split(|&c| c == b'\n').next().unwrap_or(&[]);
                let ok = first.starts_with(b"#!")
                    && first[2..]
                        .split(|c| c.is_ascii_whitespace())
                        .skip(1)
                        .any(|t| t.len() > 5 && t.starts_with(b"name="));
                if !ok {
                    return self.fail(
                        sat,
                        format!("function library code does not start with a \"#!<engine> name=<library>\" line (starts \"{}\")", printable(first, 60)),
                    );
                }
                self.report.functions += 1;
            }
            Op::SlotInfo => {
                let sat = self.inp.offset();
                let slot = self.len("the SLOT_INFO slot id")?;
                self.len("the SLOT_INFO key count")?;
                self.len("the SLOT_INFO expires count")?;
                if slot >= 16384 {
                    return self.fail(sat, format!("SLOT_INFO slot {slot} is not below 16384"));
                }
            }
            Op::SlotImport => {
                let mut k = Keep {
                    max: 64,
                    buf: Vec::new(),
                };
                self.string(&mut k, "the SLOT_IMPORT job name")?;
                let n = self.len("the SLOT_IMPORT range count")?;
                for _ in 0..n {
                    let rat = self.inp.offset();
                    let a = self.len("a SLOT_IMPORT range start")?;
                    let b = self.len("a SLOT_IMPORT range end")?;
                    if a > b || b >= 16384 {
                        return self.fail(
                            rat,
                            format!(
                                "SLOT_IMPORT range {a}-{b} is not a range of slots below 16384"
                            ),
                        );
                    }
                }
            }
            Op::Eof => unreachable!(),
        }
        Ok(())
    }

    /// A module opcode stream (MODULE_2 values, MODULE_AUX, KEY_META), up to its 0 terminator.
    fn module_stream(&mut self, what: &str) -> R<()> {
        loop {
            let at = self.inp.offset();
            match self.len(what)? {
                0 => return Ok(()),
                1 | 2 => {
                    self.len(what)?;
                }
                3 => {
                    self.inp.array::<4>(what)?;
                }
                4 => {
                    self.inp.array::<8>(what)?;
                }
                5 => {
                    self.string(&mut Discard, what)?;
                }
                op => {
                    return self.fail(at, format!("unknown module opcode {op} in {what} (valid: 0 EOF, 1 SINT, 2 UINT, 3 FLOAT, 4 DOUBLE, 5 STRING)"))
                }
            }
        }
    }

    // ----------------------------------------------------------------------------------- keys

    fn key(&mut self, ty: Ty, at: u64) -> R<()> {
        let start = self.pending.first_at.unwrap_or(at);
        self.key_index += 1;
        self.record = Record::Key { ty: ty.name() };
        self.key_name.clear();
        let fp = self.keys_seen.as_ref().map(|_| {
            let mut f = self.fpr.start();
            f.feed(&self.db.to_le_bytes());
            f
        });
        let mut name = std::mem::take(&mut self.key_name);
        let mut ks = KeySink {
            fp,
            name: if self.opts.key_names {
                Some(&mut name)
            } else {
                None
            },
        };
        let kat = self.inp.offset();
        self.string(&mut ks, "the key name")?;
        let fp = ks.fp.map(Fp::finish);
        self.key_name = name;
        let nonempty = self.value(ty)?;
        let end = self.inp.offset();
        if let (Some(seen), Some(fp)) = (self.keys_seen.as_mut(), fp) {
            if !seen.insert(fp) {
                return self.fail(
                    kat,
                    format!(
                        "duplicate key in db {} (a server panics loading it)",
                        self.db
                    ),
                );
            }
        }
        let bytes = end - start;
        let has_expire = self.pending.expire.is_some();
        self.pending = Pending::default();
        let key_names = self.opts.key_names;
        let st = self.db_count();
        st.bytes += bytes;
        if !nonempty {
            st.empty += 1;
            let msg = format!(
                "offset {at}: db {}, key #{}: empty {} (servers skip empty keys on load){}",
                self.db,
                self.key_index,
                match ty.kind() {
                    "zset" => "sorted set",
                    k => k,
                },
                if key_names {
                    format!(", key \"{}\"", printable(&self.key_name, 100))
                } else {
                    String::new()
                }
            );
            self.warn(msg);
        } else {
            st.keys += 1;
            st.by_ty[ty.index()] += 1;
            if has_expire {
                st.expires += 1;
            }
            self.top(ty, bytes);
        }
        Ok(())
    }

    fn top(&mut self, ty: Ty, bytes: u64) {
        let n = self.opts.top;
        if n == 0 {
            return;
        }
        let top = &mut self.report.top;
        if top.len() == n && top.last().is_some_and(|t| t.bytes >= bytes) {
            return;
        }
        let name = self.opts.key_names.then(|| printable(&self.key_name, 100));
        let entry = TopKey {
            db: self.db,
            index: self.key_index,
            type_name: ty.name(),
            bytes,
            name,
        };
        let pos = top.partition_point(|t| t.bytes >= bytes);
        top.insert(pos, entry);
        top.truncate(n);
    }

    /// Reads one value; returns false for an empty collection (which servers skip).
    fn value(&mut self, ty: Ty) -> R<bool> {
        match ty {
            Ty::String => {
                self.string(&mut Discard, "a string value")?;
                Ok(true)
            }
            Ty::List => {
                let n = self.len("the list length")?;
                for _ in 0..n {
                    self.string(&mut Discard, "a list element")?;
                }
                Ok(n > 0)
            }
            Ty::Set => {
                let n = self.len("the set size")?;
                self.members.clear();
                for _ in 0..n {
                    self.member("a set member", "set")?;
                }
                Ok(n > 0)
            }
            Ty::Zset | Ty::Zset2 => {
                let n = self.len("the sorted set size")?;
                self.members.clear();
                for _ in 0..n {
                    self.member("a sorted set member", "sorted set")?;
                    let at = self.inp.offset();
                    let score = if ty == Ty::Zset2 {
                        f64::from_le_bytes(self.inp.array::<8>("a binary score")?)
                    } else {
                        self.legacy_double()?
                    };
                    if score.is_nan() {
                        return self.fail(at, "sorted set score is NaN");
                    }
                }
                Ok(n > 0)
            }
            Ty::Hash => {
                let n = self.len("the hash size")?;
                self.members.clear();
                for _ in 0..n {
                    self.member("a hash field", "hash")?;
                    self.string(&mut Discard, "a hash value")?;
                }
                Ok(n > 0)
            }
            Ty::HashMetadataPreGa | Ty::HashMetadata => {
                let mut min = 0u64;
                if ty == Ty::HashMetadata {
                    let at = self.inp.offset();
                    min = self.i64_le("the hash minimum field expiry")? as u64;
                    if min > EXPIRE_TIME_MAX + 1 {
                        return self.fail(
                            at,
                            format!("hash minimum field expiry {min} is beyond 2^48 ms"),
                        );
                    }
                }
                let n = self.len("the hash size")?;
                self.members.clear();
                for _ in 0..n {
                    let at = self.inp.offset();
                    let ttl = self.len("a hash field TTL")?;
                    let expire_at = if ty == Ty::HashMetadata && ttl != 0 {
                        ttl.wrapping_add(min).wrapping_sub(1)
                    } else {
                        ttl
                    };
                    if expire_at > EXPIRE_TIME_MAX
                        || (ty == Ty::HashMetadata && ttl != 0 && ttl.checked_add(min).is_none())
                    {
                        return self.fail(
                            at,
                            format!("hash field expiry {expire_at} is beyond 2^48-1 ms"),
                        );
                    }
                    self.member("a hash field", "hash")?;
                    self.string(&mut Discard, "a hash value")?;
                }
                Ok(n > 0)
            }
            Ty::Hash2 => {
                let n = self.len("the hash size")?;
                self.members.clear();
                for _ in 0..n {
                    self.member("a hash field", "hash")?;
                    self.string(&mut Discard, "a hash value")?;
                    let at = self.inp.offset();
                    let exp = self.i64_le("a hash field expiry")?;
                    // Valkey stores absolute unix-time milliseconds, -1 for none
                    if exp < -1 {
                        return self.fail(
                            at,
                            format!("hash field expiry {exp} is neither -1 (none) nor a time"),
                        );
                    }
                }
                Ok(n > 0)
            }
            Ty::Module2 => {
                let id = self.len("the module type id")?;
                let name = format::module_name(id);
                self.module_stream(&format!("the value of module type {name}"))?;
                *self.report.modules.entry(name).or_default() += 1;
                Ok(true)
            }
            Ty::ListQuicklist | Ty::ListQuicklist2 => self.quicklist(ty),
            Ty::Stream(v) => {
                self.stream(v)?;
                Ok(true)
            }
            Ty::HashListpackEx => {
                let at = self.inp.offset();
                let min = self.i64_le("the hash minimum field expiry")? as u64;
                if min > EXPIRE_TIME_MAX + 1 {
                    return self.fail(
                        at,
                        format!("hash minimum field expiry {min} is beyond 2^48 ms"),
                    );
                }
                self.encoded(ty)
            }
            Ty::HashZipmap
            | Ty::ListZiplist
            | Ty::SetIntset
            | Ty::ZsetZiplist
            | Ty::HashZiplist
            | Ty::HashListpack
            | Ty::ZsetListpack
            | Ty::SetListpack
            | Ty::HashListpackExPreGa => self.encoded(ty),
        }
    }

    /// A collection member that must be unique within the value.
    fn member(&mut self, what: &str, coll: &str) -> R<()> {
        let at = self.inp.offset();
        let mut fp = self.fpr.start();
        self.string(&mut fp, what)?;
        if !self.members.insert(fp.finish()) {
            return self.fail(at, format!("duplicate {coll} member/field"));
        }
        Ok(())
    }

    /// The ZSET (type 3) score: a length byte, then ASCII, or 253/254/255 for nan/+inf/-inf.
    fn legacy_double(&mut self) -> R<f64> {
        let at = self.inp.offset();
        let n = self.inp.u8("a score")?;
        match n {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            _ => {
                let mut k = Keep {
                    max: 255,
                    buf: Vec::new(),
                };
                self.inp.stream(n as u64, &mut k, "a score")?;
                match std::str::from_utf8(&k.buf)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                {
                    Some(v) => Ok(v),
                    None => self.fail(
                        at,
                        format!("score \"{}\" is not a number", printable(&k.buf, 40)),
                    ),
                }
            }
        }
    }

    fn quicklist(&mut self, ty: Ty) -> R<bool> {
        let n = self.len("the quicklist node count")?;
        let mut elements = 0u64;
        for _ in 0..n {
            let mut packed = true;
            if ty == Ty::ListQuicklist2 {
                let at = self.inp.offset();
                match self.len("a quicklist node container")? {
                    1 => packed = false,
                    2 => {}
                    c => {
                        return self.fail(
                            at,
                            format!(
                                "quicklist node container {c} is neither 1 (plain) nor 2 (packed)"
                            ),
                        )
                    }
                }
            }
            let at = self.inp.offset();
            if !packed {
                // one plain element, possibly large: streamed, never held
                let (len, _) = self.string(&mut Discard, "a plain quicklist node")?;
                if len == 0 {
                    return self.fail(at, "quicklist node is empty (zero-length string)");
                }
                elements += 1;
                continue;
            }
            let what = if ty == Ty::ListQuicklist {
                "a quicklist ziplist node"
            } else {
                "a quicklist listpack node"
            };
            let v1 = ty == Ty::ListQuicklist;
            let r = self.with_blob(what, |b, _| {
                if b.is_empty() {
                    Err(BlobErr::new(
                        0,
                        "quicklist node is empty (zero-length string)",
                    ))
                } else if v1 {
                    blob::ziplist(b, |_, _| Ok(()))
                } else {
                    blob::listpack(b, |_, _| Ok(()))
                }
            })?;
            elements += r as u64;
        }
        Ok(elements > 0)
    }

    /// Types whose value is one embedded blob.
    fn encoded(&mut self, ty: Ty) -> R<bool> {
        let what = match ty {
            Ty::HashZipmap => "the zipmap",
            Ty::ListZiplist | Ty::ZsetZiplist | Ty::HashZiplist => "the ziplist",
            Ty::SetIntset => "the intset",
            _ => "the listpack",
        };
        let label = format!("{} ({})", what.trim_start_matches("the "), ty.name());
        let count = self.with_blob(&label, |b, dd| {
            dd.fast();
            let n = check_blob(ty, b, dd)?;
            if dd.suspect() {
                // two fast hashes are equal: find out exactly, with the offending entry
                dd.exact();
                check_blob(ty, b, dd)?;
            }
            Ok(n)
        })?;
        Ok(count > 0)
    }
}

/// Duplicate detection inside one blob: fast seeded 64-bit hashes, sorted; only if two are
/// equal is the blob walked again with exact comparison (so a collision never rejects).
pub(crate) struct Dedup {
    seed: u64,
    hashes: Vec<u64>,
    exact: Option<HashSet<Vec<u8>>>,
}

impl Dedup {
    fn new(seed: u64) -> Self {
        Dedup {
            seed,
            hashes: Vec::new(),
            exact: None,
        }
    }

    fn fast(&mut self) {
        self.hashes.clear();
        self.exact = None;
    }

    fn exact(&mut self) {
        self.exact = Some(HashSet::new());
    }

    /// Whether the fast pass saw two equal hashes.
    fn suspect(&mut self) -> bool {
        self.hashes.sort_unstable();
        self.hashes.windows(2).any(|w| w[0] == w[1])
    }

    /// Adds a member (integers and their decimal strings are the same member).
    fn add(&mut self, at: usize, e: Entry) -> Result<(), BlobErr> {
        match self.exact.as_mut() {
            None => {
                let h = e.with_bytes(|s| fast_hash(self.seed, s));
                self.hashes.push(h);
                Ok(())
            }
            Some(set) => {
                if e.with_bytes(|s| set.insert(s.to_vec())) {
                    Ok(())
                } else {
                    Err(BlobErr::new(at, format!("duplicate member/field {e}")))
                }
            }
        }
    }
}

/// A seeded multiply-xorshift hash (only a filter: equal hashes are checked exactly).
fn fast_hash(seed: u64, b: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = seed ^ (b.len() as u64).wrapping_mul(K);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().unwrap());
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut t = [0u8; 8];
        t[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(t)).wrapping_mul(K).rotate_left(29);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// The structure and type-level rules of a one-blob value; returns its element count.
fn check_blob(ty: Ty, b: &[u8], dd: &mut Dedup) -> Result<u32, BlobErr> {
    let mut unique = |at: usize, e: Entry| dd.add(at, e);
    match ty {
        Ty::HashZipmap => blob::zipmap(b, |at, f, _| unique(at, Entry::Str(f))),
        Ty::SetIntset => blob::intset(b),
        Ty::ListZiplist => blob::ziplist(b, |_, _| Ok(())),
        Ty::ZsetZiplist
        | Ty::HashZiplist
        | Ty::HashListpack
        | Ty::ZsetListpack
        | Ty::SetListpack => {
            let tuple = if ty == Ty::SetListpack { 1 } else { 2 };
            let zset = matches!(ty, Ty::ZsetZiplist | Ty::ZsetListpack);
            let mut i = 0u64;
            let f = |at: usize, e: Entry| -> Result<(), BlobErr> {
                let r = if i % tuple == 0 {
                    unique(at, e)
                } else if zset {
                    check_score(at, e)
                } else {
                    Ok(())
                };
                i += 1;
                r
            };
            let n = if matches!(ty, Ty::ZsetZiplist | Ty::HashZiplist) {
                blob::ziplist(b, f)?
            } else {
                blob::listpack(b, f)?
            };
            if n as u64 % tuple != 0 {
                return Err(BlobErr::new(
                    0,
                    format!(
                        "{n} elements, not a whole number of {} pairs",
                        if zset { "member/score" } else { "field/value" }
                    ),
                ));
            }
            Ok(n / tuple as u32)
        }
        Ty::HashListpackExPreGa | Ty::HashListpackEx => {
            let mut i = 0u64;
            let mut last: i64 = -1;
            let n = blob::listpack(b, |at, e| {
                let r = match i % 3 {
                    0 => unique(at, e),
                    1 => Ok(()),
                    _ => match e.as_int() {
                        None => Err(BlobErr::new(at, format!("hash field TTL {e} is not an integer"))),
                        Some(t) if t < 0 || t as u64 > EXPIRE_TIME_MAX => {
                            Err(BlobErr::new(at, format!("hash field TTL {t} is outside 0..2^48-1")))
                        }
                        Some(t) if t != 0 && (last == 0 || t < last) => Err(BlobErr::new(
                            at,
                            format!("hash field TTL {t} is out of order (fields with a TTL come first, ascending)"),
                        )),
                        Some(t) => {
                            last = t;
                            Ok(())
                        }
                    },
                };
                i += 1;
                r
            })?;
            if n % 3 != 0 {
                return Err(BlobErr::new(
                    0,
                    format!("{n} elements, not a whole number of field/value/TTL triples"),
                ));
            }
            Ok(n / 3)
        }
        _ => unreachable!("not a blob type"),
    }
}

impl Parser<'_, '_> {
    // -------------------------------------------------------------------------------- streams

    fn stream(&mut self, v: u8) -> R<()> {
        let nodes = self.len("the stream node count")?;
        let mut node_keys = FpSet::default();
        for _ in 0..nodes {
            let at = self.inp.offset();
            let mut k = Keep {
                max: 17,
                buf: Vec::new(),
            };
            let (len, _) = self.string(&mut k, "a stream node master id")?;
            if len != 16 {
                return self.fail(
                    at,
                    format!("stream node key has {len} bytes; a stream id has 16"),
                );
            }
            if !node_keys.insert(u128::from_be_bytes(k.buf[..16].try_into().unwrap())) {
                return self.fail(at, "stream node key appears twice");
            }
            self.with_blob("stream node listpack", |b, _| stream_listpack(b))?;
        }
        let lat = self.inp.offset();
        let length = self.len("the stream length")?;
        self.len("the stream last id")?;
        self.len("the stream last id")?;
        if v >= 2 {
            for what in [
                "the stream first id",
                "the stream first id",
                "the stream max deleted id",
                "the stream max deleted id",
                "the stream entries-added count",
            ] {
                self.len(what)?;
            }
        }
        if length > 0 && nodes == 0 {
            return self.fail(
                lat,
                format!("stream length is {length} but it has no nodes"),
            );
        }
        let groups = self.len("the consumer group count")?;
        let mut group_names = FpSet::default();
        let mut pel: HashMap<u128, u64, BuildHasherDefault<IdHasher>> = HashMap::default();
        let mut consumer_names = FpSet::default();
        for _ in 0..groups {
            let at = self.inp.offset();
            let mut fp = self.fpr.start();
            self.string(&mut fp, "a consumer group name")?;
            if !group_names.insert(fp.finish()) {
                return self.fail(at, "duplicate consumer group name");
            }
            self.len("a consumer group last id")?;
            self.len("a consumer group last id")?;
            if v >= 2 {
                self.len("a consumer group entries-read count")?;
            }
            pel.clear();
            let n = self.len("a consumer group PEL size")?;
            for _ in 0..n {
                let at = self.inp.offset();
                let id = u128::from_be_bytes(self.inp.array::<16>("a PEL entry id")?);
                self.i64_le("a PEL delivery time")?;
                self.len("a PEL delivery count")?;
                if pel.insert(id, 0).is_some() {
                    return self.fail(at, "duplicate entry in a consumer group PEL");
                }
            }
            let consumers = self.len("a consumer count")?;
            consumer_names.clear();
            for c in 1..=consumers {
                let at = self.inp.offset();
                let mut fp = self.fpr.start();
                self.string(&mut fp, "a consumer name")?;
                if !consumer_names.insert(fp.finish()) {
                    return self.fail(at, "duplicate consumer name in a consumer group");
                }
                self.i64_le("a consumer seen time")?;
                if v >= 3 {
                    self.i64_le("a consumer active time")?;
                }
                let n = self.len("a consumer PEL size")?;
                for _ in 0..n {
                    let at = self.inp.offset();
                    let id = u128::from_be_bytes(self.inp.array::<16>("a consumer PEL entry id")?);
                    match pel.get_mut(&id) {
                        None => return self.fail(at, "consumer PEL entry is not in the group PEL"),
                        Some(owner) if *owner == c => {
                            return self.fail(at, "duplicate entry in a consumer PEL")
                        }
                        Some(owner) if *owner != 0 => {
                            return self.fail(at, "PEL entry is claimed by two consumers")
                        }
                        Some(owner) => *owner = c,
                    }
                }
            }
            if pel.values().any(|&o| o == 0) {
                return self.fail(at, "consumer group PEL has an entry that no consumer owns");
            }
        }
        if v >= 4 {
            self.len("the stream IDMP duration")?;
            self.len("the stream IDMP max entries")?;
            let producers = self.len("the stream IDMP producer count")?;
            for _ in 0..producers {
                self.string(&mut Discard, "an IDMP producer id")?;
                let n = self.len("an IDMP producer's id count")?;
                for _ in 0..n {
                    self.string(&mut Discard, "an IDMP idempotency id")?;
                    self.len("an IDMP entry id")?;
                    self.len("an IDMP entry id")?;
                }
            }
            self.len("the stream IDMP ids-added count")?;
            self.len("the stream IDMP duplicates count")?;
        }
        Ok(())
    }
}

/// A zset score entry in a listpack/ziplist: an integer, or a string holding a number (not NaN).
fn check_score(at: usize, e: Entry) -> Result<(), BlobErr> {
    match e {
        Entry::Int(_) => Ok(()),
        Entry::Str(s) => match std::str::from_utf8(s)
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
        {
            Some(v) if !v.is_nan() => Ok(()),
            Some(_) => Err(BlobErr::new(at, "sorted set score is NaN")),
            None => Err(BlobErr::new(
                at,
                format!("sorted set score {e} is not a number"),
            )),
        },
    }
}

/// The layout of a stream node listpack (`streamValidateListpackIntegrity`, deep).
fn stream_listpack(lp: &[u8]) -> Result<(), BlobErr> {
    let mut ents: Vec<(usize, Entry)> = Vec::new();
    blob::listpack(lp, |at, e| {
        ents.push((at, e));
        Ok(())
    })?;
    if ents.is_empty() {
        return Err(BlobErr::new(0, "empty listpack inside a stream"));
    }
    let mut i = 0usize;
    let end = lp.len().saturating_sub(1);
    let int = |i: &mut usize, what: &str| -> Result<i64, BlobErr> {
        let Some(&(at, e)) = ents.get(*i) else {
            return Err(BlobErr::new(
                end,
                format!("stream listpack ends where {what} is expected"),
            ));
        };
        *i += 1;
        e.as_int().ok_or_else(|| {
            BlobErr::new(at, format!("stream listpack {what} {e} is not an integer"))
        })
    };
    let count = int(&mut i, "entry count")?;
    let deleted = int(&mut i, "deleted count")?;
    let master_fields = int(&mut i, "master field count")?;
    if count < 0 || deleted < 0 || master_fields < 0 {
        return Err(BlobErr::new(
            ents[0].0,
            "stream listpack has a negative count",
        ));
    }
    let skip = |i: &mut usize, n: i64, what: &str| -> Result<(), BlobErr> {
        if n as u64 > (ents.len() - *i) as u64 {
            return Err(BlobErr::new(
                end,
                format!("stream listpack ends inside the {what}"),
            ));
        }
        *i += n as usize;
        Ok(())
    };
    skip(&mut i, master_fields, "master field names")?;
    let zat = ents.get(i).map_or(end, |e| e.0);
    if int(&mut i, "master entry terminator")? != 0 {
        return Err(BlobErr::new(
            zat,
            "stream master entry is not terminated by 0",
        ));
    }
    let total = count
        .checked_add(deleted)
        .ok_or_else(|| BlobErr::new(0, "stream listpack counts overflow"))?;
    for _ in 0..total {
        let flags = int(&mut i, "entry flags")?;
        int(&mut i, "entry id ms-delta")?;
        int(&mut i, "entry id seq-delta")?;
        let mut fields = master_fields;
        let mut extra = 3;
        if flags & 2 == 0 {
            fields = int(&mut i, "entry field count")?;
            if fields < 0 {
                return Err(BlobErr::new(
                    ents[i - 1].0,
                    "stream entry has a negative field count",
                ));
            }
            skip(&mut i, fields, "entry field names")?;
            extra += fields + 1;
        }
        skip(&mut i, fields, "entry values")?;
        let cat = ents.get(i).map_or(end, |e| e.0);
        let lp_count = int(&mut i, "entry lp-count")?;
        if lp_count != fields + extra {
            return Err(BlobErr::new(
                cat,
                format!(
                    "stream entry lp-count is {lp_count}, expected {}",
                    fields + extra
                ),
            ));
        }
    }
    if i != ents.len() {
        return Err(BlobErr::new(
            ents[i].0,
            format!(
                "{} unexpected element(s) after the last stream entry",
                ents.len() - i
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_chunking_independent() {
        let f = Fingerprinter {
            a: RandomState::new(),
            b: RandomState::new(),
        };
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let whole = f.of(&data);
        let mut p = f.start();
        for c in data.chunks(13) {
            p.feed(c);
        }
        assert_eq!(p.finish(), whole);
        assert_ne!(f.of(b"ab"), f.of(b"abc"));
    }
}
