//! Bollinger Bands on an SMA with population σ (TA-Lib `BBANDS`, matype SMA); lookback
//! `period - 1`. Rolling sums keep it O(1) per bar. Also yields %B (0.5 when the bands have zero
//! width) and the bandwidth (upper − lower) / middle (0 when the middle band is 0, saturating at
//! `f64::MAX`; TA-Lib's `BBANDS` has no bandwidth output).

use super::{RollingMoments, saturate};

#[derive(Clone, Debug)]
pub struct Bollinger {
    k: f64,
    moments: RollingMoments,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BollingerValue {
    pub upper: f64,
    pub middle: f64,
    pub lower: f64,
    /// (close - lower) / (upper - lower); 0.5 when the bands have zero width.
    pub percent_b: f64,
    /// (upper - lower) / middle; 0 when the middle band is 0.
    pub bandwidth: f64,
}

impl Bollinger {
    pub fn new(period: usize, k: f64) -> Self {
        assert!(period > 0, "Bollinger period must be > 0");
        Self {
            k,
            moments: RollingMoments::new(period),
        }
    }

    pub fn update(&mut self, close: f64) -> Option<BollingerValue> {
        let (mean, sd) = self.moments.push(close)?;
        let (upper, lower) = (mean + self.k * sd, mean - self.k * sd);
        let width = upper - lower;
        let percent_b = if width > f64::EPSILON * mean.abs().max(1.0) {
            (close - lower) / width
        } else {
            0.5
        };
        let bandwidth = if mean != 0.0 {
            saturate(width / mean)
        } else {
            0.0
        };
        Some(BollingerValue {
            upper,
            middle: mean,
            lower,
            percent_b,
            bandwidth,
        })
    }

    pub fn lookback(&self) -> usize {
        self.moments.period() - 1
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.moments.period(), self.k);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_bars::bars;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bandwidth_is_width_over_middle() {
        let mut b = Bollinger::new(2, 2.0);
        assert_eq!(b.update(9.0), None);
        let v = b.update(11.0).unwrap_or_else(|| panic!("warm"));
        // mean 10, σ 1: bands 8 and 12.
        assert_eq!((v.upper, v.middle, v.lower), (12.0, 10.0, 8.0));
        assert_eq!(v.bandwidth, 0.4);
        let mut z = Bollinger::new(2, 2.0);
        z.update(-1.0);
        assert_eq!(z.update(1.0).map(|v| v.bandwidth), Some(0.0));
    }

    proptest! {
        #[test]
        fn finite_on_flat_zero_volume_and_jumps(bars in bars()) {
            let mut bb = Bollinger::new(20, 2.0);
            for (i, b) in bars.iter().enumerate() {
                let v = bb.update(b.close);
                prop_assert_eq!(v.is_some(), i >= bb.lookback());
                if let Some(v) = v {
                    let all = [v.upper, v.middle, v.lower, v.percent_b, v.bandwidth];
                    prop_assert!(all.iter().all(|x| x.is_finite()), "{:?}", v);
                }
            }
        }

        #[test]
        fn reset_equals_fresh(first in bars(), second in bars()) {
            let mut used = Bollinger::new(20, 2.0);
            for b in &first {
                used.update(b.close);
            }
            used.reset();
            let mut fresh = Bollinger::new(20, 2.0);
            for b in &second {
                prop_assert_eq!(used.update(b.close), fresh.update(b.close));
            }
        }
    }
}
