//! CRC-64/REDIS ("Jones"): poly 0xad93d23594c935a9, reflected in and out, init 0, xorout 0.
//!
//! Two implementations: slicing-by-16 tables (portable, ~2 GB/s) and, on x86-64 CPUs with
//! PCLMULQDQ, carry-less-multiply folding (many GB/s). [`Crc64::update`] picks at run time;
//! the tests check both against the bitwise definition.

/// Reflected form of the polynomial.
const POLY: u64 = 0x95ac_9329_ac4b_c9b5;

const fn make_tables() -> [[u64; 256]; 16] {
    let mut t = [[0u64; 256]; 16];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut s = 1;
    while s < 16 {
        let mut i = 0;
        while i < 256 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        s += 1;
    }
    t
}

static TABLES: [[u64; 256]; 16] = make_tables();

/// Slicing-by-16 table implementation.
pub fn update_table(mut crc: u64, mut data: &[u8]) -> u64 {
    let t = &TABLES;
    while data.len() >= 16 {
        let a = u64::from_le_bytes(data[0..8].try_into().unwrap()) ^ crc;
        let b = u64::from_le_bytes(data[8..16].try_into().unwrap());
        crc = t[15][(a & 0xff) as usize]
            ^ t[14][((a >> 8) & 0xff) as usize]
            ^ t[13][((a >> 16) & 0xff) as usize]
            ^ t[12][((a >> 24) & 0xff) as usize]
            ^ t[11][((a >> 32) & 0xff) as usize]
            ^ t[10][((a >> 40) & 0xff) as usize]
            ^ t[9][((a >> 48) & 0xff) as usize]
            ^ t[8][(a >> 56) as usize]
            ^ t[7][(b & 0xff) as usize]
            ^ t[6][((b >> 8) & 0xff) as usize]
            ^ t[5][((b >> 16) & 0xff) as usize]
            ^ t[4][((b >> 24) & 0xff) as usize]
            ^ t[3][((b >> 32) & 0xff) as usize]
            ^ t[2][((b >> 40) & 0xff) as usize]
            ^ t[1][((b >> 48) & 0xff) as usize]
            ^ t[0][(b >> 56) as usize];
        data = &data[16..];
    }
    for &b in data {
        crc = t[0][((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// Bitwise reference (slow; for tests).
pub fn update_bitwise(mut crc: u64, data: &[u8]) -> u64 {
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
        }
    }
    crc
}

#[cfg(target_arch = "x86_64")]
mod clmul {
    //! Carry-less multiplication folding for a reflected 64-bit CRC (the method of Intel's
    //! "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ", reflected variant).
    use std::arch::x86_64::*;

    /// x^n mod P in the normal (non-reflected) bit order, P = x^64 + 0xad93d23594c935a9.
    const fn xpow_mod(n: u32) -> u64 {
        const P: u64 = 0xad93_d235_94c9_35a9;
        // start with x^0 = 1, multiply by x n times, reducing mod P
        let mut r: u64 = 1;
        let mut i = 0;
        while i < n {
            let carry = r >> 63;
            r <<= 1;
            if carry == 1 {
                r ^= P;
            }
            i += 1;
        }
        r
    }

    /// Constant for a reflected fold: reflect(x^n mod P) << 1 would be the 65-bit form; using
    /// the 64-bit reflected value of x^(n-1) mod P avoids the extra bit.
    const fn k(n: u32) -> u64 {
        xpow_mod(n - 1).reverse_bits()
    }

    // Fold 128 bits across 128 bits (one register): x^(128+64) and x^128.
    const K_128_HI: u64 = k(128 + 64);
    const K_128_LO: u64 = k(128);
    // Fold across 8 registers (1024 bits).
    const K_1024_HI: u64 = k(1024 + 64);
    const K_1024_LO: u64 = k(1024);

    #[target_feature(enable = "pclmulqdq,sse2,sse4.1")]
    unsafe fn fold(x: __m128i, k: __m128i) -> __m128i {
        // low half times k.lo, high half times k.hi
        let lo = _mm_clmulepi64_si128(x, k, 0x00);
        let hi = _mm_clmulepi64_si128(x, k, 0x11);
        _mm_xor_si128(lo, hi)
    }

    /// Processes a multiple of 16 bytes (at least 128) and returns the 128-bit remainder state
    /// reduced to a CRC by the table method over its 16 bytes.
    #[target_feature(enable = "pclmulqdq,sse2,sse4.1")]
    pub unsafe fn update(crc: u64, data: &[u8]) -> u64 {
        debug_assert!(data.len() >= 128 && data.len() % 16 == 0);
        // The low qword of a block holds the higher-degree half, which moves by D+64 bits.
        let k1024 = _mm_set_epi64x(K_1024_LO as i64, K_1024_HI as i64);
        let k128 = _mm_set_epi64x(K_128_LO as i64, K_128_HI as i64);
        let p = data.as_ptr() as *const __m128i;
        let mut x = [
            _mm_loadu_si128(p),
            _mm_loadu_si128(p.add(1)),
            _mm_loadu_si128(p.add(2)),
            _mm_loadu_si128(p.add(3)),
            _mm_loadu_si128(p.add(4)),
            _mm_loadu_si128(p.add(5)),
            _mm_loadu_si128(p.add(6)),
            _mm_loadu_si128(p.add(7)),
        ];
        x[0] = _mm_xor_si128(x[0], _mm_set_epi64x(0, crc as i64));
        let blocks = data.len() / 16;
        let mut i = 8;
        while i + 8 <= blocks {
            for (j, xj) in x.iter_mut().enumerate() {
                *xj = _mm_xor_si128(fold(*xj, k1024), _mm_loadu_si128(p.add(i + j)));
            }
            i += 8;
        }
        // fold the 8 registers into one
        let mut acc = x[0];
        for xj in &x[1..] {
            acc = _mm_xor_si128(fold(acc, k128), *xj);
        }
        // remaining whole blocks
        while i < blocks {
            acc = _mm_xor_si128(fold(acc, k128), _mm_loadu_si128(p.add(i)));
            i += 1;
        }
        // reduce the final 128 bits with the table method: the CRC of these 16 bytes from 0
        let mut bytes = [0u8; 16];
        _mm_storeu_si128(bytes.as_mut_ptr() as *mut __m128i, acc);
        super::update_table(0, &bytes)
    }
}

/// A running CRC-64 that uses the fastest method this CPU supports.
#[derive(Clone, Copy, Debug)]
pub struct Crc64 {
    crc: u64,
    clmul: bool,
}

impl Default for Crc64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc64 {
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        let clmul =
            std::is_x86_feature_detected!("pclmulqdq") && std::is_x86_feature_detected!("sse4.1");
        #[cfg(not(target_arch = "x86_64"))]
        let clmul = false;
        Crc64 { crc: 0, clmul }
    }

    /// A CRC that always uses the table method (for benchmarks and tests).
    pub fn new_table_only() -> Self {
        Crc64 {
            crc: 0,
            clmul: false,
        }
    }

    pub fn value(&self) -> u64 {
        self.crc
    }

    pub fn update(&mut self, data: &[u8]) {
        #[cfg(target_arch = "x86_64")]
        if self.clmul && data.len() >= 256 {
            let n = data.len() & !15;
            // SAFETY: the CPU features were detected at construction.
            self.crc = unsafe { clmul::update(self.crc, &data[..n]) };
            self.crc = update_table(self.crc, &data[n..]);
            return;
        }
        self.crc = update_table(self.crc, data);
    }
}

/// CRC-64/REDIS of `data` from 0.
pub fn crc64(data: &[u8]) -> u64 {
    let mut c = Crc64::new();
    c.update(data);
    c.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        assert_eq!(update_bitwise(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(update_table(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn all_methods_agree() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let data: Vec<u8> = (0..70_000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        for &len in &[
            0usize, 1, 15, 16, 17, 127, 128, 255, 256, 257, 1000, 4096, 65_536, 69_999,
        ] {
            for &start in &[0usize, 1, 7] {
                let d = &data[start..start + len.min(data.len() - start)];
                let want = update_bitwise(0x55, d);
                assert_eq!(update_table(0x55, d), want, "table len {len}");
                let mut c = Crc64::new();
                c.crc = 0x55;
                c.update(d);
                assert_eq!(c.value(), want, "fast len {len} start {start}");
                // split updates give the same result
                let mut c = Crc64::new();
                c.crc = 0x55;
                let (a, b) = d.split_at(d.len() / 3);
                c.update(a);
                c.update(b);
                assert_eq!(c.value(), want, "split len {len}");
            }
        }
    }
}

#[cfg(test)]
mod speed {
    /// `cargo test --release --lib crc_speed -- --ignored --nocapture` prints both methods' speed.
    #[test]
    #[ignore]
    fn crc_speed() {
        let data = vec![0x5au8; 64 << 20];
        for (name, mut c) in [
            ("table (slicing-by-16)", super::Crc64::new_table_only()),
            ("fastest available", super::Crc64::new()),
        ] {
            let t = std::time::Instant::now();
            for _ in 0..4 {
                c.update(&data);
            }
            let s = t.elapsed().as_secs_f64();
            println!(
                "crc64 {name}: {:.2} GB/s",
                4.0 * data.len() as f64 / s / 1e9
            );
        }
    }
}
