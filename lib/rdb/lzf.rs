//! Streaming LZF decoder (the format of liblzf's `lzf_decompress`, as used by RDB strings).
//!
//! Input arrives in arbitrary pieces; output is kept in a window of at least 8 KiB (the
//! largest back-reference distance) and handed to a [`Sink`] as the window fills, so a large
//! compressed string is never held in full. In `keep_all` mode the output is kept whole instead
//! (for embedded blobs, which must be validated in one piece anyway).

use super::sink::Sink;

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

/// What happens to the decoded bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Nobody needs them: only sizes and back-reference distances are tracked, which is all
    /// that decoding can check (no bytes are copied).
    Count,
    /// Handed to the sink through the window.
    Stream,
    /// Kept whole (embedded blobs).
    KeepAll,
}

pub(crate) struct Lzf {
    state: State,
    out: Vec<u8>,
    /// Total bytes produced so far.
    produced: u64,
    ulen: u64,
    mode: Mode,
    /// Compressed bytes consumed so far (for error positions).
    consumed: u64,
}

/// A decoding error: what went wrong and at which compressed byte (None: at the end of the
/// compressed data, found when it was finished).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LzfError {
    pub(crate) at: Option<u64>,
    pub(crate) msg: String,
}

#[cold]
fn overflow(at: u64, ulen: u64) -> LzfError {
    LzfError { at: Some(at), msg: format!("LZF data decompresses to more than the declared {ulen} bytes") }
}

#[cold]
fn backref_before_start(at: u64, off: usize, produced: u64) -> LzfError {
    LzfError {
        at: Some(at),
        msg: format!("LZF back-reference {off} bytes back, before the start of the output ({produced} bytes so far)"),
    }
}

#[cold]
fn cut_short(literal_missing: Option<usize>) -> LzfError {
    let what = match literal_missing {
        Some(n) => format!("a literal run is cut short ({n} byte(s) missing)"),
        None => "a back-reference is cut short".to_string(),
    };
    LzfError { at: None, msg: format!("LZF data ends in the middle of an instruction: {what}") }
}

#[cold]
fn wrong_length(produced: u64, ulen: u64) -> LzfError {
    LzfError { at: None, msg: format!("LZF data decompresses to {produced} bytes, but the header says {ulen}") }
}

/// Checks one whole compressed string held in memory without producing its output: exactly
/// what a `Count`-mode [`Lzf`] fed `inp` in one piece and then finished would report (the
/// tests compare the two), in a loop short enough for the millions of small compressed
/// values a snapshot can hold.
pub(crate) fn check(inp: &[u8], ulen: u64) -> Result<(), LzfError> {
    let len = inp.len();
    let mut produced = 0u64;
    let mut i = 0;
    while i < len {
        let c = inp[i] as usize;
        if c < 32 {
            let n = c + 1;
            let data = i + 1;
            let k = n.min(len - data);
            if produced + k as u64 > ulen {
                return Err(overflow(data as u64, ulen));
            }
            if k < n {
                return Err(cut_short(Some(n - k)));
            }
            produced += n as u64;
            i = data + n;
        } else {
            let mut l = c >> 5;
            let mut j = i + 1;
            if l == 7 {
                if j >= len {
                    return Err(cut_short(None));
                }
                l += inp[j] as usize;
                j += 1;
            }
            if j >= len {
                return Err(cut_short(None));
            }
            let off = ((c & 0x1f) << 8) + inp[j] as usize + 1;
            let n = (l + 2) as u64;
            if off as u64 > produced {
                return Err(backref_before_start(j as u64, off, produced));
            }
            if produced + n > ulen {
                return Err(overflow(j as u64, ulen));
            }
            produced += n;
            i = j + 1;
        }
    }
    if produced != ulen {
        return Err(wrong_length(produced, ulen));
    }
    Ok(())
}

