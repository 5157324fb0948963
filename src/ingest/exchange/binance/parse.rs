//! One raw Binance websocket message → a [`Frame`], and at most one checked [`MarketEvent`].
//!
//! In: the message's bytes exactly as received (a bare payload, or the combined-stream wrapper
//! `{"stream":"btcusdt@kline_1m","data":{..}}`), the [`Exchange`] the caller read it from
//! (`Binance` for spot, `BinanceFutures` for USDT-M; the payload does not say) and the receive
//! time, which becomes `ts_recv_ns` unchanged. Pure: no clock, no I/O (a per-thread memo of
//! instrument ids is the only state, see `convert.rs`).
//!
//! Out ([`parse_frame`]):
//! - `Ok(Frame::Events(1))`, the event pushed onto the caller's buffer: `kline` →
//!   [`EventKind::Bar`](crate::event::EventKind::Bar), `aggTrade` and `trade` → a trade,
//!   `bookTicker` → a quote.
//! - `Ok(Frame::Ack)` for a request's success reply (`{"result":null,"id":1}`, or a
//!   `LIST_SUBSCRIPTIONS` answer); `Ok(Frame::Refused(reply))` for an error reply
//!   (`{"code":2,"msg":..,"id":1}` or `{"error":{..},"id":1}`), its first 256 characters.
//! - `Ok(Frame::Skipped(..))`: a known stream this crate does not read (`depthUpdate`,
//!   `markPriceUpdate`, ..., see [`UNUSED`]) or an event type it does not know.
//! - `Err(ParseError)`: the bytes are broken: not JSON, no recognisable shape, or a used event
//!   with a missing or mistyped field, a price that is not a finite number above 0, a negative
//!   quantity, a time before 1970 or past 2262 (the last ms an `i64` of ns holds), or a kline
//!   whose high/low do not bound its open and close. The message names the event type and the
//!   field. Retrying gives the same error, so a source counts it, dead-letters the bytes and
//!   moves on.
//!
//! Event time (`ts_event_ns`): a closed kline (`x: true`) is stamped at its close time `k.T`,
//! like [`MarketEvent::closed_bar`] stamps kline CSV rows, so replaying a Kafka topic of closed
//! klines puts each bar at the same instant as replaying the same month's CSV; an open kline is
//! stamped at its event time `E`. Trades use the trade time `T`; a quote uses `T` (book
//! transaction time) or else `E` when the message has them (futures), and the receive time when
//! it has neither (spot sends no time). Trade ids are Binance's numeric (aggregate) trade ids.
//!
//! Side: Binance's `m` is "is the buyer the market maker?"; when it is true the resting order
//! was the buy, so the aggressor (taker) sold: `m: true` → [`Side::Sell`](crate::event::Side).
//!
//! Two decoding paths give the same answer: `fast.rs` reads the bytes once straight into the
//! borrowed structs of `messages.rs` (no `Value`, no allocation) and handles every ordinary
//! message; anything it does not fully vouch for (escaped strings, duplicate keys, replies, odd
//! layouts, malformed JSON) goes through the general path here, which builds a
//! [`serde_json::Value`] first. `fast_tests.rs` checks that the two agree.

use super::convert;
use super::fast::{self, Fast};
use super::messages::{AggTradeEvent, BookTickerEvent, KlineEvent, TradeEvent};
use crate::event::{Exchange, MarketEvent};
use crate::ingest::exchange::frame::{Frame, ParseError, Skip, field_error, json_type, truncated};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The exchange name in [`ParseError::Shape`] messages.
const NAME: &str = "Binance";

/// Event types of Binance's public spot and futures streams that carry nothing for the engine
/// (`partialDepth` stands for spot `<symbol>@depth<N>` snapshots, which have no `e`).
pub const UNUSED: &[&str] = &[
    "depthUpdate",
    "partialDepth",
    "markPriceUpdate",
    "forceOrder",
    "24hrTicker",
    "24hrMiniTicker",
    "1hTicker",
    "4hTicker",
    "1dTicker",
    "avgPrice",
    "continuous_kline",
    "compositeIndex",
    "contractInfo",
    "assetIndexUpdate",
    "indexPriceUpdate",
    "indexPrice_kline",
    "markPrice_kline",
];

/// Reads one message; an event is pushed onto `out` (see the module doc for the outcomes).
pub fn parse_frame(
    raw: &[u8],
    exchange: Exchange,
    recv_ns: i64,
    out: &mut Vec<MarketEvent>,
) -> Result<Frame, ParseError> {
    match fast::decode(raw) {
        Some(message) => from_fast(message, exchange, recv_ns, out),
        None => parse_general(raw, exchange, recv_ns, out),
    }
}

/// [`parse_frame`] for callers that want the event alone (the Kafka decoder): `Ok(None)` for
/// every well-formed message without one. A Binance message carries at most one event.
pub fn parse(
    raw: &[u8],
    exchange: Exchange,
    recv_ns: i64,
) -> Result<Option<MarketEvent>, ParseError> {
    let mut out = Vec::new();
    parse_frame(raw, exchange, recv_ns, &mut out)?;
    Ok(out.pop())
}

