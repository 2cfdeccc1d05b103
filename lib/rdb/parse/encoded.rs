//! Values held in one embedded blob (ziplist, listpack, intset, zipmap encodings): the
//! type-level rules on top of the blob's structure (pairs, unique members, scores, TTLs).

use super::{Parser, EXPIRE_TIME_MAX, R};
use crate::rdb::blob::{self, BlobErr, Entry};
use crate::rdb::format::Ty;
use std::collections::HashSet;

impl Parser<'_, '_> {
    /// Types whose value is one embedded blob.
    pub(super) fn encoded(&mut self, ty: Ty) -> R<bool> {
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
pub(super) struct Dedup {
    seed: u64,
    hashes: Vec<u64>,
    exact: Option<HashSet<Vec<u8>>>,
}

impl Dedup {
    pub(super) fn new(seed: u64) -> Self {
        Dedup { seed, hashes: Vec::new(), exact: None }
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
        Ty::ZsetZiplist | Ty::HashZiplist | Ty::HashListpack | Ty::ZsetListpack | Ty::SetListpack => {
            let tuple = if ty == Ty::SetListpack { 1 } else { 2 };
            let zset = matches!(ty, Ty::ZsetZiplist | Ty::ZsetListpack);
            let mut i = 0u64;
            let f = |at: usize, e: Entry| -> Result<(), BlobErr> {
                let r = if i.is_multiple_of(tuple) {
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
            if !(n as u64).is_multiple_of(tuple) {
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
                return Err(BlobErr::new(0, format!("{n} elements, not a whole number of field/value/TTL triples")));
            }
            Ok(n / 3)
        }
        _ => unreachable!("not a blob type"),
    }
}

/// A zset score entry in a listpack/ziplist: an integer, or a string holding a number (not NaN).
fn check_score(at: usize, e: Entry) -> Result<(), BlobErr> {
    match e {
        Entry::Int(_) => Ok(()),
        Entry::Str(s) => match std::str::from_utf8(s).ok().and_then(|t| t.parse::<f64>().ok()) {
            Some(v) if !v.is_nan() => Ok(()),
            Some(_) => Err(BlobErr::new(at, "sorted set score is NaN")),
            None => Err(BlobErr::new(at, format!("sorted set score {e} is not a number"))),
        },
    }
}