impl Lzf {
    #[cfg(test)]
    fn new(ulen: u64, keep_all: bool) -> Self {
        let mode = if keep_all { Mode::KeepAll } else { Mode::Stream };
        Self::with_buffer(ulen, mode, Vec::new())
    }

    /// A decoder that reuses `buf` for its window (or its whole output in `KeepAll` mode).
    pub(crate) fn with_buffer(ulen: u64, mode: Mode, mut buf: Vec<u8>) -> Self {
        buf.clear();
        let want = match mode {
            Mode::Count => 0,
            Mode::Stream => (WINDOW + MAX_OFF + 512).min(ulen as usize + 1),
            Mode::KeepAll => ulen.min(64 << 20) as usize,
        };
        buf.reserve(want);
        Lzf { state: State::Ctrl, out: buf, produced: 0, ulen, mode, consumed: 0 }
    }

    fn overflow(&self, at: usize) -> LzfError {
        overflow(self.consumed + at as u64, self.ulen)
    }

    fn backref_err(&self, at: usize, off: usize) -> LzfError {
        backref_before_start(self.consumed + at as u64, off, self.produced)
    }

    /// Appends literal bytes.
    #[inline(always)]
    fn literal<S: Sink + ?Sized>(&mut self, bytes: &[u8], sink: &mut S) {
        self.produced += bytes.len() as u64;
        if self.mode != Mode::Count {
            self.room(bytes.len(), sink);
            self.out.extend_from_slice(bytes);
        }
    }

    /// Appends a back-reference (distance and size already checked).
    #[inline(always)]
    fn backref<S: Sink + ?Sized>(&mut self, off: usize, n: usize, sink: &mut S) {
        self.produced += n as u64;
        if self.mode == Mode::Count {
            return;
        }
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
    }

    /// Makes room for `n` more output bytes, handing old output to the sink.
    #[inline]
    fn room<S: Sink + ?Sized>(&mut self, n: usize, sink: &mut S) {
        if self.mode == Mode::Stream && self.out.len() + n > WINDOW + MAX_OFF {
            let cut = self.out.len() - MAX_OFF;
            sink.feed(&self.out[..cut]);
            self.out.drain(..cut);
        }
    }

    /// Decodes one piece of compressed input.
    pub(crate) fn feed<S: Sink + ?Sized>(&mut self, inp: &[u8], sink: &mut S) -> Result<(), LzfError> {
        let mut i = 0;
        let len = inp.len();
        while i < len {
            match self.state {
                State::Ctrl => {
                    // Fast path: whole instructions while they fit in this piece (errors are
                    // placed where the byte-wise path below places them).
                    while i < len {
                        let c = inp[i] as usize;
                        if c < 32 {
                            let n = c + 1;
                            if i + 1 + n > len {
                                break;
                            }
                            if self.produced + n as u64 > self.ulen {
                                return Err(self.overflow(i + 1));
                            }
                            self.literal(&inp[i + 1..i + 1 + n], sink);
                            i += 1 + n;
                        } else {
                            let mut l = c >> 5;
                            let mut j = i + 1;
                            if l == 7 {
                                if j >= len {
                                    break;
                                }
                                l += inp[j] as usize;
                                j += 1;
                            }
                            if j >= len {
                                break;
                            }
                            let off = ((c & 0x1f) << 8) + inp[j] as usize + 1;
                            let n = l + 2;
                            if off as u64 > self.produced {
                                return Err(self.backref_err(j, off));
                            }
                            if self.produced + n as u64 > self.ulen {
                                return Err(self.overflow(j));
                            }
                            self.backref(off, n, sink);
                            i = j + 1;
                        }
                    }
                    if i >= len {
                        break;
                    }
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
                    let k = n.min(len - i);
                    if self.produced + k as u64 > self.ulen {
                        return Err(self.overflow(i));
                    }
                    self.literal(&inp[i..i + k], sink);
                    i += k;
                    self.state = if n == k { State::Ctrl } else { State::Literal(n - k) };
                }
                State::Len(c) => {
                    let l = 7 + inp[i] as usize;
                    i += 1;
                    self.state = State::Off(l, ((c & 0x1f) as usize) << 8);
                }
                State::Off(l, hi) => {
                    let off = hi + inp[i] as usize + 1;
                    let n = l + 2;
                    if off as u64 > self.produced {
                        return Err(self.backref_err(i, off));
                    }
                    if self.produced + n as u64 > self.ulen {
                        return Err(self.overflow(i));
                    }
                    i += 1;
                    self.backref(off, n, sink);
                    self.state = State::Ctrl;
                }
            }
        }
        self.consumed += len as u64;
        Ok(())
    }

