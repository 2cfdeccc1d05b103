//! UTC calendar arithmetic without a date crate.
//!
//! All we need is the proleptic Gregorian calendar in UTC: SigV4's `20150830T123600Z`, S3's
//! RFC 3339 timestamps, `Last-Modified` HTTP dates and human durations for `--older-than`.
//! The day conversions are Howard Hinnant's `days_from_civil`/`civil_from_days`
//! (<https://howardhinnant.github.io/date_algorithms.html>), exact for every i64 day count we
//! can meet.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 for a civil date (month 1..=12, day 1..=31).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400; // [0, 399]
    let mp = (i64::from(m) + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Seconds since the epoch, negative before 1970 (a clock that far off is still formattable).
fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        // Round towards the past so a pre-epoch instant keeps its whole second.
        Err(e) => {
            let d = e.duration();
            let s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 {
                -s - 1
            } else {
                -s
            }
        }
    }
}

fn from_unix_secs(secs: i64, nanos: u32) -> Option<SystemTime> {
    let t = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs as u64))?
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))?
    };
    t.checked_add(Duration::from_nanos(u64::from(nanos)))
}

struct Civil {
    y: i64,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
}

fn civil(t: SystemTime) -> Civil {
    let secs = unix_secs(t);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    let (y, mo, d) = civil_from_days(days);
    Civil { y, mo, d, h: rem / 3600, mi: rem / 60 % 60, s: rem % 60 }
}

/// SigV4's `X-Amz-Date` form: `20150830T123600Z`.
pub fn amz_date(t: SystemTime) -> String {
    let c = civil(t);
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}Z", c.y, c.mo, c.d, c.h, c.mi, c.s)
}

/// RFC 3339 in UTC, whole seconds: `2026-11-21T03:00:00Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let c = civil(t);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.y, c.mo, c.d, c.h, c.mi, c.s)
}

/// RFC 3339 in UTC to the millisecond, for log lines: `2026-11-21T03:00:00.123Z`.
pub fn rfc3339_millis(t: SystemTime) -> String {
    let c = civil(t);
    let ms = t.duration_since(UNIX_EPOCH).map(|d| d.subsec_millis()).unwrap_or(0);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{ms:03}Z", c.y, c.mo, c.d, c.h, c.mi, c.s)
}

/// IMF-fixdate, the HTTP date form: `Wed, 21 Oct 2015 07:28:00 GMT`.
pub fn http_date(t: SystemTime) -> String {
    let c = civil(t);
    let wd = WEEKDAYS[(unix_secs(t).div_euclid(86_400) + 3).rem_euclid(7) as usize]; // 1970-01-01 was a Thursday
    let mon = MONTHS[(c.mo - 1) as usize];
    format!("{wd}, {:02} {mon} {:04} {:02}:{:02}:{:02} GMT", c.d, c.y, c.h, c.mi, c.s)
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Exactly `n` ASCII digits.
fn digits(s: &str, n: usize) -> Option<u32> {
    if s.len() != n || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `A<sep>B<sep>C`, each exactly as many digits as `widths` says: a date or a clock.
fn fields(s: &str, sep: char, widths: [usize; 3]) -> Option<[u32; 3]> {
    let mut it = s.split(sep);
    let out = [digits(it.next()?, widths[0])?, digits(it.next()?, widths[1])?, digits(it.next()?, widths[2])?];
    it.next().is_none().then_some(out)
}

#[allow(clippy::too_many_arguments)] // the fields of a timestamp, in order
fn build(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32, nanos: u32, offset_secs: i64) -> Option<SystemTime> {
    // A leap second (":60") is accepted and folded into the next second, as most parsers do.
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + i64::from(h * 3600 + mi * 60 + s) - offset_secs;
    from_unix_secs(secs, nanos)
}

/// Parses RFC 3339 / ISO 8601 timestamps as servers send them: `2009-10-12T17:50:30.000Z`,
/// `2026-11-21T03:00:00+01:00`, with any number of fractional digits (kept to nanoseconds).
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    if s.len() < 20 || !s.is_ascii() {
        return None;
    }
    let (date, rest) = s.split_at(10);
    let [y, mo, d] = fields(date, '-', [4, 2, 2])?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    if rest.len() < 8 {
        return None;
    }
    let (clock, mut rest) = rest.split_at(8);
    let [h, mi, sec] = fields(clock, ':', [2, 2, 2])?;
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        for (i, b) in frac.bytes().take(n).enumerate() {
            if i < 9 {
                nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
            }
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = rest[1..].split_once(':')?;
            let (oh, om) = (digits(oh, 2)?, digits(om, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * i64::from(oh * 3600 + om * 60)
        }
    };
    build(i64::from(y), mo, d, h, mi, sec, nanos, offset)
}

/// Parses an IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`), the only form HTTP/1.1 senders
/// may generate (RFC 9110 section 5.6.7). The weekday is not checked against the date.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (wd, rest) = s.split_once(", ")?;
    if !WEEKDAYS.iter().any(|w| w.eq_ignore_ascii_case(wd)) {
        return None;
    }
    let mut p = rest.split(' ');
    let d = digits(p.next()?, 2)?;
    let mon = p.next()?;
    let mo = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(mon))? as u32 + 1;
    let y = digits(p.next()?, 4)?;
    let clock = p.next()?;
    if !matches!(p.next()?, "GMT" | "UTC") || p.next().is_some() {
        return None;
    }
    let [h, mi, sec] = fields(clock, ':', [2, 2, 2])?;
    build(i64::from(y), mo, d, h, mi, sec, 0, 0)
}

