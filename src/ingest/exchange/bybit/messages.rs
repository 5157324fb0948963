//! Bybit v5 public websocket payloads, field for field as the exchange sends them.
//!
//! In: one message already read into a `serde_json::Value` by [`parse`](super::parse). Out:
//! borrowed views of its fields; nothing here checks values. Bybit sends prices and sizes as
//! decimal strings (they stay `&str`, and `parse.rs` turns them into checked `f64`s so its
//! errors can name the field) and times as JSON integers in ms.
//!
//! Every data push is `{"topic":"<name>.<params>","type":"snapshot"|"delta","ts":..,"data":..}`;
//! what `data` holds depends on the topic. Replies to requests carry `op` instead of `topic`
//! (see [`Reply`]), except the option and spread endpoints' subscribe reply, which is a
//! [`CommandReply`].
//!
//! Unknown keys are ignored rather than refused: Bybit adds keys without notice (`RPI` and `seq`
//! in trades, `fundingCap` in tickers appeared after the v5 launch). Keys that only some
//! categories send are `Option`. Layouts follow `docs/v5/websocket/public/*.mdx` of
//! `bybit-exchange/docs` (see `venue.rs`) and the fixtures under `tests/fixtures/ws/bybit/`.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// The envelope of every data push: `{"topic":..,"type":..,"ts":..,"data":..}`. `data` (an
/// object or an array of objects, depending on the topic) is decoded item by item in `parse.rs`,
/// so that an error can say which item is bad.
#[derive(Clone, Debug, Deserialize)]
pub struct Push<'a> {
    /// `<name>.<params>`, e.g. `kline.5.BTCUSDT`, `publicTrade.BTCUSDT`, `orderbook.1.BTCUSDT`.
    pub topic: &'a str,
    /// `snapshot` or `delta`.
    #[serde(rename = "type")]
    pub kind: Option<&'a str>,
    /// When Bybit generated the message (ms).
    #[serde(deserialize_with = "ms")]
    pub ts: i64,
    /// `orderbook` only: when the matching engine produced the book (ms); comparable with a
    /// trade's `T`.
    pub cts: Option<i64>,
}

/// `kline.{interval}.{symbol}`: `data` is an array of candles (the symbol is only in the topic);
/// this is one of them.
#[derive(Clone, Debug, Deserialize)]
pub struct Kline<'a> {
    /// Open time (ms).
    #[serde(deserialize_with = "ms")]
    pub start: i64,
    /// Close time (ms): start + interval - 1, the Binance convention.
    #[serde(deserialize_with = "ms")]
    pub end: i64,
    /// Bybit's interval name (`1`, `60`, `D`, ...), the same as in the topic.
    pub interval: &'a str,
    pub open: &'a str,
    pub close: &'a str,
    pub high: &'a str,
    pub low: &'a str,
    /// Base-asset volume (contracts for inverse contracts).
    pub volume: &'a str,
    /// Quote-asset turnover (the base coin for inverse contracts).
    pub turnover: &'a str,
    /// Whether the candle is closed (this is its final state).
    pub confirm: bool,
    /// Time of the candle's last match (ms); not used.
    pub timestamp: Option<i64>,
}

/// `publicTrade.{symbol}` (options: `publicTrade.{baseCoin}`): `data` is an array of up to
/// 1024 trades, oldest first; this is one of them.
#[derive(Clone, Debug, Deserialize)]
pub struct PublicTrade<'a> {
    /// `T`: when the order was filled (ms).
    #[serde(rename = "T", deserialize_with = "ms")]
    pub time_ms: i64,
    #[serde(rename = "s")]
    pub symbol: &'a str,
    /// `S`: the taker's side, `Buy` or `Sell`.
    #[serde(rename = "S")]
    pub side: &'a str,
    #[serde(rename = "v")]
    pub size: &'a str,
    #[serde(rename = "p")]
    pub price: &'a str,
    /// `i`: trade id; a UUID on linear and inverse contracts, a decimal number on spot.
    #[serde(rename = "i")]
    pub id: &'a str,
    /// `BT`: a block trade.
    #[serde(rename = "BT")]
    pub block_trade: Option<bool>,
    /// `RPI`: a retail-price-improvement trade.
    #[serde(rename = "RPI")]
    pub rpi: Option<bool>,
    /// `L` (contracts only): tick direction.
    #[serde(rename = "L")]
    pub tick_direction: Option<&'a str>,
    /// `seq`: cross sequence.
    pub seq: Option<u64>,
}

