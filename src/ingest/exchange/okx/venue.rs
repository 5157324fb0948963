//! OKX v5 public websocket protocol rules as a [`Venue`]: channels, endpoints, subscribe
//! frames, keepalive and limits.
//!
//! In: checked [`Stream`]s (instrument ids as OKX spells them, `BTC-USDT`, `BTC-USDT-SWAP`).
//! Out: the endpoint path of each stream, the subscribe frames, the keepalive, the limits, and
//! parsed frames (via [`parse`](super::parse::parse)).
//!
//! Streams map onto channels as: `Kline` → `candle{bar}` on `/ws/v5/business`, `Trades` →
//! `trades` and `Quotes` → `bbo-tbt`, both on `/ws/v5/public`. `AggTrades` is refused.
//! - Bars: OKX names `1s 1m 3m 5m 15m 30m 1H 2H 4H`, then `6H 12H 1D 2D 3D 5D 1W` aligned to
//!   Hong Kong time (UTC+8) and the same with a `utc` suffix aligned to UTC. The UTC ones are
//!   subscribed (`kline_1d` → `candle1Dutc`), so a day bar opens at 00:00 UTC as on Binance;
//!   up to 4H the two alignments coincide, 8 hours being a whole number of bars.
//! - Quotes: `bbo-tbt` rather than `tickers`: it is the order book's best level with sizes,
//!   pushed as a whole snapshot every 10 ms while it changes (so a stateless parser reads each
//!   message exactly), and needs no login or VIP tier (only `books-l2-tbt` and
//!   `books50-l2-tbt` do). `tickers` carries the same four numbers but at most every 100 ms and
//!   also on trades; it is parsed too.
//! - Trades: `trades` sends one item per taker order and price (`count` matches aggregated,
//!   `tradeId` the last one), the same volume and taker flow as every fill. The unaggregated
//!   `trades-all` is served on `/ws/v5/business` only; the parser reads it as well, should a
//!   per-match stream be wanted.
//!
//! Verified in the OKX v5 API documentation (<https://www.okx.com/docs-v5/en/>, sections
//! "WebSocket" → Connect, Subscribe, Notification, and "Order Book Trading" → Market Data → WS
//! Tickers, Candlesticks, Trades, All trades and Order book channels). The stored copy read
//! was the EEA edition (`https://my.okx.com/docs-v5/en/`, converted 2025-07-13), whose hosts
//! are `wseea.okx.com`. The global production host `wss://ws.okx.com:8443` is not in that copy:
//! it is the brief's, and agrees with the demo host `wss://wspap.okx.com:8443` of the Python
//! examples in the same pages and with third-party clients (the `okx-api` npm SDK, which cites
//! <https://www.okx.com/docs-v5/en/#overview-production-trading-services>, and nautilus_trader).
//! - Endpoints: candles are on `/ws/v5/business` ("URL Path /ws/v5/business"), tickers, trades
//!   and order books on `/ws/v5/public`.
//! - Subscribe: `{"op":"subscribe","args":[{"channel":"candle1D","instId":"BTC-USDT"}]}` (an
//!   optional `id` is echoed; not sent here). "The total length of multiple channels cannot
//!   exceed 64 KB." Success: `{"event":"subscribe","arg":{..},"connId":".."}`; failure:
//!   `{"event":"error","code":"60012","msg":"Invalid request: ..","connId":".."}`.
//! - Request rate: "The total number of 'subscribe'/'unsubscribe'/'login' requests per
//!   connection is limited to 480 times per hour", i.e. 0.133 per second on average; connection
//!   attempts are limited to 3 per second per IP.
//! - Keepalive: "The connection will break automatically if the subscription is not established
//!   or data has not been pushed for more than 30 seconds"; the client should send the string
//!   `ping` when nothing arrived for N < 30 seconds and expect the string `pong`. The client
//!   here sends `ping` every 20 s whatever arrived, which satisfies the rule.
//! - Lifetime: no maximum connection age is documented. A `notice` (code 64008) warns 60 s
//!   before a service upgrade closes the connection; the parser reports it as a skip.
//! - Streams per connection: no cap is documented for public channels (the 30-connection cap
//!   per channel and sub-account applies to private channels such as orders and positions).
//!
//! Set by reasoning, and said so: 300 streams per connection and 100 per request (3 requests,
//! each about 6 KB of args: `{"channel":"candle12Hutc","instId":..}` with an instrument id of
//! at most 64 characters is under 100 bytes, so even 100 of them stay far below 64 KB, and a
//! refusal, which echoes the whole request in `msg`, stays readable); a maximum frame of
//! 1 MiB (the channels read here send small items; OKX documents no bound, and its largest
//! public pushes, 400-level books and instrument lists, are hundreds of KB at most).

use super::parse;
use crate::event::{Exchange, MarketEvent};
use crate::ingest::exchange::frame::{Frame, ParseError};
use crate::ingest::exchange::symbol::instrument;
use crate::ingest::exchange::venue::{Channel, Keepalive, Limits, Stream, Venue};
use serde_json::Value;
use std::time::Duration;

