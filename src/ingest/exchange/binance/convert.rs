//! Typed Binance messages → checked [`MarketEvent`]s: the value rules and the event-time choices.
//!
//! In: a decoded [`messages`](super::messages) struct (from either decoding path of
//! [`parse`](super::parse)), the [`Exchange`] and the receive time. Out: one event, or a
//! [`ParseError::Field`] naming the bad field with Binance's key. Both decoding paths end here,
//! so a message gives the same event or the same error whichever path read it.
//!
//! Instrument ids come from [`symbol::instrument`](crate::ingest::exchange::symbol::instrument)
//! through a small per-thread memo, so the steady state allocates nothing per message: a feed
//! carries a few hundred symbols at most, and every message repeats one of them.

use super::messages::{AggTradeEvent, BookTickerEvent, Kline, KlineEvent, TradeEvent};
use crate::event::{Bar, EventKind, Exchange, MarketEvent, Side, Symbol};
use crate::ingest::exchange::frame::{
    ParseError, check_bar_shape, field_error, ms_to_ns, parse_price, parse_volume,
};
use crate::ingest::exchange::symbol::instrument;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

pub(super) fn kline(
    m: &KlineEvent<'_>,
    exchange: Exchange,
    recv_ns: i64,
) -> Result<MarketEvent, ParseError> {
    let bad = field_error("kline");
    let k = &m.kline;
    if k.symbol != m.symbol {
        return Err(bad(format!(
            "k.s (symbol) {:?} differs from s {:?}",
            k.symbol, m.symbol
        )));
    }
    let symbol = symbol(m.symbol).map_err(bad)?;
    let bar = bar(k).map_err(bad)?;
    // A closed candle sits at its close time, like a kline CSV row; an open one at the time
    // Binance sent that state of it.
    let ts_event_ns = if bar.closed {
        ms_to_ns(k.close_time_ms, "k.T (close time)")
    } else {
        ms_to_ns(m.event_time_ms, "E (event time)")
    }
    .map_err(bad)?;
    Ok(MarketEvent {
        exchange,
        symbol,
        ts_event_ns,
        ts_recv_ns: recv_ns,
        kind: EventKind::Bar(bar),
    })
}

/// The checked bar of a kline, under the same rules as kline CSV rows.
fn bar(k: &Kline<'_>) -> Result<Bar, String> {
    ms_to_ns(k.open_time_ms, "k.t (open time)")?;
    ms_to_ns(k.close_time_ms, "k.T (close time)")?;
    let open = parse_price(k.open, "k.o (open)")?;
    let high = parse_price(k.high, "k.h (high)")?;
    let low = parse_price(k.low, "k.l (low)")?;
    let close = parse_price(k.close, "k.c (close)")?;
    let volume = parse_volume(k.volume, "k.v (volume)")?;
    let quote_volume = parse_volume(k.quote_volume, "k.q (quote volume)")?;
    let taker_buy_volume = parse_volume(k.taker_buy_volume, "k.V (taker buy volume)")?;
    parse_volume(k.taker_buy_quote_volume, "k.Q (taker buy quote volume)")?;
    check_bar_shape(open, high, low, close, k.open_time_ms, k.close_time_ms)
        .map_err(|reason| format!("k: {reason}"))?;
    Ok(Bar {
        open_time_ms: k.open_time_ms,
        close_time_ms: k.close_time_ms,
        open,
        high,
        low,
        close,
        volume,
        quote_volume,
        trades: k.trades,
        taker_buy_volume,
        closed: k.closed,
    })
}

/// What `aggTrade` and `trade` have in common.
struct TradeParts<'a> {
    symbol: &'a str,
    /// The aggregate id for `aggTrade`, the trade id for `trade`: both numeric and increasing.
    id: u64,
    price: &'a str,
    qty: &'a str,
    trade_time_ms: i64,
    buyer_is_maker: bool,
}