fn from_fast(
    message: Fast<'_>,
    exchange: Exchange,
    recv_ns: i64,
    out: &mut Vec<MarketEvent>,
) -> Result<Frame, ParseError> {
    let event = match message {
        Fast::Kline(m) => convert::kline(&m, exchange, recv_ns)?,
        Fast::AggTrade(m) => convert::agg_trade(&m, exchange, recv_ns)?,
        Fast::Trade(m) => convert::trade(&m, exchange, recv_ns)?,
        Fast::BookTicker(m) => convert::book_ticker(&m, exchange, recv_ns)?,
        Fast::Other(kind) => return Ok(Frame::Skipped(skip_type(kind))),
    };
    out.push(event);
    Ok(Frame::Events(1))
}

/// The general path alone: any JSON, through a [`Value`]. [`parse_frame`] gives the same
/// answer faster; this is the reference the fast path is tested and fuzzed against.
pub fn parse_general(
    raw: &[u8],
    exchange: Exchange,
    recv_ns: i64,
    out: &mut Vec<MarketEvent>,
) -> Result<Frame, ParseError> {
    // The event type must be read before the layout is known, and the combined wrapper nests
    // the payload one level down.
    let value: Value = serde_json::from_slice(raw).map_err(|e| ParseError::Json(e.to_string()))?;
    let payload = unwrap_combined(&value)?;
    let event = match payload {
        Value::Object(object) => match object.get("e") {
            Some(Value::String(kind)) => by_type(kind, payload, exchange, recv_ns)?,
            Some(other) => {
                return Err(shape(format!(
                    "\"e\" (event type) is {}, not a string",
                    json_type(other)
                )));
            }
            None => without_type(object, payload, exchange, recv_ns)?,
        },
        // All-market streams such as `!ticker@arr` and `!markPrice@arr` push arrays of events.
        Value::Array(items) => match items.first().and_then(|item| item.get("e")) {
            Some(Value::String(kind)) => return Ok(Frame::Skipped(skip_type(kind))),
            _ => {
                return Err(shape(
                    "an array whose first item has no string \"e\" (event type)".into(),
                ));
            }
        },
        other => {
            return Err(shape(format!(
                "expected a JSON object, found {}",
                json_type(other)
            )));
        }
    };
    match event {
        Ok(event) => {
            out.push(event);
            Ok(Frame::Events(1))
        }
        Err(frame) => Ok(frame),
    }
}

fn shape(reason: String) -> ParseError {
    ParseError::Shape {
        exchange: NAME,
        reason,
    }
}

/// The payload of a combined-stream message, or the value itself when it is not wrapped.
fn unwrap_combined(value: &Value) -> Result<&Value, ParseError> {
    match value.as_object() {
        Some(object) if object.contains_key("stream") => object
            .get("data")
            .ok_or_else(|| shape("combined-stream wrapper has \"stream\" but no \"data\"".into())),
        _ => Ok(value),
    }
}

/// An event, or the frame of a message that carries none.
type Outcome = Result<MarketEvent, Frame>;

fn by_type(
    kind: &str,
    payload: &Value,
    exchange: Exchange,
    recv_ns: i64,
) -> Result<Outcome, ParseError> {
    Ok(Ok(match kind {
        "kline" => {
            let m = decode::<KlineEvent>(payload, "kline")?;
            convert::kline(&m, exchange, recv_ns)?
        }
        "aggTrade" => {
            let m = decode::<AggTradeEvent>(payload, "aggTrade")?;
            convert::agg_trade(&m, exchange, recv_ns)?
        }
        "trade" => {
            let m = decode::<TradeEvent>(payload, "trade")?;
            convert::trade(&m, exchange, recv_ns)?
        }
        "bookTicker" => book_ticker(payload, exchange, recv_ns)?,
        _ => return Ok(Err(Frame::Skipped(skip_type(kind)))),
    }))
}

fn book_ticker(
    payload: &Value,
    exchange: Exchange,
    recv_ns: i64,
) -> Result<MarketEvent, ParseError> {
    let m = decode::<BookTickerEvent>(payload, "bookTicker")?;
    convert::book_ticker(&m, exchange, recv_ns)
}

pub(super) fn skip_type(kind: &str) -> Skip {
    match UNUSED.iter().find(|&&unused| unused == kind) {
        Some(&unused) => Skip::Unused(unused),
        None => Skip::Unknown(truncated(kind, 64)),
    }
}

/// Messages without `e`: request replies, spot bookTicker and spot partial-depth snapshots.
fn without_type(
    object: &Map<String, Value>,
    payload: &Value,
    exchange: Exchange,
    recv_ns: i64,
) -> Result<Outcome, ParseError> {
    let has = |key: &str| object.contains_key(key);
    // Error replies come as `{"code":..,"msg":..,"id":..}` or `{"error":{..},"id":..}`, and may
    // lack `id` when the request itself was unreadable.
    if object.get("error").is_some_and(|e| !e.is_null()) || (has("code") && has("msg")) {
        return Ok(Err(Frame::Refused(truncated(&payload.to_string(), 256))));
    }
    if has("result") && has("id") {
        return Ok(Err(Frame::Ack));
    }
    if has("lastUpdateId") {
        return Ok(Err(Frame::Skipped(Skip::Unused("partialDepth"))));
    }
    if has("u") && has("b") && has("a") {
        return book_ticker(payload, exchange, recv_ns).map(Ok);
    }
    Err(shape(
        "no \"e\" (event type), and not a reply, a spot bookTicker or a partial depth".into(),
    ))
}

/// A typed view borrowing from `payload`; serde's message names a missing key.
fn decode<'a, T: Deserialize<'a>>(
    payload: &'a Value,
    event: &'static str,
) -> Result<T, ParseError> {
    T::deserialize(payload).map_err(|e| field_error(event)(e.to_string()))
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
