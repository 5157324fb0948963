//! One raw Coinbase Advanced Trade market-data message → a [`Frame`] and the checked
//! [`MarketEvent`]s it carried.
//!
//! In: the message's bytes exactly as received and the receive time, which becomes `ts_recv_ns`
//! unchanged. Pure: no clock, no state, no I/O. Out, by `channel`:
//! - `candles` → one [`EventKind::Bar`] per candle, `market_trades` → one [`EventKind::Trade`]
//!   per trade, `ticker` → one [`EventKind::Quote`] per ticker, all pushed onto the caller's
//!   buffer; [`Frame::Events`] says how many. `snapshot` events (sent right after subscribing)
//!   are read like `update`s, so a reconnect repeats the latest trades; the supervisor's dedup
//!   drops them.
//! - `heartbeats` → [`Frame::Heartbeat`]; `subscriptions` (Coinbase's list of what this
//!   connection is subscribed to, sent after each subscribe) → [`Frame::Ack`];
//!   `{"type":"error",..}` → [`Frame::Refused`] with its message.
//! - `l2_data`, `status`, `ticker_batch`, `user`, `futures_balance_summary` →
//!   [`Skip::Unused`]; any other channel → [`Skip::Unknown`].
//! - `Err(ParseError)`: not JSON, not an Advanced Trade envelope, or a used message with a
//!   missing or mistyped field, a price that is not a finite number above 0, a negative size, a
//!   time before 1970 or past 2262, a trade side other than `BUY`/`SELL`, or a candle whose
//!   high/low do not bound its open and close. The message names the channel and the field, and
//!   no event of a refused message is left on the buffer (one bad trade refuses its batch).
//!
//! Event time (`ts_event_ns`): trades use their own `time`. Tickers and candles carry no time of
//! their own, so they take the envelope's `timestamp` (when Coinbase sent the message).
//!
//! Candles: Coinbase sends five-minute candles only, with no "closed" flag, so every candle is an
//! in-progress bar (`closed: false`, stamped at the message time); the supervisor closes a candle
//! when a later one of the same product arrives. `open_time_ms` = `start` × 1000 and
//! `close_time_ms` = open + 300,000 − 1 (the Binance convention). Coinbase sends no trade count,
//! quote volume or taker-buy volume: those fields are 0, which means "not sent", not "none".
//!
//! Trade side: the Advanced Trade channel documentation
//! (<https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels>,
//! <https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/market-trades>)
//! names the field `side` (`BUY`/`SELL`) without saying whose side it is, as far as the pages
//! reachable here show. The legacy Exchange API documents its trade side as the *maker's*
//! (<https://docs.cloud.coinbase.com/api-reference/exchange-api/rest-api/products/get-product-trades>);
//! for Advanced Trade, a third-party copy of Coinbase's trade schema
//! (<https://schemas.apis.io/schemas/coinbase/coinbase-trade/>) calls it the "taker side of the
//! trade", and nautilus_trader's Coinbase adapter reads it as the aggressor's. This parser
//! follows that reading (`BUY` = the taker bought); it is not confirmed by Coinbase's own prose,
//! so check it against a live capture before trusting order-flow signs.
//!
//! Trade ids: spot trade ids are decimal strings and are parsed; any other id is replaced by its
//! 64-bit FNV-1a hash, which is stable but, unlike real ids, not ordered.
//!
//! Lost messages: every envelope carries `sequence_num`; [`sequence_num`] reads it without a full
//! parse, so the supervisor can detect gaps (see its doc).

use super::messages::TradesEvent;
use super::messages::{Candle, CandlesEvent, Envelope, ErrorReply, Ticker, TickerEvent, Trade};
use crate::event::{Bar, EventKind, Exchange, MarketEvent, Side, Symbol};
use crate::ingest::exchange::frame::{
    Frame, ParseError, Skip, check_bar_shape, decode, field_error, fnv1a, json_type, ms_to_ns,
    parse_price, parse_volume, rfc3339_to_ns, truncated,
};
use crate::ingest::exchange::symbol::instrument;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The only candle size Coinbase streams: five minutes.
pub const CANDLE_MS: i64 = 300_000;

/// Channels of the Advanced Trade market-data feed that carry nothing the engine reads.
pub const UNUSED: &[&str] = &[
    "l2_data",
    "status",
    "ticker_batch",
    "user",
    "futures_balance_summary",
];

