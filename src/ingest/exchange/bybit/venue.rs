//! Bybit v5 public websocket protocol rules as a [`Venue`]: topics, subscribe frames, keepalive
//! and limits.
//!
//! In: checked [`Stream`]s (symbols as Bybit spells them, `BTCUSDT`). Out: the subscribe frames,
//! the keepalive, the limits, and parsed frames (via [`parse`](super::parse::parse)).
//!
//! Streams map onto topics as: `Kline` → `kline.{interval}.{symbol}` (Bybit names its
//! intervals `1 3 5 15 30 60 120 240 360 720` minutes, `D`, `W` and `M`; the monthly one has no
//! fixed length and no config name, so it is not offered), `Trades` → `publicTrade.{symbol}`,
//! `Quotes` → `orderbook.1.{symbol}` (spot tickers carry no best bid/ask, and level-1 books are
//! snapshot-only on spot, linear and inverse, so one stateless topic serves every category;
//! Bybit options have no level-1 book). `AggTrades` does not exist on Bybit.
//!
//! Verified in Bybit's documentation, the `bybit-exchange/docs` repository at commit
//! `072c197d0c11b4d9a88d1dd0c7b9d7ca8ea3a996` (2026-07-24), which is the source of
//! <https://bybit-exchange.github.io/docs/v5/ws/connect> (`docs/v5/websocket/wss-authentication.mdx`)
//! and of the topic pages under <https://bybit-exchange.github.io/docs/v5/websocket/public/>:
//! - URLs: one endpoint per category, `wss://stream.bybit.com/v5/public/{spot,linear,inverse,option,spread}`;
//!   the default here is `linear` (USDT and USDC perpetuals and USDT futures). The category is
//!   chosen by the configured URL; nothing in a message says which one it came from.
//! - Subscribe: `{"op":"subscribe","req_id":"..","args":["topic",..]}`; `req_id` is optional and
//!   echoed. Args limits: "for one public connection, you cannot have length of "args" array
//!   over 21,000 characters"; spot takes at most 10 args per request; options at most 2,000 per
//!   connection; futures have no args limit. Every request here carries at most 10 topics (the
//!   spot rule, the only per-request one, and harmless elsewhere), and a connection at most 400:
//!   [`BybitVenue::check`] caps symbols at 30 characters, so the longest topic
//!   (`orderbook.1.` or `publicTrade.` + 30) takes 45 characters in the array with its quotes
//!   and comma, and 400 × 45 = 18,000 < 21,000.
//! - Replies: success `{"success":true,"ret_msg":"","conn_id":"..","req_id":"..","op":"subscribe"}`
//!   (spot sends `"ret_msg":"subscribe"`); a failure has `"success":false` and the reason in
//!   `ret_msg`; options and spread answer `{"success":true,"data":{"failTopics":[..],"successTopics":[..]},"type":"COMMAND_RESP"}`.
//! - Keepalive: the client sends `{"op":"ping"}` (an optional `req_id` is allowed); the docs
//!   "recommend that you send the ping heartbeat packet every 20 seconds". The pong is
//!   `{"success":true,"ret_msg":"pong",..,"op":"ping"}` on spot, linear and inverse and
//!   `{"args":[".."],"op":"pong"}` on options.
//! - Connection lifetime: none documented for public streams. The connect page says that
//!   without ping-pong and without stream data the server cuts a connection after 10 minutes,
//!   which the 20 s keepalive prevents. So `lifetime` is `None`.
//! - IP limits: at most 500 connections in 5 minutes per domain, at most 1,000 market-data
//!   connections per IP and category, "do not frequently connect and disconnect"
//!   (<https://bybit-exchange.github.io/docs/v5/rate-limit>, as quoted by the stored copy of that
//!   page). These bind the supervisor's reconnect policy, not one connection.
//!
//! Not documented (here set by reasoning, and said so): a rate for subscribe or ping requests
//! on one public connection (5 per second is used, well under anything an exchange enforces
//! for control messages; 40 subscribe requests fill a connection in 8 s); a maximum frame size
//! (the biggest message of these topics is a `publicTrade` push of up to 1,024 trades, about
//! 200 bytes each, some 200 KB; 1 MiB is allowed).

use super::parse;
use crate::event::{Exchange, MarketEvent};
use crate::ingest::exchange::frame::{Frame, ParseError};
use crate::ingest::exchange::symbol::instrument;
use crate::ingest::exchange::venue::{Channel, Keepalive, Limits, Stream, Venue};
use serde_json::Value;
use std::time::Duration;

