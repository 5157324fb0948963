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
