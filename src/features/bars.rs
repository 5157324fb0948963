//! Trades → time bars, as exchanges build their klines.
//!
//! [`TradeBarAggregator`] buckets trades into intervals of `interval_ms` counted from the Unix
//! epoch. A bar exists only for an interval that had a trade (no empty bars are invented). Fields:
//! OHLC from the trades in time order, `volume` = Σ qty, `quote_volume` = Σ price·qty, `trades` =
//! count, `taker_buy_volume` = Σ qty of [`Side::Buy`] trades, `closed = true`, and
//! `close_time_ms = open_time_ms + interval_ms − 1` (Binance convention).
//!
//! A bar is handed out when it can no longer change: by [`on_trade`](TradeBarAggregator::on_trade)
//! when a trade opens a later interval, by [`on_clock`](TradeBarAggregator::on_clock) once time has
//! passed the bar's close (live use), or by [`flush`](TradeBarAggregator::flush) at the end.
//!
//! # Order and rejection
//! Trades of the current bar may arrive slightly out of order: the bar keeps the time of its first
//! and last trade, so `open` and `close` still follow trade time (equal times keep arrival
//! order). A trade from an interval before the current bar, or from a bar already handed out, is
//! **not** merged (that would rewrite a bar consumers have seen): it is returned as
//! [`TradeRejected::Late`] and counted. A trade with the same id as the last accepted one is a
//! replay of it ([`TradeRejected::Duplicate`], counted, ignored). A non-positive or non-finite
//! price or qty, or a time whose bar would not fit an `i64`, is [`TradeRejected::Invalid`].
//! Rejections are not failures: callers count or log them and go on.

use crate::event::{Bar, Side};

/// Why a trade was not aggregated.
#[derive(Clone, Debug, PartialEq)]
pub enum TradeRejected {
    /// Older than the current bar (or than a bar already handed out).
    Late {
        ts_ms: i64,
        /// Earliest time a trade may still have: the current bar's open, or the last handed-out
        /// bar's close + 1.
        earliest_ms: i64,
    },
    /// Same id as the last accepted trade.
    Duplicate { id: u64 },
    /// Values no bar can hold; the reason.
    Invalid(String),
}

/// What an aggregator has seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BarStats {
    /// Trades merged into bars.
    pub trades: u64,
    /// Bars handed out.
    pub bars: u64,
    pub late: u64,
    pub duplicates: u64,
    pub invalid: u64,
}

/// The interval given to [`TradeBarAggregator::new`] was not positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bar interval must be a positive number of ms, got {0}")]
pub struct BadInterval(pub i64);

/// Builds time bars from one symbol's trades.
#[derive(Clone, Debug)]
pub struct TradeBarAggregator {
    interval_ms: i64,
    current: Option<Open>,
    /// Trades before this time can no longer be merged (a bar covering them was handed out).
    floor_ms: i64,
    last_id: Option<u64>,
    stats: BarStats,
}

/// The bar being built, with the times of its first and last trade.
#[derive(Clone, Debug)]
struct Open {
    bar: Bar,
    first_ms: i64,
    last_ms: i64,
}

impl TradeBarAggregator {
    pub fn new(interval_ms: i64) -> Result<Self, BadInterval> {
        if interval_ms <= 0 {
            return Err(BadInterval(interval_ms));
        }
        Ok(Self {
            interval_ms,
            current: None,
            floor_ms: i64::MIN,
            last_id: None,
            stats: BarStats::default(),
        })
    }

    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    pub fn stats(&self) -> BarStats {
        self.stats
    }

    /// The bar being built, as it would be handed out if no further trade came.
    pub fn current(&self) -> Option<&Bar> {
        self.current.as_ref().map(|open| &open.bar)
    }

