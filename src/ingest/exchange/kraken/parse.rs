//! One raw Kraken spot websocket v2 message → a [`Frame`] and the checked [`MarketEvent`]s it
//! carried.
//!
//! In: the message's bytes exactly as received and the receive time, which becomes `ts_recv_ns`
//! unchanged. Pure: no clock, no state, no I/O. Out:
//! - `channel` `ohlc` → one [`EventKind::Bar`] per candle, `trade` → one [`EventKind::Trade`] per
//!   trade, `ticker` → one [`EventKind::Quote`] per item, pushed onto the caller's buffer;
//!   [`Frame::Events`] says how many. Snapshots (sent after subscribing) are read like updates.
//! - `heartbeat` → [`Frame::Heartbeat`]. `status` (sent once on connect and when the trading
//!   engine's state changes) → [`Frame::Heartbeat`] too: it proves the connection is up and
//!   carries no market data; [`Frame`] has no way to pass on a `maintenance` state, which the
//!   supervisor would otherwise learn from the silence that follows.
//! - `method` replies: `pong` → [`Frame::Heartbeat`]; `subscribe`/`unsubscribe` with
//!   `success: true` → [`Frame::Ack`] (Kraken acknowledges each symbol of a request on its own),
//!   with `success: false` → [`Frame::Refused`] with the error and the symbol.
//! - `book`, `level3`, `instrument`, `executions`, `balances` → [`Skip::Unused`] (L3 is a spot v2
//!   channel on another endpoint); other channels and methods → [`Skip::Unknown`].
//! - `Err(ParseError)`: not JSON; not a v2 message, which includes Kraken *Futures* messages
//!   (`{"feed":..}`) and v1 messages (`{"event":..}` or arrays): those come from different APIs
//!   (`wss://futures.kraken.com/ws/v1`, `wss://ws.kraken.com`) and never from a v2 connection, so
//!   one arriving means a misconfigured URL, which a dead-lettered error shows and a skip counter
//!   would hide; or a used message with a missing or mistyped field, a price that is not a finite
//!   number above 0, a negative quantity, a time before 1970 or past 2262, an interval Kraken
//!   does not offer, a side other than `buy`/`sell`, or a candle whose high/low do not bound its
//!   open and close. The message names the channel and the field, and no event of a refused
//!   message is left on the buffer.
//!
//! Event time (`ts_event_ns`): trades use their `timestamp`. A ticker uses its item `timestamp`
//! when sent, else the message's, else the receive time. Candles have no "closed" flag, so each
//! is an in-progress bar (`closed: false`) stamped at the message `timestamp` (the OHLC
//! documentation shows one; the fixture has none, and then the receive time is used), with
//! `open_time_ms` = `interval_begin` and `close_time_ms` = open + interval − 1 ms. The per-candle
//! `timestamp` the documentation also shows is the interval's end, not the update time, so it is
//! not used. The supervisor closes a candle when a later one of the same symbol arrives.
//!
//! Candle volumes: `quote_volume` = `volume` × `vwap` (the definition of a VWAP, exact up to
//! Kraken's rounding of `vwap`); Kraken sends no taker-buy volume, so it is 0 ("not sent").
//!
//! Trade side: Kraken's v2 trade documentation describes `side` as "the side of the taker
//! order" and `ord_type` as "the order type of the taker order"
//! (<https://docs.kraken.com/exchange/api-reference/spot-websocket-v2/trade>), so `buy` means the
//! aggressor bought. Trade ids are "a sequence number, unique per book", so they are ordered per
//! symbol.

use super::messages::{Envelope, Ohlc, Reply, Ticker, Trade};
use crate::event::{Bar, EventKind, Exchange, MarketEvent, Side, Symbol};
use crate::ingest::exchange::frame::{
    Frame, ParseError, Skip, check_bar_shape, check_price, check_volume, decode, field_error,
    json_type, ms_to_ns, rfc3339_to_ns, truncated,
};
use crate::ingest::exchange::symbol::instrument;
use serde_json::{Map, Value};

/// The OHLC intervals Kraken offers, in minutes.
pub const INTERVALS_MIN: &[u32] = &[1, 5, 15, 30, 60, 240, 1440, 10080, 21600];

/// Spot v2 channels that carry nothing the engine reads.
pub const UNUSED: &[&str] = &["book", "level3", "instrument", "executions", "balances"];

