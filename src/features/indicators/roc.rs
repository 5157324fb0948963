//! Rate of change (TA-Lib `ROC`): `(close / close[n bars ago] − 1) · 100`; lookback `n`.
//! Zero denominator: when the old close is 0 the value is 0, as TA-Lib writes it. A ratio that
//! overflows saturates at ±`f64::MAX`.

use super::{Ring, saturate};

#[derive(Clone, Debug)]
pub struct Roc {
    closes: Ring<f64>,
}

impl Roc {
    pub fn new(period: usize) -> Self {
        assert!(period > 0, "ROC period must be > 0");
        Self {
            closes: Ring::new(period + 1),
        }
    }

    pub fn update(&mut self, close: f64) -> Option<f64> {
        self.closes.push(close);
        let old = self.closes.back(self.period())?;
        Some(if old != 0.0 {
            saturate((close / old - 1.0) * 100.0)
        } else {
            0.0
        })
    }

    pub fn period(&self) -> usize {
        self.closes.capacity() - 1
    }

    pub fn lookback(&self) -> usize {
        self.period()
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.period());
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_bars::bars;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn first_value_after_lookback_and_zero_old_close_gives_zero() {
        let mut r = Roc::new(2);
        assert_eq!(r.lookback(), 2);
        assert_eq!(r.update(0.0), None);
        assert_eq!(r.update(1.0), None);
        assert_eq!(r.update(2.0), Some(0.0)); // old close 0: TA-Lib writes 0
        assert_eq!(r.update(3.0), Some(200.0));
        assert_eq!(r.update(4.0), Some(100.0));
    }

    proptest! {
        #[test]
        fn finite_on_flat_zero_volume_and_jumps(bars in bars()) {
            let mut r = Roc::new(10);
            for (i, b) in bars.iter().enumerate() {
                let v = r.update(b.close);
                prop_assert_eq!(v.is_some(), i >= r.lookback());
                prop_assert!(v.is_none_or(f64::is_finite));
            }
        }

        #[test]
        fn reset_equals_fresh(first in bars(), second in bars()) {
            let mut used = Roc::new(10);
            for b in &first {
                used.update(b.close);
            }
            used.reset();
            let mut fresh = Roc::new(10);
            for b in &second {
                prop_assert_eq!(used.update(b.close), fresh.update(b.close));
            }
        }
    }

    #[test]
    fn overflow_saturates() {
        let mut r = Roc::new(1);
        r.update(1e-300);
        assert_eq!(r.update(1e300), Some(f64::MAX));
    }
}
