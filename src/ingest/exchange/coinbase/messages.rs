//! Coinbase Advanced Trade market-data websocket payloads, field for field as the exchange sends
//! them.
//!
//! In: one message, already read into a `serde_json::Value` by [`parse`](super::parse::parse)
//! (the channel must be read before the layout is known). Out: borrowed views of its fields;
//! nothing here checks values. Every message is an envelope
//! `{"channel":..,"client_id":..,"timestamp":..,"sequence_num":N,"events":[..]}` whose events
//! depend on the channel, and one message may carry many events, each with many trades, candles
//! or tickers. Prices, sizes and even candle start times are decimal strings (no precision is lost
//! in transit); they stay `&str` here and `parse.rs` turns them into checked numbers, so its
//! errors can name the field and quote the text. Times are RFC 3339 strings, except a candle's
//! `start` (UNIX seconds, as a string).
//!
//! Unknown keys are ignored rather than refused: Coinbase documents that new fields and message
//! types may appear at any time. Keys the engine never reads but the documentation lists are
//! `Option`, so a message without them still parses.
//!
//! Layouts follow the Advanced Trade websocket channel documentation
//! (<https://docs.cdp.coinbase.com/coinbase-app/advanced-trade-apis/websocket/websocket-channels>)
//! and the fixtures under `tests/fixtures/ws/coinbase/`.

use serde::Deserialize;

/// The envelope every market-data message shares; `E` is the channel's event layout.
#[derive(Clone, Debug, Deserialize)]
#[serde(bound(deserialize = "E: Deserialize<'de>"))]
pub struct Envelope<'a, E> {
    pub channel: &'a str,
    /// Empty for market data; echoed for authenticated subscriptions.
    pub client_id: Option<&'a str>,
    /// When Coinbase sent the message (RFC 3339, µs).
    pub timestamp: &'a str,
    /// Increases by one per message on a connection; a jump means messages were lost (see
    /// [`sequence_num`](super::parse::sequence_num)).
    pub sequence_num: u64,
    pub events: Vec<E>,
}

/// One event of a `candles` message: `snapshot` right after subscribing, then `update`s.
#[derive(Clone, Debug, Deserialize)]
pub struct CandlesEvent<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    #[serde(borrow)]
    pub candles: Vec<Candle<'a>>,
}

/// The current state of one five-minute candle. There is no "closed" flag, no trade count and
/// no quote volume.
#[derive(Clone, Debug, Deserialize)]
pub struct Candle<'a> {
    /// Bucket start, UNIX seconds as a decimal string (`"1775521800"`).
    pub start: &'a str,
    pub high: &'a str,
    pub low: &'a str,
    pub open: &'a str,
    pub close: &'a str,
    /// Base-asset volume.
    pub volume: &'a str,
    pub product_id: &'a str,
}

/// One event of a `market_trades` message; trades are batched over about 250 ms.
#[derive(Clone, Debug, Deserialize)]
pub struct TradesEvent<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    #[serde(borrow)]
    pub trades: Vec<Trade<'a>>,
}

/// One public trade.
#[derive(Clone, Debug, Deserialize)]
pub struct Trade<'a> {
    /// A decimal string for spot products (`"995098700"`).
    pub trade_id: &'a str,
    pub product_id: &'a str,
    pub price: &'a str,
    pub size: &'a str,
    /// `BUY` or `SELL` (see the parser's module doc for whose side it is).
    pub side: &'a str,
    /// Trade time (RFC 3339).
    pub time: &'a str,
}

/// One event of a `ticker` message (sent on every match).
#[derive(Clone, Debug, Deserialize)]
pub struct TickerEvent<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    #[serde(borrow)]
    pub tickers: Vec<Ticker<'a>>,
}

/// The last trade, 24 h statistics and the best bid and offer of one product.
#[derive(Clone, Debug, Deserialize)]
pub struct Ticker<'a> {
    /// `"ticker"`.
    #[serde(rename = "type")]
    pub kind: Option<&'a str>,
    pub product_id: &'a str,
    /// Last trade price.
    pub price: Option<&'a str>,
    pub volume_24_h: Option<&'a str>,
    pub low_24_h: Option<&'a str>,
    pub high_24_h: Option<&'a str>,
    pub low_52_w: Option<&'a str>,
    pub high_52_w: Option<&'a str>,
    pub price_percent_chg_24_h: Option<&'a str>,
    pub best_bid: &'a str,
    pub best_bid_quantity: &'a str,
    pub best_ask: &'a str,
    pub best_ask_quantity: &'a str,
}

/// A `{"type":"error",..}` reply: Coinbase's answer to a request it refused.
#[derive(Clone, Debug, Deserialize)]
pub struct ErrorReply<'a> {
    pub message: Option<&'a str>,
    /// The legacy Exchange feed adds a reason; kept when present.
    pub reason: Option<&'a str>,
}
