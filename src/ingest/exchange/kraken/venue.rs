//! Kraken spot websocket v2 as a [`Venue`]: what to send to subscribe and keep alive, and the
//! rules the supervisor enforces on a connection.
//!
//! In: checked [`Stream`]s (a pair as v2 spells it, `BTC/USD`, and a [`Channel`]). Out:
//! subscribe frames, the ping keepalive, [`Limits`], and parsed frames (see
//! [`parse`](mod@super::parse)).
//!
//! Channels: [`Channel::Kline`] of 1, 5, 15, 30, 60, 240, 1440, 10080 or 21600 minutes → `ohlc`
//! with that `interval`, [`Channel::Trades`] → `trade`, [`Channel::Quotes`] → `ticker` with
//! `event_trigger: "bbo"` (a message on every change of the best bid or offer; the default,
//! `trades`, would only send one per trade). Other intervals and [`Channel::AggTrades`] are
//! refused by [`Venue::check`].
//!
//! Verified in Kraken's documentation (docs.kraken.com, as stored by the search tool):
//! - URL `wss://ws.kraken.com/v2` for public data
//!   (<https://docs.kraken.com/exchange/guides/websockets/introduction>); v2 spells pairs
//!   `BTC/USD` where v1 spelled them `XBT/USD`
//!   (<https://docs.kraken.com/exchange/api-reference/spot-websocket>, "v2 vs v1"), so `check`
//!   refuses `XBT`/`XDG` spellings, which Kraken would answer with "Currency pair not supported".
//! - Subscribe `{"method":"subscribe","params":{"channel":..,"symbol":[..],..},"req_id":N}`, with
//!   a list of symbols per request and one acknowledgement per symbol; OHLC intervals as above
//!   (<https://docs.kraken.com/exchange/api-reference/spot-websocket-v2/ohlc>); the ticker's
//!   `event_trigger` (<https://docs.kraken.com/exchange/api-reference/spot-websocket-v2/ticker>).
//!   A failed subscription answers `success: false` with an `error` (same pages). Snapshots:
//!   `ohlc` and `ticker` send one by default, `trade` does not (when asked, it is the last 50
//!   trades); the requests here keep the defaults, so a reconnect repeats no trade and the
//!   trades of the gap are not replayed.
//! - Keepalive: the client may send `{"method":"ping","req_id":N}` and gets a `pong`
//!   (<https://docs.kraken.com/exchange/api-reference/spot-websocket-v2/ping>); once anything is
//!   subscribed, Kraken sends `{"channel":"heartbeat"}` about once a second when no other update
//!   goes out (<https://docs.kraken.com/exchange/api-reference/spot-websocket-v2/heartbeat>).
//!   The docs state no idle timeout; a ping every 30 s is a cheap liveness check that also
//!   covers a quiet connection. Its `req_id` is always [`PING_REQ_ID`]; pongs are heartbeats
//!   whatever their id.
//! - `status` arrives on connect and when the engine's state changes
//!   (<https://docs.kraken.com/exchange/api-reference/spot-websocket-v2/status>).
//!
//! Not found in the docs reachable here, so chosen: symbols per connection and per request (no
//! number documented; 200 and 50 keep snapshots small), the request rate (Kraken's spot
//! websocket rate limit is documented as dynamic, with an "Exceeded msg rate" error, and no fixed
//! number; 2 per second is conservative), a connection lifetime (none documented, none set), and
//! the largest frame (none documented; 4 MiB bounds an OHLC or trade snapshot many times over).

use super::parse::{self, INTERVALS_MIN};
use crate::event::{Exchange, MarketEvent};
use crate::ingest::exchange::frame::{Frame, ParseError};
use crate::ingest::exchange::symbol::instrument;
use crate::ingest::exchange::venue::{Channel, Keepalive, Limits, Stream, Venue, group_symbols};
use serde_json::Value;
use std::time::Duration;

/// Kraken spot websocket v2 public market data. Stateless.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KrakenVenue;

/// The production public endpoint.
pub const DEFAULT_URL: &str = "wss://ws.kraken.com/v2";

/// The connection rules (see the module doc for which are documented and which chosen).
pub const LIMITS: Limits = Limits {
    max_streams: 200,
    streams_per_request: 50,
    max_requests_per_s: 2.0,
    lifetime: None,
    max_frame_bytes: 4 * 1024 * 1024,
};

/// The `req_id` of every keepalive ping.
pub const PING_REQ_ID: u64 = 0;

/// How often the keepalive ping goes out.
pub const PING_EVERY: Duration = Duration::from_secs(30);

/// Legacy asset codes v1 used and v2 replaced.
const V1_CODES: &[(&str, &str)] = &[("XBT", "BTC"), ("XDG", "DOGE")];

