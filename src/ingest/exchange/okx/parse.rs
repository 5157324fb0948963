//! One raw OKX v5 public websocket message → checked [`MarketEvent`]s, a reply or a skip.
//!
//! In: the message's bytes exactly as received and the receive time, which becomes
//! `ts_recv_ns` unchanged. Pure: no clock, no state, no I/O. Out, pushed onto the caller's
//! buffer and summed up in the returned [`Frame`]:
//! - `candle{bar}` → one [`EventKind::Bar`] per row of `data`
//!   (`[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`). `ts` is the open time; the close
//!   time is open + the bar's length − 1 ms (the Binance convention; OKX does not send it). A
//!   closed candle (`confirm` `"1"`) is stamped at that close time. OKX candle pushes carry no
//!   message time at all, so an open candle (`"0"`) is stamped at its receive time. `volume` is
//!   `vol` (base currency on spot, contracts on derivatives) and `quote_volume` `volCcyQuote`;
//!   OKX sends no trade count or taker-buy volume, so both are 0 ("not sent"). Every bar with a
//!   fixed length is read, both the Hong Kong-aligned names (`6H`, `1D`, ...) and the UTC ones
//!   (`6Hutc`, `1Dutc`, ...); calendar-month bars (`1M`, `3M`, ...) have no fixed length and are
//!   skipped.
//! - `trades` and `trades-all` → one [`EventKind::Trade`] per item, stamped at its fill time
//!   `ts`. `trades` sends one item per taker order and price (`count` matches aggregated,
//!   `tradeId` the last of them), so `side` is the taker order's direction: the aggressor side.
//!   `tradeId` is documented as a decimal number and must be one.
//! - `bbo-tbt` → one [`EventKind::Quote`] per item (the best bid and ask with sizes, a snapshot
//!   every 10 ms while they change), stamped at the book time `ts`; `tickers` → one Quote per
//!   item from `bidPx`, `bidSz`, `askPx`, `askSz`, stamped at `ts`. A book with an empty side
//!   (no level, or `""` in tickers) yields no event for that item.
//! - The bare text `pong` (the answer to the client's `ping`) → [`Frame::Heartbeat`];
//!   `{"event":"subscribe"}` (and `unsubscribe`, `login`) → [`Frame::Ack`]; `{"event":"error"}`
//!   and `channel-conn-count-error` → [`Frame::Refused`] with `code: msg`; the service-upgrade
//!   `notice` 64008 (the server will close the connection soon) → [`Frame::Closing`]; other
//!   notices and `channel-conn-count` → [`Skip::Unused`].
//! - Other channels: [`Skip::Unused`] for OKX's known public channels ([`UNUSED`]), else
//!   [`Skip::Unknown`] with the channel name.
//!
//! The instrument comes from `arg.instId`; where an item repeats it (`instId` in trades and
//! tickers), the two must agree. Errors name the field with OKX's key and, inside `data`, the
//! item (`data[0]: px (price) "x" is not a finite number`). A message is all or nothing: when
//! one item is bad, nothing of it is left on the buffer.

use super::messages::{Arg, BookTop, CANDLE_COLUMNS, CandleRow, Event, Ticker, Trade};
use super::venue::bar_seconds;
use crate::event::{Bar, EventKind, Exchange, MarketEvent, Side, Symbol};
use crate::ingest::exchange::frame::{
    Frame, ParseError, Skip, check_bar_shape, decode, field_error, json_type, ms_text_to_ns,
    ms_to_ns, parse_price, parse_volume, truncated,
};
use crate::ingest::exchange::symbol::instrument;
use serde_json::Value;

/// OKX public channels that carry nothing for the engine (`mark-price-candle*` and
/// `index-candle*` are matched by prefix).
pub const UNUSED: &[&str] = &[
    "books",
    "books5",
    "books-l2-tbt",
    "books50-l2-tbt",
    "funding-rate",
    "instruments",
    "opt-summary",
    "mark-price",
    "index-tickers",
    "open-interest",
    "price-limit",
    "estimated-price",
    "liquidation-orders",
    "adl-warning",
    "option-trades",
    "call-auction-details",
    "mark-price-candle",
    "index-candle",
    "status",
];

