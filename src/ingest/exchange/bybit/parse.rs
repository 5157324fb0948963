//! One raw Bybit v5 public websocket message → checked [`MarketEvent`]s, a reply or a skip.
//!
//! In: the message's bytes exactly as received and the receive time, which becomes
//! `ts_recv_ns` unchanged. Pure: no clock, no state, no I/O. Out, pushed onto the caller's
//! buffer and summed up in the returned [`Frame`]:
//! - `kline.{interval}.{symbol}` → one [`EventKind::Bar`] per candle in `data`. A closed candle
//!   (`confirm: true`) is stamped at its close time `end` (= `start` + interval − 1 ms, the
//!   Binance convention, which Bybit's `end` already follows); an open one at the message time
//!   `ts`. Bybit klines carry neither a trade count nor a taker-buy volume: both are 0 in the
//!   bar, which therefore means "not sent", not "none". `volume` is the base volume (contracts
//!   on inverse contracts), `quote_volume` is `turnover`.
//! - `publicTrade.{symbol}` → one [`EventKind::Trade`] per trade in `data`, stamped at its fill
//!   time `T`. `S` is documented as "Side of taker", so it is the aggressor side as is. The id
//!   `i` is a decimal number on spot, which is kept; on linear and inverse contracts it is a
//!   UUID, which becomes its 64-bit FNV-1a hash ([`trade_id`]): such ids are stable across
//!   reconnects (so duplicates can be found) but not ordered.
//! - `orderbook.1.{symbol}` → one [`EventKind::Quote`] (best bid and ask with sizes), stamped at
//!   the matching-engine time `cts`, else `ts`. Bybit documents level-1 books of spot, linear
//!   and inverse as snapshots only (re-sent every 3 s without change), so a stateless parser
//!   reads each one whole; a level-1 `delta` would break that promise and is skipped as
//!   unknown. A one-sided book (no bids or no asks) yields no event. This is the quotes topic
//!   [`BybitVenue`](super::BybitVenue) subscribes, because spot tickers carry no best bid/ask.
//! - `tickers.{symbol}` → a Quote only when the message itself carries all four of `bid1Price`,
//!   `bid1Size`, `ask1Price`, `ask1Size` (non-empty), stamped at `ts`. Linear and inverse
//!   snapshots do; spot tickers never do; a linear `delta` omits unchanged fields, and without
//!   the previous state a stateless parser cannot honestly complete a half-sent top of book, so
//!   such a message is skipped ([`Skip::Unused`] `"tickers without bid1/ask1"`). Option tickers
//!   (`bidPrice`/`askPrice`, with `"0"` for an empty side) are skipped too: the engine trades no
//!   options, and an empty side cannot be a Quote.
//! - Replies: a pong (`op` `ping` or `pong`) is a [`Frame::Heartbeat`]; a request reply with
//!   `success: true` an [`Frame::Ack`], with `success: false` a [`Frame::Refused`] carrying
//!   `ret_msg`; the option endpoint's `COMMAND_RESP` is refused when `failTopics` is not empty.
//! - Other topics: [`Skip::Unused`] for Bybit's known public topics ([`UNUSED`]), else
//!   [`Skip::Unknown`] with the topic's name.
//!
//! Errors name the field with Bybit's key and, inside `data` arrays, the item (`data[2]: p
//! (price) "x" is not a finite number`). A message is all or nothing: when one item is bad,
//! nothing of it is left on the buffer.

use super::messages::{CommandReply, Kline, Orderbook, PublicTrade, Push, Reply, Ticker};
use super::venue::interval_seconds;
use crate::event::Exchange;
use crate::event::{Bar, EventKind, MarketEvent, Side, Symbol};
use crate::ingest::exchange::frame::{
    Frame, ParseError, Skip, check_bar_shape, decode, field_error, fnv1a, json_type, ms_to_ns,
    parse_price, parse_volume, truncated,
};
use crate::ingest::exchange::symbol::instrument;
use serde_json::Value;

