//! The fast path of the Binance parser: one pass over the bytes straight into the borrowed
//! structs of `messages.rs`, with no `serde_json::Value` and no allocation.
//!
//! In: the raw message. Out: `Some(`[`Fast`]`)` for the ordinary layouts: the combined wrapper
//! `{"stream":..,"data":P}` or a bare `P`, where `P` is an object whose first key is `e` (a
//! string) or, for spot bookTicker, `u`. `None` hands the message to the general path in
//! `parse.rs`, which then decides alone; `None` is the answer for anything this path cannot
//! vouch for: malformed JSON, an escaped string where a `&str` is read, a duplicate key, keys in
//! another order, a reply, a field that does not decode.
//!
//! The rule that keeps the two paths equal: `Some` is only returned for a message the general
//! path reads into the same struct. So the keys that steer the general path (`stream` inside a
//! payload, a second `e`, the reply and depth-snapshot keys of an untyped payload) are refused,
//! and skipped values are checked as strictly as a `Value` would be (see `strict.rs`).
//! `fast_tests.rs` checks the agreement on every fixture and on mutated messages.

use super::messages::{AggTradeEvent, BookTickerEvent, Kline, KlineEvent, TradeEvent};
use super::strict::{Checked, FromMap, Strict, general, nested, wire_struct};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use std::fmt;

/// A message the fast path read in full.
#[derive(Debug)]
pub(super) enum Fast<'a> {
    Kline(KlineEvent<'a>),
    AggTrade(AggTradeEvent<'a>),
    Trade(TradeEvent<'a>),
    BookTicker(BookTickerEvent<'a>),
    /// A well-formed event of another type: its `e`.
    Other(&'a str),
}

/// Decodes `raw`, or `None` to leave it to the general path.
pub(super) fn decode(raw: &[u8]) -> Option<Fast<'_>> {
    // One UTF-8 check of the whole message is cheaper than serde_json's check of each string
    // read from a byte slice; bytes that are not UTF-8 are malformed JSON either way.
    let text = std::str::from_utf8(raw).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    let message = (&mut de).deserialize_map(Message).ok()?;
    de.end().ok()?;
    Some(message)
}

/// Keys that would make the general path read a typed payload differently.
const TYPED_REJECT: &[&str] = &["e", "stream"];

/// Keys that would make the general path read an untyped payload as something other than a
/// spot bookTicker (a reply, a depth snapshot, a typed event).
const UNTYPED_REJECT: &[&str] = &[
    "e",
    "stream",
    "error",
    "code",
    "msg",
    "result",
    "id",
    "lastUpdateId",
];

/// The whole message: the combined wrapper, or a bare payload.
struct Message;

impl<'de> Visitor<'de> for Message {
    type Value = Fast<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Binance message")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fast<'de>, A::Error> {
        match map.next_key::<&'de str>()? {
            Some("stream") => {
                map.next_value::<Checked>()?;
                if map.next_key::<&'de str>()? != Some("data") {
                    return Err(general());
                }
                let payload = map.next_value_seed(PayloadSeed)?;
                match map.next_key::<Checked>()? {
                    Some(_) => Err(general()),
                    None => Ok(payload),
                }
            }
            Some(first) => payload(first, &mut map),
            None => Err(general()),
        }
    }
}

/// The `data` of a combined message.
struct PayloadSeed;

impl<'de> DeserializeSeed<'de> for PayloadSeed {
    type Value = Fast<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fast<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PayloadSeed {
    type Value = Fast<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Binance payload object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fast<'de>, A::Error> {
        match map.next_key::<&'de str>()? {
            Some(first) => payload(first, &mut map),
            None => Err(general()),
        }
    }
}

/// A payload whose first key, `first`, has been read (its value not yet).
fn payload<'de, A: MapAccess<'de>>(first: &'de str, map: &mut A) -> Result<Fast<'de>, A::Error> {
    match first {
        "e" => {
            let kind: &'de str = map.next_value()?;
            typed(kind, map)
        }
        // Spot bookTicker has no event type; its first key is the update id.
        "u" => BookTickerEvent::from_map(Some(first), map, UNTYPED_REJECT).map(Fast::BookTicker),
        _ => Err(general()),
    }
}

fn typed<'de, A: MapAccess<'de>>(kind: &'de str, map: &mut A) -> Result<Fast<'de>, A::Error> {
    Ok(match kind {
        "kline" => Fast::Kline(KlineEvent::from_map(None, map, TYPED_REJECT)?),
        "aggTrade" => Fast::AggTrade(AggTradeEvent::from_map(None, map, TYPED_REJECT)?),
        "trade" => Fast::Trade(TradeEvent::from_map(None, map, TYPED_REJECT)?),
        "bookTicker" => Fast::BookTicker(BookTickerEvent::from_map(None, map, TYPED_REJECT)?),
        _ => {
            while let Some(key) = map.next_key::<&'de str>()? {
                if TYPED_REJECT.contains(&key) {
                    return Err(general());
                }
                map.next_value::<Checked>()?;
            }
            Fast::Other(kind)
        }
    })
}

impl<'de: 'a, 'a> Strict<'de> for Kline<'a> {
    fn strict<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        nested(d)
    }
}

// The keys of `messages.rs`, field for field.
wire_struct!(KlineEvent {
    "E" => event_time_ms: required,
    "s" => symbol: required,
    "k" => kline: required,
});

wire_struct!(Kline {
    "t" => open_time_ms: required,
    "T" => close_time_ms: required,
    "s" => symbol: required,
    "i" => interval: required,
    "f" => first_trade_id: required,
    "L" => last_trade_id: required,
    "o" => open: required,
    "c" => close: required,
    "h" => high: required,
    "l" => low: required,
    "v" => volume: required,
    "n" => trades: required,
    "x" => closed: required,
    "q" => quote_volume: required,
    "V" => taker_buy_volume: required,
    "Q" => taker_buy_quote_volume: required,
    "B" => ignore: optional,
});

wire_struct!(AggTradeEvent {
    "E" => event_time_ms: required,
    "s" => symbol: required,
    "a" => agg_id: required,
    "p" => price: required,
    "q" => qty: required,
    "nq" => normal_qty: optional,
    "f" => first_trade_id: required,
    "l" => last_trade_id: required,
    "T" => trade_time_ms: required,
    "m" => buyer_is_maker: required,
    "M" => ignore: optional,
});

wire_struct!(TradeEvent {
    "E" => event_time_ms: required,
    "s" => symbol: required,
    "t" => trade_id: required,
    "p" => price: required,
    "q" => qty: required,
    "b" => buyer_order_id: optional,
    "a" => seller_order_id: optional,
    "T" => trade_time_ms: required,
    "m" => buyer_is_maker: required,
    "X" => order_type: optional,
    "M" => ignore: optional,
});

wire_struct!(BookTickerEvent {
    "u" => update_id: required,
    "E" => event_time_ms: optional,
    "T" => transaction_time_ms: optional,
    "s" => symbol: required,
    "b" => bid: required,
    "B" => bid_qty: required,
    "a" => ask: required,
    "A" => ask_qty: required,
});

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;
