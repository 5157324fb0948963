//! Binance market-data websocket payloads, field for field as the exchange sends them.
//!
//! In: the `data` object of one message (bare, or unwrapped from the combined-stream
//! `{"stream":..,"data":..}` wrapper by [`parse`](super::parse::parse)). Out: borrowed views of
//! its fields; nothing here checks values. Binance sends prices and quantities as decimal
//! strings (so no precision is lost in transit); they stay `&str` here and `parse.rs` turns them
//! into checked `f64`s, which lets its errors name the field and quote the text. Ids and times
//! are JSON integers (ms since the Unix epoch). Keys are single letters whose case matters (`t`
//! is the open time, `T` the close time), so every field is renamed to a readable name.
//!
//! Unknown keys are ignored rather than refused: Binance adds keys without notice, and recorded
//! and documented messages carry keys this crate does not read (`st`, `ps`, `pu`). Keys that only
//! one market or one API version sends are `Option`.
//!
//! Layouts follow the Binance spot and USDT-M futures stream documentation and the recorded
//! sessions under `tests/fixtures/ws/binance/`.

use serde::Deserialize;

/// `<symbol>@kline_<interval>`: the current state of one candle. Sent about every 250 ms (spot:
/// every 1 to 2 s) while the candle is open, and once more with `x: true` when it closes.
#[derive(Clone, Debug, Deserialize)]
pub struct KlineEvent<'a> {
    /// `E`: when Binance emitted this update (ms).
    #[serde(rename = "E")]
    pub event_time_ms: i64,
    #[serde(rename = "s")]
    pub symbol: &'a str,
    #[serde(rename = "k", borrow)]
    pub kline: Kline<'a>,
}

/// The `k` object of a kline event.
#[derive(Clone, Debug, Deserialize)]
pub struct Kline<'a> {
    /// `t`: candle open time (ms).
    #[serde(rename = "t")]
    pub open_time_ms: i64,
    /// `T`: candle close time (ms), open + interval - 1.
    #[serde(rename = "T")]
    pub close_time_ms: i64,
    #[serde(rename = "s")]
    pub symbol: &'a str,
    /// `i`: interval such as `1m`.
    #[serde(rename = "i")]
    pub interval: &'a str,
    /// `f`: first trade id in the candle; -1 when it has no trades yet.
    #[serde(rename = "f")]
    pub first_trade_id: i64,
    /// `L`: last trade id in the candle; -1 when it has no trades yet.
    #[serde(rename = "L")]
    pub last_trade_id: i64,
    #[serde(rename = "o")]
    pub open: &'a str,
    #[serde(rename = "c")]
    pub close: &'a str,
    #[serde(rename = "h")]
    pub high: &'a str,
    #[serde(rename = "l")]
    pub low: &'a str,
    /// `v`: base-asset volume.
    #[serde(rename = "v")]
    pub volume: &'a str,
    /// `n`: number of trades.
    #[serde(rename = "n")]
    pub trades: u64,
    /// `x`: whether the candle is closed (this is its final state).
    #[serde(rename = "x")]
    pub closed: bool,
    /// `q`: quote-asset volume.
    #[serde(rename = "q")]
    pub quote_volume: &'a str,
    /// `V`: taker-buy base-asset volume.
    #[serde(rename = "V")]
    pub taker_buy_volume: &'a str,
    /// `Q`: taker-buy quote-asset volume.
    #[serde(rename = "Q")]
    pub taker_buy_quote_volume: &'a str,
    /// `B`: documented as "ignore".
    #[serde(rename = "B")]
    pub ignore: Option<&'a str>,
}

/// `<symbol>@aggTrade`: the fills of one taker order at one price, aggregated.
#[derive(Clone, Debug, Deserialize)]
pub struct AggTradeEvent<'a> {
    #[serde(rename = "E")]
    pub event_time_ms: i64,
    #[serde(rename = "s")]
    pub symbol: &'a str,
    /// `a`: aggregate trade id.
    #[serde(rename = "a")]
    pub agg_id: u64,
    #[serde(rename = "p")]
    pub price: &'a str,
    #[serde(rename = "q")]
    pub qty: &'a str,
    /// `nq` (newer futures streams only): the quantity without RPI orders; not used here.
    #[serde(rename = "nq")]
    pub normal_qty: Option<&'a str>,
    /// `f`: first trade id aggregated.
    #[serde(rename = "f")]
    pub first_trade_id: u64,
    /// `l`: last trade id aggregated.
    #[serde(rename = "l")]
    pub last_trade_id: u64,
    /// `T`: trade time (ms).
    #[serde(rename = "T")]
    pub trade_time_ms: i64,
    /// `m`: the buyer is the maker, so the aggressor sold.
    #[serde(rename = "m")]
    pub buyer_is_maker: bool,
    /// `M` (spot): documented as "ignore".
    #[serde(rename = "M")]
    pub ignore: Option<bool>,
}

/// `<symbol>@trade`: one raw trade.
#[derive(Clone, Debug, Deserialize)]
pub struct TradeEvent<'a> {
    #[serde(rename = "E")]
    pub event_time_ms: i64,
    #[serde(rename = "s")]
    pub symbol: &'a str,
    /// `t`: trade id.
    #[serde(rename = "t")]
    pub trade_id: u64,
    #[serde(rename = "p")]
    pub price: &'a str,
    #[serde(rename = "q")]
    pub qty: &'a str,
    /// `b` (spot, before 2023): buyer order id.
    #[serde(rename = "b")]
    pub buyer_order_id: Option<u64>,
    /// `a` (spot, before 2023): seller order id.
    #[serde(rename = "a")]
    pub seller_order_id: Option<u64>,
    /// `T`: trade time (ms).
    #[serde(rename = "T")]
    pub trade_time_ms: i64,
    /// `m`: the buyer is the maker, so the aggressor sold.
    #[serde(rename = "m")]
    pub buyer_is_maker: bool,
    /// `X` (futures only, when sent): the order type, such as `MARKET`.
    #[serde(rename = "X")]
    pub order_type: Option<&'a str>,
    /// `M` (spot): documented as "ignore".
    #[serde(rename = "M")]
    pub ignore: Option<bool>,
}

/// `<symbol>@bookTicker`: the best bid and ask. Spot sends only `u s b B a A` (no event type and
/// no time); futures adds `e`, `E` and `T`.
#[derive(Clone, Debug, Deserialize)]
pub struct BookTickerEvent<'a> {
    /// `u`: order-book update id.
    #[serde(rename = "u")]
    pub update_id: u64,
    /// `E` (futures): event time (ms).
    #[serde(rename = "E")]
    pub event_time_ms: Option<i64>,
    /// `T` (futures): transaction time (ms).
    #[serde(rename = "T")]
    pub transaction_time_ms: Option<i64>,
    #[serde(rename = "s")]
    pub symbol: &'a str,
    #[serde(rename = "b")]
    pub bid: &'a str,
    #[serde(rename = "B")]
    pub bid_qty: &'a str,
    #[serde(rename = "a")]
    pub ask: &'a str,
    #[serde(rename = "A")]
    pub ask_qty: &'a str,
}