/// Parses a human duration: `30d`, `12h`, `90m`, `45s`, `2w`, combinations like `1d12h`,
/// or a bare number of seconds. Units are case-insensitive; overflow and junk give `None`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok().map(Duration::from_secs);
    }
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(num.unwrap_or(0).checked_mul(10)?.checked_add(u64::from(d))?);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(num.take()?.checked_mul(unit)?)?;
    }
    // A trailing number without a unit ("1h30") is ambiguous: refuse it rather than guess.
    if num.is_some() {
        return None;
    }
    Some(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> SystemTime {
        from_unix_secs(secs, 0).unwrap()
    }

    #[test]
    fn civil_round_trip_every_day_1970_to_2100() {
        let mut days = days_from_civil(1970, 1, 1);
        assert_eq!(days, 0);
        for y in 1970..2100 {
            for m in 1..=12 {
                for d in 1..=days_in_month(y, m) {
                    assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
                    assert_eq!(civil_from_days(days), (y, m, d));
                    days += 1;
                }
            }
        }
        assert_eq!(days_from_civil(2100, 1, 1), days);
    }

    #[test]
    fn leap_years() {
        assert_eq!(days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28), 2); // 2000 is leap
        assert_eq!(days_from_civil(2100, 3, 1) - days_from_civil(2100, 2, 28), 1); // 2100 is not
        assert_eq!(days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 28), 2);
        assert_eq!(days_from_civil(2023, 3, 1) - days_from_civil(2023, 2, 28), 1);
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(days_from_civil(1600, 2, 29)), (1600, 2, 29));
        assert!(parse_rfc3339("2023-02-29T00:00:00Z").is_none());
        assert!(parse_rfc3339("2024-02-29T00:00:00Z").is_some());
    }

    #[test]
    fn formats() {
        let t = at(1_440_938_160); // 2015-08-30T12:36:00Z, the SigV4 suite's instant
        assert_eq!(amz_date(t), "20150830T123600Z");
        assert_eq!(rfc3339(t), "2015-08-30T12:36:00Z");
        assert_eq!(http_date(at(1_445_412_480)), "Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(amz_date(UNIX_EPOCH), "19700101T000000Z");
        assert_eq!(rfc3339(at(-1)), "1969-12-31T23:59:59Z");
        // Sub-second parts are dropped, not rounded.
        assert_eq!(rfc3339(t + Duration::from_millis(999)), "2015-08-30T12:36:00Z");
    }

    #[test]
    fn rfc3339_round_trips_1970_to_2100() {
        // Every 7 days and 13 hours and a bit: crosses every month, leap day and hour.
        let end = days_from_civil(2100, 1, 1) * 86_400;
        let mut s = 0i64;
        while s < end {
            let t = at(s);
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t), "{}", rfc3339(t));
            assert_eq!(parse_http_date(&http_date(t)), Some(t), "{}", http_date(t));
            s += 7 * 86_400 + 13 * 3600 + 17 * 60 + 11;
        }
    }

    #[test]
    fn parses_rfc3339_variants() {
        let t = at(1_255_369_830); // 2009-10-12T17:50:30Z
        assert_eq!(parse_rfc3339("2009-10-12T17:50:30.000Z"), Some(t));
        assert_eq!(parse_rfc3339("2009-10-12T17:50:30Z"), Some(t));
        assert_eq!(parse_rfc3339("2009-10-12t17:50:30z"), Some(t));
        assert_eq!(parse_rfc3339("2009-10-12T19:50:30+02:00"), Some(t));
        assert_eq!(parse_rfc3339("2009-10-12T12:20:30-05:30"), Some(t));
        assert_eq!(parse_rfc3339("2009-10-12T17:50:30.5Z"), Some(t + Duration::from_millis(500)));
        assert_eq!(parse_rfc3339("2009-10-12T17:50:30.123456789123Z"), Some(t + Duration::from_nanos(123_456_789)));
        for bad in [
            "",
            "2009-10-12",
            "2009-10-12T17:50:30",
            "2009-10-12T17:50:30.Z",
            "2009-13-12T17:50:30Z",
            "2009-10-32T17:50:30Z",
            "2009-10-12T24:00:00Z",
            "2009-10-12T17:50:30+2:00",
            "2009-10-12T17:50:30Zjunk",
            "20091012T175030Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parses_http_dates() {
        assert_eq!(parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT"), Some(at(1_445_412_480)));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(UNIX_EPOCH));
        assert_eq!(parse_http_date("Wed, 21 Oct 2015 07:28:00"), None);
        assert_eq!(parse_http_date("Wednesday, 21-Oct-15 07:28:00 GMT"), None);
        assert_eq!(parse_http_date("Wed, 31 Feb 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn parses_durations() {
        let d = |s| parse_duration(s).map(|d| d.as_secs());
        assert_eq!(d("30d"), Some(30 * 86_400));
        assert_eq!(d("12h"), Some(12 * 3600));
        assert_eq!(d("90m"), Some(90 * 60));
        assert_eq!(d("45s"), Some(45));
        assert_eq!(d("2w"), Some(14 * 86_400));
        assert_eq!(d("1d12h"), Some(36 * 3600));
        assert_eq!(d("1h30m15s"), Some(5415));
        assert_eq!(d("3600"), Some(3600));
        assert_eq!(d(" 7D "), Some(7 * 86_400));
        assert_eq!(d("0"), Some(0));
        for bad in ["", "d", "1x", "1h30", "-5s", "1.5h", "99999999999999999999", "9999999999999999999w"] {
            assert_eq!(d(bad), None, "{bad:?}");
        }
    }
}
