//! OKX v5 public websocket payloads, field for field as the exchange sends them.
//!
//! In: one message already read into a `serde_json::Value` by [`parse`](super::parse). Out:
//! borrowed views of its fields; nothing here checks values. OKX sends prices, sizes, ids and
//! even times as strings (`"ts":"1597026383085"`); they stay `&str` here and `parse.rs` turns
//! them into checked numbers so that its errors can name the field.
//!
//! A data push is `{"arg":{"channel":..,"instId":..},"data":[..]}` (order books add `action`);
//! what the items of `data` are depends on the channel, and they are decoded one by one so an
//! error can say which item is bad. Candles are arrays of strings, not objects. Replies and
//! notices are `{"event":..,..}` ([`Event`]); a pong is the bare text `pong`, not JSON.
//!
//! Unknown keys are ignored rather than refused: OKX adds keys without notice (`seqId` and
//! `count` in trades, `volCcyQuote` in candles appeared after the v5 launch). Layouts follow
//! the OKX v5 API documentation (see `venue.rs`) and the fixtures under `tests/fixtures/ws/okx/`.

use serde::Deserialize;

/// The `arg` of a push: which subscription the data belongs to.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg<'a> {
    /// `candle1m`, `trades`, `tickers`, `bbo-tbt`, `books`, ...
    pub channel: &'a str,
    /// The instrument (`BTC-USDT`, `BTC-USDT-SWAP`); absent on channels subscribed by
    /// instrument type or family (`instruments`, `opt-summary`).
    pub inst_id: Option<&'a str>,
    pub inst_type: Option<&'a str>,
    pub inst_family: Option<&'a str>,
}

/// One row of a `candle{bar}` push: `[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`, all
/// strings. Kept as a list so a row with extra trailing columns still reads; `parse.rs` names
/// the columns (see [`CANDLE_COLUMNS`]).
pub type CandleRow<'a> = Vec<&'a str>;

/// The columns of a candle row, in order: open time (ms), open, high, low, close, volume (base
/// currency for spot, contracts for derivatives), `volCcy` (quote currency for spot, base
/// currency for derivatives), `volCcyQuote` (quote currency) and `confirm` (`0` open, `1`
/// closed).
pub const CANDLE_COLUMNS: [&str; 9] = [
    "ts",
    "o",
    "h",
    "l",
    "c",
    "vol",
    "volCcy",
    "volCcyQuote",
    "confirm",
];

/// One item of a `trades` push (one taker order's fills at one price; `count` says how many
/// matches) or of a `trades-all` push (one match).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trade<'a> {
    pub inst_id: &'a str,
    /// A decimal number; for `trades`, the last trade id of the aggregation.
    pub trade_id: &'a str,
    pub px: &'a str,
    /// Base currency for spot, contracts for derivatives.
    pub sz: &'a str,
    /// `buy` or `sell`: the taker order's direction.
    pub side: &'a str,
    /// Fill time (ms, as a string).
    pub ts: &'a str,
    /// `trades` only: the number of matches aggregated.
    pub count: Option<&'a str>,
    /// Sequence id of the message.
    pub seq_id: Option<i64>,
}

/// One item of a `tickers` push: only the keys this crate reads. Empty strings stand for an
/// empty side of the book.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticker<'a> {
    pub inst_type: Option<&'a str>,
    pub inst_id: &'a str,
    pub bid_px: &'a str,
    pub bid_sz: &'a str,
    pub ask_px: &'a str,
    pub ask_sz: &'a str,
    /// When OKX generated the ticker (ms, as a string).
    pub ts: &'a str,
}

/// One item of a `bbo-tbt` push: a snapshot of the best level of each side, each level
/// `[price, size, "0" (deprecated), order count]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookTop<'a> {
    #[serde(borrow)]
    pub asks: Vec<Vec<&'a str>>,
    #[serde(borrow)]
    pub bids: Vec<Vec<&'a str>>,
    /// When OKX generated the book (ms, as a string).
    pub ts: &'a str,
    pub seq_id: Option<i64>,
    /// Sent by `books5`, not by `bbo-tbt` (whose instrument is in `arg`).
    pub inst_id: Option<&'a str>,
}

/// A reply or notice: `{"event":"subscribe","arg":{..},"connId":".."}`,
/// `{"event":"error","code":"60012","msg":"Invalid request: ..","connId":".."}`,
/// `{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service
/// upgrade..."}`, `{"event":"channel-conn-count",..}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event<'a> {
    pub event: &'a str,
    pub code: Option<&'a str>,
    pub msg: Option<&'a str>,
    pub conn_id: Option<&'a str>,
    /// Echo of the request's optional `id`.
    pub id: Option<&'a str>,
}
