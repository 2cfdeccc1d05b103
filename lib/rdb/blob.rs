//! Validators for the embedded blob formats: listpack, ziplist, intset and zipmap.
//!
//! Each walks a blob held in memory with the checks of the servers' deep sanitisation
//! (`lpValidateIntegrity`, `ziplistValidateIntegrity`, `intsetValidateIntegrity`,
//! `zipmapValidateIntegrity`), never indexing outside the blob, and hands each entry to a
//! callback for the type-level checks (pairs, duplicates, TTLs, stream layout).

use std::fmt;

/// A structural error inside a blob, at a byte offset within the (decoded) blob.
#[derive(Debug)]
pub(crate) struct BlobErr {
    pub(crate) at: usize,
    pub(crate) msg: String,
}

impl BlobErr {
    pub(crate) fn new(at: usize, msg: impl Into<String>) -> Self {
        BlobErr { at, msg: msg.into() }
    }
}

pub(crate) type BResult<T> = Result<T, BlobErr>;

/// One element of a listpack or ziplist.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Entry<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl<'a> Entry<'a> {
    /// The integer value, if the entry is an integer or a string holding a canonical one.
    pub(crate) fn as_int(&self) -> Option<i64> {
        match *self {
            Entry::Int(v) => Some(v),
            Entry::Str(s) => parse_i64(s),
        }
    }

    /// Calls `f` with the entry's bytes as the server sees them (integers in decimal).
    pub(crate) fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Entry::Str(s) => f(s),
            Entry::Int(v) => {
                let mut buf = [0u8; 24];
                let n = fmt_i64(v, &mut buf);
                f(&buf[..n])
            }
        }
    }
}

impl fmt::Display for Entry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Int(v) => write!(f, "{v}"),
            Entry::Str(s) => write!(f, "{:?}", String::from_utf8_lossy(&s[..s.len().min(40)])),
        }
    }
}

