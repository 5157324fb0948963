//! Binance's protocol rules as a [`Venue`]: spot ([`BinanceVenue::spot`]) and USDT-M futures
//! ([`BinanceVenue::futures`]).
//!
//! In: configured [`Stream`]s (symbol as Binance spells it, any case). Out: stream names
//! (`btcusdt@kline_1m`, `btcusdt@aggTrade`, `btcusdt@trade`, `btcusdt@bookTicker`), the
//! `SUBSCRIBE` requests that carry them, the connection rules, and parsed frames (through
//! [`parse_frame`]).
//!
//! Verified in Binance's documentation (stored copies read in December 2026):
//!
//! Spot: <https://developers.binance.com/legacy-docs/binance-spot-api-docs/web-socket-streams>
//! and the testnet page of the same name (limits, keepalive), and `web-socket-streams.md` of
//! GitHub `binance/binance-spot-api-docs` (request and reply formats):
//! - Base endpoint `wss://stream.binance.com:9443` (or `:443`); combined streams at
//!   `/stream?streams=..` or subscribed live, each message then wrapped as
//!   `{"stream":"<streamName>","data":<rawPayload>}`; stream names use lower-case symbols.
//! - Live subscription: `{"method":"SUBSCRIBE","params":["btcusdt@aggTrade",..],"id":1}`;
//!   success reply `{"result":null,"id":1}`; errors such as
//!   `{"code":2,"msg":"Invalid request: .."}` (codes 0 to 3 listed), parsed as
//!   [`Frame::Refused`]. `id` is a signed 64-bit
//!   integer, an alphanumeric string of at most 36 characters, or null.
//! - Limits: 5 incoming messages per second per connection, where PING frames, PONG frames
//!   and JSON control messages all count (beyond it the connection is dropped and repeat
//!   offenders' IPs banned); 1024 streams per connection; 300 connection attempts per 5
//!   minutes per IP.
//! - Keepalive: the server sends a ping frame every 20 s and disconnects when no pong comes
//!   back within a minute; the pong must copy the ping's payload; unsolicited pongs do not
//!   prevent disconnection. So no client heartbeat ([`Venue::keepalive`] is `None`); the
//!   websocket layer answers pings. (The 2023-12-04 edition in the GitHub repository still
//!   says 3 min / 10 min; the current pages say 20 s / 1 min.)
//! - A connection is valid for 24 hours.
//! - Kline intervals: 1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w, 1M.
//!
//! USDT-M futures: <https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams>
//! and <https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Important-WebSocket-Change-Notice>
//! (announced 2026-03-06):
//! - Since the legacy URLs were retired on 2026-04-23, `wss://fstream.binance.com` routes by
//!   path: `/public` carries high-frequency data (`@bookTicker`, `@depth`), `/market` regular
//!   market data (`@aggTrade`, `@kline_..`, `@markPrice`, tickers), `/private` user data. A
//!   connection without a routed path receives only `/public` data, silently (a user report,
//!   jesse-ai/jesse#562, saw `fstream.binance.com/stream?streams=..@kline_1h` go quiet). So
//!   [`Venue::path`] is `/public/stream` for quotes and `/market/stream` for the rest, on the
//!   default base URL `wss://fstream.binance.com`.
//! - Limits: 10 incoming messages per second per connection; ping frame every 3 minutes,
//!   disconnect when no pong within 10 minutes (unsolicited pongs allowed); 24 h lifetime;
//!   combined-stream wrapper as on spot. Streams per connection: the page on
//!   developers.binance.com says 1024, the same page on the developers.binance.me mirror says
//!   200; this venue keeps to 200.
//! - Not verified: the futures kline interval list (taken as spot's without `1s`), the
//!   futures subscribe reply format (taken as spot's, which the same method implies), and a
//!   raw `<symbol>@trade` stream: the USDT-M pages list none, so futures refuse
//!   [`Channel::Trades`] (use `agg_trades`).
//!
//! Neither market documents a limit on the streams named in one `SUBSCRIBE` request or on the
//! frame size; requests here name at most 200 streams (about 5 KB). The request rate is kept
//! below the documented one (4/s of 5 on spot, 8/s of 10 on futures) because our pongs to the
//! server's pings count too, and a burst at the limit gets the connection dropped.
//! `1M` (month) candles have no fixed length, so a [`Channel::Kline`] cannot name them.

use super::parse::parse_frame;
use crate::event::{Exchange, MarketEvent};
use crate::ingest::exchange::frame::{Frame, ParseError};
use crate::ingest::exchange::symbol::instrument;
use crate::ingest::exchange::venue::{Channel, Keepalive, Limits, Stream, Venue};
use std::time::Duration;

/// Binance spot or USDT-M futures: the same protocol with a few different rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BinanceVenue {
    exchange: Exchange,
}

/// Kline intervals both markets offer, in seconds, with Binance's names; spot adds `1s`.
const INTERVALS: &[(u32, &str)] = &[
    (60, "1m"),
    (180, "3m"),
    (300, "5m"),
    (900, "15m"),
    (1_800, "30m"),
    (3_600, "1h"),
    (7_200, "2h"),
    (14_400, "4h"),
    (21_600, "6h"),
    (28_800, "8h"),
    (43_200, "12h"),
    (86_400, "1d"),
    (259_200, "3d"),
    (604_800, "1w"),
];

