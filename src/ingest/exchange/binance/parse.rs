//! One raw Binance websocket message → at most one checked [`MarketEvent`].
//!
//! In: the message's bytes exactly as received (a bare payload, or the combined-stream wrapper
//! `{"stream":"btcusdt@kline_1m","data":{..}}`), the [`Exchange`] the caller read it from
//! (`Binance` for spot, `BinanceFutures` for USDT-M; the payload does not say) and the receive
//! time, which becomes `ts_recv_ns` unchanged. Pure: no clock, no state, no I/O.
//!
//! Out, three outcomes that callers must keep apart:
//! - `Ok(Some(event))`: `kline` → [`EventKind::Bar`], `aggTrade` and `trade` →
//!   [`EventKind::Trade`], `bookTicker` → [`EventKind::Quote`].
//! - `Ok(None)`: a well-formed message that carries nothing this crate uses: a reply to a request
//!   (`{"result":null,"id":1}`, or an error reply), a known stream it does not read
//!   (`depthUpdate`, `markPriceUpdate`, `forceOrder`, `24hrTicker`, ..., see [`UNUSED`]), or an
//!   event type it does not know. [`parse_message`] says which ([`Skip`]); an unknown type
//!   deserves a counter, since it means a new subscription or a changed format.
//! - `Err(ParseError)`: the bytes are broken: not JSON, no recognisable shape, or a used event
//!   with a missing or mistyped field, a price that is not a finite number above 0, a negative
//!   quantity, a time before 1970 or past 2262 (the last ms an `i64` of ns holds), or a kline
//!   whose high/low do not bound its open and close. The message names the event type and the field. Retrying gives the same
//!   error, so a source should count it, dead-letter the bytes and move on.
//!
//! Event time (`ts_event_ns`): a closed kline (`x: true`) is stamped at its close time `k.T`,
//! like [`MarketEvent::closed_bar`] stamps kline CSV rows, so replaying a Kafka topic of closed
//! klines puts each bar at the same instant as replaying the same month's CSV; an open kline is
//! stamped at its event time `E` (when Binance sent that state of the candle). Trades use the
//! trade time `T`; a quote uses `T` (book transaction time) or else `E` when the message has
//! them (futures), and the receive time when it has neither (spot sends no time).

use super::messages::{AggTradeEvent, BookTickerEvent, Kline, KlineEvent, TradeEvent};
use crate::event::{Bar, EventKind, Exchange, MarketEvent, Side, Symbol};
use crate::ingest::kline_csv::{MAX_MS, check_bar_shape, parse_price, parse_volume};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Why a message could not be turned into an event. Display says what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The bytes are not one JSON value (truncated, not UTF-8, trailing garbage).
    #[error("malformed JSON: {0}")]
    Json(String),
    /// Valid JSON, but not shaped like any Binance message (a bare number, a wrapper without
    /// `data`, an object with neither an event type nor a reply's keys).
    #[error("not a Binance message: {0}")]
    Shape(String),
    /// A kline, aggTrade, trade or bookTicker message whose field is missing, mistyped or out of
    /// range; `reason` names the field (Binance's key, e.g. `p (price)`).
    #[error("bad {event} message: {reason}")]
    Field { event: &'static str, reason: String },
}

/// What one message turned out to be.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Event(MarketEvent),
    Skipped(Skip),
}

impl Message {
    /// The event, dropping the reason for a skip.
    pub fn into_event(self) -> Option<MarketEvent> {
        match self {
            Message::Event(event) => Some(event),
            Message::Skipped(_) => None,
        }
    }
}

/// Why a well-formed message produced no event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// A reply to a request this client sent (subscribe, list subscriptions). `error` holds the
    /// reply (its first 256 characters) when the server refused the request.
    Reply { error: Option<String> },
    /// A Binance market-data stream this crate does not read (one of [`UNUSED`]).
    Unused(&'static str),
    /// An event type not in [`UNUSED`] (user-data events included), truncated to 64 characters.
    Unknown(String),
}

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

/// Parses one message; `Ok(None)` for anything well-formed that is not a used event (see the
/// module doc for the three outcomes, and [`parse_message`] for why a message was skipped).
pub fn parse(
    raw: &[u8],
    exchange: Exchange,
    recv_ns: i64,
) -> Result<Option<MarketEvent>, ParseError> {
    parse_message(raw, exchange, recv_ns).map(Message::into_event)
}