/// Bybit's kline interval names and their length in seconds; `M` (a calendar month) is the only
/// one left out, having no fixed length.
pub const INTERVALS: &[(&str, u32)] = &[
    ("1", 60),
    ("3", 180),
    ("5", 300),
    ("15", 900),
    ("30", 1_800),
    ("60", 3_600),
    ("120", 7_200),
    ("240", 14_400),
    ("360", 21_600),
    ("720", 43_200),
    ("D", 86_400),
    ("W", 604_800),
];

/// Topics per subscribe request: spot's limit, applied everywhere.
pub const ARGS_PER_REQUEST: usize = 10;
/// Topics per connection (see the module doc for the 21,000-character arithmetic).
pub const MAX_TOPICS: usize = 400;
/// The longest symbol [`BybitVenue::check`] accepts, which bounds a topic's length.
pub const MAX_SYMBOL_LEN: usize = 30;

/// The length in seconds of the interval Bybit calls `name`, for fixed-length intervals.
pub fn interval_seconds(name: &str) -> Option<u32> {
    INTERVALS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Bybit's name of the interval of `seconds`.
pub fn interval_name(seconds: u32) -> Option<&'static str> {
    INTERVALS
        .iter()
        .find(|(_, s)| *s == seconds)
        .map(|(n, _)| *n)
}

/// Bybit v5 public market data (spot, linear, inverse; options for trades).
#[derive(Clone, Copy, Debug, Default)]
pub struct BybitVenue;

/// The topic of a stream, `None` for one that [`BybitVenue::check`] refuses.
pub fn topic(stream: &Stream) -> Option<String> {
    let symbol = &stream.symbol;
    match stream.channel {
        Channel::Kline { interval_s } => {
            interval_name(interval_s).map(|name| format!("kline.{name}.{symbol}"))
        }
        Channel::Trades => Some(format!("publicTrade.{symbol}")),
        Channel::Quotes => Some(format!("orderbook.1.{symbol}")),
        Channel::AggTrades => None,
    }
}

fn check_symbol(symbol: &str) -> Result<(), String> {
    let ok = (1..=MAX_SYMBOL_LEN).contains(&symbol.len())
        && symbol
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(format!(
            "bybit symbol {symbol:?} must be 1-{MAX_SYMBOL_LEN} of A-Z, 0-9 and '-' (e.g. \"BTCUSDT\")"
        ));
    }
    instrument(symbol).map(|_| ())
}

impl Venue for BybitVenue {
    fn exchange(&self) -> Exchange {
        Exchange::Bybit
    }

    fn default_url(&self) -> &'static str {
        "wss://stream.bybit.com/v5/public/linear"
    }

    fn check(&self, stream: &Stream) -> Result<(), String> {
        check_symbol(&stream.symbol)?;
        match stream.channel {
            Channel::AggTrades => Err(format!(
                "bybit has no aggregated-trade stream ({} {}); use \"trades\" (publicTrade)",
                stream.symbol, stream.channel
            )),
            Channel::Kline { interval_s } if interval_name(interval_s).is_none() => Err(format!(
                "bybit has no {} klines ({}); it offers 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, \
                 12h, 1d and 7d",
                stream.channel, stream.symbol
            )),
            _ => Ok(()),
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_streams: MAX_TOPICS,
            streams_per_request: ARGS_PER_REQUEST,
            max_requests_per_s: 5.0,
            lifetime: None,
            max_frame_bytes: 1 << 20,
        }
    }

    fn keepalive(&self) -> Option<Keepalive> {
        Some(Keepalive {
            every: Duration::from_secs(20),
            message: r#"{"op":"ping"}"#.to_string(),
        })
    }

    /// One `subscribe` request per [`ARGS_PER_REQUEST`] topics, `req_id` counting up from
    /// `first_id`. Streams that `check` refuses are left out.
    fn subscribe(&self, streams: &[Stream], first_id: u64) -> Vec<String> {
        let topics: Vec<String> = streams
            .iter()
            .filter_map(topic)
            .map(|t| Value::from(t).to_string())
            .collect();
        topics
            .chunks(ARGS_PER_REQUEST)
            .zip(0_u64..)
            .map(|(args, i)| {
                let id = first_id.wrapping_add(i);
                format!(
                    r#"{{"op":"subscribe","req_id":"{id}","args":[{}]}}"#,
                    args.join(",")
                )
            })
            .collect()
    }

    fn parse(
        &self,
        raw: &[u8],
        recv_ns: i64,
        out: &mut Vec<MarketEvent>,
    ) -> Result<Frame, ParseError> {
        parse::parse(raw, recv_ns, out)
    }
}

#[cfg(test)]
#[path = "venue_tests.rs"]
mod tests;
