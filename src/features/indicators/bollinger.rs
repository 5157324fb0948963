//! Bollinger Bands on an SMA with population σ (TA-Lib `BBANDS`, matype SMA); lookback
//! `period - 1`. Rolling sums keep it O(1) per bar.

use super::RollingMoments;

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
        Some(BollingerValue {
            upper,
            middle: mean,
            lower,
            percent_b,
        })
    }

    pub fn lookback(&self) -> usize {
        self.moments.period() - 1
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.moments.period(), self.k);
    }
}
