//! Listing filters shared by the listing binaries (s3ls, swift-ls): `--match`, `--exclude`,
//! `--older-than`, `--newer-than`, `--min-size`, `--max-size`.
//!
//! A [`Filter`] is built once from the flags (`FilterArgs::build`) against a fixed "now", then
//! applied to each entry while the listing streams, so memory does not grow with the listing.
//! Entries without a modification time never pass a time filter: a retention pipeline must not
//! delete what it cannot date.

use crate::error::{Error, Result};
use crate::time::{parse_duration, parse_rfc3339, rfc3339};
use crate::units::parse_size;
use clap::Args;
use regex::Regex;
use std::time::SystemTime;

/// The filter flags, flattened into a listing binary's clap struct.
#[derive(Args, Clone, Debug, Default)]
pub(crate) struct FilterArgs {
    /// Only keys matching this regular expression (Rust regex syntax, unanchored: use ^ and $; matched against the whole key, prefix included)
    #[arg(long = "match", value_name = "REGEX", help_heading = "Filters")]
    pub pattern: Option<String>,
    /// Leave out keys matching this regular expression (applied after --match)
    #[arg(long, value_name = "REGEX", help_heading = "Filters")]
    pub exclude: Option<String>,
    /// Only objects last modified before this: a duration ago (30d, 12h, 90m, 45s, 2w, 1d12h) or an RFC 3339 time (2026-11-01T00:00:00Z)
    #[arg(long, value_name = "AGE|TIME", help_heading = "Filters")]
    pub older_than: Option<String>,
    /// Only objects last modified at or after this (same forms as --older-than)
    #[arg(long, value_name = "AGE|TIME", help_heading = "Filters")]
    pub newer_than: Option<String>,
    /// Only objects of at least this size (e.g. 1, 10M, 1G; binary units)
    #[arg(long, value_name = "SIZE", help_heading = "Filters")]
    pub min_size: Option<String>,
    /// Only objects of at most this size
    #[arg(long, value_name = "SIZE", help_heading = "Filters")]
    pub max_size: Option<String>,
}

impl FilterArgs {
    /// Validates the flags (bad regex, duration, time or size is a usage error) and fixes the
    /// time cut-offs against `now`.
    pub fn build(&self, now: SystemTime) -> Result<Filter> {
        let regex = |flag: &str, v: &Option<String>| -> Result<Option<Regex>> {
            v.as_deref()
                .map(|p| {
                    Regex::new(p).map_err(|e| {
                        // regex's message spans several lines (it draws a caret); keep the last one.
                        let why = e.to_string();
                        let why = why.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("invalid").trim().to_string();
                        Error::usage(format!("--{flag} {p:?}: not a valid regular expression: {why}"))
                    })
                })
                .transpose()
        };
        let size = |flag: &str, v: &Option<String>| -> Result<Option<u64>> {
            v.as_deref().map(|s| parse_size(s).map_err(|e| Error::usage(format!("--{flag}: {e}")))).transpose()
        };
        let f = Filter {
            pattern: regex("match", &self.pattern)?,
            exclude: regex("exclude", &self.exclude)?,
            older_than: self.older_than.as_deref().map(|s| cutoff("older-than", s, now)).transpose()?,
            newer_than: self.newer_than.as_deref().map(|s| cutoff("newer-than", s, now)).transpose()?,
            min_size: size("min-size", &self.min_size)?,
            max_size: size("max-size", &self.max_size)?,
        };
        if let (Some(min), Some(max)) = (f.min_size, f.max_size) {
            if min > max {
                return Err(Error::usage(format!(
                    "--min-size {min} is larger than --max-size {max}: nothing could match"
                )));
            }
        }
        Ok(f)
    }
}

/// `30d` (that long before `now`) or an RFC 3339 time, as an absolute cut-off.
pub(crate) fn cutoff(flag: &str, s: &str, now: SystemTime) -> Result<SystemTime> {
    if let Some(d) = parse_duration(s) {
        return now
            .checked_sub(d)
            .ok_or_else(|| Error::usage(format!("--{flag} {s:?}: that is before the start of time")));
    }
    parse_rfc3339(s.trim()).ok_or_else(|| {
        Error::usage(format!(
            "--{flag} {s:?}: expected a duration (30d, 12h, 90m, 45s, 2w, 1d12h) or an RFC 3339 time (2026-11-01T00:00:00Z)"
        ))
    })
}

/// The compiled filters. The default value lets everything through.
#[derive(Clone, Debug, Default)]
pub(crate) struct Filter {
    pub pattern: Option<Regex>,
    pub exclude: Option<Regex>,
    /// Keep entries modified strictly before this.
    pub older_than: Option<SystemTime>,
    /// Keep entries modified at or after this.
    pub newer_than: Option<SystemTime>,
    pub min_size: Option<u64>,
    pub max_size: Option<u64>,
}

impl Filter {
    /// Whether an object passes every filter. `modified` None fails any time filter.
    pub fn matches(&self, key: &str, size: u64, modified: Option<SystemTime>) -> bool {
        if self.min_size.is_some_and(|m| size < m) || self.max_size.is_some_and(|m| size > m) {
            return false;
        }
        if self.older_than.is_some() || self.newer_than.is_some() {
            let Some(t) = modified else { return false };
            if self.older_than.is_some_and(|c| t >= c) || self.newer_than.is_some_and(|c| t < c) {
                return false;
            }
        }
        self.key_matches(key)
    }