/// Writes `v` in decimal into `buf`, returning the length.
pub(crate) fn fmt_i64(v: i64, buf: &mut [u8; 24]) -> usize {
    let mut tmp = [0u8; 24];
    let mut n = 0;
    let neg = v < 0;
    let mut u = v.unsigned_abs();
    loop {
        tmp[n] = b'0' + (u % 10) as u8;
        n += 1;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    let mut len = 0;
    if neg {
        buf[0] = b'-';
        len = 1;
    }
    for i in (0..n).rev() {
        buf[len] = tmp[i];
        len += 1;
    }
    len
}

/// Parses a canonical decimal i64 (what `string2ll` accepts: no leading zeros or '+', no spaces).
pub(crate) fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v <= i64::MAX as u64 + 1 {
            Some((v as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(v).ok()
    }
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// The framing that listpacks and ziplists share: at least `min` bytes, a little-endian
/// 32-bit total size that matches the blob, and the `end` byte last.
fn check_frame(b: &[u8], name: &str, min: usize, end: u8) -> BResult<()> {
    let size = b.len();
    if size < min {
        return Err(BlobErr::new(0, format!("{name} of {size} bytes is shorter than its {min}-byte minimum")));
    }
    let total = le_u32(b, 0) as usize;
    if total != size {
        return Err(BlobErr::new(0, format!("{name} header says {total} bytes, but the blob has {size}")));
    }
    if b[size - 1] != end {
        return Err(BlobErr::new(size - 1, format!("{name} does not end with the 0x{end:02X} terminator")));
    }
    Ok(())
}

// ------------------------------------------------------------------------------------ listpack

const LP_HDR: usize = 6;
const LP_EOF: u8 = 0xFF;

/// Size in bytes of the backlen that encodes an entry of `l` bytes (`lpEncodeBacklen`).
fn lp_backlen_size(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2097151 {
        3
    } else if l < 268435455 {
        4
    } else {
        5
    }
}

/// Checks the backlen bytes `b` (left to right, as stored) against entry size `l`.
fn lp_backlen_ok(b: &[u8], l: usize) -> bool {
    let n = b.len();
    // read right to left: the last byte holds the low 7 bits
    let mut val: u64 = 0;
    for (k, &byte) in b.iter().rev().enumerate() {
        val |= ((byte & 127) as u64) << (7 * k);
        let more = byte & 128 != 0;
        let last = k == n - 1;
        if more == last {
            // a continuation bit must be set on all but the leftmost byte
            return false;
        }
    }
    val == l as u64
}

/// Walks a listpack (`lpValidateIntegrity` with deep checks), calling `f(offset, entry)` for
/// each element. Returns the number of elements.
pub(crate) fn listpack<'a>(lp: &'a [u8], mut f: impl FnMut(usize, Entry<'a>) -> BResult<()>) -> BResult<u32> {
    let size = lp.len();
    check_frame(lp, "listpack", LP_HDR + 1, LP_EOF)?;
    let numele = le_u16(lp, 4);
    let last = size - 1; // index of the terminator
    let mut p = LP_HDR;
    let mut count: u32 = 0;
    while p < last {
        let b = lp[p];
        let (hdr, data_len, entry): (usize, usize, Option<Entry<'a>>) = if b & 0x80 == 0 {
            (1, 0, Some(Entry::Int((b & 0x7f) as i64)))
        } else if b & 0xC0 == 0x80 {
            (1, (b & 0x3f) as usize, None)
        } else if b & 0xE0 == 0xC0 {
            if p + 2 > last {
                return Err(BlobErr::new(p, "listpack entry runs past the end"));
            }
            let v = (((b & 0x1f) as u16) << 8 | lp[p + 1] as u16) as i64;
            let v = if v >= 1 << 12 { v - (1 << 13) } else { v };
            (2, 0, Some(Entry::Int(v)))
        } else if b & 0xF0 == 0xE0 {
            if p + 2 > last {
                return Err(BlobErr::new(p, "listpack entry runs past the end"));
            }
            (2, (((b & 0x0f) as usize) << 8) | lp[p + 1] as usize, None)
        } else {
            let w = match b {
                0xF0 => 5,
                0xF1 => 3,
                0xF2 => 4,
                0xF3 => 5,
                0xF4 => 9,
                0xFF => return Err(BlobErr::new(p, "listpack terminator 0xFF before the end of the blob")),
                _ => return Err(BlobErr::new(p, format!("invalid listpack entry encoding byte 0x{b:02x}"))),
            };
            if p + w > last {
                return Err(BlobErr::new(p, "listpack entry runs past the end"));
            }
            let d = &lp[p + 1..p + w];
            match b {
                0xF0 => (5, le_u32(d, 0) as usize, None),
                0xF1 => (3, 0, Some(Entry::Int(i16::from_le_bytes([d[0], d[1]]) as i64))),
                0xF2 => {
                    let v = (d[0] as i32 | (d[1] as i32) << 8 | (d[2] as i32) << 16) << 8 >> 8;
                    (4, 0, Some(Entry::Int(v as i64)))
                }
                0xF3 => (5, 0, Some(Entry::Int(i32::from_le_bytes(d.try_into().unwrap()) as i64))),
                _ => (9, 0, Some(Entry::Int(i64::from_le_bytes(d.try_into().unwrap())))),
            }
        };
        let elen = hdr + data_len;
        let bl = lp_backlen_size(elen);
        let end = p.checked_add(elen + bl).filter(|&e| e <= last);
        let Some(end) = end else {
            return Err(BlobErr::new(p, "listpack entry runs past the end"));
        };
        if !lp_backlen_ok(&lp[p + elen..end], elen) {
            return Err(BlobErr::new(p + elen, "listpack entry back-length does not match the entry size"));
        }
        let e = entry.unwrap_or(Entry::Str(&lp[p + hdr..p + elen]));
        f(p, e)?;
        count += 1;
        p = end;
    }
    if numele != u16::MAX && numele as u32 != count {
        return Err(BlobErr::new(4, format!("listpack header counts {numele} elements, but it holds {count}")));
    }
    Ok(count)
}

// ------------------------------------------------------------------------------------- ziplist

const ZL_HDR: usize = 10;
const ZL_END: u8 = 0xFF;

/// Walks a ziplist (`ziplistValidateIntegrity` with deep checks), calling `f(offset, entry)`
/// for each element. Returns the number of elements.
pub(crate) fn ziplist<'a>(zl: &'a [u8], mut f: impl FnMut(usize, Entry<'a>) -> BResult<()>) -> BResult<u32> {
    let size = zl.len();
    check_frame(zl, "ziplist", ZL_HDR + 1, ZL_END)?;
    let tail = le_u32(zl, 4) as usize;
    if tail > size - 1 {
        return Err(BlobErr::new(4, format!("ziplist tail offset {tail} is outside the blob")));
    }
    let header_count = le_u16(zl, 8);
    let last = size - 1;
    let mut p = ZL_HDR;
    let mut prev: Option<usize> = None;
    let mut prev_raw = 0usize;
    let mut count: u32 = 0;
    while zl[p] != ZL_END {
        // prevlen
        let (pl_size, prevlen) = if zl[p] < 254 {
            (1, zl[p] as usize)
        } else {
            if p + 5 > last {
                return Err(BlobErr::new(p, "ziplist entry header runs past the end"));
            }
            (5, le_u32(zl, p + 1) as usize)
        };
        if prevlen != prev_raw {
            return Err(BlobErr::new(
                p,
                format!("ziplist entry says the previous entry has {prevlen} bytes, but it has {prev_raw}"),
            ));
        }
        let q = p + pl_size;
        if q >= last {
            return Err(BlobErr::new(p, "ziplist entry header runs past the end"));
        }
        let enc = zl[q];
        let (lensize, len, int_w): (usize, usize, usize) = if enc < 0xC0 {
            match enc >> 6 {
                0 => (1, (enc & 0x3f) as usize, 0),
                1 => {
                    if q + 2 > last {
                        return Err(BlobErr::new(q, "ziplist entry header runs past the end"));
                    }
                    (2, ((enc & 0x3f) as usize) << 8 | zl[q + 1] as usize, 0)
                }
                _ => {
                    if q + 5 > last {
                        return Err(BlobErr::new(q, "ziplist entry header runs past the end"));
                    }
                    (5, u32::from_be_bytes(zl[q + 1..q + 5].try_into().unwrap()) as usize, 0)
                }
            }
        } else {
            match enc {
                0xC0 => (1, 2, 2),
                0xD0 => (1, 4, 4),
                0xE0 => (1, 8, 8),
                0xF0 => (1, 3, 3),
                0xFE => (1, 1, 1),
                0xF1..=0xFD => (1, 0, 0),
                _ => return Err(BlobErr::new(q, format!("invalid ziplist entry encoding byte 0x{enc:02x}"))),
            }
        };
        let data = q + lensize;
        let Some(end) = data.checked_add(len).filter(|&e| e <= last) else {
            return Err(BlobErr::new(p, "ziplist entry runs past the end"));
        };
        let entry = if enc < 0xC0 {
            Entry::Str(&zl[data..end])
        } else {
            let d = &zl[data..end];
            let v = match int_w {
                0 => ((enc & 0x0f) as i64) - 1,
                1 => d[0] as i8 as i64,
                2 => i16::from_le_bytes([d[0], d[1]]) as i64,
                3 => ((d[0] as i32 | (d[1] as i32) << 8 | (d[2] as i32) << 16) << 8 >> 8) as i64,
                4 => i32::from_le_bytes(d.try_into().unwrap()) as i64,
                _ => i64::from_le_bytes(d.try_into().unwrap()),
            };
            Entry::Int(v)
        };
        f(p, entry)?;
        prev_raw = end - p;
        prev = Some(p);
        p = end;
        count += 1;
    }
    if p != last {
        return Err(BlobErr::new(p, "ziplist terminator 0xFF before the end of the blob"));
    }
    if let Some(prev) = prev {
        if prev != tail {
            return Err(BlobErr::new(
                4,
                format!("ziplist tail offset {tail} does not point at the last entry ({prev})"),
            ));
        }
    }
    if header_count != u16::MAX && header_count as u32 != count {
        return Err(BlobErr::new(8, format!("ziplist header counts {header_count} elements, but it holds {count}")));
    }
    Ok(count)
}

// -------------------------------------------------------------------------------------- intset

/// Validates an intset: encoding 2/4/8, exact size, non-empty, strictly ascending.
pub(crate) fn intset(b: &[u8]) -> BResult<u32> {
    if b.len() < 8 {
        return Err(BlobErr::new(0, format!("intset of {} bytes is shorter than its 8-byte header", b.len())));
    }
    let enc = le_u32(b, 0) as usize;
    if !matches!(enc, 2 | 4 | 8) {
        return Err(BlobErr::new(0, format!("intset encoding {enc} is not 2, 4 or 8")));
    }
    let count = le_u32(b, 4);
    if 8 + count as u64 * enc as u64 != b.len() as u64 {
        return Err(BlobErr::new(
            4,
            format!(
                "intset of {count} {enc}-byte integers needs {} bytes, but the blob has {}",
                8 + count as u64 * enc as u64,
                b.len()
            ),
        ));
    }
    if count == 0 {
        return Err(BlobErr::new(4, "intset is empty"));
    }
    let get = |i: usize| -> i64 {
        let at = 8 + i * enc;
        match enc {
            2 => i16::from_le_bytes([b[at], b[at + 1]]) as i64,
            4 => i32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as i64,
            _ => i64::from_le_bytes(b[at..at + 8].try_into().unwrap()),
        }
    };
    let mut prev = get(0);
    for i in 1..count as usize {
        let cur = get(i);
        if cur <= prev {
            return Err(BlobErr::new(8 + i * enc, format!("intset is not strictly ascending ({cur} after {prev})")));
        }
        prev = cur;
    }
    Ok(count)
}

// -------------------------------------------------------------------------------------- zipmap

/// Walks a zipmap (Redis ≤ 2.4 small hashes), calling `f(offset, field, value)` per pair.
pub(crate) fn zipmap<'a>(zm: &'a [u8], mut f: impl FnMut(usize, &'a [u8], &'a [u8]) -> BResult<()>) -> BResult<u32> {
    let size = zm.len();
    if size < 2 {
        return Err(BlobErr::new(0, "zipmap is shorter than 2 bytes"));
    }
    if zm[size - 1] != 0xFF {
        return Err(BlobErr::new(size - 1, "zipmap does not end with the 0xFF terminator"));
    }
    let last = size - 1;
    let len_at = |p: usize| -> BResult<(usize, usize)> {
        if p >= last {
            return Err(BlobErr::new(p, "zipmap entry runs past the end"));
        }
        if zm[p] < 254 {
            Ok((1, zm[p] as usize))
        } else if p + 5 <= last {
            Ok((5, le_u32(zm, p + 1) as usize))
        } else {
            Err(BlobErr::new(p, "zipmap length runs past the end"))
        }
    };
    let mut p = 1;
    let mut count = 0u32;
    while zm[p] != 0xFF {
        let start = p;
        let (s, l) = len_at(p)?;
        let key = p + s;
        let Some(kend) = key.checked_add(l).filter(|&e| e < last) else {
            return Err(BlobErr::new(p, "zipmap field runs past the end"));
        };
        let (s, l) = len_at(kend)?;
        let free_at = kend + s;
        if free_at >= last {
            return Err(BlobErr::new(kend, "zipmap value runs past the end"));
        }
        let free = zm[free_at] as usize;
        let val = free_at + 1;
        let Some(vend) = val.checked_add(l).filter(|&e| e + free <= last) else {
            return Err(BlobErr::new(kend, "zipmap value runs past the end"));
        };
        f(start, &zm[key..kend], &zm[val..vend])?;
        p = vend + free;
        count += 1;
    }
    if p != last {
        return Err(BlobErr::new(p, "zipmap terminator 0xFF before the end of the blob"));
    }
    if count == 0 {
        return Err(BlobErr::new(0, "zipmap is empty"));
    }
    if zm[0] != 254 && zm[0] as u32 != count {
        return Err(BlobErr::new(0, format!("zipmap header counts {} pairs, but it holds {count}", zm[0])));
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lp_entry_str(s: &[u8]) -> Vec<u8> {
        let mut e = vec![0x80 | s.len() as u8];
        e.extend_from_slice(s);
        let l = e.len();
        e.push(l as u8);
        e
    }

    fn make_lp(entries: &[Vec<u8>], count: u16) -> Vec<u8> {
        let body: Vec<u8> = entries.concat();
        let total = 6 + body.len() + 1;
        let mut v = (total as u32).to_le_bytes().to_vec();
        v.extend_from_slice(&count.to_le_bytes());
        v.extend_from_slice(&body);
        v.push(0xFF);
        v
    }

    #[test]
    fn listpack_basic() {
        let lp = make_lp(&[lp_entry_str(b"ab"), vec![5, 1], vec![0xF1, 0xFE, 0xFF, 3]], 3);
        let mut got = Vec::new();
        let n = listpack(&lp, |_, e| {
            got.push(format!("{e}"));
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 3);
        assert_eq!(got, vec!["\"ab\"", "5", "-2"]);
        // wrong count
        let lp2 = make_lp(&[lp_entry_str(b"ab")], 2);
        assert!(listpack(&lp2, |_, _| Ok(())).is_err());
        // wrong backlen
        let lp3 = make_lp(&[vec![5, 2]], 1);
        assert!(listpack(&lp3, |_, _| Ok(())).is_err());
        // unknown count is fine
        let lp4 = make_lp(&[vec![5, 1]], u16::MAX);
        assert_eq!(listpack(&lp4, |_, _| Ok(())).unwrap(), 1);
    }

    #[test]
    fn backlen_encoding() {
        assert!(lp_backlen_ok(&[100], 100));
        assert!(lp_backlen_ok(&[1, 0x80 | 72], 200)); // 200 = 1<<7 | 72
        assert!(!lp_backlen_ok(&[0x81, 72], 200));
        assert_eq!(lp_backlen_size(16382), 2);
        assert_eq!(lp_backlen_size(16383), 3);
    }

    #[test]
    fn ints() {
        let mut b = [0u8; 24];
        for v in [0i64, 1, -1, 42, i64::MIN, i64::MAX, 1000000] {
            let n = fmt_i64(v, &mut b);
            assert_eq!(&b[..n], v.to_string().as_bytes());
            assert_eq!(parse_i64(&b[..n]), Some(v));
        }
        for s in ["", "-", "007", "+1", "-0", " 1", "1a", "99999999999999999999"] {
            assert_eq!(parse_i64(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn intset_checks() {
        let mut b = vec![2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0];
        assert_eq!(intset(&b).unwrap(), 2);
        b[8] = 3;
        assert!(intset(&b).is_err());
        assert!(intset(&[2, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(intset(&[3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]).is_err());
    }
}
