//! Timestamps as generic CSV files write them: integer seconds, ms or µs, or ISO-8601 text.
//!
//! An integer's unit is read from its magnitude (non-negative values only):
//! - below 10^11: seconds (10^11 s is the year 5138; ms values below 10^11 are before 1973-03-03);
//! - 10^11 up to 10^14: milliseconds (10^14 ms is the year 5138; µs below it are before 1973-03-03);
//! - 10^14 up to 10^17: microseconds;
//! - 10^17 and above: refused (ns are not accepted).
//!
//! Text is `YYYY-MM-DD`, or `YYYY-MM-DD[T| ]HH:MM:SS[.fraction]` followed by nothing, `Z` or an
//! offset `±HH:MM` / `±HHMM` / `±HH`. **A time without `Z` or offset is UTC.** Years before 1970
//! are refused; so is any sub-millisecond part, since bars open on whole ms. The date-time part is
//! parsed by `humantime` (already a dependency); only the offset is handled here.

use super::kline_csv::MAX_MS;
use std::fmt;
use std::time::UNIX_EPOCH;

/// How a file writes its timestamps; fixed per file by its first data row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimeUnit {
    Seconds,
    Millis,
    Micros,
    Iso,
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeUnit::Seconds => "integer seconds",
            TimeUnit::Millis => "integer milliseconds",
            TimeUnit::Micros => "integer microseconds",
            TimeUnit::Iso => "ISO-8601 text",
        })
    }
}

const MILLIS_FROM: i64 = 100_000_000_000;
const MICROS_FROM: i64 = 100_000_000_000_000;
const TOO_LARGE_FROM: i64 = 100_000_000_000_000_000;

/// Parses `raw` into (its unit, ms since the epoch). The error is the reason.
pub(crate) fn parse_timestamp(raw: &str) -> Result<(TimeUnit, i64), String> {
    let s = raw.trim();
    if let Ok(v) = s.parse::<i64>() {
        return integer_ms(v).map_err(|why| format!("timestamp {s:?} {why}"));
    }
    let ms = iso_ms(s).map_err(|why| format!("timestamp {s:?} {why}"))?;
    Ok((TimeUnit::Iso, ms))
}

fn integer_ms(v: i64) -> Result<(TimeUnit, i64), &'static str> {
    let (unit, ms) = match v {
        ..0 => return Err("is negative"),
        0..MILLIS_FROM => (TimeUnit::Seconds, v * 1000),
        MILLIS_FROM..MICROS_FROM => (TimeUnit::Millis, v),
        MICROS_FROM..TOO_LARGE_FROM => {
            if v % 1000 != 0 {
                return Err("has a sub-millisecond part");
            }
            (TimeUnit::Micros, v / 1000)
        }
        _ => return Err("is too large for seconds, ms or µs"),
    };
    Ok((unit, ms))
}

/// ISO-8601 / RFC 3339 text to ms since the epoch, UTC unless it states an offset.
fn iso_ms(s: &str) -> Result<i64, String> {
    // ASCII only, so the byte positions below are character positions.
    if !s.is_ascii() || s.len() < 10 {
        return Err("is neither an integer nor an ISO-8601 date-time".into());
    }
    let (local, offset_secs) = split_offset(s)?;
    let local = if local.len() == 10 {
        format!("{local}T00:00:00")
    } else {
        local.to_string()
    };
    let time = humantime::parse_rfc3339_weak(&local)
        .map_err(|e| format!("is not an ISO-8601 date-time ({e})"))?;
    let since = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "is before 1970".to_string())?;
    if since.subsec_nanos() % 1_000_000 != 0 {
        return Err("has a sub-millisecond part".into());
    }
    let ms = i64::try_from(since.as_millis())
        .ok()
        .and_then(|ms| ms.checked_sub(offset_secs * 1000))
        .filter(|ms| (0..=MAX_MS).contains(ms))
        .ok_or("is out of range")?;
    Ok(ms)
}

