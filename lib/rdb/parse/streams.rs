//! Stream values: node listpacks, consumer groups with their pending-entry lists, and the
//! idempotency (IDMP) tables of RDB 13.

use super::fingerprint::{FpMap, FpSet};
use super::{Parser, R};
use crate::rdb::blob::{self, BlobErr, Entry};
use crate::rdb::sink::{Discard, Keep};

impl Parser<'_, '_> {
    pub(super) fn stream(&mut self, v: u8) -> R<()> {
        let nodes = self.len("the stream node count")?;
        let mut node_keys = FpSet::default();
        for _ in 0..nodes {
            let at = self.inp.offset();
            let mut k = Keep::new(17);
            let len = self.string(&mut k, "a stream node master id")?;
            if len != 16 {
                return self.fail(at, format!("stream node key has {len} bytes; a stream id has 16"));
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
            return self.fail(lat, format!("stream length is {length} but it has no nodes"));
        }
        let groups = self.len("the consumer group count")?;
        let mut group_names = FpSet::default();
        let mut pel: FpMap<u64> = FpMap::default();
        let mut consumer_names = FpSet::default();
        for _ in 0..groups {
            let at = self.inp.offset();
            let fp = self.string_fingerprint("a consumer group name")?;
            if !group_names.insert(fp) {
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
                let fp = self.string_fingerprint("a consumer name")?;
                if !consumer_names.insert(fp) {
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
                        Some(owner) if *owner == c => return self.fail(at, "duplicate entry in a consumer PEL"),
                        Some(owner) if *owner != 0 => return self.fail(at, "PEL entry is claimed by two consumers"),
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
            return Err(BlobErr::new(end, format!("stream listpack ends where {what} is expected")));
        };
        *i += 1;
        e.as_int().ok_or_else(|| BlobErr::new(at, format!("stream listpack {what} {e} is not an integer")))
    };
    let count = int(&mut i, "entry count")?;
    let deleted = int(&mut i, "deleted count")?;
    let master_fields = int(&mut i, "master field count")?;
    if count < 0 || deleted < 0 || master_fields < 0 {
        return Err(BlobErr::new(ents[0].0, "stream listpack has a negative count"));
    }
    let skip = |i: &mut usize, n: i64, what: &str| -> Result<(), BlobErr> {
        if n as u64 > (ents.len() - *i) as u64 {
            return Err(BlobErr::new(end, format!("stream listpack ends inside the {what}")));
        }
        *i += n as usize;
        Ok(())
    };
    skip(&mut i, master_fields, "master field names")?;
    let zat = ents.get(i).map_or(end, |e| e.0);
    if int(&mut i, "master entry terminator")? != 0 {
        return Err(BlobErr::new(zat, "stream master entry is not terminated by 0"));
    }
    let total = count.checked_add(deleted).ok_or_else(|| BlobErr::new(0, "stream listpack counts overflow"))?;
    for _ in 0..total {
        let flags = int(&mut i, "entry flags")?;
        int(&mut i, "entry id ms-delta")?;
        int(&mut i, "entry id seq-delta")?;
        let mut fields = master_fields;
        let mut extra = 3;
        if flags & 2 == 0 {
            fields = int(&mut i, "entry field count")?;
            if fields < 0 {
                return Err(BlobErr::new(ents[i - 1].0, "stream entry has a negative field count"));
            }
            skip(&mut i, fields, "entry field names")?;
            extra += fields + 1;
        }
        skip(&mut i, fields, "entry values")?;
        let cat = ents.get(i).map_or(end, |e| e.0);
        let lp_count = int(&mut i, "entry lp-count")?;
        if lp_count != fields + extra {
            return Err(BlobErr::new(cat, format!("stream entry lp-count is {lp_count}, expected {}", fields + extra)));
        }
    }
    if i != ents.len() {
        return Err(BlobErr::new(
            ents[i].0,
            format!("{} unexpected element(s) after the last stream entry", ents.len() - i),
        ));
    }
    Ok(())
}
