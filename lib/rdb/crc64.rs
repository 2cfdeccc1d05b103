//! CRC-64/REDIS ("Jones"): poly 0xad93d23594c935a9, reflected in and out, init 0, xorout 0.
//!
//! The `crc-fast` crate computes it: carry-less-multiply folding chosen at run time
//! (VPCLMULQDQ with AVX-512, PCLMULQDQ, or ARMv8 PMULL), tables where the CPU has none.
//! On this project's bench machine it is about twice as fast as the hand-written PCLMULQDQ
//! folding it replaced (bench/NOTES.md). The tests check it against the bitwise definition.

use crc_fast::{CrcAlgorithm, Digest};

/// A running CRC-64/REDIS.
#[derive(Clone, Copy)]
pub(crate) struct Crc64(Digest);

impl Crc64 {
    pub(crate) fn new() -> Self {
        Crc64(Digest::new(CrcAlgorithm::Crc64Redis))
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub(crate) fn value(&self) -> u64 {
        self.0.finalize()
    }
}

/// CRC-64/REDIS of `data` (what an RDB's trailer holds for the bytes before it).
pub fn crc64(data: &[u8]) -> u64 {
    let mut c = Crc64::new();
    c.update(data);
    c.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, bit by bit (reflected polynomial, init 0, no final xor).
    fn bitwise(data: &[u8]) -> u64 {
        const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;
        let mut crc = 0u64;
        for &b in data {
            crc ^= b as u64;
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
            }
        }
        crc
    }

    #[test]
    fn check_value() {
        assert_eq!(bitwise(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn agrees_with_the_definition_at_every_length_and_split() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let data: Vec<u8> = (0..70_000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        for &len in &[0usize, 1, 15, 16, 17, 63, 64, 127, 128, 255, 256, 257, 1000, 4096, 65_536, 69_999] {
            for &start in &[0usize, 1, 7] {
                let d = &data[start..start + len.min(data.len() - start)];
                let want = bitwise(d);
                assert_eq!(crc64(d), want, "len {len} start {start}");
                for cut in [1, d.len() / 3, d.len().saturating_sub(1)] {
                    let (a, b) = d.split_at(cut.min(d.len()));
                    let mut c = Crc64::new();
                    c.update(a);
                    c.update(b);
                    assert_eq!(c.value(), want, "len {len} split at {cut}");
                }
            }
        }
    }
}

#[cfg(test)]
mod speed {
    /// `cargo test --release --lib crc_speed -- --ignored --nocapture` prints the speed on 1 GiB
    /// hashed in 256 KiB pieces (rdbcheck's block size), once from memory and once cache-hot.
    #[test]
    #[ignore]
    fn crc_speed() {
        let big = vec![0x5au8; 1 << 30];
        let hot = vec![0x5au8; 256 << 10];
        for (name, pieces) in [
            ("1 GiB buffer", big.chunks(256 << 10).collect::<Vec<_>>()),
            ("256 KiB buffer x 4096", vec![&hot[..]; 4096]),
        ] {
            let mut best = f64::MAX;
            for _ in 0..5 {
                let mut c = super::Crc64::new();
                let t = std::time::Instant::now();
                for p in &pieces {
                    c.update(p);
                }
                std::hint::black_box(c.value());
                best = best.min(t.elapsed().as_secs_f64());
            }
            println!("crc64 {name}: {:.2} GB/s", (1u64 << 30) as f64 / best / 1e9);
        }
    }
}
