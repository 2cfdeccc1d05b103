//! Streaming LZF decoder (the format of liblzf's `lzf_decompress`, as used by RDB strings).
//!
//! Input arrives in arbitrary pieces; output is kept in a window of at least 8 KiB (the
//! largest back-reference distance) and handed to a [`Sink`] as the window fills, so a large
//! compressed string is never held in full. In `keep_all` mode the output is kept whole instead
//! (for embedded blobs, which must be validated in one piece anyway).

use super::input::Sink;

/// Largest back-reference distance in LZF.
const MAX_OFF: usize = 1 << 13;
/// Output is handed on in pieces of about this size.
const WINDOW: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Expecting a control byte.
    Ctrl,
    /// Copying this many more literal bytes.
    Literal(usize),
    /// Back-reference with length 7: expecting the extra length byte.
    Len(u8),
    /// Expecting the low offset byte; carries the length and the high offset bits.
    Off(usize, usize),
}

pub struct Lzf {
    state: State,
    out: Vec<u8>,
    /// Bytes already handed to the sink (and dropped from `out`).
    emitted: u64,
    ulen: u64,
    keep_all: bool,
    /// Compressed bytes consumed so far (for error positions).
    consumed: u64,
}

/// A decoding error: what went wrong and at which compressed byte.
#[derive(Debug)]
pub struct LzfError {
    pub at: u64,
    pub msg: String,
}

impl Lzf {
    pub fn new(ulen: u64, keep_all: bool) -> Self {
        let cap = if keep_all { ulen.min(64 << 20) as usize } else { (WINDOW + MAX_OFF + 512).min(ulen as usize + 1) };
        Lzf { state: State::Ctrl, out: Vec::with_capacity(cap), emitted: 0, ulen, keep_all, consumed: 0 }
    }

    fn produced(&self) -> u64 {
        self.emitted + self.out.len() as u64
    }

    fn err(&self, at: usize, msg: String) -> LzfError {
        LzfError { at: self.consumed + at as u64, msg }
    }

    /// Makes room for `n` more output bytes, handing old output to the sink.
    #[inline]
    fn room<S: Sink + ?Sized>(&mut self, n: usize, sink: &mut S) {
        if !self.keep_all && self.out.len() + n > WINDOW + MAX_OFF {
            let cut = self.out.len() - MAX_OFF;
            sink.feed(&self.out[..cut]);
            self.out.drain(..cut);
            self.emitted += cut as u64;
        }
    }

    fn check_room(&self, at: usize, n: usize) -> Result<(), LzfError> {
        if self.produced() + n as u64 > self.ulen {
            return Err(self.err(
                at,
                format!("LZF data decompresses to more than the declared {} bytes", self.ulen),
            ));
        }
        Ok(())
    }

    /// Decodes one piece of compressed input.
    pub fn feed<S: Sink + ?Sized>(&mut self, inp: &[u8], sink: &mut S) -> Result<(), LzfError> {
        let mut i = 0;
        while i < inp.len() {
            match self.state {
                State::Ctrl => {
                    let c = inp[i];
                    i += 1;
                    if c < 32 {
                        self.state = State::Literal(c as usize + 1);
                    } else if c >> 5 == 7 {
                        self.state = State::Len(c);
                    } else {
                        self.state = State::Off((c >> 5) as usize, ((c & 0x1f) as usize) << 8);
                    }
                }
                State::Literal(n) => {
                    let k = n.min(inp.len() - i);
                    self.check_room(i, k)?;
                    self.room(k, sink);
                    self.out.extend_from_slice(&inp[i..i + k]);
                    i += k;
                    self.state = if n == k { State::Ctrl } else { State::Literal(n - k) };
                }
                State::Len(c) => {
                    let len = 7 + inp[i] as usize;
                    i += 1;
                    self.state = State::Off(len, ((c & 0x1f) as usize) << 8);
                }
                State::Off(len, hi) => {
                    let off = hi + inp[i] as usize + 1;
                    i += 1;
                    let n = len + 2;
                    if off as u64 > self.produced() {
                        return Err(self.err(
                            i - 1,
                            format!(
                                "LZF back-reference {off} bytes back, before the start of the output ({} bytes so far)",
                                self.produced()
                            ),
                        ));
                    }
                    self.check_room(i - 1, n)?;
                    self.room(n, sink);
                    let start = self.out.len() - off;
                    if off >= n {
                        self.out.extend_from_within(start..start + n);
                    } else {
                        for j in 0..n {
                            let b = self.out[start + j];
                            self.out.push(b);
                        }
                    }
                    self.state = State::Ctrl;
                }
            }
        }
        self.consumed += inp.len() as u64;
        Ok(())
    }

