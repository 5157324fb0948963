//! Kraken spot websocket v2 payloads, field for field as the exchange sends them.
//!
//! In: one message, already read into a `serde_json::Value` by [`parse`](super::parse::parse)
//! (the channel or method must be read before the layout is known). Out: borrowed views of its
//! fields; nothing here checks values. Market data comes as
//! `{"channel":..,"type":"snapshot"|"update","data":[..]}`; replies to requests as
//! `{"method":..,"success":..,"result"|"error":..,"req_id":..}`. Unlike v1 (and unlike every other
//! exchange here), v2 sends prices and quantities as JSON numbers; they are read as `f64` and
//! `parse.rs` checks them. Times are RFC 3339 strings with up to ns precision.
//!
//! Unknown keys are ignored rather than refused (Kraken adds fields, e.g. the ticker's
//! `timestamp`); keys the engine does not read, or that not every version sends, are `Option`.
//!
//! Layouts follow the v2 documentation
//! (<https://docs.kraken.com/exchange/api-reference/spot-websocket-v2/ohlc>, `.../trade`,
//! `.../ticker`, `.../ping`, `.../heartbeat`, `.../status`) and the fixtures under
//! `tests/fixtures/ws/kraken/`.

use serde::Deserialize;

/// The envelope of market data; `D` is the channel's item layout.
#[derive(Clone, Debug, Deserialize)]
#[serde(bound(deserialize = "D: Deserialize<'de>"))]
pub struct Envelope<'a, D> {
    pub channel: &'a str,
    /// `snapshot` (sent after subscribing) or `update`.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// When Kraken published the message; the OHLC documentation shows it, the fixtures do not.
    pub timestamp: Option<&'a str>,
    pub data: Vec<D>,
}

/// One candle of the `ohlc` channel: its state after the latest trade. No "closed" flag.
#[derive(Clone, Debug, Deserialize)]
pub struct Ohlc<'a> {
    /// `BTC/USD` (v2 spells bitcoin `BTC`; v1 spelled it `XBT`).
    pub symbol: &'a str,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Number of trades in the interval.
    pub trades: u64,
    /// Base-currency volume.
    pub volume: f64,
    /// Volume-weighted average price of the interval.
    pub vwap: f64,
    /// Start of the interval (RFC 3339).
    pub interval_begin: &'a str,
    /// Interval length in minutes.
    pub interval: u32,
    /// The documentation's example stamps each candle with the end of its interval.
    pub timestamp: Option<&'a str>,
}

/// One trade of the `trade` channel.
#[derive(Clone, Debug, Deserialize)]
pub struct Trade<'a> {
    pub symbol: &'a str,
    /// `buy` or `sell`: the taker's side.
    pub side: &'a str,
    pub price: f64,
    pub qty: f64,
    /// `limit` or `market`: the taker's order type.
    pub ord_type: Option<&'a str>,
    /// Sequence number unique per book.
    pub trade_id: u64,
    /// Trade time (RFC 3339).
    pub timestamp: &'a str,
}

/// One item of the `ticker` channel: best bid and offer, last trade and 24 h statistics.
#[derive(Clone, Debug, Deserialize)]
pub struct Ticker<'a> {
    pub symbol: &'a str,
    pub bid: f64,
    pub bid_qty: f64,
    pub ask: f64,
    pub ask_qty: f64,
    pub last: Option<f64>,
    pub volume: Option<f64>,
    pub vwap: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub change: Option<f64>,
    pub change_pct: Option<f64>,
    /// When the ticker changed; not every message has it.
    pub timestamp: Option<&'a str>,
}

/// A reply to a request this client sent: `subscribe`, `unsubscribe` or `pong`.
#[derive(Clone, Debug, Deserialize)]
pub struct Reply<'a> {
    pub method: &'a str,
    /// Whether Kraken accepted the request (absent from some pongs).
    pub success: Option<bool>,
    /// Why it did not; present when `success` is false.
    pub error: Option<&'a str>,
    /// The symbol a failed subscription named.
    pub symbol: Option<&'a str>,
    /// The request's `req_id`, echoed.
    pub req_id: Option<u64>,
    pub time_in: Option<&'a str>,
    pub time_out: Option<&'a str>,
}
