//! The file's framing: the magic and version, the record loop, and the trailer (EOF opcode,
//! checksum, and what may follow it).

use super::{Parser, Record, R};
use crate::rdb::format::{self, classify, Magic, Op, Rec};
use crate::rdb::report::{printable, Checksum};

impl Parser<'_, '_> {
    pub(crate) fn run(&mut self) -> R<()> {
        self.header()?;
        // what each record type byte means in this file, looked up once per byte value
        let mut meaning = [None; 256];
        for (b, m) in meaning.iter_mut().enumerate() {
            *m = classify(self.magic, self.ver, b as u8).ok();
        }
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
            let Some(rec) = meaning[b as usize] else {
                let msg = classify(self.magic, self.ver, b).err().unwrap_or_default();
                return self.fail(at, format!("{msg} ({}{} file)", self.magic.as_str(), self.ver_str()));
            };
            match rec {
                Rec::Key(ty) => self.key(ty, at)?,
                Rec::Op(op) => {
                    let prefix = matches!(op, Op::ExpireTime | Op::ExpireTimeMs | Op::Idle | Op::Freq | Op::KeyMeta);
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
        let have = if self.inp.fill(9)? { 9 } else { self.inp.available() };
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
            return self.fail(0, format!("input is a server reply, not an RDB: {}", printable(&line, 200)));
        }
        if head[0] == b'$' {
            return self.fail(0, "input starts with a RESP bulk header ('$…'), not an RDB magic: the replication framing was not stripped");
        }
        if head.starts_with(&[0x1f, 0x8b]) {
            return self.fail(0, "input is gzip-compressed, not a plain RDB (decompress it first)");
        }
        if head.starts_with(b"VKCS") {
            return self.fail(0, "input is a Valkey compressed-stream envelope (VKCS, rdbcompression lz4), which rdbcheck does not support");
        }
        let (magic, plen) = if head.starts_with(b"REDIS") || (have < 5 && b"REDIS".starts_with(&head)) {
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
                format!("bad RDB magic \"{shown}\": the version is not {} decimal digits", 9 - plen),
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
            let stored = u64::from_le_bytes(self.inp.array::<8>("the CRC-64 checksum after the EOF opcode")?);
            if stored == 0 {
                if self.opts.require_checksum {
                    return self
                        .fail(at, "the checksum is 0 (written with rdbchecksum no) and --require-checksum is set");
                }
                self.report.checksum = Checksum::Disabled;
            } else if stored != crc {
                return self
                    .fail(at, format!("CRC-64 mismatch: the file says {stored:016x}, the data gives {crc:016x}"));
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
                let count =
                    if tail.len() > 40 { "more than 40 bytes".to_string() } else { format!("{} byte(s)", tail.len()) };
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
}
