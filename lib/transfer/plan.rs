//! The part plan: how big each part (S3 part, Swift segment) is, which bounds memory.

use crate::units::{GIB, MIB};

/// How big each part is. Parts grow in tiers so that an unknown-length stream fits the part
/// limit (S3: 10,000) while memory stays bounded by the current part size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PartPlan {
    pub initial: u64,
    /// Double the part size after this many parts (u32::MAX: never, i.e. uniform parts).
    pub grow_every: u32,
    pub max_part: u64,
    /// Most parts the destination accepts (u32::MAX: unlimited).
    pub max_parts: u32,
}

impl PartPlan {
    /// 16 MiB doubling every 1,000 parts, capped at 4 GiB: 9,000 parts already hold 7.98 TiB,
    /// more than S3's 5 TiB object limit, and small streams keep small buffers.
    pub(crate) fn growing_s3(initial: u64) -> PartPlan {
        PartPlan { initial, grow_every: 1000, max_part: 4 * GIB, max_parts: 10_000 }
    }
    pub(crate) fn uniform(size: u64, max_parts: u32) -> PartPlan {
        PartPlan { initial: size, grow_every: u32::MAX, max_part: size, max_parts }
    }
    /// Uniform parts just large enough for `expected` bytes in `max_parts`, at least `min`.
    pub(crate) fn for_expected(expected: u64, min: u64, max_parts: u32) -> PartPlan {
        let need = expected.div_ceil(max_parts as u64);
        let size = need.max(min).div_ceil(MIB) * MIB;
        Self::uniform(size, max_parts)
    }
    /// The plan for the `started` event: first part size, growth, limits, concurrency.
    pub(crate) fn describe(&self, jobs: u16) -> serde_json::Value {
        let unless_max = |n: u32| (n != u32::MAX).then_some(n);
        serde_json::json!({
            "part_size": self.initial,
            "grow_every": unless_max(self.grow_every),
            "max_part_size": self.max_part.max(self.initial),
            "max_parts": unless_max(self.max_parts),
            "jobs": jobs,
        })
    }

    pub(crate) fn size_of(&self, number: u32) -> u64 {
        let tier = (number.saturating_sub(1) / self.grow_every.max(1)).min(40);
        self.initial.saturating_mul(1u64 << tier).min(self.max_part.max(self.initial))
    }
    /// The plan as one line, `size=N` (uniform) or `size=N double-every=K max=M`, which s3put
    /// stores in a multipart object's metadata so that a restore knows where each part ends
    /// without asking the server (s3get: `s3::parts`). `max_parts` is left out: it does not
    /// change any part's size.
    pub(crate) fn to_meta(&self) -> String {
        if self.grow_every == u32::MAX || self.max_part <= self.initial {
            format!("size={}", self.initial)
        } else {
            format!("size={} double-every={} max={}", self.initial, self.grow_every, self.max_part)
        }
    }
    /// Reads [`PartPlan::to_meta`] back; None for anything else (another version's format).
    pub(crate) fn from_meta(s: &str) -> Option<PartPlan> {
        let (mut size, mut every, mut max) = (None, None, None);
        for field in s.split_ascii_whitespace() {
            let (k, v) = field.split_once('=')?;
            match k {
                "size" if size.is_none() => size = Some(v.parse::<u64>().ok()?),
                "double-every" if every.is_none() => every = Some(v.parse::<u32>().ok()?),
                "max" if max.is_none() => max = Some(v.parse::<u64>().ok()?),
                _ => return None,
            }
        }
        let initial = size.filter(|&s| s > 0)?;
        let plan = match (every, max) {
            (None, None) => PartPlan::uniform(initial, u32::MAX),
            (Some(e), Some(m)) if e > 0 && e < u32::MAX && m > initial => {
                PartPlan { initial, grow_every: e, max_part: m, max_parts: u32::MAX }
            }
            _ => return None,
        };
        Some(plan)
    }
    /// Bytes that fit in `max_parts` parts.
    pub(crate) fn capacity(&self) -> u64 {
        if self.max_parts == u32::MAX {
            return u64::MAX;
        }
        if self.grow_every == u32::MAX {
            return self.initial.saturating_mul(self.max_parts as u64);
        }
        (1..=self.max_parts).step_by(self.grow_every as usize).fold(0u64, |acc, n| {
            let in_tier = (self.max_parts - n + 1).min(self.grow_every) as u64;
            acc.saturating_add(self.size_of(n).saturating_mul(in_tier))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{GIB, MIB};

    #[test]
    fn growing_plan_reaches_5_tib_in_10000_parts() {
        let p = PartPlan::growing_s3(16 * MIB);
        assert_eq!(p.size_of(1), 16 * MIB);
        assert_eq!(p.size_of(1000), 16 * MIB);
        assert_eq!(p.size_of(1001), 32 * MIB);
        assert!(p.size_of(10_000) <= 5 * GIB);
        assert!(p.capacity() >= 5 * (1 << 40));
    }

    #[test]
    fn plan_metadata_round_trips() {
        for p in
            [PartPlan::growing_s3(16 * MIB), PartPlan::uniform(64 * MIB, 10_000), PartPlan::for_expected(GIB, MIB, 9)]
        {
            let back = PartPlan::from_meta(&p.to_meta()).unwrap();
            for n in [1, 2, 999, 1000, 1001, 5000, 9999, 10_000] {
                assert_eq!(back.size_of(n), p.size_of(n), "{p:?} part {n}");
            }
        }
        assert_eq!(PartPlan::growing_s3(16 * MIB).to_meta(), "size=16777216 double-every=1000 max=4294967296");
        for bad in
            ["", "size=0", "size=x", "size=5 max=9", "size=5 double-every=0 max=9", "size=5 size=6", "size=5 new=1"]
        {
            assert!(PartPlan::from_meta(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn expected_size_plan() {
        let p = PartPlan::for_expected(5 << 40, 16 * MIB, 10_000);
        assert!(p.capacity() >= 5 << 40);
        assert_eq!(PartPlan::for_expected(1 << 30, 16 * MIB, 10_000).initial, 16 * MIB);
    }
}
