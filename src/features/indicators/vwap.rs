//! Rolling VWAP over the last `n` bars, `Σ quote_volume / Σ volume`, and the close's deviation from
//! it, `close / VWAP − 1`. TA-Lib has no equivalent; the goldens come from numpy with exactly
//! rounded window sums. Lookback `n − 1`.
//!
//! Zero denominator: a window with no volume (Σ volume ≤ 0: every bar a zero-volume minute) has
//! no VWAP; the value is then `vwap = close`, `deviation = 0` (the close is the only price there
//! is, and a flat deviation is what a model should see). The same holds if the quotient is not a
//! positive finite number (inconsistent inputs, e.g. quote volume 0 with volume > 0). A deviation
//! that overflows saturates at `f64::MAX`. Both window sums are [`RollingSum`]s, re-added from
//! their rings, so a zero-volume window reads exactly 0 after a huge-volume bar has left it.

use super::{RollingSum, saturate};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VwapValue {
    pub vwap: f64,
    /// close / vwap − 1.
    pub deviation: f64,
}

#[derive(Clone, Debug)]
pub struct Vwap {
    volume: RollingSum,
    quote_volume: RollingSum,
}

impl Vwap {
    pub fn new(period: usize) -> Self {
        assert!(period > 0, "VWAP period must be > 0");
        Self {
            volume: RollingSum::new(period),
            quote_volume: RollingSum::new(period),
        }
    }

    pub fn update(&mut self, close: f64, volume: f64, quote_volume: f64) -> Option<VwapValue> {
        let v = self.volume.push(volume);
        let q = self.quote_volume.push(quote_volume);
        let (v, q) = (v?, q?);
        let vwap = q / v;
        Some(if v > 0.0 && vwap > 0.0 && vwap.is_finite() {
            VwapValue {
                vwap,
                deviation: saturate(close / vwap - 1.0),
            }
        } else {
            VwapValue {
                vwap: close,
                deviation: 0.0,
            }
        })
    }

    pub fn lookback(&self) -> usize {
        self.volume.period() - 1
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.volume.period());
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_bars::bars;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn weights_by_volume() {
        let mut w = Vwap::new(2);
        assert_eq!(w.lookback(), 1);
        assert_eq!(w.update(10.0, 1.0, 10.0), None);
        let v = w.update(12.0, 3.0, 3.0 * 12.0);
        assert_eq!(
            v,
            Some(VwapValue {
                vwap: 11.5,
                deviation: 12.0 / 11.5 - 1.0
            })
        );
    }

    #[test]
    fn all_zero_volume_window_reads_the_close_and_no_deviation() {
        let mut w = Vwap::new(2);
        w.update(10.0, 1e12, 1e13);
        w.update(10.0, 0.0, 0.0);
        let flat = VwapValue {
            vwap: 9.0,
            deviation: 0.0,
        };
        assert_eq!(w.update(9.0, 0.0, 0.0), Some(flat));
    }

    proptest! {
        #[test]
        fn finite_on_flat_zero_volume_and_jumps(bars in bars()) {
            let mut w = Vwap::new(20);
            for (i, b) in bars.iter().enumerate() {
                let v = w.update(b.close, b.volume, b.quote_volume);
                prop_assert_eq!(v.is_some(), i >= w.lookback());
                if let Some(v) = v {
                    prop_assert!(v.vwap.is_finite() && v.deviation.is_finite(), "{:?}", v);
                }
            }
        }

        #[test]
        fn reset_equals_fresh(first in bars(), second in bars()) {
            let mut used = Vwap::new(20);
            for b in &first {
                used.update(b.close, b.volume, b.quote_volume);
            }
            used.reset();
            let mut fresh = Vwap::new(20);
            for b in &second {
                prop_assert_eq!(
                    used.update(b.close, b.volume, b.quote_volume),
                    fresh.update(b.close, b.volume, b.quote_volume)
                );
            }
        }
    }
}