/// Reads one message; see the module doc. Events go onto `out`, which is left as it was when
/// the message is an error.
pub fn parse(raw: &[u8], recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<Frame, ParseError> {
    if raw.trim_ascii() == b"pong" {
        return Ok(Frame::Heartbeat);
    }
    let value: Value = serde_json::from_slice(raw).map_err(|e| ParseError::Json(e.to_string()))?;
    let Value::Object(object) = &value else {
        return Err(shape(format!(
            "expected a JSON object or the text pong, found {}",
            json_type(&value)
        )));
    };
    if object.contains_key("event") {
        return event(&value);
    }
    if object.contains_key("arg") {
        let start = out.len();
        let result = push(&value, recv_ns, out);
        if result.is_err() {
            out.truncate(start);
        }
        return result;
    }
    Err(shape(
        "no \"event\" (a reply or notice) and no \"arg\" (a data push)".into(),
    ))
}

fn shape(reason: String) -> ParseError {
    ParseError::Shape {
        exchange: "OKX",
        reason,
    }
}

fn event(value: &Value) -> Result<Frame, ParseError> {
    let e: Event = decode(value).map_err(field_error("event"))?;
    let refusal = || {
        let text = format!("{}: {}", e.code.unwrap_or("?"), e.msg.unwrap_or(""));
        truncated(&text, 256)
    };
    Ok(match e.event {
        "subscribe" | "unsubscribe" | "login" => Frame::Ack,
        "error" | "channel-conn-count-error" => Frame::Refused(refusal()),
        // 64008: "The connection will soon be closed for a service upgrade. Please reconnect."
        "notice" if e.code == Some("64008") => Frame::Closing(refusal()),
        "notice" => Frame::Skipped(Skip::Unused("notice")),
        "channel-conn-count" => Frame::Skipped(Skip::Unused("channel-conn-count")),
        other => Frame::Skipped(Skip::Unknown(truncated(other, 64))),
    })
}

fn push(value: &Value, recv_ns: i64, out: &mut Vec<MarketEvent>) -> Result<Frame, ParseError> {
    let arg = value.get("arg").unwrap_or(&Value::Null);
    let arg: Arg = decode(arg).map_err(|e| shape(format!("arg: {e}")))?;
    if let Some(bar) = arg.channel.strip_prefix("candle") {
        return candles(bar, &arg, value, recv_ns, out);
    }
    match arg.channel {
        "trades" => trades("trades", &arg, value, recv_ns, out),
        "trades-all" => trades("trades-all", &arg, value, recv_ns, out),
        "tickers" => tickers(&arg, value, recv_ns, out),
        "bbo-tbt" => best_bid_ask(&arg, value, recv_ns, out),
        other => Ok(Frame::Skipped(skip_channel(other))),
    }
}

fn skip_channel(channel: &str) -> Skip {
    let unused = UNUSED.iter().find(|&&unused| {
        channel == unused || (unused.ends_with("candle") && channel.starts_with(unused))
    });
    match unused {
        Some(&unused) => Skip::Unused(unused),
        None => Skip::Unknown(truncated(channel, 64)),
    }
}

fn candles(
    bar: &str,
    arg: &Arg<'_>,
    value: &Value,
    recv_ns: i64,
    out: &mut Vec<MarketEvent>,
) -> Result<Frame, ParseError> {
    let Some(seconds) = bar_seconds(bar) else {
        let calendar = ["M", "Mutc", "Y", "Yutc"].iter().any(|s| bar.ends_with(s));
        return Ok(Frame::Skipped(if calendar {
            Skip::Unused("candle (calendar months)")
        } else {
            Skip::Unknown(truncated(arg.channel, 64))
        }));
    };
    let bad = field_error("candle");
    let symbol = arg_symbol(arg).map_err(bad)?;
    let items = data_array(value).map_err(bad)?;
    for (i, item) in items.iter().enumerate() {
        let at = |e: String| bad(format!("data[{i}]: {e}"));
        let row: CandleRow = decode(item).map_err(at)?;
        let bar = candle_bar(&row, seconds).map_err(at)?;
        let ts_event_ns = if bar.closed {
            // Checked by `candle_bar`.
            bar.close_time_ms * 1_000_000
        } else {
            recv_ns
        };
        out.push(MarketEvent {
            exchange: Exchange::Okx,
            symbol: symbol.clone(),
            ts_event_ns,
            ts_recv_ns: recv_ns,
            kind: EventKind::Bar(bar),
        });
    }
    Ok(Frame::Events(items.len()))
}

/// The checked bar of one candle row of a bar `seconds` long.
fn candle_bar(row: &[&str], seconds: u32) -> Result<Bar, String> {
    let [ts, o, h, l, c, vol, vol_ccy, vol_ccy_quote, confirm, ..] = row else {
        return Err(format!(
            "a candle row of {} columns, not the 9 of [{}]",
            row.len(),
            CANDLE_COLUMNS.join(", ")
        ));
    };
    let open_time_ms = ms_text_to_ns(ts, "ts (open time)")? / 1_000_000;
    let close_time_ms = open_time_ms + i64::from(seconds) * 1_000 - 1;
    ms_to_ns(close_time_ms, "close time (ts + bar - 1 ms)")?;
    let open = parse_price(o, "o (open)")?;
    let high = parse_price(h, "h (high)")?;
    let low = parse_price(l, "l (low)")?;
    let close = parse_price(c, "c (close)")?;
    let volume = parse_volume(vol, "vol")?;
    parse_volume(vol_ccy, "volCcy")?;
    let quote_volume = parse_volume(vol_ccy_quote, "volCcyQuote")?;
    let closed = match *confirm {
        "0" => false,
        "1" => true,
        other => {
            return Err(format!(
                "confirm {:?} is neither \"0\" nor \"1\"",
                truncated(other, 32)
            ));
        }
    };
    check_bar_shape(open, high, low, close, open_time_ms, close_time_ms)?;
    Ok(Bar {
        open_time_ms,
        close_time_ms,
        open,
        high,
        low,
        close,
        volume,
        quote_volume,
        // Not sent by OKX (see the module doc).
        trades: 0,
        taker_buy_volume: 0.0,
        closed,
    })
}

fn trades(
    channel: &'static str,
    arg: &Arg<'_>,
    value: &Value,
    recv_ns: i64,
    out: &mut Vec<MarketEvent>,
) -> Result<Frame, ParseError> {
    let bad = field_error(channel);
    let items = data_array(value).map_err(bad)?;
    for (i, item) in items.iter().enumerate() {
        let at = |e: String| bad(format!("data[{i}]: {e}"));
        let t: Trade = decode(item).map_err(at)?;
        out.push(trade_event(&t, arg, recv_ns).map_err(at)?);
    }
    Ok(Frame::Events(items.len()))
}

fn trade_event(t: &Trade<'_>, arg: &Arg<'_>, recv_ns: i64) -> Result<MarketEvent, String> {
    let symbol = item_symbol(t.inst_id, arg)?;
    let side = match t.side {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        other => {
            return Err(format!(
                "side {:?} is neither \"buy\" nor \"sell\"",
                truncated(other, 32)
            ));
        }
    };
    let id = Some(t.trade_id)
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|id| id.parse::<u64>().ok())
        .ok_or_else(|| {
            format!(
                "tradeId {:?} is not a decimal integer below 2^64",
                truncated(t.trade_id, 32)
            )
        })?;
    Ok(MarketEvent {
        exchange: Exchange::Okx,
        symbol,
        ts_event_ns: ms_text_to_ns(t.ts, "ts (fill time)")?,
        ts_recv_ns: recv_ns,
        kind: EventKind::Trade {
            price: parse_price(t.px, "px (price)")?,
            qty: parse_volume(t.sz, "sz (size)")?,
            side,
            id,
        },
    })
}

