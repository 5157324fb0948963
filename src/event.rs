//! Market events: the one type every source produces and the feature engine consumes.
//!
//! A [`MarketEvent`] carries who (exchange, symbol), when (event time and receive time, both in
//! nanoseconds since the Unix epoch) and what ([`EventKind`]: a trade, a top-of-book quote or an
//! OHLCV bar). Its JSON form is `schemas/market_event.schema.json`; the replay source reads it from
//! JSONL and the Kafka source (later) from topics.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// An exchange-qualified instrument name such as `LINKUSDT`. Cheap to clone.
/// Upper-cased on construction, so `linkusdt` and `LINKUSDT` are one symbol. From JSON it must
/// match the schemas' pattern `^[A-Z0-9._-]{1,64}$` after upper-casing (so it can sit in a
/// `signal_id`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol(Arc<str>);

impl TryFrom<String> for Symbol {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let ok = (1..=64).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(Self::new(&s))
        } else {
            Err(format!(
                "symbol {s:?} must be 1-64 of A-Z, 0-9, '.', '_', '-'"
            ))
        }
    }
}

impl From<Symbol> for String {
    fn from(s: Symbol) -> Self {
        s.0.to_string()
    }
}

impl Symbol {
    pub fn new(s: &str) -> Self {
        Self(Arc::from(s.to_ascii_uppercase().as_str()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The venue an event came from. `binance_futures` is USDT-M perpetuals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exchange {
    Binance,
    BinanceFutures,
    Bybit,
    Okx,
    Coinbase,
    Kraken,
}

impl Exchange {
    pub fn as_str(self) -> &'static str {
        match self {
            Exchange::Binance => "binance",
            Exchange::BinanceFutures => "binance_futures",
            Exchange::Bybit => "bybit",
            Exchange::Okx => "okx",
            Exchange::Coinbase => "coinbase",
            Exchange::Kraken => "kraken",
        }
    }
}

impl fmt::Display for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Aggressor side of a trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

/// One OHLCV bar. Times are the bar's open and close in ms (Binance convention: close = open + span - 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    pub open_time_ms: i64,
    pub close_time_ms: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    pub quote_volume: f64,
    pub trades: u64,
    pub taker_buy_volume: f64,
    /// False for an in-progress bar update (websocket klines); replay files hold closed bars only.
    pub closed: bool,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    Trade {
        price: f64,
        qty: f64,
        side: Side,
        id: u64,
    },
    Quote {
        bid: f64,
        bid_qty: f64,
        ask: f64,
        ask_qty: f64,
    },
    Bar(Bar),
    /// The source may have lost this symbol's `lost` data (its candles, or its trades) from
    /// `from_ms` to `to_ms` (inclusive, ms): a websocket was down and the exchange did not repeat
    /// what it missed. A symbol whose bars come from that data treats it as a hole (it re-warms),
    /// never as quiet minutes to fill.
    Gap {
        lost: Lost,
        from_ms: i64,
        to_ms: i64,
    },
}

/// What a [`EventKind::Gap`] lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lost {
    /// Exchange candles (klines).
    Bars,
    /// Trades: bars built from them over the span are incomplete.
    Trades,
}

/// One market event, as produced by every source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketEvent {
    pub exchange: Exchange,
    pub symbol: Symbol,
    /// Exchange time of the event (for a bar: its close time), ns since the Unix epoch.
    pub ts_event_ns: i64,
    /// When this process (or the recorder) received it, ns since the Unix epoch.
    pub ts_recv_ns: i64,
    pub kind: EventKind,
}

impl MarketEvent {
    /// A closed bar event stamped at the bar's close time; replay sources receive it at that instant.
    pub fn closed_bar(exchange: Exchange, symbol: Symbol, bar: Bar) -> Self {
        let ts = bar.close_time_ms * 1_000_000;
        Self {
            exchange,
            symbol,
            ts_event_ns: ts,
            ts_recv_ns: ts,
            kind: EventKind::Bar(bar),
        }
    }

    pub fn as_bar(&self) -> Option<&Bar> {
        match &self.kind {
            EventKind::Bar(b) => Some(b),
            _ => None,
        }
    }
}

impl MarketEvent {
    /// Parses one JSON MarketEvent (a Kafka message, a JSONL line) and checks what the schema
    /// says that serde's types do not: prices > 0, quantities ≥ 0, all finite, a bar's high and
    /// low bounding its open and close, close time after open time.
    pub fn from_json(raw: &[u8]) -> Result<Self, String> {
        let ev: MarketEvent = serde_json::from_slice(raw).map_err(|e| e.to_string())?;
        ev.check()?;
        Ok(ev)
    }

    /// The value rules of `schemas/market_event.schema.json`.
    pub fn check(&self) -> Result<(), String> {
        let price = |name: &str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(format!("{name} must be a finite number > 0, got {v}"))
            }
        };
        let qty = |name: &str, v: f64| {
            if v >= 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(format!("{name} must be a finite number >= 0, got {v}"))
            }
        };
        match &self.kind {
            EventKind::Trade {
                price: p, qty: q, ..
            } => {
                price("price", *p)?;
                qty("qty", *q)
            }
            EventKind::Quote {
                bid,
                bid_qty,
                ask,
                ask_qty,
            } => {
                price("bid", *bid)?;
                price("ask", *ask)?;
                qty("bid_qty", *bid_qty)?;
                qty("ask_qty", *ask_qty)
            }
            EventKind::Gap { from_ms, to_ms, .. } => {
                if *from_ms < 0 || to_ms < from_ms {
                    return Err(format!(
                        "gap from_ms {from_ms} / to_ms {to_ms}: need 0 <= from_ms <= to_ms"
                    ));
                }
                Ok(())
            }
            EventKind::Bar(b) => {
                for (n, v) in [
                    ("open", b.open),
                    ("high", b.high),
                    ("low", b.low),
                    ("close", b.close),
                ] {
                    price(n, v)?;
                }
                for (n, v) in [
                    ("volume", b.volume),
                    ("quote_volume", b.quote_volume),
                    ("taker_buy_volume", b.taker_buy_volume),
                ] {
                    qty(n, v)?;
                }
                if b.high < b.open.max(b.close) || b.low > b.open.min(b.close) {
                    return Err(format!(
                        "bar high {} / low {} do not bound open {} and close {}",
                        b.high, b.low, b.open, b.close
                    ));
                }
                if b.close_time_ms <= b.open_time_ms {
                    return Err(format!(
                        "bar close_time_ms {} is not after open_time_ms {}",
                        b.close_time_ms, b.open_time_ms
                    ));
                }
                Ok(())
            }
        }
    }
}
