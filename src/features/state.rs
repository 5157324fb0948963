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

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(minute: i64, close: f64) -> Bar {
        Bar {
            open_time_ms: minute * 60_000,
            close_time_ms: minute * 60_000 + 59_999,
            open: close,
            high: close,
            low: close,
            close,
            volume: 1.0,
            quote_volume: close,
            trades: 1,
            taker_buy_volume: 0.5,
            closed: true,
        }
    }

    fn warm() -> SymbolState {
        let spec = FeatureSpec::new(&["log_return_1", "taker_buy_ratio"]).unwrap();
        let mut s = SymbolState::new(&spec, 60_000);
        assert_eq!(s.on_bar(&bar(0, 10.0)).0, BarOutcome::Warming);
        assert!(matches!(s.on_bar(&bar(1, 11.0)).0, BarOutcome::Row(_)));
        assert_eq!(s.phase(), Phase::Ready);
        s
    }

    #[test]
    fn gap_resets_to_warming_and_is_counted() {
        let mut s = warm();
        let (out, after_gap) = s.on_bar(&bar(5, 12.0));
        assert_eq!((out, after_gap), (BarOutcome::Warming, true));
        assert_eq!((s.phase(), s.gaps), (Phase::Warming, 1));
        assert!(matches!(
            s.on_bar(&bar(6, 12.0)),
            (BarOutcome::Row(_), false)
        ));
    }

    #[test]
    fn late_wrong_interval_open_and_invalid_bars_are_rejected_without_state_change() {
        let mut s = warm();
        let reject = |r| (BarOutcome::Rejected(r), false);
        assert_eq!(s.on_bar(&bar(1, 11.0)), reject(RejectReason::OutOfOrder));
        let mut five = bar(2, 11.0);
        five.close_time_ms += 240_000;
        assert_eq!(s.on_bar(&five), reject(RejectReason::WrongInterval));
        let mut open = bar(2, 11.0);
        open.closed = false;
        assert_eq!(s.on_bar(&open), reject(RejectReason::NotClosed));
        assert_eq!(s.on_bar(&bar(2, 0.0)), reject(RejectReason::InvalidValues));
        let mut huge = bar(2, 11.0);
        huge.open_time_ms = i64::MIN;
        assert_eq!(s.on_bar(&huge), reject(RejectReason::WrongInterval));
        // None of that moved the state: the next real bar continues the segment.
        assert!(matches!(
            s.on_bar(&bar(2, 11.0)),
            (BarOutcome::Row(_), false)
        ));
        assert_eq!(s.gaps, 0);
    }
}
