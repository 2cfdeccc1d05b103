//! Key records: the key name, then its value by type (collections member by member,
//! quicklists node by node), and the per-database counts and largest keys.

use super::fingerprint::Fp;
use super::{Parser, Pending, Record, EXPIRE_TIME_MAX, R};
use crate::rdb::blob::{self, BlobErr};
use crate::rdb::format::{self, Ty};
use crate::rdb::report::{printable, TopKey};
use crate::rdb::sink::{Discard, Keep, Sink};

/// Bytes of a key name kept for messages and reports.
const NAME_KEEP: usize = 200;

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

impl Parser<'_, '_> {
    pub(super) fn key(&mut self, ty: Ty, at: u64) -> R<()> {
        let start = self.pending.first_at.unwrap_or(at);
        self.key_index += 1;
        self.record = Record::Key { ty: ty.name() };
        self.key_name.clear();
        let kat = self.inp.offset();
        let fp = if self.keys_seen.is_none() && !self.opts.key_names {
            // the usual case: nobody needs the name's bytes
            self.string(&mut Discard, "the key name")?;
            None
        } else {
            let fp = self.keys_seen.as_ref().map(|_| {
                let mut f = self.fpr.start();
                f.feed(&self.db.to_le_bytes());
                f
            });
            let mut name = std::mem::take(&mut self.key_name);
            let mut ks = KeySink { fp, name: self.opts.key_names.then_some(&mut name) };
            self.string(&mut ks, "the key name")?;
            let fp = ks.fp.map(Fp::finish);
            self.key_name = name;
            fp
        };
        let nonempty = if ty == Ty::String {
            // the most common value, read here rather than through `value`'s dispatch
            self.string(&mut Discard, "a string value")?;
            true
        } else {
            self.value(ty)?
        };
        let end = self.inp.offset();
        if let (Some(seen), Some(fp)) = (self.keys_seen.as_mut(), fp) {
            if !seen.insert(fp) {
                return self.fail(kat, format!("duplicate key in db {} (a server panics loading it)", self.db));
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
                if key_names { format!(", key \"{}\"", printable(&self.key_name, 100)) } else { String::new() }
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
        let entry = TopKey { db: self.db, index: self.key_index, type_name: ty.name(), bytes, name };
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
                let n = self.collection_len("the set size")?;
                for _ in 0..n {
                    self.member("a set member", "set")?;
                }
                Ok(n > 0)
            }
            Ty::Zset | Ty::Zset2 => {
                let n = self.collection_len("the sorted set size")?;
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
                let n = self.collection_len("the hash size")?;
                for _ in 0..n {
                    self.field_value()?;
                }
                Ok(n > 0)
            }
            Ty::HashMetadataPreGa | Ty::HashMetadata => {
                let mut min = 0u64;
                if ty == Ty::HashMetadata {
                    let at = self.inp.offset();
                    min = self.i64_le("the hash minimum field expiry")? as u64;
                    if min > EXPIRE_TIME_MAX + 1 {
                        return self.fail(at, format!("hash minimum field expiry {min} is beyond 2^48 ms"));
                    }
                }
                let n = self.collection_len("the hash size")?;
                for _ in 0..n {
                    let at = self.inp.offset();
                    let ttl = self.len("a hash field TTL")?;
                    let expire_at =
                        if ty == Ty::HashMetadata && ttl != 0 { ttl.wrapping_add(min).wrapping_sub(1) } else { ttl };
                    if expire_at > EXPIRE_TIME_MAX
                        || (ty == Ty::HashMetadata && ttl != 0 && ttl.checked_add(min).is_none())
                    {
                        return self.fail(at, format!("hash field expiry {expire_at} is beyond 2^48-1 ms"));
                    }
                    self.field_value()?;
                }
                Ok(n > 0)
            }
            Ty::Hash2 => {
                let n = self.collection_len("the hash size")?;
                for _ in 0..n {
                    self.field_value()?;
                    let at = self.inp.offset();
                    let exp = self.i64_le("a hash field expiry")?;
                    // Valkey stores absolute unix-time milliseconds, -1 for none
                    if exp < -1 {
                        return self.fail(at, format!("hash field expiry {exp} is neither -1 (none) nor a time"));
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
                    return self.fail(at, format!("hash minimum field expiry {min} is beyond 2^48 ms"));
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
        let fp = self.string_fingerprint(what)?;
        if !self.members.insert(fp) {
            return self.fail(at, format!("duplicate {coll} member/field"));
        }
        Ok(())
    }

    /// The size of a collection whose members must be unique (the set of those seen starts
    /// empty).
    fn collection_len(&mut self, what: &str) -> R<u64> {
        self.members.clear();
        self.len(what)
    }

    /// One field of a hash and its value.
    fn field_value(&mut self) -> R<()> {
        self.member("a hash field", "hash")?;
        self.string(&mut Discard, "a hash value")?;
        Ok(())
    }

    /// Reads a string, keeping only its fingerprint.
    pub(super) fn string_fingerprint(&mut self, what: &str) -> R<u128> {
        let mut fp = self.fpr.start();
        self.string(&mut fp, what)?;
        Ok(fp.finish())
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
                let mut k = Keep::new(255);
                self.inp.stream(n as u64, &mut k, "a score")?;
                match std::str::from_utf8(&k.buf).ok().and_then(|s| s.trim().parse::<f64>().ok()) {
                    Some(v) => Ok(v),
                    None => self.fail(at, format!("score \"{}\" is not a number", printable(&k.buf, 40))),
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
                        return self
                            .fail(at, format!("quicklist node container {c} is neither 1 (plain) nor 2 (packed)"))
                    }
                }
            }
            let at = self.inp.offset();
            if !packed {
                // one plain element, possibly large: streamed, never held
                let len = self.string(&mut Discard, "a plain quicklist node")?;
                if len == 0 {
                    return self.fail(at, "quicklist node is empty (zero-length string)");
                }
                elements += 1;
                continue;
            }
            let what = if ty == Ty::ListQuicklist { "a quicklist ziplist node" } else { "a quicklist listpack node" };
            let v1 = ty == Ty::ListQuicklist;
            let r = self.with_blob(what, |b, _| {
                if b.is_empty() {
                    Err(BlobErr::new(0, "quicklist node is empty (zero-length string)"))
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
}
