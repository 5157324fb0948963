//! Coinbase Advanced Trade market data as a [`Venue`]: what to send to subscribe, and the rules
//! the supervisor enforces on a connection.
//!
//! In: checked [`Stream`]s (a product id such as `BTC-USD` and a [`Channel`]). Out: subscribe
//! frames, [`Limits`], and parsed frames (see [`parse`](mod@super::parse)).
//!
//! Channels: [`Channel::Kline`] of 5 minutes → `candles`, [`Channel::Trades`] →
//! `market_trades`, [`Channel::Quotes`] → `ticker`. Other candle sizes and
//! [`Channel::AggTrades`] are refused by [`Venue::check`].
//!
//! Verified in Coinbase's documentation (docs.cdp.coinbase.com, as stored by the search tool):
//! - URL `wss://advanced-trade-ws.coinbase.com` (market data; `advanced-trade-ws-user` is for user
//!   orders): <https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-overview>.
//! - Subscribe `{"type":"subscribe","product_ids":[..],"channel":".."}`; "you must send a unique
//!   subscription message for each channel", and a connection that sends no subscribe within 5
//!   seconds is disconnected (same page). `heartbeats` takes no product ids
//!   (<https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/heartbeats>).
//! - No JWT is needed: the channel table marks `heartbeats`, `candles`, `ticker`,
//!   `market_trades`, `level2` and `status` "Requires Authentication: No", and says most channels
//!   close within 60 to 90 seconds without updates unless `heartbeats` is subscribed
//!   (<https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels>).
//!   So [`CoinbaseVenue::subscribe`] always subscribes `heartbeats` first (one message a second,
//!   with a `heartbeat_counter`); there is no client ping to send ([`Venue::keepalive`] is `None`).
//!   The same table advises authenticating "for the most reliable connection"; this venue does
//!   not (no credentials in the engine).
//! - Candles are five-minute buckets, updated every second
//!   (<https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/candles>);
//!   market trades are batched over 250 ms, so one update may carry many trades
//!   (<https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/websocket/market-trades>).
//! - Rates: connections 8 per second per IP, unauthenticated messages 8 per second per IP
//!   (<https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-rate-limits>;
//!   the Coinbase Business copy of that page says 750 connections per second, the message limit
//!   is the same). The limit is per IP, and [`Limits`] is per connection, so
//!   `max_requests_per_s` is half of it, leaving room for a second connection during rotation.
//! - Errors come as `{"type":"error","message":..}` (documented for the Exchange feed,
//!   <https://docs.cdp.coinbase.com/exchange/websocket-feed/errors>, whose protocol Advanced Trade
//!   shares); the parser turns them into [`Frame::Refused`](crate::ingest::exchange::Frame).
//! - Sequence numbers: see [`sequence_num`](super::parse::sequence_num).
//!
//! Not documented, so chosen here: how many products one connection or one subscribe message
//! may carry (the docs give no number; 300 streams per connection and 100 products per message
//! keep frames and snapshots small), a connection lifetime (none documented, none set), and the
//! largest frame (none documented; 10 MiB is the receive limit Coinbase's own Python SDK,
//! `coinbase-advanced-py`, sets by default: <https://coinbase.github.io/coinbase-advanced-py/coinbase.websocket.html>).

use super::parse::{self, CANDLE_MS};
use crate::event::{Exchange, MarketEvent};
use crate::ingest::exchange::frame::{Frame, ParseError};
use crate::ingest::exchange::symbol::instrument;
use crate::ingest::exchange::venue::{Channel, Keepalive, Limits, Stream, Venue, group_symbols};
use serde_json::Value;

/// Coinbase Advanced Trade public market data. Stateless.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoinbaseVenue;

/// The production market-data endpoint.
pub const DEFAULT_URL: &str = "wss://advanced-trade-ws.coinbase.com";

/// The connection rules (see the module doc for which are documented and which chosen).
pub const LIMITS: Limits = Limits {
    max_streams: 300,
    streams_per_request: 100,
    max_requests_per_s: 4.0,
    lifetime: None,
    max_frame_bytes: 10 * 1024 * 1024,
};

