//! Bollinger Bands on an SMA with population σ (TA-Lib `BBANDS`, matype SMA); lookback
//! `period - 1`. Rolling sums over a ring keep it O(1) per bar.

use super::Ring;

#[derive(Clone, Debug)]
pub struct Bollinger {
    k: f64,
    ring: Ring<f64>,
    sum: f64,
    sum_sq: f64,
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
            ring: Ring::new(period),
            sum: 0.0,
            sum_sq: 0.0,
        }
    }

    pub fn update(&mut self, close: f64) -> Option<BollingerValue> {
        if let Some(old) = self.ring.push(close) {
            self.sum -= old;
            self.sum_sq -= old * old;
        }
        self.sum += close;
        self.sum_sq += close * close;
        if !self.ring.is_full() {
            return None;
        }
        let n = self.ring.capacity() as f64;
        let mean = self.sum / n;
        // Rolling sums can leave a tiny negative variance on flat prices.
        let sd = (self.sum_sq / n - mean * mean).max(0.0).sqrt();
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
        self.ring.capacity() - 1
    }

    pub fn reset(&mut self) {
        *self = Self::new(self.ring.capacity(), self.k);
    }
}