    /// Ends the stream: checks that it stopped between instructions and produced exactly `ulen`
    /// bytes. Hands the rest of the output to the sink (`Stream`), and returns the buffer: the
    /// whole output in `KeepAll` mode, else empty (for reuse).
    pub(crate) fn finish<S: Sink + ?Sized>(&mut self, sink: &mut S) -> Result<Vec<u8>, LzfError> {
        match self.state {
            State::Ctrl => {}
            State::Literal(n) => return Err(cut_short(Some(n))),
            _ => return Err(cut_short(None)),
        }
        if self.produced != self.ulen {
            return Err(wrong_length(self.produced, self.ulen));
        }
        if self.mode == Mode::Stream {
            sink.feed(&self.out);
            self.out.clear();
        }
        Ok(std::mem::take(&mut self.out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::sink::Discard;

    /// A tiny LZF compressor for tests: literals plus greedy back-references.
    fn compress(data: &[u8]) -> Vec<u8> {
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
        // the counting mode accepts and refuses exactly what decoding does
        let mut n = Lzf::with_buffer(ulen, Mode::Count, Vec::new());
        let counted =
            c.chunks(piece.max(1)).try_for_each(|p| n.feed(p, &mut Vec::new())).and_then(|_| n.finish(&mut Vec::new()));
        let mut d = Lzf::new(ulen, keep_all);
        let mut got = Vec::new();
        let res = c.chunks(piece.max(1)).try_for_each(|p| d.feed(p, &mut got));
        let tail = res.and_then(|_| d.finish(&mut got));
        assert_eq!(counted.is_ok(), tail.is_ok(), "count-only and decoding modes disagree");
        let tail = tail?;
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

    /// `check` says exactly what a counting decoder fed the same bytes in one piece says, on
    /// valid streams and on truncated, bit-flipped and mis-sized ones.
    #[test]
    fn one_piece_check_matches_the_decoder() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut cases = 0;
        for round in 0..400 {
            let len = 1 + (rnd() % 700) as usize;
            let data: Vec<u8> =
                (0..len).map(|i| if round % 3 == 0 { rnd() as u8 } else { b"abcab"[(i * 7 + round) % 5] }).collect();
            let c = compress(&data);
            let ulen = data.len() as u64;
            let mut variants = vec![(c.clone(), ulen), (c.clone(), ulen + 1), (c.clone(), ulen - 1)];
            for _ in 0..6 {
                let mut m = c.clone();
                let at = (rnd() % m.len() as u64) as usize;
                m[at] ^= 1 << (rnd() % 8);
                variants.push((m, ulen));
                let cut = (rnd() % c.len() as u64) as usize;
                variants.push((c[..cut].to_vec(), ulen));
            }
            for (input, ulen) in variants {
                let mut d = Lzf::with_buffer(ulen, Mode::Count, Vec::new());
                let want = d.feed(&input, &mut Discard).and_then(|_| d.finish(&mut Discard).map(|_| ()));
                assert_eq!(check(&input, ulen), want, "input {input:?}, ulen {ulen}");
                cases += 1;
            }
        }
        assert!(cases > 5000);
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