/// OKX candle bar names (after `candle`) and their length in seconds. For a length listed twice
/// the first name, aligned to UTC, is the one subscribed; the Hong Kong-aligned ones are only
/// read. Calendar months (`1M`, `3M`, ...) are left out, having no fixed length.
pub const BARS: &[(&str, u32)] = &[
    ("1s", 1),
    ("1m", 60),
    ("3m", 180),
    ("5m", 300),
    ("15m", 900),
    ("30m", 1_800),
    ("1H", 3_600),
    ("2H", 7_200),
    ("4H", 14_400),
    ("6Hutc", 21_600),
    ("12Hutc", 43_200),
    ("1Dutc", 86_400),
    ("2Dutc", 172_800),
    ("3Dutc", 259_200),
    ("5Dutc", 432_000),
    ("1Wutc", 604_800),
    ("6H", 21_600),
    ("12H", 43_200),
    ("1D", 86_400),
    ("2D", 172_800),
    ("3D", 259_200),
    ("5D", 432_000),
    ("1W", 604_800),
];

/// The endpoint of candle channels.
pub const BUSINESS: &str = "/ws/v5/business";
/// The endpoint of trades, tickers and order books.
pub const PUBLIC: &str = "/ws/v5/public";
/// Channels per subscribe request.
pub const ARGS_PER_REQUEST: usize = 100;
/// Channels per connection.
pub const MAX_ARGS: usize = 300;

/// The length in seconds of the bar OKX calls `name` (`1m`, `1Dutc`), for fixed-length bars.
pub fn bar_seconds(name: &str) -> Option<u32> {
    BARS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// The bar name subscribed for an interval of `seconds`.
pub fn bar_name(seconds: u32) -> Option<&'static str> {
    BARS.iter().find(|(_, s)| *s == seconds).map(|(n, _)| *n)
}

/// The channel of a stream, `None` for one that [`OkxVenue::check`] refuses.
pub fn channel(stream: &Stream) -> Option<String> {
    match stream.channel {
        Channel::Kline { interval_s } => bar_name(interval_s).map(|bar| format!("candle{bar}")),
        Channel::Trades => Some("trades".into()),
        Channel::Quotes => Some("bbo-tbt".into()),
        Channel::AggTrades => None,
    }
}

/// OKX v5 public market data (spot, margin, swaps, futures).
#[derive(Clone, Copy, Debug, Default)]
pub struct OkxVenue;

fn check_symbol(symbol: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&symbol.len())
        && symbol
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(format!(
            "okx instrument id {symbol:?} must be 1-64 of A-Z, 0-9 and '-' (e.g. \"BTC-USDT\", \
             \"BTC-USDT-SWAP\")"
        ));
    }
    instrument(symbol).map(|_| ())
}

impl Venue for OkxVenue {
    fn exchange(&self) -> Exchange {
        Exchange::Okx
    }

    fn default_url(&self) -> &'static str {
        "wss://ws.okx.com:8443"
    }

    fn path(&self, stream: &Stream) -> &'static str {
        match stream.channel {
            Channel::Kline { .. } => BUSINESS,
            _ => PUBLIC,
        }
    }

    fn check(&self, stream: &Stream) -> Result<(), String> {
        check_symbol(&stream.symbol)?;
        match stream.channel {
            Channel::AggTrades => Err(format!(
                "okx has no aggregated-trade stream ({} {}); use \"trades\"",
                stream.symbol, stream.channel
            )),
            Channel::Kline { interval_s } if bar_name(interval_s).is_none() => Err(format!(
                "okx has no {} candles ({}); it offers 1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, \
                 6h, 12h, 1d, 2d, 3d, 5d and 7d",
                stream.channel, stream.symbol
            )),
            _ => Ok(()),
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_streams: MAX_ARGS,
            streams_per_request: ARGS_PER_REQUEST,
            max_requests_per_s: 480.0 / 3_600.0,
            lifetime: None,
            max_frame_bytes: 1 << 20,
        }
    }

    fn keepalive(&self) -> Option<Keepalive> {
        Some(Keepalive {
            every: Duration::from_secs(20),
            message: "ping".to_string(),
        })
    }

    /// One `subscribe` request per [`ARGS_PER_REQUEST`] channels. OKX's optional request `id`
    /// is not sent, so `first_id` is unused. Streams that `check` refuses are left out; the
    /// caller passes streams of one [`Venue::path`] only.
    fn subscribe(&self, streams: &[Stream], _first_id: u64) -> Vec<String> {
        let args: Vec<String> = streams
            .iter()
            .filter_map(|s| {
                let channel = Value::from(channel(s)?);
                let inst_id = Value::from(s.symbol.as_str());
                Some(format!(r#"{{"channel":{channel},"instId":{inst_id}}}"#))
            })
            .collect();
        args.chunks(ARGS_PER_REQUEST)
            .map(|chunk| format!(r#"{{"op":"subscribe","args":[{}]}}"#, chunk.join(",")))
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