impl KrakenVenue {
    /// The Kraken channel that serves `channel`, if any.
    pub fn channel_name(channel: Channel) -> Option<&'static str> {
        match channel {
            Channel::Kline { .. } => ohlc_minutes(channel).map(|_| "ohlc"),
            Channel::Trades => Some("trade"),
            Channel::Quotes => Some("ticker"),
            Channel::AggTrades => None,
        }
    }
}

/// The OHLC interval in minutes, when Kraken offers it.
fn ohlc_minutes(channel: Channel) -> Option<u32> {
    let Channel::Kline { interval_s } = channel else {
        return None;
    };
    let minutes = interval_s / 60;
    (interval_s % 60 == 0 && INTERVALS_MIN.contains(&minutes)).then_some(minutes)
}

impl Venue for KrakenVenue {
    fn exchange(&self) -> Exchange {
        Exchange::Kraken
    }

    fn default_url(&self) -> &'static str {
        DEFAULT_URL
    }

    fn check(&self, stream: &Stream) -> Result<(), String> {
        check_pair(&stream.symbol)?;
        match stream.channel {
            Channel::AggTrades => Err(format!(
                "kraken has no aggregated-trades channel ({}): use \"trades\"",
                stream.symbol
            )),
            Channel::Kline { .. } if ohlc_minutes(stream.channel).is_none() => Err(format!(
                "kraken has no \"{}\" candles ({}): its OHLC intervals are {INTERVALS_MIN:?} \
                 minutes",
                stream.channel, stream.symbol
            )),
            _ => Ok(()),
        }
    }

    fn limits(&self) -> Limits {
        LIMITS
    }

    fn keepalive(&self) -> Option<Keepalive> {
        Some(Keepalive {
            every: PING_EVERY,
            message: format!(r#"{{"method":"ping","req_id":{PING_REQ_ID}}}"#),
        })
    }

    /// One request per channel (and OHLC interval) and chunk of `limits().streams_per_request`
    /// symbols, in order of first appearance, duplicates dropped, numbered from `first_id`.
    /// Streams [`Venue::check`] refuses are left out.
    fn subscribe(&self, streams: &[Stream], first_id: u64) -> Vec<String> {
        let mut frames = Vec::new();
        for (channel, symbols) in by_channel(streams) {
            for chunk in symbols.chunks(LIMITS.streams_per_request) {
                let req_id = first_id.saturating_add(frames.len() as u64);
                frames.push(subscribe_message(channel, chunk, req_id));
            }
        }
        frames
    }

    fn marks_closed_candles(&self) -> bool {
        false
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

/// A pair as v2 spells it: `BASE/QUOTE`, upper case, no v1 asset codes.
fn check_pair(pair: &str) -> Result<(), String> {
    instrument(pair).map_err(|e| format!("kraken pair: {e}"))?;
    let shaped = pair.split('/').count() == 2 && !pair.contains(['-', '_']);
    if !shaped || pair != pair.to_uppercase() {
        return Err(format!(
            "kraken pair {pair:?} is not spelled like \"BTC/USD\" (upper case, slash-separated)"
        ));
    }
    for (v1, v2) in V1_CODES {
        if pair.split('/').any(|part| part == *v1) {
            return Err(format!(
                "kraken pair {pair:?} uses the v1 code {v1}; websocket v2 spells it {v2}"
            ));
        }
    }
    Ok(())
}

/// The symbols of each (channel, interval), in order of first appearance, without duplicates.
fn by_channel(streams: &[Stream]) -> Vec<(Channel, Vec<&str>)> {
    group_symbols(streams, |s| {
        KrakenVenue::channel_name(s.channel).map(|_| s.channel)
    })
}

/// `{"method":"subscribe","params":{"channel":..,"symbol":[..],..},"req_id":N}`, written by hand
/// so the key order is the documented one.
fn subscribe_message(channel: Channel, symbols: &[&str], req_id: u64) -> String {
    let names: Vec<String> = symbols
        .iter()
        .map(|s| Value::from(*s).to_string())
        .collect();
    let extra = match (channel, ohlc_minutes(channel)) {
        (_, Some(minutes)) => format!(r#","interval":{minutes}"#),
        (Channel::Quotes, _) => r#","event_trigger":"bbo""#.to_string(),
        _ => String::new(),
    };
    let name = KrakenVenue::channel_name(channel).unwrap_or_default();
    format!(
        r#"{{"method":"subscribe","params":{{"channel":"{name}","symbol":[{}]{extra}}},"req_id":{req_id}}}"#,
        names.join(",")
    )
}

#[cfg(test)]
#[path = "venue_tests.rs"]
mod tests;