/// Names (the topic up to its first `.`) of Bybit's public topics that carry nothing for the
/// engine. `orderbook` stands for every depth but 1.
pub const UNUSED: &[&str] = &[
    "orderbook",
    "liquidation",
    "allLiquidation",
    "adlAlert",
    "insurance",
    "priceLimit",
    "kline_lt",
    "lt",
    "tickers_lt",
];

/// Reads one message; see the module doc. Events go onto `out`, which is left as it was when
/// the message is an error.
pub fn parse(raw: &[u8], recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<Frame, ParseError> {
    let value: Value = serde_json::from_slice(raw).map_err(|e| ParseError::Json(e.to_string()))?;
    let Value::Object(object) = &value else {
        return Err(shape(format!(
            "expected a JSON object, found {}",
            json_type(&value)
        )));
    };
    if let Some(topic) = object.get("topic") {
        let Value::String(topic) = topic else {
            return Err(shape(format!(
                "\"topic\" is {}, not a string",
                json_type(topic)
            )));
        };
        let start = out.len();
        let result = push(topic, &value, recv_ns, out);
        if result.is_err() {
            out.truncate(start);
        }
        return result;
    }
    if object.contains_key("op") {
        return reply(&value);
    }
    if object.get("type").and_then(Value::as_str) == Some("COMMAND_RESP") {
        return command_reply(&value);
    }
    Err(shape(
        "no \"topic\" (a data push), \"op\" (a reply) or \"type\":\"COMMAND_RESP\"".into(),
    ))
}

fn shape(reason: String) -> ParseError {
    ParseError::Shape {
        exchange: "Bybit",
        reason,
    }
}

fn push(
    topic: &str,
    value: &Value,
    recv_ns: i64,
    out: &mut Vec<MarketEvent>,
) -> Result<Frame, ParseError> {
    let (name, params) = topic.split_once('.').unwrap_or((topic, ""));
    match name {
        "kline" => kline(params, value, recv_ns, out),
        "publicTrade" => trades(value, recv_ns, out),
        "tickers" => ticker(value, recv_ns, out),
        "orderbook" if params.starts_with("1.") => best_bid_ask(value, recv_ns, out),
        _ => Ok(Frame::Skipped(skip_topic(name))),
    }
}

fn skip_topic(name: &str) -> Skip {
    match UNUSED.iter().find(|&&unused| unused == name) {
        Some(&unused) => Skip::Unused(unused),
        None => Skip::Unknown(truncated(name, 64)),
    }
}

fn kline(
    params: &str,
    value: &Value,
    recv_ns: i64,
    out: &mut Vec<MarketEvent>,
) -> Result<Frame, ParseError> {
    let bad = field_error("kline");
    let (interval, native) = params.split_once('.').ok_or_else(|| {
        bad(format!(
            "topic \"kline.{params}\" is not kline.{{interval}}.{{symbol}}"
        ))
    })?;
    let symbol = symbol(native, "topic symbol").map_err(bad)?;
    let header: Push = decode(value).map_err(bad)?;
    let items = data_array(value).map_err(bad)?;
    for (i, item) in items.iter().enumerate() {
        let at = |e: String| bad(format!("data[{i}]: {e}"));
        let k: Kline = decode(item).map_err(at)?;
        let bar = bar(&k, interval).map_err(at)?;
        let ts_event_ns = if bar.closed {
            ms_to_ns(k.end, "end")
        } else {
            ms_to_ns(header.ts, "ts (message time)")
        }
        .map_err(at)?;
        out.push(MarketEvent {
            exchange: Exchange::Bybit,
            symbol: symbol.clone(),
            ts_event_ns,
            ts_recv_ns: recv_ns,
            kind: EventKind::Bar(bar),
        });
    }
    Ok(Frame::Events(items.len()))
}

/// The checked bar of one candle of a `kline.{interval}.*` message.
fn bar(k: &Kline<'_>, interval: &str) -> Result<Bar, String> {
    if k.interval != interval {
        return Err(format!(
            "interval {:?} differs from the topic's {interval:?}",
            k.interval
        ));
    }
    ms_to_ns(k.start, "start")?;
    ms_to_ns(k.end, "end")?;
    // Months vary in length; every other interval fixes the span exactly.
    if let Some(seconds) = interval_seconds(interval) {
        let span = k.end.saturating_sub(k.start).saturating_add(1);
        if span != i64::from(seconds) * 1_000 {
            return Err(format!(
                "end {} - start {} + 1 is {span} ms, not the {interval:?} interval's {} ms",
                k.end,
                k.start,
                i64::from(seconds) * 1_000
            ));
        }
    }
    let open = parse_price(k.open, "open")?;
    let high = parse_price(k.high, "high")?;
    let low = parse_price(k.low, "low")?;
    let close = parse_price(k.close, "close")?;
    let volume = parse_volume(k.volume, "volume")?;
    let quote_volume = parse_volume(k.turnover, "turnover")?;
    check_bar_shape(open, high, low, close, k.start, k.end)?;
    Ok(Bar {
        open_time_ms: k.start,
        close_time_ms: k.end,
        open,
        high,
        low,
        close,
        volume,
        quote_volume,
        // Not sent by Bybit (see the module doc).
        trades: 0,
        taker_buy_volume: 0.0,
        closed: k.confirm,
    })
}

fn trades(value: &Value, recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<Frame, ParseError> {
    let bad = field_error("publicTrade");
    let items = data_array(value).map_err(bad)?;
    for (i, item) in items.iter().enumerate() {
        let at = |e: String| bad(format!("data[{i}]: {e}"));
        let t: PublicTrade = decode(item).map_err(at)?;
        out.push(trade_event(&t, recv_ns).map_err(at)?);
    }
    Ok(Frame::Events(items.len()))
}

fn trade_event(t: &PublicTrade<'_>, recv_ns: i64) -> Result<MarketEvent, String> {
    let side = match t.side {
        "Buy" => Side::Buy,
        "Sell" => Side::Sell,
        other => {
            return Err(format!(
                "S (taker side) {:?} is neither \"Buy\" nor \"Sell\"",
                truncated(other, 32)
            ));
        }
    };
    Ok(MarketEvent {
        exchange: Exchange::Bybit,
        symbol: symbol(t.symbol, "s (symbol)")?,
        ts_event_ns: ms_to_ns(t.time_ms, "T (fill time)")?,
        ts_recv_ns: recv_ns,
        kind: EventKind::Trade {
            price: parse_price(t.price, "p (price)")?,
            qty: parse_volume(t.size, "v (size)")?,
            side,
            id: trade_id(t.id)?,
        },
    })
}

/// A trade id as a `u64`: a decimal id (spot) as its value, any other (the UUIDs of linear
/// and inverse contracts) as its 64-bit FNV-1a hash, which is stable but not ordered.
pub fn trade_id(id: &str) -> Result<u64, String> {
    if id.is_empty() {
        return Err("i (trade id) is empty".into());
    }
    if id.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = id.parse()
    {
        return Ok(n);
    }
    Ok(fnv1a(id.as_bytes()))
}

fn ticker(value: &Value, recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<Frame, ParseError> {
    let bad = field_error("tickers");
    let header: Push = decode(value).map_err(bad)?;
    let data = value
        .get("data")
        .ok_or_else(|| bad("missing field `data`".into()))?;
    let t: Ticker = decode(data).map_err(|e| bad(format!("data: {e}")))?;
    let full = [t.bid1_price, t.bid1_size, t.ask1_price, t.ask1_size];
    let [Some(bid), Some(bid_qty), Some(ask), Some(ask_qty)] =
        full.map(|f| f.filter(|s| !s.is_empty()))
    else {
        let skip = if t.bid_price.is_some() || t.ask_price.is_some() {
            "tickers (option)"
        } else {
            "tickers without bid1/ask1"
        };
        return Ok(Frame::Skipped(Skip::Unused(skip)));
    };
    let quote = || -> Result<MarketEvent, String> {
        Ok(MarketEvent {
            exchange: Exchange::Bybit,
            symbol: symbol(t.symbol, "data.symbol")?,
            ts_event_ns: ms_to_ns(header.ts, "ts (message time)")?,
            ts_recv_ns: recv_ns,
            kind: EventKind::Quote {
                bid: parse_price(bid, "data.bid1Price")?,
                bid_qty: parse_volume(bid_qty, "data.bid1Size")?,
                ask: parse_price(ask, "data.ask1Price")?,
                ask_qty: parse_volume(ask_qty, "data.ask1Size")?,
            },
        })
    };
    out.push(quote().map_err(bad)?);
    Ok(Frame::Events(1))
}

fn best_bid_ask(
    value: &Value,
    recv_ns: i64,
    out: &mut Vec<MarketEvent>,
) -> Result<Frame, ParseError> {
    let bad = field_error("orderbook");
    let header: Push = decode(value).map_err(bad)?;
    if header.kind != Some("snapshot") {
        // Documented never to happen at depth 1; a delta cannot be read without the book.
        return Ok(Frame::Skipped(Skip::Unknown("orderbook.1 delta".into())));
    }
    let data = value
        .get("data")
        .ok_or_else(|| bad("missing field `data`".into()))?;
    let book: Orderbook = decode(data).map_err(|e| bad(format!("data: {e}")))?;
    let (Some(&(bid, bid_qty)), Some(&(ask, ask_qty))) = (book.bids.first(), book.asks.first())
    else {
        return Ok(Frame::Events(0));
    };
    let quote = || -> Result<MarketEvent, String> {
        let ts_event_ns = match header.cts {
            Some(cts) => ms_to_ns(cts, "cts (matching-engine time)")?,
            None => ms_to_ns(header.ts, "ts (message time)")?,
        };
        Ok(MarketEvent {
            exchange: Exchange::Bybit,
            symbol: symbol(book.symbol, "data.s (symbol)")?,
            ts_event_ns,
            ts_recv_ns: recv_ns,
            kind: EventKind::Quote {
                bid: parse_price(bid, "data.b[0] (bid price)")?,
                bid_qty: parse_volume(bid_qty, "data.b[0] (bid size)")?,
                ask: parse_price(ask, "data.a[0] (ask price)")?,
                ask_qty: parse_volume(ask_qty, "data.a[0] (ask size)")?,
            },
        })
    };
    out.push(quote().map_err(bad)?);
    Ok(Frame::Events(1))
}

fn reply(value: &Value) -> Result<Frame, ParseError> {
    let bad = field_error("reply");
    let r: Reply = decode(value).map_err(bad)?;
    if matches!(r.op, "ping" | "pong") {
        return Ok(Frame::Heartbeat);
    }
    match r.success {
        Some(true) => Ok(Frame::Ack),
        Some(false) => Ok(Frame::Refused(refusal(r.ret_msg, value))),
        None => Err(bad(format!(
            "missing field `success` in the reply to {:?}",
            truncated(r.op, 32)
        ))),
    }
}

fn command_reply(value: &Value) -> Result<Frame, ParseError> {
    let r: CommandReply = decode(value).map_err(field_error("COMMAND_RESP"))?;
    let failed = r.data.map(|d| d.fail_topics).unwrap_or_default();
    if r.success == Some(false) || !failed.is_empty() {
        let text = if failed.is_empty() {
            refusal(r.ret_msg, value)
        } else {
            truncated(&format!("failTopics: {}", failed.join(", ")), 256)
        };
        return Ok(Frame::Refused(text));
    }
    Ok(Frame::Ack)
}

/// What a refused request says: `ret_msg`, or the whole reply when that is empty.
fn refusal(ret_msg: Option<&str>, value: &Value) -> String {
    match ret_msg {
        Some(text) if !text.is_empty() => truncated(text, 256),
        _ => truncated(&value.to_string(), 256),
    }
}

/// The `data` array of a push.
fn data_array(value: &Value) -> Result<&Vec<Value>, String> {
    match value.get("data") {
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(format!("data is {}, not an array", json_type(other))),
        None => Err("missing field `data`".into()),
    }
}

/// A typed view borrowing from `value`; serde's message names a missing key.
fn symbol(native: &str, name: &str) -> Result<Symbol, String> {
    instrument(native).map_err(|e| format!("{name}: {e}"))
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