/// The channel every connection subscribes, so Coinbase keeps the others open.
pub const HEARTBEATS: &str = "heartbeats";

impl CoinbaseVenue {
    /// The Coinbase channel that serves `channel`, if any.
    pub fn channel_name(channel: Channel) -> Option<&'static str> {
        match channel {
            Channel::Kline { interval_s } if i64::from(interval_s) * 1_000 == CANDLE_MS => {
                Some("candles")
            }
            Channel::Trades => Some("market_trades"),
            Channel::Quotes => Some("ticker"),
            Channel::Kline { .. } | Channel::AggTrades => None,
        }
    }
}

impl Venue for CoinbaseVenue {
    fn exchange(&self) -> Exchange {
        Exchange::Coinbase
    }

    fn default_url(&self) -> &'static str {
        DEFAULT_URL
    }

    fn check(&self, stream: &Stream) -> Result<(), String> {
        check_product(&stream.symbol)?;
        match stream.channel {
            Channel::AggTrades => Err(format!(
                "coinbase has no aggregated-trades channel ({}): use \"trades\"",
                stream.symbol
            )),
            Channel::Kline { .. } if Self::channel_name(stream.channel).is_none() => Err(format!(
                "coinbase candles are 5-minute only: use \"kline_5m\", not \"{}\" ({})",
                stream.channel, stream.symbol
            )),
            _ => Ok(()),
        }
    }

    fn limits(&self) -> Limits {
        LIMITS
    }

    /// Coinbase numbers every message of a connection; the supervisor treats a jump as lost
    /// messages.
    fn sequence(&self, raw: &[u8]) -> Option<u64> {
        super::parse::sequence_num(raw)
    }

    fn keepalive(&self) -> Option<Keepalive> {
        None
    }

    /// `heartbeats` first, then one message per channel and chunk of
    /// `limits().streams_per_request` products, channels in order of first appearance, duplicate
    /// products dropped. Streams [`Venue::check`] refuses are left out. Coinbase echoes no
    /// request id, so `first_id` is unused.
    fn subscribe(&self, streams: &[Stream], _first_id: u64) -> Vec<String> {
        let mut frames = vec![subscribe_message(HEARTBEATS, &[])];
        for (channel, products) in by_channel(streams) {
            for chunk in products.chunks(LIMITS.streams_per_request) {
                frames.push(subscribe_message(channel, chunk));
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

/// A product id as Coinbase spells it: upper case, dash-separated (`BTC-USD`).
fn check_product(product: &str) -> Result<(), String> {
    instrument(product).map_err(|e| format!("coinbase product id: {e}"))?;
    if !product.contains('-') || product.contains(['/', '_']) || product != product.to_uppercase() {
        return Err(format!(
            "coinbase product id {product:?} is not spelled like \"BTC-USD\" (upper case, \
             dash-separated)"
        ));
    }
    Ok(())
}

/// The products of each Coinbase channel, channels and products in order of first appearance.
fn by_channel(streams: &[Stream]) -> Vec<(&'static str, Vec<&str>)> {
    group_symbols(streams, |s| CoinbaseVenue::channel_name(s.channel))
}

/// `{"type":"subscribe","product_ids":[..],"channel":".."}`, without `product_ids` when empty.
/// Written by hand so the key order is the documented one.
fn subscribe_message(channel: &str, products: &[&str]) -> String {
    let channel = Value::from(channel);
    if products.is_empty() {
        return format!(r#"{{"type":"subscribe","channel":{channel}}}"#);
    }
    let ids: Vec<String> = products
        .iter()
        .map(|p| Value::from(*p).to_string())
        .collect();
    format!(
        r#"{{"type":"subscribe","product_ids":[{}],"channel":{channel}}}"#,
        ids.join(",")
    )
}

#[cfg(test)]
#[path = "venue_tests.rs"]
mod tests;
