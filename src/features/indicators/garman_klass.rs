//! Garman–Klass volatility over the last `n` bars, per bar (not annualised):
//! `sqrt( (1/n) Σ [ 0.5 · ln(high/low)² − (2 ln 2 − 1) · ln(close/open)² ] )`, the variance floored
//! at 0 before the root (a bar whose open/close lie outside its high/low could make it negative).
//! TA-Lib has no equivalent; the goldens come from numpy with exactly rounded window sums.
//! Lookback `n − 1`.
//!
//! No denominator can be zero (n > 0). A non-positive price contributes a 0 log ratio. The window
//! sum is a [`RollingSum`], re-added from its ring so a jump leaving the window leaves no drift.

use super::{RollingSum, ln_ratio};

#[derive(Clone, Debug)]
pub struct GarmanKlass {
    sum: RollingSum,
}

impl GarmanKlass {
    pub fn new(period: usize) -> Self {
        assert!(period > 0, "Garman-Klass period must be > 0");
        Self {
            sum: RollingSum::new(period),
        }
    }

    pub fn update(&mut self, open: f64, high: f64, low: f64, close: f64) -> Option<f64> {
        self.update_log_ranges(ln_ratio(high, low), ln_ratio(close, open))
    }

    /// `update` with `ln(high/low)` and `ln(close/open)` already computed (as `ln_ratio` does),
    /// so several range-based indicators of one bar share the logarithms.
    pub fn update_log_ranges(&mut self, hl: f64, co: f64) -> Option<f64> {
        let term = 0.5 * (hl * hl) - (2.0 * std::f64::consts::LN_2 - 1.0) * (co * co);
        let s = self.sum.push(term)?;
        Some((s / self.sum.period() as f64).max(0.0).sqrt())
    }

    pub fn lookback(&self) -> usize {
        self.sum.period() - 1
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.sum.period());
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_bars::bars;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn doji_bars_reduce_to_a_scaled_parkinson_term() {
        // open == close: each term is 0.5 · ln(h/l)².
        let mut g = GarmanKlass::new(4);
        assert_eq!(g.lookback(), 3);
        let got: Vec<_> = (0..5)
            .map(|_| g.update(100.0, 102.0, 99.0, 100.0))
            .collect();
        assert_eq!(&got[..3], &[None, None, None]);
        let want = (0.5 * (102.0f64 / 99.0).ln().powi(2)).sqrt();
        let v = got[4].unwrap_or(f64::NAN);
        assert!((v - want).abs() < 1e-15, "{v} vs {want}");
    }

    #[test]
    fn negative_variance_is_floored() {
        // Close far outside a zero range: the only term is negative.
        let mut g = GarmanKlass::new(1);
        assert_eq!(g.update(1.0, 1.0, 1.0, 2.0), Some(0.0));
    }

    proptest! {
        #[test]
        fn finite_on_flat_zero_volume_and_jumps(bars in bars()) {
            let mut g = GarmanKlass::new(20);
            for (i, b) in bars.iter().enumerate() {
                let v = g.update(b.open, b.high, b.low, b.close);
                prop_assert_eq!(v.is_some(), i >= g.lookback());
                prop_assert!(v.is_none_or(|v| v.is_finite() && v >= 0.0));
            }
        }

        #[test]
        fn reset_equals_fresh(first in bars(), second in bars()) {
            let mut used = GarmanKlass::new(20);
            for b in &first {
                used.update(b.open, b.high, b.low, b.close);
            }
            used.reset();
            let mut fresh = GarmanKlass::new(20);
            for b in &second {
                prop_assert_eq!(
                    used.update(b.open, b.high, b.low, b.close),
                    fresh.update(b.open, b.high, b.low, b.close)
                );
            }
        }
    }
}