    /// Whether a name passes `--match` and `--exclude` alone.
    pub(crate) fn key_matches(&self, key: &str) -> bool {
        self.pattern.as_ref().is_none_or(|r| r.is_match(key)) && !self.exclude.as_ref().is_some_and(|r| r.is_match(key))
    }

    /// Whether any filter needs a size or a time: entries that have neither (common prefixes,
    /// pseudo-directories) are then left out.
    pub(crate) fn needs_attributes(&self) -> bool {
        self.older_than.is_some() || self.newer_than.is_some() || self.min_size.is_some() || self.max_size.is_some()
    }

    /// Whether a common prefix (no size, no time) passes.
    pub(crate) fn prefix_matches(&self, prefix: &str) -> bool {
        !self.needs_attributes() && self.key_matches(prefix)
    }

    /// The filters in words, for -v output.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = &self.pattern {
            parts.push(format!("key matches {:?}", r.as_str()));
        }
        if let Some(r) = &self.exclude {
            parts.push(format!("key does not match {:?}", r.as_str()));
        }
        if let Some(t) = self.older_than {
            parts.push(format!("modified before {}", rfc3339(t)));
        }
        if let Some(t) = self.newer_than {
            parts.push(format!("modified at or after {}", rfc3339(t)));
        }
        if let Some(s) = self.min_size {
            parts.push(format!("size >= {s}"));
        }
        if let Some(s) = self.max_size {
            parts.push(format!("size <= {s}"));
        }
        if parts.is_empty() {
            "no filters".into()
        } else {
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use std::time::{Duration, UNIX_EPOCH};

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn args() -> FilterArgs {
        FilterArgs::default()
    }

    #[test]
    fn durations_and_times() {
        let f = FilterArgs { older_than: Some("30d".into()), ..args() }.build(now()).unwrap();
        assert_eq!(f.older_than, Some(now() - Duration::from_secs(30 * 86_400)));
        let f = FilterArgs { newer_than: Some("2026-11-01T00:00:00Z".into()), ..args() }.build(now()).unwrap();
        assert_eq!(f.newer_than, parse_rfc3339("2026-11-01T00:00:00Z"));
        for bad in ["30x", "", "1h30", "yesterday", "2026-13-01T00:00:00Z"] {
            let e = FilterArgs { older_than: Some(bad.into()), ..args() }.build(now()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage, "{bad}");
            assert!(e.message().starts_with("--older-than"), "{}", e.message());
        }
    }

    #[test]
    fn bad_regex_is_one_line_usage() {
        let e = FilterArgs { pattern: Some("a(b".into()), ..args() }.build(now()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(!e.message().contains('\n'), "{}", e.message());
        assert!(e.message().contains("--match"), "{}", e.message());
        let e = FilterArgs { exclude: Some("[".into()), ..args() }.build(now()).unwrap_err();
        assert!(e.message().starts_with("--exclude"), "{}", e.message());
    }

    #[test]
    fn exclude_applies_after_match() {
        let f =
            FilterArgs { pattern: Some("^[ab]/".into()), exclude: Some("2$".into()), ..args() }.build(now()).unwrap();
        assert!(f.matches("a/1", 0, None));
        assert!(!f.matches("a/2", 0, None));
        assert!(!f.matches("c/1", 0, None));
        assert!(f.prefix_matches("b/"));
    }

    #[test]
    fn sizes() {
        let f = FilterArgs { min_size: Some("1K".into()), max_size: Some("2K".into()), ..args() }.build(now()).unwrap();
        assert!(!f.matches("k", 1023, None));
        assert!(f.matches("k", 1024, None));
        assert!(f.matches("k", 2048, None));
        assert!(!f.matches("k", 2049, None));
        let e =
            FilterArgs { min_size: Some("2K".into()), max_size: Some("1K".into()), ..args() }.build(now()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        let e = FilterArgs { max_size: Some("lots".into()), ..args() }.build(now()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
    }

    #[test]
    fn times_and_regex() {
        let f = FilterArgs { older_than: Some("10s".into()), pattern: Some(r"^v/\d+\.rdb$".into()), ..args() }
            .build(now())
            .unwrap();
        let old = Some(now() - Duration::from_secs(11));
        let edge = Some(now() - Duration::from_secs(10));
        assert!(f.matches("v/1.rdb", 5, old));
        assert!(!f.matches("v/1.rdb", 5, edge), "the cut-off itself is not older");
        assert!(!f.matches("v/1.rdb", 5, None), "undated entries never pass a time filter");
        assert!(!f.matches("w/v/1.rdb", 5, old));
        assert!(!f.prefix_matches("v/"));
        let f = FilterArgs { newer_than: Some("10s".into()), ..args() }.build(now()).unwrap();
        assert!(f.matches("x", 0, edge));
        assert!(!f.matches("x", 0, old));
        assert!(Filter::default().matches("anything", 0, None));
        assert!(Filter::default().prefix_matches("p/"));
    }
}
