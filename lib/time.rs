//! PLACEHOLDER until the `sig` branch lands (type-checking only).
#![allow(unused)]
use std::time::{Duration, SystemTime};
pub fn amz_date(t: SystemTime) -> String { unimplemented!() }
pub fn rfc3339(t: SystemTime) -> String { unimplemented!() }
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> { unimplemented!() }
pub fn parse_http_date(s: &str) -> Option<SystemTime> { unimplemented!() }
pub fn parse_duration(s: &str) -> Option<Duration> { unimplemented!() }