fn tickers(
    arg: &Arg<'_>,
    value: &Value,
    recv_ns: i64,
    out: &mut Vec<MarketEvent>,
) -> Result<Frame, ParseError> {
    let bad = field_error("tickers");
    let items = data_array(value).map_err(bad)?;
    let start = out.len();
    for (i, item) in items.iter().enumerate() {
        let at = |e: String| bad(format!("data[{i}]: {e}"));
        let t: Ticker = decode(item).map_err(at)?;
        let symbol = item_symbol(t.inst_id, arg).map_err(at)?;
        let sides = [t.bid_px, t.bid_sz, t.ask_px, t.ask_sz];
        if sides.iter().any(|s| s.is_empty()) {
            continue;
        }
        let levels = Levels {
            bid: (t.bid_px, t.bid_sz),
            ask: (t.ask_px, t.ask_sz),
            names: ["bidPx", "bidSz", "askPx", "askSz"],
        };
        out.push(quote(symbol, t.ts, &levels, recv_ns).map_err(at)?);
    }
    Ok(Frame::Events(out.len() - start))
}

fn best_bid_ask(
    arg: &Arg<'_>,
    value: &Value,
    recv_ns: i64,
    out: &mut Vec<MarketEvent>,
) -> Result<Frame, ParseError> {
    let bad = field_error("bbo-tbt");
    let items = data_array(value).map_err(bad)?;
    let start = out.len();
    for (i, item) in items.iter().enumerate() {
        let at = |e: String| bad(format!("data[{i}]: {e}"));
        let book: BookTop = decode(item).map_err(at)?;
        let symbol = match book.inst_id {
            Some(inst_id) => item_symbol(inst_id, arg),
            None => arg_symbol(arg),
        }
        .map_err(at)?;
        let (Some(bid), Some(ask)) = (book.bids.first(), book.asks.first()) else {
            continue;
        };
        let levels = Levels {
            bid: price_and_size(bid, "bids[0]").map_err(at)?,
            ask: price_and_size(ask, "asks[0]").map_err(at)?,
            names: [
                "bids[0] price",
                "bids[0] size",
                "asks[0] price",
                "asks[0] size",
            ],
        };
        out.push(quote(symbol, book.ts, &levels, recv_ns).map_err(at)?);
    }
    Ok(Frame::Events(out.len() - start))
}