/// Parses one message, pushing its events onto `out`; on an error `out` is left as it was.
pub fn parse(raw: &[u8], recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<Frame, ParseError> {
    let before = out.len();
    let result = parse_value(raw, recv_ns, out);
    if result.is_err() {
        out.truncate(before);
    }
    result
}

fn parse_value(raw: &[u8], recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<Frame, ParseError> {
    // One pass into a `Value`, then typed views borrowed from it: the channel or method must be
    // read before the layout is known.
    let value: Value = serde_json::from_slice(raw).map_err(|e| ParseError::Json(e.to_string()))?;
    let Value::Object(object) = &value else {
        return Err(shape(format!(
            "expected a JSON object, found {} (v1 sends arrays; this parser reads v2)",
            json_type(&value)
        )));
    };
    if object.contains_key("method") {
        return reply(&value);
    }
    match object.get("channel") {
        Some(Value::String(channel)) => by_channel(channel, &value, recv_ns, out),
        Some(other) => Err(shape(format!(
            "\"channel\" is {}, not a string",
            json_type(other)
        ))),
        None => Err(shape(without_channel(object))),
    }
}

/// Why an object with neither `channel` nor `method` is not a spot v2 message.
fn without_channel(object: &Map<String, Value>) -> String {
    let text = |key: &str| {
        object
            .get(key)
            .map_or_else(String::new, |v| truncated(&v.to_string(), 64))
    };
    if object.contains_key("feed") {
        format!(
            "a Kraken Futures message (\"feed\": {}); Futures is a different API \
             (wss://futures.kraken.com/ws/v1) and never sends on a spot v2 connection",
            text("feed")
        )
    } else if object.contains_key("event") {
        format!(
            "a spot websocket v1 message (\"event\": {}); this parser reads v2 \
             (wss://ws.kraken.com/v2)",
            text("event")
        )
    } else {
        "no \"channel\" or \"method\"".into()
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
        "ohlc" => candles(value, recv_ns, out)?,
        "trade" => trades(value, recv_ns, out)?,
        "ticker" => tickers(value, recv_ns, out)?,
        "heartbeat" | "status" => return Ok(Frame::Heartbeat),
        _ => return Ok(Frame::Skipped(skip(channel))),
    }
    Ok(Frame::Events(out.len() - before))
}

fn skip(name: &str) -> Skip {
    match UNUSED.iter().find(|&&unused| unused == name) {
        Some(&unused) => Skip::Unused(unused),
        None => Skip::Unknown(truncated(name, 64)),
    }
}

/// A reply to a request: a pong is a heartbeat, an accepted request an ack, a failed one a
/// refusal.
fn reply(value: &Value) -> Result<Frame, ParseError> {
    let reply: Reply = decode(value).map_err(field_error("reply"))?;
    Ok(match (reply.method, reply.success) {
        ("pong", _) => Frame::Heartbeat,
        (_, Some(true)) => Frame::Ack,
        (_, Some(false)) => Frame::Refused(refusal(&reply)),
        (_, None) if reply.error.is_some() => Frame::Refused(refusal(&reply)),
        (method, None) => Frame::Skipped(Skip::Unknown(truncated(method, 64))),
    })
}

/// `<method>: <error> (symbol <symbol>)`, at most 256 characters.
fn refusal(reply: &Reply<'_>) -> String {
    let mut text = format!(
        "{}: {}",
        reply.method,
        reply.error.unwrap_or("refused, no error given")
    );
    if let Some(symbol) = reply.symbol {
        text.push_str(&format!(" (symbol {symbol})"));
    }
    truncated(&text, 256)
}

fn candles(value: &Value, recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<(), ParseError> {
    let bad = field_error("ohlc");
    let message: Envelope<Ohlc> = decode(value).map_err(bad)?;
    let ts_event_ns = message_time(message.timestamp, recv_ns).map_err(bad)?;
    for (i, c) in message.data.iter().enumerate() {
        let at = |reason| bad(format!("data[{i}]: {reason}"));
        out.push(candle(c, ts_event_ns, recv_ns).map_err(at)?);
    }
    Ok(())
}

/// The message's `timestamp`, or the receive time when it has none.
fn message_time(timestamp: Option<&str>, recv_ns: i64) -> Result<i64, String> {
    timestamp.map_or(Ok(recv_ns), |t| rfc3339_to_ns(t, "timestamp"))
}

/// An in-progress bar from one candle.
fn candle(c: &Ohlc<'_>, ts_event_ns: i64, recv_ns: i64) -> Result<MarketEvent, String> {
    if !INTERVALS_MIN.contains(&c.interval) {
        return Err(format!(
            "interval {} is not one of Kraken's {INTERVALS_MIN:?} minutes",
            c.interval
        ));
    }
    let open_time_ms = rfc3339_to_ns(c.interval_begin, "interval_begin")? / 1_000_000;
    let close_time_ms = open_time_ms + i64::from(c.interval) * 60_000 - 1;
    ms_to_ns(close_time_ms, "interval_begin + interval")?;
    let open = check_price(c.open, "open")?;
    let high = check_price(c.high, "high")?;
    let low = check_price(c.low, "low")?;
    let close = check_price(c.close, "close")?;
    let volume = check_volume(c.volume, "volume")?;
    let vwap = check_volume(c.vwap, "vwap")?;
    let quote_volume = check_volume(volume * vwap, "volume × vwap")?;
    check_bar_shape(open, high, low, close, open_time_ms, close_time_ms)?;
    let bar = Bar {
        open_time_ms,
        close_time_ms,
        open,
        high,
        low,
        close,
        volume,
        quote_volume,
        trades: c.trades,
        // Not sent by Kraken (see the module doc).
        taker_buy_volume: 0.0,
        closed: false,
    };
    Ok(event(
        symbol(c.symbol)?,
        ts_event_ns,
        recv_ns,
        EventKind::Bar(bar),
    ))
}

fn trades(value: &Value, recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<(), ParseError> {
    let bad = field_error("trade");
    let message: Envelope<Trade> = decode(value).map_err(bad)?;
    for (i, t) in message.data.iter().enumerate() {
        let at = |reason| bad(format!("data[{i}]: {reason}"));
        out.push(trade(t, recv_ns).map_err(at)?);
    }
    Ok(())
}

fn trade(t: &Trade<'_>, recv_ns: i64) -> Result<MarketEvent, String> {
    let side = match t.side {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        other => {
            return Err(format!(
                "side {:?} is neither buy nor sell",
                truncated(other, 32)
            ));
        }
    };
    let kind = EventKind::Trade {
        price: check_price(t.price, "price")?,
        qty: check_volume(t.qty, "qty")?,
        side,
        id: t.trade_id,
    };
    let ts_event_ns = rfc3339_to_ns(t.timestamp, "timestamp")?;
    Ok(event(symbol(t.symbol)?, ts_event_ns, recv_ns, kind))
}

fn tickers(value: &Value, recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<(), ParseError> {
    let bad = field_error("ticker");
    let message: Envelope<Ticker> = decode(value).map_err(bad)?;
    let message_ns = message_time(message.timestamp, recv_ns).map_err(bad)?;
    for (i, t) in message.data.iter().enumerate() {
        let at = |reason| bad(format!("data[{i}]: {reason}"));
        out.push(quote(t, message_ns, recv_ns).map_err(at)?);
    }
    Ok(())
}

fn quote(t: &Ticker<'_>, message_ns: i64, recv_ns: i64) -> Result<MarketEvent, String> {
    let ts_event_ns = t
        .timestamp
        .map_or(Ok(message_ns), |ts| rfc3339_to_ns(ts, "timestamp"))?;
    let kind = EventKind::Quote {
        bid: check_price(t.bid, "bid")?,
        bid_qty: check_volume(t.bid_qty, "bid_qty")?,
        ask: check_price(t.ask, "ask")?,
        ask_qty: check_volume(t.ask_qty, "ask_qty")?,
    };
    Ok(event(symbol(t.symbol)?, ts_event_ns, recv_ns, kind))
}

fn event(symbol: Symbol, ts_event_ns: i64, ts_recv_ns: i64, kind: EventKind) -> MarketEvent {
    MarketEvent {
        exchange: Exchange::Kraken,
        symbol,
        ts_event_ns,
        ts_recv_ns,
        kind,
    }
}

fn symbol(native: &str) -> Result<Symbol, String> {
    instrument(native).map_err(|e| format!("symbol: {e}"))
}

/// A typed view borrowing from `value`; serde's message names a missing key.
fn shape(reason: String) -> ParseError {
    ParseError::Shape {
        exchange: "Kraken spot v2",
        reason,
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
