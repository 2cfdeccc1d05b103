//! The record parser: one pass over the stream, pulling bytes from the pass-through window.
//!
//! This file holds the parser's state and what it hands back (report, error context); the
//! format is read by the files beside it, one concern each: `primitives` (lengths, strings,
//! LZF strings, embedded blobs), `toplevel` (header, record loop, trailer), `opcodes`
//! (non-key records), `keys` (key records and their values), `encoded` (one-blob values),
//! `streams`, and `fingerprint` (duplicate detection).

mod encoded;
mod fingerprint;
mod keys;
mod opcodes;
mod primitives;
mod streams;
mod toplevel;

use super::format::{Magic, Ty};
use super::input::Input;
use super::output::Output;
use super::report::{printable, Report};
use super::{Fail, Options};
use encoded::Dedup;
use fingerprint::{Fingerprinter, FpSet};
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::Read;

/// Hash-field and stream expiry times must fit in 48 bits (`EB_EXPIRE_TIME_MAX`).
const EXPIRE_TIME_MAX: u64 = (1 << 48) - 1;

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

pub(crate) struct Parser<'a, 'b> {
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

impl<'a, 'b> Parser<'a, 'b> {
    pub(crate) fn new(opts: Options, src: &'a mut (dyn Read + 'a), out: Output<'b>) -> Self {
        Parser {
            inp: Input::new(src, out),
            magic: Magic::Redis,
            ver: 0,
            report: Report { record_offsets: opts.record_offsets.then(Vec::new), ..Report::default() },
            record: Record::Header,
            db: 0,
            db_seen: false,
            key_index: 0,
            key_name: Vec::new(),
            pending: Pending::default(),
            fpr: Fingerprinter::new(),
            keys_seen: if opts.check_duplicates { Some(FpSet::default()) } else { None },
            opts,
            members: FpSet::default(),
            blob_buf: Vec::new(),
            lzf_buf: Vec::new(),
            dedup: Dedup::new(RandomState::new().hash_one(0u64)),
            dbs: Vec::new(),
            cur: usize::MAX,
        }
    }

    pub(crate) fn into_report(mut self) -> Report {
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
    pub(crate) fn context(&self) -> String {
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
                format!(" (db {}, key #{} of the db, type {ty}{name})", self.db, self.key_index)
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
}