    /// Adds one trade. `Ok(Some(bar))`: the trade opened a later interval, and `bar` is the
    /// previous one, now final. `Ok(None)`: merged (or started the first bar). `Err`: not used
    /// (see the module doc); counted in [`stats`](Self::stats).
    pub fn on_trade(
        &mut self,
        ts_ms: i64,
        price: f64,
        qty: f64,
        side: Side,
        id: u64,
    ) -> Result<Option<Bar>, TradeRejected> {
        let checked = self.check(ts_ms, price, qty, id);
        if let Err(rejected) = &checked {
            match rejected {
                TradeRejected::Late { .. } => self.stats.late += 1,
                TradeRejected::Duplicate { .. } => self.stats.duplicates += 1,
                TradeRejected::Invalid(_) => self.stats.invalid += 1,
            }
        }
        let (open_ms, close_ms) = checked?;
        self.last_id = Some(id);
        self.stats.trades += 1;
        let buy_qty = if side == Side::Buy { qty } else { 0.0 };
        if let Some(open) = self
            .current
            .as_mut()
            .filter(|o| o.bar.open_time_ms == open_ms)
        {
            open.add(ts_ms, price, qty, buy_qty);
            return Ok(None);
        }
        let done = self.take_current();
        self.current = Some(Open::new(open_ms, close_ms, ts_ms, price, qty, buy_qty));
        Ok(done)
    }

    /// Hands out the current bar once `now_ms` is past its close time; for live use, where the
    /// next trade may be long in coming. Later trades of that interval are then [`Late`].
    ///
    /// [`Late`]: TradeRejected::Late
    pub fn on_clock(&mut self, now_ms: i64) -> Option<Bar> {
        let due = self
            .current
            .as_ref()
            .is_some_and(|open| now_ms > open.bar.close_time_ms);
        if due { self.take_current() } else { None }
    }

    /// Hands out the current bar, whatever the time (end of input).
    pub fn flush(&mut self) -> Option<Bar> {
        self.take_current()
    }

    /// The trade's bar (open, close) if it may be merged.
    fn check(
        &self,
        ts_ms: i64,
        price: f64,
        qty: f64,
        id: u64,
    ) -> Result<(i64, i64), TradeRejected> {
        if self.last_id == Some(id) {
            return Err(TradeRejected::Duplicate { id });
        }
        if !(price.is_finite() && price > 0.0 && qty.is_finite() && qty > 0.0) {
            return Err(TradeRejected::Invalid(format!(
                "price {price} and qty {qty} must be positive and finite"
            )));
        }
        let out_of_range = || TradeRejected::Invalid(format!("time {ts_ms} ms is out of range"));
        let open_ms =
            (ts_ms.checked_sub(ts_ms.rem_euclid(self.interval_ms))).ok_or_else(out_of_range)?;
        let close_ms = (open_ms.checked_add(self.interval_ms - 1)).ok_or_else(out_of_range)?;
        let current_open = self.current.as_ref().map(|open| open.bar.open_time_ms);
        let earliest_ms = current_open.unwrap_or(i64::MIN).max(self.floor_ms);
        if ts_ms < earliest_ms {
            return Err(TradeRejected::Late { ts_ms, earliest_ms });
        }
        Ok((open_ms, close_ms))
    }

    fn take_current(&mut self) -> Option<Bar> {
        let open = self.current.take()?;
        self.floor_ms = open.bar.close_time_ms.saturating_add(1);
        self.stats.bars += 1;
        Some(open.bar)
    }
}

impl Open {
    fn new(open_ms: i64, close_ms: i64, ts_ms: i64, price: f64, qty: f64, buy_qty: f64) -> Self {
        let bar = Bar {
            open_time_ms: open_ms,
            close_time_ms: close_ms,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: qty,
            quote_volume: price * qty,
            trades: 1,
            taker_buy_volume: buy_qty,
            closed: true,
        };
        Self {
            bar,
            first_ms: ts_ms,
            last_ms: ts_ms,
        }
    }

    fn add(&mut self, ts_ms: i64, price: f64, qty: f64, buy_qty: f64) {
        let bar = &mut self.bar;
        if ts_ms < self.first_ms {
            self.first_ms = ts_ms;
            bar.open = price;
        }
        if ts_ms >= self.last_ms {
            self.last_ms = ts_ms;
            bar.close = price;
        }
        bar.high = bar.high.max(price);
        bar.low = bar.low.min(price);
        bar.volume += qty;
        bar.quote_volume += price * qty;
        bar.trades += 1;
        bar.taker_buy_volume += buy_qty;
    }
}

#[cfg(test)]
#[path = "bars_tests.rs"]
mod tests;
