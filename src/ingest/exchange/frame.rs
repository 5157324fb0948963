//! What one received websocket message turned out to be, shared by every exchange's parser.
//!
//! A parser returns `Ok(Frame)` for every well-formed message and pushes the events it carried
//! onto the caller's buffer; `Err(ParseError)` means the bytes are broken (retrying gives the same
//! error), so a caller counts it, dead-letters the bytes and moves on. Also here: the small checked
//! conversions every parser needs, so that "a price is a finite number above 0" means the same on
//! every exchange.

use crate::ingest::kline_csv::MAX_MS;
use serde_json::Value;

/// Why a message could not be turned into events. Display says what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The bytes are not one JSON value (truncated, not UTF-8, trailing garbage).
    #[error("malformed JSON: {0}")]
    Json(String),
    /// Valid JSON, but not shaped like any message of the exchange.
    #[error("not a {exchange} message: {reason}")]
    Shape {
        exchange: &'static str,
        reason: String,
    },
    /// A used message whose field is missing, mistyped or out of range; `reason` names the
    /// field with the exchange's own key (e.g. `p (price)`).
    #[error("bad {event} message: {reason}")]
    Field { event: &'static str, reason: String },
}

impl ParseError {
    /// A short stable label for counters and dead-letter headers.
    pub fn kind(&self) -> &'static str {
        match self {
            ParseError::Json(_) => "json",
            ParseError::Shape { .. } => "shape",
            ParseError::Field { .. } => "field",
        }
    }
}

/// What one well-formed message was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Market data: this many events were pushed onto the caller's buffer (0 is possible, e.g.
    /// an empty trade snapshot).
    Events(usize),
    /// The exchange confirmed a subscription (or another request) this client sent.
    Ack,
    /// The exchange refused a request (an unknown symbol, a bad channel): its reply, at most 256
    /// characters. A supervisor treats a refused subscription as a configuration error.
    Refused(String),
    /// A pong or an exchange heartbeat: proof the connection is alive, nothing else.
    Heartbeat,
    /// The exchange announced it will close this connection soon (OKX's 64008 service-upgrade
    /// notice): its text, at most 256 characters. The supervisor opens the successor now, as
    /// for a planned rotation, so the close loses nothing.
    Closing(String),
    /// A well-formed message this crate does not read.
    Skipped(Skip),
}

/// Why a well-formed message produced no event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// A known channel or event type this crate does not read (order books, mark prices, ...).
    Unused(&'static str),
    /// A type the parser does not know, at most 64 characters: worth a counter, since it means
    /// a new subscription or a changed format.
    Unknown(String),
}

/// The error for a bad field of an `event` message, given the reason.
pub fn field_error(event: &'static str) -> impl Fn(String) -> ParseError + Copy {
    move |reason| ParseError::Field { event, reason }
}

/// The kind of a JSON value, for messages (the value itself may be huge).
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A typed view borrowing from `value`; serde's message names a missing key.
pub fn decode<'a, T: serde::Deserialize<'a>>(value: &'a Value) -> Result<T, String> {
    T::deserialize(value).map_err(|e| e.to_string())
}

/// 64-bit FNV-1a of `bytes`: turns an exchange's non-numeric trade id (a UUID) into a stable
/// `u64` (equal ids, equal hashes; not ordered). Ids are chosen by the exchange, so a keyed hash
/// buys nothing.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// At most `max` characters of `s`: text from the wire may end up in logs and metric labels.
pub fn truncated(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Milliseconds → ns, refusing times before 1970 or past what an `i64` of ns holds.
pub fn ms_to_ns(ms: i64, name: &str) -> Result<i64, String> {
    if (0..=MAX_MS).contains(&ms) {
        Ok(ms * 1_000_000)
    } else {
        Err(format!("{name} {ms} is not a ms timestamp in 0..={MAX_MS}"))
    }
}

/// Microseconds → ns under the same range rule as [`ms_to_ns`].
pub fn us_to_ns(us: i64, name: &str) -> Result<i64, String> {
    if (0..=MAX_MS.saturating_mul(1_000)).contains(&us) {
        Ok(us * 1_000)
    } else {
        Err(format!("{name} {us} is not a µs timestamp in range"))
    }
}

/// An RFC 3339 time (`2023-10-04T16:25:00.123456789Z`, any offset) → ns since the epoch.
pub fn rfc3339_to_ns(text: &str, name: &str) -> Result<i64, String> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{name} {text:?} is not an RFC 3339 time: {e}"))?;
    i64::try_from(t.unix_timestamp_nanos())
        .ok()
        .filter(|ns| *ns >= 0)
        .ok_or_else(|| format!("{name} {text:?} is not a time from 1970 to 2262"))
}

/// A decimal string → a ms count (exchanges that send times as strings: OKX, Bybit's `ts` is a
/// number but OKX's is `"1597026383085"`).
pub fn ms_text_to_ns(text: &str, name: &str) -> Result<i64, String> {
    let ms: i64 = text
        .parse()
        .map_err(|_| format!("{name} {text:?} is not an integer ms timestamp"))?;
    ms_to_ns(ms, name)
}

pub(crate) use crate::ingest::kline_csv::{check_bar_shape, parse_price, parse_volume};

/// A price sent as a JSON number (Kraken v2): finite and above 0.
pub fn check_price(v: f64, name: &str) -> Result<f64, String> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{name} {v} is not a finite number above 0"))
    }
}

/// A quantity sent as a JSON number: finite and not negative.
pub fn check_volume(v: f64, name: &str) -> Result<f64, String> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{name} {v} is not a finite number ≥ 0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_checked() {
        assert_eq!(ms_to_ns(1, "t"), Ok(1_000_000));
        assert!(ms_to_ns(-1, "t").unwrap_err().contains("t -1"));
        assert_eq!(
            rfc3339_to_ns("2023-10-04T16:25:00.000000001Z", "x"),
            Ok(1_696_436_700_000_000_001)
        );
        assert!(rfc3339_to_ns("1969-12-31T23:59:59Z", "x").is_err());
        assert!(
            rfc3339_to_ns("yesterday", "x")
                .unwrap_err()
                .contains("x \"yesterday\"")
        );
        assert_eq!(
            ms_text_to_ns("1597026383085", "ts"),
            Ok(1_597_026_383_085_000_000)
        );
        assert!(ms_text_to_ns("1.5", "ts").is_err());
        assert_eq!(truncated("abcdef", 3), "abc");
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
