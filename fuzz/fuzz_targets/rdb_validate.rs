//! Fuzzes the RDB validator: any input must give Ok or a Data error, never a panic or a hang,
//! and the pass-through output must be a prefix of the input (the whole input when valid).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::rdb::{validate, Options};
use std::io::Read;

/// Hands the input out in small, uneven reads, to exercise the window moves.
struct Dribble<'a>(&'a [u8], usize);
impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.1 = (self.1 * 7 + 3) % 61 + 1;
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    // Most mutations break the checksum first; the first byte also chooses whether to fix it
    // up so the parser behind it gets fuzzed too.
    let mut input = data.to_vec();
    let fix_crc = input.first().is_some_and(|b| b & 1 == 1);
    if fix_crc && input.len() > 18 {
        if let Some(eof) = input
            .iter()
            .rposition(|&b| b == 0xFF)
            .filter(|&p| p + 9 <= input.len() && p > 9)
        {
            let c = sluice::rdb::crc64::crc64(&input[..=eof]);
            input[eof + 1..eof + 9].copy_from_slice(&c.to_le_bytes());
        }
    }
    let opts = Options {
        check_duplicates: true,
        key_names: true,
        top: 3,
        ..Options::default()
    };
    let mut out = Vec::new();
    let res = validate(&mut Dribble(&input, 0), Some(&mut out), &opts);
    assert!(
        input.starts_with(&out),
        "output is not a prefix of the input"
    );
    match res {
        Ok(_) => assert_eq!(out, input, "a valid stream must pass through whole"),
        Err(e) => assert_eq!(e.kind(), sluice::ErrorKind::Data, "{e}"),
    }
    let mut src = &input[..];
    let _ = validate(&mut src, None, &Options::default());
});