    /// Ends the stream: checks that it stopped between instructions and produced exactly `ulen`
    /// bytes. Returns the kept output (all of it in `keep_all` mode, else the unsent tail, which
    /// is handed to the sink first).
    pub fn finish<S: Sink + ?Sized>(mut self, sink: &mut S) -> Result<Vec<u8>, LzfError> {
        if self.state != State::Ctrl {
            let what = match self.state {
                State::Literal(n) => format!("a literal run is cut short ({n} byte(s) missing)"),
                _ => "a back-reference is cut short".to_string(),
            };
            return Err(self.err(0, format!("LZF data ends in the middle of an instruction: {what}")));
        }
        if self.produced() != self.ulen {
            return Err(self.err(
                0,
                format!("LZF data decompresses to {} bytes, but the header says {}", self.produced(), self.ulen),
            ));
        }
        if !self.keep_all {
            sink.feed(&self.out);
            self.out.clear();
        }
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny LZF compressor for tests: literals plus greedy back-references.
    pub fn compress(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut lit: Vec<u8> = Vec::new();
        let flush_lit = |out: &mut Vec<u8>, lit: &mut Vec<u8>| {
            for chunk in lit.chunks(32) {
                out.push(chunk.len() as u8 - 1);
                out.extend_from_slice(chunk);
            }
            lit.clear();
        };
        let mut i = 0;
        while i < data.len() {
            let mut best = (0, 0);
            let lo = i.saturating_sub(MAX_OFF);
            for s in lo..i {
                let mut l = 0;
                while i + l < data.len() && l < 264 && data[s + l] == data[i + l] {
                    l += 1;
                }
                if l > best.0 {
                    best = (l, i - s);
                }
            }
            if best.0 >= 3 {
                flush_lit(&mut out, &mut lit);
                let (l, off) = (best.0 - 2, best.1 - 1);
                if l < 7 {
                    out.push(((l as u8) << 5) | (off >> 8) as u8);
                } else {
                    out.push((7 << 5) | (off >> 8) as u8);
                    out.push((l - 7) as u8);
                }
                out.push(off as u8);
                i += best.0;
            } else {
                lit.push(data[i]);
                i += 1;
            }
        }
        flush_lit(&mut out, &mut lit);
        out
    }

    fn decode_in_pieces(c: &[u8], ulen: u64, piece: usize, keep_all: bool) -> Result<Vec<u8>, LzfError> {
        let mut d = Lzf::new(ulen, keep_all);
        let mut got = Vec::new();
        for p in c.chunks(piece.max(1)) {
            d.feed(p, &mut got)?;
        }
        let tail = d.finish(&mut got)?;
        if keep_all {
            Ok(tail)
        } else {
            Ok(got)
        }
    }

    #[test]
    fn round_trip_streaming() {
        let mut data = Vec::new();
        for i in 0..30_000u32 {
            data.extend_from_slice(format!("line {} {}\n", i % 97, i % 13).as_bytes());
        }
        data.truncate(100_000);
        let c = compress(&data);
        assert!(c.len() < data.len() / 2);
        for &piece in &[1usize, 7, 4096, 1 << 20] {
            for &keep in &[false, true] {
                assert_eq!(decode_in_pieces(&c, data.len() as u64, piece, keep).unwrap(), data);
            }
        }
    }

    #[test]
    fn errors() {
        // declared length too large / too small
        let c = compress(b"hello hello hello hello");
        assert!(decode_in_pieces(&c, 100, 3, false).is_err());
        assert!(decode_in_pieces(&c, 5, 3, false).is_err());
        // back-reference before the start
        assert!(decode_in_pieces(&[0x20, 0x05], 3, 1, false).is_err());
        // truncated literal
        assert!(decode_in_pieces(&[0x05, b'a'], 6, 1, false).is_err());
    }
}