/// The first two entries of a book level `[price, size, "0", orders]`.
fn price_and_size<'a>(level: &[&'a str], name: &str) -> Result<(&'a str, &'a str), String> {
    match level {
        [price, size, ..] => Ok((price, size)),
        _ => Err(format!(
            "{name} has {} entries, not [price, size, ..]",
            level.len()
        )),
    }
}

/// The best bid and ask as text, with the names errors give them.
struct Levels<'a> {
    bid: (&'a str, &'a str),
    ask: (&'a str, &'a str),
    names: [&'static str; 4],
}

fn quote(symbol: Symbol, ts: &str, l: &Levels<'_>, recv_ns: i64) -> Result<MarketEvent, String> {
    Ok(MarketEvent {
        exchange: Exchange::Okx,
        symbol,
        ts_event_ns: ms_text_to_ns(ts, "ts (generation time)")?,
        ts_recv_ns: recv_ns,
        kind: EventKind::Quote {
            bid: parse_price(l.bid.0, l.names[0])?,
            bid_qty: parse_volume(l.bid.1, l.names[1])?,
            ask: parse_price(l.ask.0, l.names[2])?,
            ask_qty: parse_volume(l.ask.1, l.names[3])?,
        },
    })
}

/// The instrument of a push, from `arg.instId`.
fn arg_symbol(arg: &Arg<'_>) -> Result<Symbol, String> {
    let inst_id = arg
        .inst_id
        .ok_or_else(|| "arg has no instId (instrument)".to_string())?;
    instrument(inst_id).map_err(|e| format!("arg.instId: {e}"))
}

/// The instrument of an item that names its own, which must be the subscription's.
fn item_symbol(inst_id: &str, arg: &Arg<'_>) -> Result<Symbol, String> {
    if let Some(subscribed) = arg.inst_id
        && subscribed != inst_id
    {
        return Err(format!(
            "instId {:?} differs from arg.instId {subscribed:?}",
            truncated(inst_id, 64)
        ));
    }
    instrument(inst_id).map_err(|e| format!("instId: {e}"))
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
#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
