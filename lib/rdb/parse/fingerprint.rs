//! 128-bit fingerprints of keys and members, for duplicate detection without holding names.

use crate::rdb::sink::Sink;
use std::collections::hash_map::{DefaultHasher, RandomState};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// Fingerprints are already uniformly distributed: hash sets use them as they are.
#[derive(Default)]
pub(super) struct IdHasher(u64);
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
/// A set of fingerprints (or of 128-bit stream ids).
pub(super) type FpSet = HashSet<u128, BuildHasherDefault<IdHasher>>;
/// A map keyed by fingerprints (or by 128-bit stream ids).
pub(super) type FpMap<V> = HashMap<u128, V, BuildHasherDefault<IdHasher>>;

/// 128-bit fingerprints from two independently keyed SipHash instances (keys random per
/// process, so crafted collisions cannot be planned).
pub(super) struct Fingerprinter {
    a: RandomState,
    b: RandomState,
}

/// One fingerprint being computed: feed it the bytes, then `finish`.
pub(super) struct Fp {
    a: DefaultHasher,
    b: DefaultHasher,
    len: u64,
}

impl Fingerprinter {
    pub(super) fn new() -> Self {
        Fingerprinter { a: RandomState::new(), b: RandomState::new() }
    }

    pub(super) fn start(&self) -> Fp {
        Fp { a: self.a.build_hasher(), b: self.b.build_hasher(), len: 0 }
    }
    #[cfg(test)]
    fn of(&self, bytes: &[u8]) -> u128 {
        let mut f = self.start();
        f.feed(bytes);
        f.finish()
    }
}

impl Fp {
    pub(super) fn finish(mut self) -> u128 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_chunking_independent() {
        let f = Fingerprinter::new();
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