/// Streams named in one `SUBSCRIBE` request (the docs set no limit; see the module doc).
const STREAMS_PER_REQUEST: usize = 200;

/// Far above any frame of the streams this venue subscribes (a kline is about 500 bytes) and
/// of a `LIST_SUBSCRIPTIONS` reply for 1024 streams (about 30 KB).
const MAX_FRAME_BYTES: usize = 64 * 1024;

const DAY: Duration = Duration::from_secs(24 * 3_600);

impl BinanceVenue {
    pub const fn spot() -> Self {
        Self {
            exchange: Exchange::Binance,
        }
    }

    pub const fn futures() -> Self {
        Self {
            exchange: Exchange::BinanceFutures,
        }
    }

    fn is_spot(self) -> bool {
        self.exchange == Exchange::Binance
    }

    /// Binance's name for `stream`, such as `btcusdt@kline_1m`; the error says why there is
    /// none.
    pub fn stream_name(&self, stream: &Stream) -> Result<String, String> {
        let symbol = &stream.symbol;
        let valid = !symbol.is_empty()
            && symbol.len() <= 32
            && symbol
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(format!(
                "{}: symbol {symbol:?} is not a Binance symbol (1-32 of A-Z, 0-9, '_')",
                self.exchange
            ));
        }
        instrument(symbol).map_err(|e| format!("{}: {e}", self.exchange))?;
        let suffix = match stream.channel {
            Channel::Kline { interval_s } => format!("kline_{}", self.interval(interval_s)?),
            Channel::AggTrades => "aggTrade".into(),
            Channel::Quotes => "bookTicker".into(),
            Channel::Trades if self.is_spot() => "trade".into(),
            Channel::Trades => {
                return Err(format!(
                    "{}: USDT-M futures document no raw trade stream; use \"agg_trades\"",
                    self.exchange
                ));
            }
        };
        Ok(format!("{}@{suffix}", symbol.to_ascii_lowercase()))
    }

    fn interval(self, interval_s: u32) -> Result<&'static str, String> {
        if interval_s == 1 && self.is_spot() {
            return Ok("1s");
        }
        INTERVALS
            .iter()
            .find(|(seconds, _)| *seconds == interval_s)
            .map(|(_, name)| *name)
            .ok_or_else(|| {
                let names: Vec<String> = INTERVALS
                    .iter()
                    .map(|(s, _)| Channel::Kline { interval_s: *s }.to_string())
                    .collect();
                let spot = if self.is_spot() { "kline_1s, " } else { "" };
                format!(
                    "{}: {} is not a Binance kline interval (one of {spot}{})",
                    self.exchange,
                    Channel::Kline { interval_s },
                    names.join(", ")
                )
            })
    }
}

impl Venue for BinanceVenue {
    fn exchange(&self) -> Exchange {
        self.exchange
    }

    fn default_url(&self) -> &'static str {
        if self.is_spot() {
            "wss://stream.binance.com:9443/stream"
        } else {
            "wss://fstream.binance.com"
        }
    }

    fn path(&self, stream: &Stream) -> &'static str {
        match (self.is_spot(), stream.channel) {
            (true, _) => "",
            (false, Channel::Quotes) => "/public/stream",
            (false, _) => "/market/stream",
        }
    }

    fn check(&self, stream: &Stream) -> Result<(), String> {
        self.stream_name(stream).map(drop)
    }

    fn limits(&self) -> Limits {
        Limits {
            max_streams: if self.is_spot() { 1_024 } else { 200 },
            streams_per_request: STREAMS_PER_REQUEST,
            max_requests_per_s: if self.is_spot() { 4.0 } else { 8.0 },
            lifetime: Some(DAY),
            max_frame_bytes: MAX_FRAME_BYTES,
        }
    }

    fn keepalive(&self) -> Option<Keepalive> {
        None
    }

    /// One request per `STREAMS_PER_REQUEST` streams, ids `first_id`, `first_id + 1`, ...
    /// Streams [`check`](Venue::check) refuses are left out.
    fn subscribe(&self, streams: &[Stream], first_id: u64) -> Vec<String> {
        let names: Vec<String> = streams
            .iter()
            .filter_map(|s| self.stream_name(s).ok())
            .collect();
        names
            .chunks(STREAMS_PER_REQUEST)
            .zip(first_id..)
            .map(|(params, id)| {
                // Names are [a-z0-9_@] only (checked above), so quoting needs no escapes.
                let params: Vec<String> = params.iter().map(|p| format!("\"{p}\"")).collect();
                format!(
                    r#"{{"method":"SUBSCRIBE","params":[{}],"id":{id}}}"#,
                    params.join(",")
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
        parse_frame(raw, self.exchange, recv_ns, out)
    }
}

#[cfg(test)]
#[path = "venue_tests.rs"]
mod tests;
