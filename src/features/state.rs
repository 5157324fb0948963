//! One symbol's continuity: Warming → Ready, back to Warming on a gap.
//!
//! Bars must arrive closed, at the configured interval and in order. A missing bar (a gap) resets
//! the indicators, because a window spanning a hole would silently mix two regimes; the symbol
//! warms up again and the gap is counted. Late or duplicate bars and bars of another interval are
//! rejected and counted. Training and serving both drive this type.

use super::compute::FeatureComputer;
use super::spec::FeatureSpec;
use crate::event::Bar;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Warming,
    Ready,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// In-progress (not closed) bar update.
    NotClosed,
    /// open time ≤ the previous bar's (late or duplicate).
    OutOfOrder,
    /// close − open + 1 ms differs from the configured interval.
    WrongInterval,
    /// A non-positive or non-finite price or negative volume.
    InvalidValues,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BarOutcome {
    /// The raw feature row for this bar.
    Row(Vec<f64>),
    Warming,
    Rejected(RejectReason),
}

#[derive(Clone, Debug)]
pub struct SymbolState {
    computer: FeatureComputer,
    interval_ms: i64,
    last_open_ms: Option<i64>,
    phase: Phase,
    /// Gaps seen (each reset the symbol to Warming).
    pub gaps: u64,
}

impl SymbolState {
    pub fn new(spec: &FeatureSpec, interval_ms: i64) -> Self {
        Self {
            computer: FeatureComputer::new(spec),
            interval_ms,
            last_open_ms: None,
            phase: Phase::Warming,
            gaps: 0,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Feeds one bar. The flag is true when the bar followed a gap: the caller must drop the rows it
    /// kept for this symbol.
    pub fn on_bar(&mut self, bar: &Bar) -> (BarOutcome, bool) {
        if let Some(r) = self.check(bar) {
            return (BarOutcome::Rejected(r), false);
        }
        let gap = self
            .last_open_ms
            .is_some_and(|prev| Some(bar.open_time_ms) != prev.checked_add(self.interval_ms));
        if gap {
            self.gaps += 1;
            self.computer.reset();
            self.phase = Phase::Warming;
        }
        self.last_open_ms = Some(bar.open_time_ms);
        match self.computer.update(bar) {
            Some(row) => {
                self.phase = Phase::Ready;
                (BarOutcome::Row(row), gap)
            }
            None => (BarOutcome::Warming, gap),
        }
    }

    fn check(&self, bar: &Bar) -> Option<RejectReason> {
        if !bar.closed {
            return Some(RejectReason::NotClosed);
        }
        let span = bar
            .close_time_ms
            .checked_sub(bar.open_time_ms)
            .and_then(|d| d.checked_add(1));
        if span != Some(self.interval_ms) {
            return Some(RejectReason::WrongInterval);
        }
        let prices = [bar.open, bar.high, bar.low, bar.close];
        if prices.iter().any(|p| !p.is_finite() || *p <= 0.0)
            || !(bar.volume.is_finite() && bar.volume >= 0.0)
            || !(bar.taker_buy_volume.is_finite() && bar.taker_buy_volume >= 0.0)
        {
            return Some(RejectReason::InvalidValues);
        }
        if self
            .last_open_ms
            .is_some_and(|prev| bar.open_time_ms <= prev)
        {
            return Some(RejectReason::OutOfOrder);
        }
        None
    }

    /// Bars needed after a reset before the first row.
    pub fn lookback(&self) -> usize {
        self.computer.lookback()
    }
}