/// Parses one message, pushing its events onto `out`; on an error `out` is left as it was.
pub fn parse(raw: &[u8], recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<Frame, ParseError> {
    let before = out.len();
    let result = parse_value(raw, recv_ns, out);
    if result.is_err() {
        out.truncate(before);
    }
    result
}

/// The `sequence_num` of a message, read without parsing the rest; `None` when the bytes are not
/// a JSON object with an unsigned integer `sequence_num`.
///
/// Coinbase documents that sequence numbers increase by exactly one from message to message, that
/// a jump of more than one means messages were dropped, and that a smaller number means a message
/// arrived out of order
/// (<https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-authentication>,
/// "Sequence Numbers"). The page says "for each product", but Advanced Trade puts one
/// `sequence_num` on the whole envelope, whose events may cover several products and channels;
/// the supervisor should therefore compare consecutive messages of one connection, and treat a
/// jump as a possible gap in every stream of that connection.
pub fn sequence_num(raw: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Sequence {
        sequence_num: Option<u64>,
    }
    // serde would also read `[5]` as a struct; only objects are envelopes.
    let first = raw.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    serde_json::from_slice::<Sequence>(raw).ok()?.sequence_num
}

fn parse_value(raw: &[u8], recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<Frame, ParseError> {
    // One pass into a `Value`, then typed views borrowed from it: the channel must be read
    // before the layout is known.
    let value: Value = serde_json::from_slice(raw).map_err(|e| ParseError::Json(e.to_string()))?;
    let Value::Object(object) = &value else {
        return Err(shape(format!(
            "expected a JSON object, found {}",
            json_type(&value)
        )));
    };
    if object.get("type").and_then(Value::as_str) == Some("error") {
        return Ok(Frame::Refused(refusal(object, &value)));
    }
    match object.get("channel") {
        Some(Value::String(channel)) => by_channel(channel, &value, recv_ns, out),
        Some(other) => Err(shape(format!(
            "\"channel\" is {}, not a string",
            json_type(other)
        ))),
        None => Err(shape("no \"channel\", and not an error reply".into())),
    }
}

fn by_channel(
    channel: &str,
    value: &Value,
    recv_ns: i64,
    out: &mut Vec<MarketEvent>,
) -> Result<Frame, ParseError> {
    let before = out.len();
    match channel {
        "candles" => candles(value, recv_ns, out)?,
        "market_trades" => trades(value, recv_ns, out)?,
        "ticker" => tickers(value, recv_ns, out)?,
        "heartbeats" => return Ok(Frame::Heartbeat),
        "subscriptions" => return Ok(Frame::Ack),
        _ => return Ok(Frame::Skipped(skip_channel(channel))),
    }
    Ok(Frame::Events(out.len() - before))
}

fn skip_channel(channel: &str) -> Skip {
    match UNUSED.iter().find(|&&unused| unused == channel) {
        Some(&unused) => Skip::Unused(unused),
        None => Skip::Unknown(truncated(channel, 64)),
    }
}

/// The text of an error reply, at most 256 characters.
fn refusal(object: &Map<String, Value>, value: &Value) -> String {
    let reply = ErrorReply::deserialize(value).ok();
    let text = match reply {
        Some(ErrorReply {
            message: Some(message),
            reason: Some(reason),
        }) => format!("{message}: {reason}"),
        Some(ErrorReply {
            message: Some(message),
            ..
        }) => message.to_string(),
        _ => Value::Object(object.clone()).to_string(),
    };
    truncated(&text, 256)
}

fn candles(value: &Value, recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<(), ParseError> {
    let bad = field_error("candles");
    let message: Envelope<CandlesEvent> = decode(value).map_err(bad)?;
    let ts_event_ns = rfc3339_to_ns(message.timestamp, "timestamp").map_err(bad)?;
    for (i, event) in message.events.iter().enumerate() {
        for (j, c) in event.candles.iter().enumerate() {
            let at = |reason| bad(format!("events[{i}].candles[{j}]: {reason}"));
            out.push(candle(c, ts_event_ns, recv_ns).map_err(at)?);
        }
    }
    Ok(())
}

/// An in-progress bar from one candle, stamped at the message time.
fn candle(c: &Candle<'_>, ts_event_ns: i64, recv_ns: i64) -> Result<MarketEvent, String> {
    let start_s: i64 = c
        .start
        .parse()
        .map_err(|_| format!("start {:?} is not a whole number of seconds", c.start))?;
    let open_time_ms = start_s
        .checked_mul(1_000)
        .ok_or_else(|| format!("start {start_s} is out of range"))?;
    ms_to_ns(open_time_ms, "start (ms)")?;
    let close_time_ms = open_time_ms + CANDLE_MS - 1;
    ms_to_ns(close_time_ms, "start + 5 min (ms)")?;
    let open = parse_price(c.open, "open")?;
    let high = parse_price(c.high, "high")?;
    let low = parse_price(c.low, "low")?;
    let close = parse_price(c.close, "close")?;
    let volume = parse_volume(c.volume, "volume")?;
    check_bar_shape(open, high, low, close, open_time_ms, close_time_ms)?;
    let bar = Bar {
        open_time_ms,
        close_time_ms,
        open,
        high,
        low,
        close,
        volume,
        // Not sent by Coinbase (see the module doc).
        quote_volume: 0.0,
        trades: 0,
        taker_buy_volume: 0.0,
        closed: false,
    };
    Ok(event(
        symbol(c.product_id)?,
        ts_event_ns,
        recv_ns,
        EventKind::Bar(bar),
    ))
}

fn trades(value: &Value, recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<(), ParseError> {
    let bad = field_error("market_trades");
    let message: Envelope<TradesEvent> = decode(value).map_err(bad)?;
    for (i, event) in message.events.iter().enumerate() {
        for (j, t) in event.trades.iter().enumerate() {
            let at = |reason| bad(format!("events[{i}].trades[{j}]: {reason}"));
            out.push(trade(t, recv_ns).map_err(at)?);
        }
    }
    Ok(())
}

fn trade(t: &Trade<'_>, recv_ns: i64) -> Result<MarketEvent, String> {
    let side = match t.side {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        other => {
            return Err(format!(
                "side {:?} is neither BUY nor SELL",
                truncated(other, 32)
            ));
        }
    };
    let kind = EventKind::Trade {
        price: parse_price(t.price, "price")?,
        qty: parse_volume(t.size, "size")?,
        side,
        id: trade_id(t.trade_id)?,
    };
    let ts_event_ns = rfc3339_to_ns(t.time, "time")?;
    Ok(event(symbol(t.product_id)?, ts_event_ns, recv_ns, kind))
}

/// A decimal trade id as it is; any other id as its FNV-1a hash (stable, not ordered).
fn trade_id(text: &str) -> Result<u64, String> {
    if text.is_empty() {
        return Err("trade_id is empty".into());
    }
    Ok(text.parse().unwrap_or_else(|_| fnv1a(text.as_bytes())))
}

fn tickers(value: &Value, recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<(), ParseError> {
    let bad = field_error("ticker");
    let message: Envelope<TickerEvent> = decode(value).map_err(bad)?;
    let ts_event_ns = rfc3339_to_ns(message.timestamp, "timestamp").map_err(bad)?;
    for (i, event) in message.events.iter().enumerate() {
        for (j, t) in event.tickers.iter().enumerate() {
            let at = |reason| bad(format!("events[{i}].tickers[{j}]: {reason}"));
            out.push(quote(t, ts_event_ns, recv_ns).map_err(at)?);
        }
    }
    Ok(())
}

fn quote(t: &Ticker<'_>, ts_event_ns: i64, recv_ns: i64) -> Result<MarketEvent, String> {
    let kind = EventKind::Quote {
        bid: parse_price(t.best_bid, "best_bid")?,
        bid_qty: parse_volume(t.best_bid_quantity, "best_bid_quantity")?,
        ask: parse_price(t.best_ask, "best_ask")?,
        ask_qty: parse_volume(t.best_ask_quantity, "best_ask_quantity")?,
    };
    Ok(event(symbol(t.product_id)?, ts_event_ns, recv_ns, kind))
}

fn event(symbol: Symbol, ts_event_ns: i64, ts_recv_ns: i64, kind: EventKind) -> MarketEvent {
    MarketEvent {
        exchange: Exchange::Coinbase,
        symbol,
        ts_event_ns,
        ts_recv_ns,
        kind,
    }
}

fn symbol(product_id: &str) -> Result<Symbol, String> {
    instrument(product_id).map_err(|e| format!("product_id: {e}"))
}

/// A typed view borrowing from `value`; serde's message names a missing key.
fn shape(reason: String) -> ParseError {
    ParseError::Shape {
        exchange: "Coinbase Advanced Trade",
        reason,
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
