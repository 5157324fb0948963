//! `FeatureComputer`: one bar in, one raw feature row out (in `FeatureSpec` order), once every
//! indicator is warm. Every indicator sees every bar, so the row at bar t uses bars ≤ t only.

use super::indicators::{Atr, Bollinger, Macd, Ring, Rsi, ZScore};
use super::spec::{FeatureKind, FeatureSpec};
use crate::event::Bar;

#[derive(Clone, Debug)]
enum Calc {
    LogReturn { closes: Ring<f64> },
    Rsi(Rsi),
    MacdHist(Macd),
    PercentB(Bollinger),
    AtrOverClose(Atr),
    VolumeZ(ZScore),
    TakerBuyRatio,
}

impl Calc {
    fn new(kind: FeatureKind) -> Self {
        match kind {
            FeatureKind::LogReturn(k) => Calc::LogReturn {
                closes: Ring::new(k + 1),
            },
            FeatureKind::Rsi(n) => Calc::Rsi(Rsi::new(n)),
            FeatureKind::MacdHistOverClose => Calc::MacdHist(Macd::new(12, 26, 9)),
            FeatureKind::BollingerPercentB(n) => Calc::PercentB(Bollinger::new(n, 2.0)),
            FeatureKind::AtrOverClose(n) => Calc::AtrOverClose(Atr::new(n)),
            FeatureKind::VolumeZ(n) => Calc::VolumeZ(ZScore::new(n)),
            FeatureKind::TakerBuyRatio => Calc::TakerBuyRatio,
        }
    }

    fn update(&mut self, b: &Bar) -> Option<f64> {
        match self {
            Calc::LogReturn { closes } => {
                closes.push(b.close);
                closes.is_full().then(|| {
                    let first = closes.back(closes.capacity() - 1).unwrap_or(b.close);
                    (b.close / first).ln()
                })
            }
            Calc::Rsi(r) => r.update(b.close),
            Calc::MacdHist(m) => m.update(b.close).map(|v| v.histogram / b.close),
            Calc::PercentB(bb) => bb.update(b.close).map(|v| v.percent_b),
            Calc::AtrOverClose(a) => a.update(b.high, b.low, b.close).map(|v| v / b.close),
            Calc::VolumeZ(z) => z.update(b.volume),
            Calc::TakerBuyRatio => Some(if b.volume > 0.0 {
                (b.taker_buy_volume / b.volume).clamp(0.0, 1.0)
            } else {
                0.5
            }),
        }
    }

    fn lookback(&self) -> usize {
        match self {
            Calc::LogReturn { closes } => closes.capacity() - 1,
            Calc::Rsi(r) => r.lookback(),
            Calc::MacdHist(m) => m.lookback(),
            Calc::PercentB(bb) => bb.lookback(),
            Calc::AtrOverClose(a) => a.lookback(),
            Calc::VolumeZ(z) => z.lookback(),
            Calc::TakerBuyRatio => 0,
        }
    }
}

/// Computes the spec's features bar by bar.
#[derive(Clone, Debug)]
pub struct FeatureComputer {
    calcs: Vec<Calc>,
    spec: FeatureSpec,
}

impl FeatureComputer {
    pub fn new(spec: &FeatureSpec) -> Self {
        Self {
            calcs: spec.kinds().iter().map(|k| Calc::new(*k)).collect(),
            spec: spec.clone(),
        }
    }

    /// Feeds one closed bar (prices > 0 and finite: the caller checks). Returns the raw row once
    /// every feature is warm. A non-finite value never leaves: it is returned as `None` for the row.
    pub fn update(&mut self, bar: &Bar) -> Option<Vec<f64>> {
        let mut row = Vec::with_capacity(self.calcs.len());
        let mut ready = true;
        for c in &mut self.calcs {
            match c.update(bar) {
                Some(v) if v.is_finite() => row.push(v),
                _ => ready = false,
            }
        }
        ready.then_some(row)
    }

    /// Bars consumed before the first row: the largest lookback in the spec.
    pub fn lookback(&self) -> usize {
        self.calcs.iter().map(Calc::lookback).max().unwrap_or(0)
    }

    pub fn reset(&mut self) {
        *self = Self::new(&self.spec);
    }

    pub fn spec(&self) -> &FeatureSpec {
        &self.spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bar(i: i64, close: f64, spread: f64, volume: f64, taker: f64) -> Bar {
        Bar {
            open_time_ms: i * 60_000,
            close_time_ms: i * 60_000 + 59_999,
            open: close,
            high: close * (1.0 + spread),
            low: close / (1.0 + spread),
            close,
            volume,
            quote_volume: volume * close,
            trades: 1,
            taker_buy_volume: volume * taker,
            closed: true,
        }
    }

    /// Bars with flat runs, zero volume and jumps of up to 1000× either way.
    fn bars() -> impl Strategy<Value = Vec<Bar>> {
        let step = (
            prop_oneof![Just(0.0), -0.01f64..0.01, -6.9f64..6.9],
            prop_oneof![Just(0.0), 0.0f64..0.05],
            prop_oneof![Just(0.0), 0.0f64..1e9],
            0.0f64..=1.0,
        );
        prop::collection::vec(step, 1..150).prop_map(|steps| {
            let mut close = 100.0f64;
            let mut out = Vec::new();
            for (i, (r, spread, vol, taker)) in steps.into_iter().enumerate() {
                close = (close * r.exp()).clamp(1e-6, 1e12);
                out.push(bar(i as i64, close, spread, vol, taker));
            }
            out
        })
    }

    fn spec() -> FeatureSpec {
        FeatureSpec::new(&FeatureSpec::default_names()).unwrap()
    }

    proptest! {
        #[test]
        fn every_bar_after_warm_up_gives_a_finite_row(bars in bars()) {
            // `update` withholds a row with a non-finite value, so a missing row is the failure.
            let mut c = FeatureComputer::new(&spec());
            let lookback = c.lookback();
            for (i, b) in bars.iter().enumerate() {
                let row = c.update(b);
                prop_assert_eq!(row.is_some(), i >= lookback, "bar {}", i);
                if let Some(row) = row {
                    prop_assert!(row.iter().all(|v| v.is_finite()), "{:?}", row);
                }
            }
        }

        #[test]
        fn reset_equals_fresh(first in bars(), second in bars()) {
            let mut used = FeatureComputer::new(&spec());
            for b in &first {
                used.update(b);
            }
            used.reset();
            let mut fresh = FeatureComputer::new(&spec());
            for b in &second {
                prop_assert_eq!(used.update(b), fresh.update(b));
            }
        }
    }

    #[test]
    fn first_row_comes_after_the_longest_lookback() {
        let mut c = FeatureComputer::new(&spec());
        assert_eq!(c.lookback(), 33); // MACD(12, 26, 9), as TA-Lib
        let rows: Vec<bool> = (0..40)
            .map(|i| {
                c.update(&bar(i, 100.0 + (i as f64).sin(), 0.01, 10.0, 0.5))
                    .is_some()
            })
            .collect();
        assert_eq!(rows.iter().position(|r| *r), Some(33));
    }
}