/// Like [`parse`], but a skipped message says why, so a caller can count unknown event types
/// apart from replies and streams it chose not to read.
pub fn parse_message(raw: &[u8], exchange: Exchange, recv_ns: i64) -> Result<Message, ParseError> {
    // One pass into a `Value`, then typed views borrowed from it: the event type must be read
    // before the layout is known, and the combined wrapper nests the payload one level down.
    let value: Value = serde_json::from_slice(raw).map_err(|e| ParseError::Json(e.to_string()))?;
    let payload = unwrap_combined(&value)?;
    match payload {
        Value::Object(object) => match object.get("e") {
            Some(Value::String(kind)) => by_type(kind, payload, exchange, recv_ns),
            Some(other) => Err(ParseError::Shape(format!(
                "\"e\" (event type) is {}, not a string",
                json_type(other)
            ))),
            None => without_type(object, payload, exchange, recv_ns),
        },
        // All-market streams such as `!ticker@arr` and `!markPrice@arr` push arrays of events.
        Value::Array(items) => match items.first().and_then(|item| item.get("e")) {
            Some(Value::String(kind)) => Ok(Message::Skipped(skip_type(kind))),
            _ => Err(ParseError::Shape(
                "an array whose first item has no string \"e\" (event type)".into(),
            )),
        },
        other => Err(ParseError::Shape(format!(
            "expected a JSON object, found {}",
            json_type(other)
        ))),
    }
}

/// The payload of a combined-stream message, or the value itself when it is not wrapped.
fn unwrap_combined(value: &Value) -> Result<&Value, ParseError> {
    match value.as_object() {
        Some(object) if object.contains_key("stream") => object.get("data").ok_or_else(|| {
            ParseError::Shape("combined-stream wrapper has \"stream\" but no \"data\"".into())
        }),
        _ => Ok(value),
    }
}

fn by_type(
    kind: &str,
    payload: &Value,
    exchange: Exchange,
    recv_ns: i64,
) -> Result<Message, ParseError> {
    let event = match kind {
        "kline" => kline(payload, exchange, recv_ns)?,
        "aggTrade" => agg_trade(payload, exchange, recv_ns)?,
        "trade" => trade(payload, exchange, recv_ns)?,
        "bookTicker" => book_ticker(payload, exchange, recv_ns)?,
        _ => return Ok(Message::Skipped(skip_type(kind))),
    };
    Ok(Message::Event(event))
}

fn skip_type(kind: &str) -> Skip {
    match UNUSED.iter().find(|&&unused| unused == kind) {
        Some(&unused) => Skip::Unused(unused),
        // Truncated: the text comes from the wire and may end up in logs and metric labels.
        None => Skip::Unknown(truncated(kind, 64)),
    }
}

/// Messages without `e`: request replies, spot bookTicker and spot partial-depth snapshots.
fn without_type(
    object: &Map<String, Value>,
    payload: &Value,
    exchange: Exchange,
    recv_ns: i64,
) -> Result<Message, ParseError> {
    let has = |key: &str| object.contains_key(key);
    // Error replies come as `{"code":..,"msg":..,"id":..}` or `{"error":{..},"id":..}`, and may
    // lack `id` when the request itself was unreadable.
    if object.get("error").is_some_and(|e| !e.is_null()) || (has("code") && has("msg")) {
        let error = Some(truncated(&payload.to_string(), 256));
        return Ok(Message::Skipped(Skip::Reply { error }));
    }
    if has("result") && has("id") {
        return Ok(Message::Skipped(Skip::Reply { error: None }));
    }
    if has("lastUpdateId") {
        return Ok(Message::Skipped(Skip::Unused("partialDepth")));
    }
    if has("u") && has("b") && has("a") {
        return book_ticker(payload, exchange, recv_ns).map(Message::Event);
    }
    Err(ParseError::Shape(
        "no \"e\" (event type), and not a reply, a spot bookTicker or a partial depth".into(),
    ))
}

fn kline(payload: &Value, exchange: Exchange, recv_ns: i64) -> Result<MarketEvent, ParseError> {
    let bad = field_error("kline");
    let message: KlineEvent = decode(payload).map_err(bad)?;
    let k = &message.kline;
    if k.symbol != message.symbol {
        return Err(bad(format!(
            "k.s (symbol) {:?} differs from s {:?}",
            k.symbol, message.symbol
        )));
    }
    let symbol = symbol(message.symbol).map_err(bad)?;
    let bar = bar(k).map_err(bad)?;
    let ts_event_ns = if bar.closed {
        ms_to_ns(k.close_time_ms, "k.T (close time)")
    } else {
        ms_to_ns(message.event_time_ms, "E (event time)")
    }
    .map_err(bad)?;
    Ok(MarketEvent {
        exchange,
        symbol,
        ts_event_ns,
        ts_recv_ns: recv_ns,
        kind: EventKind::Bar(bar),
    })
}

/// The checked bar of a kline, under the same rules as kline CSV rows.
fn bar(k: &Kline<'_>) -> Result<Bar, String> {
    ms_to_ns(k.open_time_ms, "k.t (open time)")?;
    ms_to_ns(k.close_time_ms, "k.T (close time)")?;
    let open = parse_price(k.open, "k.o (open)")?;
    let high = parse_price(k.high, "k.h (high)")?;
    let low = parse_price(k.low, "k.l (low)")?;
    let close = parse_price(k.close, "k.c (close)")?;
    let volume = parse_volume(k.volume, "k.v (volume)")?;
    let quote_volume = parse_volume(k.quote_volume, "k.q (quote volume)")?;
    let taker_buy_volume = parse_volume(k.taker_buy_volume, "k.V (taker buy volume)")?;
    parse_volume(k.taker_buy_quote_volume, "k.Q (taker buy quote volume)")?;
    check_bar_shape(open, high, low, close, k.open_time_ms, k.close_time_ms)
        .map_err(|reason| format!("k: {reason}"))?;
    Ok(Bar {
        open_time_ms: k.open_time_ms,
        close_time_ms: k.close_time_ms,
        open,
        high,
        low,
        close,
        volume,
        quote_volume,
        trades: k.trades,
        taker_buy_volume,
        closed: k.closed,
    })
}