/// `tickers.{symbol}`: `data` is one object of 24-hour statistics, and on linear and inverse
/// contracts the best bid and ask. A `delta` omits every field that did not change. Only the keys
/// this crate reads are listed.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticker<'a> {
    pub symbol: &'a str,
    #[serde(rename = "bid1Price")]
    pub bid1_price: Option<&'a str>,
    #[serde(rename = "bid1Size")]
    pub bid1_size: Option<&'a str>,
    #[serde(rename = "ask1Price")]
    pub ask1_price: Option<&'a str>,
    #[serde(rename = "ask1Size")]
    pub ask1_size: Option<&'a str>,
    /// Option tickers name their best bid `bidPrice` (and `askPrice`), not `bid1Price`.
    pub bid_price: Option<&'a str>,
    pub ask_price: Option<&'a str>,
}

/// `orderbook.{depth}.{symbol}`: `data` is one object; read for depth 1 only, which Bybit sends
/// as snapshots only.
#[derive(Clone, Debug, Deserialize)]
pub struct Orderbook<'a> {
    #[serde(rename = "s")]
    pub symbol: &'a str,
    /// `b`: bids as `[price, size]`, best first.
    #[serde(rename = "b", borrow)]
    pub bids: Vec<(&'a str, &'a str)>,
    /// `a`: asks as `[price, size]`, best first.
    #[serde(rename = "a", borrow)]
    pub asks: Vec<(&'a str, &'a str)>,
    /// `u`: update id.
    #[serde(rename = "u")]
    pub update_id: Option<u64>,
    pub seq: Option<u64>,
}

/// The reply to a request (`subscribe`, `unsubscribe`, `ping`) on the spot, linear and inverse
/// endpoints: `{"success":true,"ret_msg":"","conn_id":"..","req_id":"..","op":"subscribe"}`. A
/// pong is `{"success":true,"ret_msg":"pong",..,"op":"ping"}`; the option endpoint answers a
/// ping with `{"args":[".."],"op":"pong"}`, without `success`.
#[derive(Clone, Debug, Deserialize)]
pub struct Reply<'a> {
    pub op: &'a str,
    pub success: Option<bool>,
    pub ret_msg: Option<&'a str>,
    pub req_id: Option<&'a str>,
    pub conn_id: Option<&'a str>,
}

/// The option and spread endpoints' subscribe reply:
/// `{"success":true,"conn_id":"..","data":{"failTopics":[],"successTopics":[..]},"type":"COMMAND_RESP"}`.
#[derive(Clone, Debug, Deserialize)]
pub struct CommandReply<'a> {
    pub success: Option<bool>,
    pub ret_msg: Option<&'a str>,
    #[serde(borrow)]
    pub data: Option<CommandTopics<'a>>,
}

/// The topics a [`CommandReply`] accepted and refused.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandTopics<'a> {
    #[serde(borrow, default)]
    pub fail_topics: Vec<&'a str>,
    #[serde(borrow, default)]
    pub success_topics: Vec<&'a str>,
}

/// A ms time sent as a JSON integer or, in some of Bybit's own examples (spot `orderbook`), as
/// a decimal string; both are accepted, and range checks happen in `parse.rs`.
fn ms<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    struct Ms;
    impl Visitor<'_> for Ms {
        type Value = i64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a ms timestamp (an integer, or an integer in a string)")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("ms timestamp {v} is out of range")))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            v.parse()
                .map_err(|_| E::custom(format!("{v:?} is not an integer ms timestamp")))
        }
    }
    deserializer.deserialize_any(Ms)
}