/// Splits a trailing `Z` or `±HH[:MM]` offset (only after the seconds, so the date's `-` never
/// counts) from the local date-time; the offset in seconds east of UTC.
fn split_offset(s: &str) -> Result<(&str, i64), String> {
    if let Some(local) = s.strip_suffix(['Z', 'z']) {
        return Ok((local, 0));
    }
    let Some(at) = s.get(19..).and_then(|t| t.find(['+', '-'])).map(|i| i + 19) else {
        return Ok((s, 0));
    };
    let sign = if s.as_bytes()[at] == b'-' { -1 } else { 1 };
    let digits: String = s[at + 1..].chars().filter(|c| *c != ':').collect();
    let valid = s[at + 1..].len() <= 5
        && matches!(digits.len(), 2 | 4)
        && digits.chars().all(|c| c.is_ascii_digit());
    let (hours, minutes) = match (valid, digits.get(..2), digits.get(2..)) {
        (true, Some(h), Some(m)) => (
            h.parse::<i64>().unwrap_or(99),
            m.parse::<i64>().unwrap_or(0),
        ),
        _ => return Err(format!("has an unreadable UTC offset {:?}", &s[at..])),
    };
    if hours > 23 || minutes > 59 {
        return Err(format!("has an out-of-range UTC offset {:?}", &s[at..]));
    }
    Ok((&s[..at], sign * (hours * 3600 + minutes * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OCT_11: i64 = 1_570_752_000_000; // 2019-10-11T00:00:00Z

    fn ms(s: &str) -> i64 {
        parse_timestamp(s).unwrap().1
    }

    #[test]
    fn integers_by_magnitude() {
        assert_eq!(
            parse_timestamp("1570752000"),
            Ok((TimeUnit::Seconds, OCT_11))
        );
        assert_eq!(
            parse_timestamp("1570752000000"),
            Ok((TimeUnit::Millis, OCT_11))
        );
        assert_eq!(
            parse_timestamp(" 1570752000000000 "),
            Ok((TimeUnit::Micros, OCT_11))
        );
        assert_eq!(parse_timestamp("0"), Ok((TimeUnit::Seconds, 0)));
        assert_eq!(parse_timestamp("99999999999").unwrap().0, TimeUnit::Seconds);
        assert_eq!(parse_timestamp("100000000000").unwrap().0, TimeUnit::Millis);
        assert_eq!(
            parse_timestamp("99999999999999").unwrap().0,
            TimeUnit::Millis
        );
        assert_eq!(
            parse_timestamp("100000000000000").unwrap().0,
            TimeUnit::Micros
        );
        for bad in [
            "-1",
            "1570752000000000000",
            "1570752000000001",
            "1.5e12",
            "",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn iso_forms() {
        for s in [
            "2019-10-11T00:00:00Z",
            "2019-10-11 00:00:00",
            "2019-10-11T00:00:00",
            "2019-10-11 00:00:00+00:00",
            "2019-10-11T02:00:00+02:00",
            "2019-10-11T02:00:00+0200",
            "2019-10-11T02:00:00+02",
            "2019-10-10T22:30:00-01:30",
            "2019-10-11T00:00:00.000Z",
            "2019-10-11",
        ] {
            assert_eq!(parse_timestamp(s), Ok((TimeUnit::Iso, OCT_11)), "{s}");
        }
        assert_eq!(ms("2019-10-11T00:00:00.250Z"), OCT_11 + 250);
        assert_eq!(ms("1970-01-01T00:00:00Z"), 0);
    }

    #[test]
    fn bad_iso_is_an_error_not_a_panic() {
        for bad in [
            "2019-10-11T00:00",
            "2019-13-11T00:00:00Z",
            "2019-02-30T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:30:00+01:00",
            "2019-10-11T00:00:00+25:00",
            "2019-10-11T00:00:00+1:00",
            "2019-10-11T00:00:00+",
            "2019-10-11T00:00:00.0001Z",
            "2019-10-11T00:00:00 UTC",
            "2019-10-1é",
            "2019/10/11 00:00:00",
            "open_time",
            "ÄÖÜ-10-11T00:00:00Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }
}