/// What `aggTrade` and `trade` have in common.
struct TradeParts<'a> {
    symbol: &'a str,
    /// The aggregate id for `aggTrade`, the trade id for `trade`.
    id: u64,
    price: &'a str,
    qty: &'a str,
    trade_time_ms: i64,
    buyer_is_maker: bool,
}

fn agg_trade(payload: &Value, exchange: Exchange, recv_ns: i64) -> Result<MarketEvent, ParseError> {
    let bad = field_error("aggTrade");
    let m: AggTradeEvent = decode(payload).map_err(bad)?;
    let parts = TradeParts {
        symbol: m.symbol,
        id: m.agg_id,
        price: m.price,
        qty: m.qty,
        trade_time_ms: m.trade_time_ms,
        buyer_is_maker: m.buyer_is_maker,
    };
    trade_event(&parts, exchange, recv_ns).map_err(bad)
}

fn trade(payload: &Value, exchange: Exchange, recv_ns: i64) -> Result<MarketEvent, ParseError> {
    let bad = field_error("trade");
    let m: TradeEvent = decode(payload).map_err(bad)?;
    let parts = TradeParts {
        symbol: m.symbol,
        id: m.trade_id,
        price: m.price,
        qty: m.qty,
        trade_time_ms: m.trade_time_ms,
        buyer_is_maker: m.buyer_is_maker,
    };
    trade_event(&parts, exchange, recv_ns).map_err(bad)
}

fn trade_event(
    t: &TradeParts<'_>,
    exchange: Exchange,
    recv_ns: i64,
) -> Result<MarketEvent, String> {
    Ok(MarketEvent {
        exchange,
        symbol: symbol(t.symbol)?,
        ts_event_ns: ms_to_ns(t.trade_time_ms, "T (trade time)")?,
        ts_recv_ns: recv_ns,
        kind: EventKind::Trade {
            price: parse_price(t.price, "p (price)")?,
            qty: parse_volume(t.qty, "q (quantity)")?,
            // The side is the aggressor's: when the buyer's order was resting, a seller took it.
            side: if t.buyer_is_maker {
                Side::Sell
            } else {
                Side::Buy
            },
            id: t.id,
        },
    })
}

fn book_ticker(
    payload: &Value,
    exchange: Exchange,
    recv_ns: i64,
) -> Result<MarketEvent, ParseError> {
    let bad = field_error("bookTicker");
    let m: BookTickerEvent = decode(payload).map_err(bad)?;
    // `T` is when the book changed, `E` when Binance pushed the change; prefer the former.
    let ts_event_ns = match (m.transaction_time_ms, m.event_time_ms) {
        (Some(ms), _) => ms_to_ns(ms, "T (transaction time)"),
        (None, Some(ms)) => ms_to_ns(ms, "E (event time)"),
        (None, None) => Ok(recv_ns),
    }
    .map_err(bad)?;
    let kind = EventKind::Quote {
        bid: parse_price(m.bid, "b (bid)").map_err(bad)?,
        bid_qty: parse_volume(m.bid_qty, "B (bid quantity)").map_err(bad)?,
        ask: parse_price(m.ask, "a (ask)").map_err(bad)?,
        ask_qty: parse_volume(m.ask_qty, "A (ask quantity)").map_err(bad)?,
    };
    Ok(MarketEvent {
        exchange,
        symbol: symbol(m.symbol).map_err(bad)?,
        ts_event_ns,
        ts_recv_ns: recv_ns,
        kind,
    })
}

/// The error for a bad field of an `event` message, given the reason.
fn field_error(event: &'static str) -> impl Fn(String) -> ParseError + Copy {
    move |reason| ParseError::Field { event, reason }
}

/// A typed view borrowing from `payload`; serde's message names a missing key.
fn decode<'a, T: Deserialize<'a>>(payload: &'a Value) -> Result<T, String> {
    T::deserialize(payload).map_err(|e| e.to_string())
}

fn symbol(s: &str) -> Result<Symbol, String> {
    Symbol::try_from(s.to_string()).map_err(|e| format!("s (symbol): {e}"))
}

/// The kind of a JSON value, for messages (the value itself may be huge).
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// At most `max` characters of `s`.
fn truncated(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Milliseconds → ns, refusing times before 1970 or past what an `i64` of ns holds.
fn ms_to_ns(ms: i64, name: &str) -> Result<i64, String> {
    if (0..=MAX_MS).contains(&ms) {
        Ok(ms * 1_000_000)
    } else {
        Err(format!("{name} {ms} is not a ms timestamp in 0..={MAX_MS}"))
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