pub(super) fn agg_trade(
    m: &AggTradeEvent<'_>,
    exchange: Exchange,
    recv_ns: i64,
) -> Result<MarketEvent, ParseError> {
    let parts = TradeParts {
        symbol: m.symbol,
        id: m.agg_id,
        price: m.price,
        qty: m.qty,
        trade_time_ms: m.trade_time_ms,
        buyer_is_maker: m.buyer_is_maker,
    };
    trade_event(&parts, exchange, recv_ns).map_err(field_error("aggTrade"))
}

pub(super) fn trade(
    m: &TradeEvent<'_>,
    exchange: Exchange,
    recv_ns: i64,
) -> Result<MarketEvent, ParseError> {
    let parts = TradeParts {
        symbol: m.symbol,
        id: m.trade_id,
        price: m.price,
        qty: m.qty,
        trade_time_ms: m.trade_time_ms,
        buyer_is_maker: m.buyer_is_maker,
    };
    trade_event(&parts, exchange, recv_ns).map_err(field_error("trade"))
}

fn trade_event(
    t: &TradeParts<'_>,
    exchange: Exchange,
    recv_ns: i64,
) -> Result<MarketEvent, String> {
    Ok(MarketEvent {
        exchange,
        symbol: symbol(t.symbol)?,
        ts_event_ns: ms_to_ns(t.trade_time_ms, "T (trade time)")?,
        ts_recv_ns: recv_ns,
        kind: EventKind::Trade {
            price: parse_price(t.price, "p (price)")?,
            qty: parse_volume(t.qty, "q (quantity)")?,
            // The side is the aggressor's: when the buyer's order was resting, a seller took it.
            side: if t.buyer_is_maker {
                Side::Sell
            } else {
                Side::Buy
            },
            id: t.id,
        },
    })
}

pub(super) fn book_ticker(
    m: &BookTickerEvent<'_>,
    exchange: Exchange,
    recv_ns: i64,
) -> Result<MarketEvent, ParseError> {
    let bad = field_error("bookTicker");
    // `T` is when the book changed, `E` when Binance pushed the change; prefer the former.
    let ts_event_ns = match (m.transaction_time_ms, m.event_time_ms) {
        (Some(ms), _) => ms_to_ns(ms, "T (transaction time)"),
        (None, Some(ms)) => ms_to_ns(ms, "E (event time)"),
        (None, None) => Ok(recv_ns),
    }
    .map_err(bad)?;
    let kind = EventKind::Quote {
        bid: parse_price(m.bid, "b (bid)").map_err(bad)?,
        bid_qty: parse_volume(m.bid_qty, "B (bid quantity)").map_err(bad)?,
        ask: parse_price(m.ask, "a (ask)").map_err(bad)?,
        ask_qty: parse_volume(m.ask_qty, "A (ask quantity)").map_err(bad)?,
    };
    Ok(MarketEvent {
        exchange,
        symbol: symbol(m.symbol).map_err(bad)?,
        ts_event_ns,
        ts_recv_ns: recv_ns,
        kind,
    })
}

/// Memo entries kept per thread before the memo starts over; far above any real feed, it only
/// bounds memory when the input is hostile (a fuzzer, a corrupted topic).
const MEMO_CAPACITY: usize = 4_096;

/// FNV-1a: symbols are short and chosen by the exchange, so a keyed hash buys nothing here.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = self.0;
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = hash;
    }
}

type Memo = HashMap<Box<str>, Symbol, BuildHasherDefault<Fnv>>;

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// The instrument id of the symbol `s` as Binance sends it; the same as
/// `instrument(s)`, remembered per thread.
fn symbol(s: &str) -> Result<Symbol, String> {
    let hit = MEMO.with(|memo| memo.try_borrow().ok()?.get(s).cloned());
    if let Some(symbol) = hit {
        return Ok(symbol);
    }
    let symbol = instrument(s).map_err(|e| format!("s (symbol): {e}"))?;
    MEMO.with(|memo| {
        if let Ok(mut memo) = memo.try_borrow_mut() {
            if memo.len() >= MEMO_CAPACITY {
                memo.clear();
            }
            memo.insert(s.into(), symbol.clone());
        }
    });
    Ok(symbol)
}
