//! Parkinson range volatility over the last `n` bars, per bar (not annualised):
//! `sqrt( Σ ln(high/low)² / (4 · n · ln 2) )`. TA-Lib has no equivalent; the goldens come from
//! numpy with exactly rounded window sums. Lookback `n − 1`.
//!
//! No denominator can be zero (n > 0). A bar with a non-positive high or low contributes 0 (its
//! range has no log), and high == low contributes 0. The window sum is a [`RollingSum`], re-added
//! from its ring so a jump leaving the window cannot leave drift behind.

use super::{RollingSum, ln_ratio};

#[derive(Clone, Debug)]
pub struct Parkinson {
    sum: RollingSum,
}

impl Parkinson {
    pub fn new(period: usize) -> Self {
        assert!(period > 0, "Parkinson period must be > 0");
        Self {
            sum: RollingSum::new(period),
        }
    }

    pub fn update(&mut self, high: f64, low: f64) -> Option<f64> {
        self.update_log_range(ln_ratio(high, low))
    }

    /// `update` with `ln(high/low)` already computed (as `ln_ratio` does), so several
    /// range-based indicators of one bar share one logarithm.
    pub fn update_log_range(&mut self, r: f64) -> Option<f64> {
        let s = self.sum.push(r * r)?;
        let n = self.sum.period() as f64;
        Some((s.max(0.0) / (4.0 * n * std::f64::consts::LN_2)).sqrt())
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
    fn constant_range_gives_its_closed_form() {
        let mut p = Parkinson::new(20);
        assert_eq!(p.lookback(), 19);
        let mut last = None;
        for i in 0..25 {
            last = p.update(101.0, 100.0);
            assert_eq!(last.is_some(), i >= 19);
        }
        let want = (1.01f64.ln().powi(2) / (4.0 * std::f64::consts::LN_2)).sqrt();
        let got = last.unwrap_or(f64::NAN);
        assert!((got - want).abs() < 1e-15, "{got} vs {want}");
    }

    #[test]
    fn flat_bars_after_a_jump_read_exactly_zero() {
        let mut p = Parkinson::new(3);
        p.update(1e12, 1e-6);
        for _ in 0..3 {
            p.update(5.0, 5.0);
        }
        assert_eq!(p.update(5.0, 5.0), Some(0.0));
        assert_eq!(p.update(0.0, -1.0), Some(0.0));
    }

    proptest! {
        #[test]
        fn finite_on_flat_zero_volume_and_jumps(bars in bars()) {
            let mut p = Parkinson::new(20);
            for (i, b) in bars.iter().enumerate() {
                let v = p.update(b.high, b.low);
                prop_assert_eq!(v.is_some(), i >= p.lookback());
                prop_assert!(v.is_none_or(|v| v.is_finite() && v >= 0.0));
            }
        }

        #[test]
        fn reset_equals_fresh(first in bars(), second in bars()) {
            let mut used = Parkinson::new(20);
            for b in &first {
                used.update(b.high, b.low);
            }
            used.reset();
            let mut fresh = Parkinson::new(20);
            for b in &second {
                prop_assert_eq!(used.update(b.high, b.low), fresh.update(b.high, b.low));
            }
        }
    }
}
